//! The simulated Iridium gateway: mobile-terminated messages waiting for the transceiver, the
//! mobile-originated messages it received, and scripted session outcomes.

use std::collections::VecDeque;

use m2mhal_sms::to_hex;
use serde_json::{Value, json};

/// A mobile-terminated message handed to the transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtMessage {
    /// The MTMSN the gateway gave it.
    pub mtmsn: u16,
    /// The message.
    pub data: Vec<u8>,
}

/// A mobile-originated message the gateway received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoMessage {
    /// The MOMSN of the session that carried it.
    pub momsn: u16,
    /// The message.
    pub data: Vec<u8>,
}

impl MoMessage {
    /// `"momsn"`, `"data_hex"` and `"text"` (the message as UTF-8, `null` when it is not).
    pub fn to_json(&self) -> Value {
        json!({
            "momsn": self.momsn,
            "data_hex": to_hex(&self.data),
            "text": std::str::from_utf8(&self.data).ok(),
        })
    }
}

/// What the gateway made of a session the transceiver started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayReply {
    /// The session failed with this MO status (5 or more).
    Failed(u8),
    /// The session succeeded with this MO status (0 to 4).
    Done {
        /// The MO status.
        mo_status: u8,
        /// The next queued MT message, if the gateway handed one over.
        mt: Option<MtMessage>,
        /// MT messages still queued after this session.
        queued: usize,
        /// The MO message the gateway received, if the MO buffer held one.
        delivered: Option<MoMessage>,
    },
}

/// MO status 1: the MO message went through but the queued MT message was too big.
const MT_TOO_BIG: u8 = 1;

/// Whether an MO status of `+SBDIX` means success (0 to 4 in the manual).
fn mo_succeeded(status: u8) -> bool {
    status <= 4
}

/// The gateway's side of every session.
#[derive(Debug, Clone)]
pub struct Gateway {
    queue: VecDeque<Vec<u8>>,
    next_mtmsn: u16,
    scripted_statuses: VecDeque<u8>,
    received: Vec<MoMessage>,
}

impl Default for Gateway {
    /// No messages; the first MT message gets MTMSN 1.
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            next_mtmsn: 1,
            scripted_statuses: VecDeque::new(),
            received: Vec::new(),
        }
    }
}

impl Gateway {
    /// Queues a message for the transceiver; returns how many are queued now.
    pub fn queue_mt(&mut self, data: Vec<u8>) -> usize {
        self.queue.push_back(data);
        self.queue.len()
    }

    /// How many MT messages wait at the gateway.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Replaces the MO statuses the next sessions get, one each, in order (success after them).
    pub fn script_mo_statuses(&mut self, statuses: Vec<u8>) {
        self.scripted_statuses = statuses.into();
    }

    /// The MO statuses still scripted.
    pub fn scripted_statuses(&self) -> Vec<u8> {
        self.scripted_statuses.iter().copied().collect()
    }

    /// Every MO message received so far, oldest first.
    pub fn received(&self) -> &[MoMessage] {
        &self.received
    }

    /// Runs a session: takes the next scripted MO status (0 when none is scripted); on success,
    /// keeps the MO message (if `mo` is not empty) and hands over the next MT message.
    pub fn session(&mut self, momsn: u16, mo: &[u8]) -> GatewayReply {
        let mo_status = self.scripted_statuses.pop_front().unwrap_or(0);
        if !mo_succeeded(mo_status) {
            return GatewayReply::Failed(mo_status);
        }
        let delivered = (!mo.is_empty()).then(|| MoMessage {
            momsn,
            data: mo.to_vec(),
        });
        self.received.extend(delivered.clone());
        let mt = if mo_status == MT_TOO_BIG {
            None
        } else {
            self.queue.pop_front().map(|data| self.number(data))
        };
        GatewayReply::Done {
            mo_status,
            mt,
            queued: self.queue.len(),
            delivered,
        }
    }

    /// Gives an MT message the next MTMSN (wrapping after 65535).
    fn number(&mut self, data: Vec<u8>) -> MtMessage {
        let mtmsn = self.next_mtmsn;
        self.next_mtmsn = mtmsn.wrapping_add(1);
        MtMessage { mtmsn, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_statuses_come_first_then_success() {
        let mut gateway = Gateway::default();
        gateway.queue_mt(b"one".to_vec());
        gateway.script_mo_statuses(vec![17, 1]);
        assert_eq!(gateway.session(4, b"hi"), GatewayReply::Failed(17));
        assert!(gateway.received().is_empty());
        assert_eq!(
            gateway.session(4, b"hi"),
            GatewayReply::Done {
                mo_status: 1,
                mt: None,
                queued: 1,
                delivered: Some(MoMessage {
                    momsn: 4,
                    data: b"hi".to_vec()
                }),
            }
        );
        assert_eq!(
            gateway.session(5, b""),
            GatewayReply::Done {
                mo_status: 0,
                mt: Some(MtMessage {
                    mtmsn: 1,
                    data: b"one".to_vec()
                }),
                queued: 0,
                delivered: None,
            }
        );
        assert_eq!(gateway.received().len(), 1);
        assert_eq!(
            gateway.received()[0].to_json(),
            json!({"momsn": 4, "data_hex": "6869", "text": "hi"})
        );
    }

    #[test]
    fn binary_mo_has_no_text() {
        let message = MoMessage {
            momsn: 0,
            data: vec![0xff, 0x00],
        };
        assert_eq!(message.to_json()["text"], Value::Null);
        assert_eq!(message.to_json()["data_hex"], "FF00");
    }
}
