//! SBD sessions (`AT+SBDIX`, `AT+SBDIXA`): what the transceiver and the gateway exchange and the
//! `+SBDIX` answer.

use serde_json::{Value, json};

use super::gateway::GatewayReply;
use super::transceiver::Transceiver;

/// MO status when there is no network service: the call cannot start.
const NO_SERVICE: u8 = 32;
/// MT status: a message was received.
const MT_RECEIVED: u8 = 1;
/// MT status: the mailbox check failed.
const MT_FAILED: u8 = 2;

/// Which command started a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// `AT+SBDIX`: the host's own session.
    Extended,
    /// `AT+SBDIXA`: the answer to a ring alert.
    AnswerRing,
}

impl SessionKind {
    /// The command, as the `session` event names it.
    pub fn command(self) -> &'static str {
        match self {
            Self::Extended => "+SBDIX",
            Self::AnswerRing => "+SBDIXA",
        }
    }
}

/// The six fields of a `+SBDIX` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOutcome {
    /// 0 to 4 success, 5 and more failure.
    pub mo_status: u8,
    /// The MOMSN of the session.
    pub momsn: u16,
    /// 0 no message, 1 message received, 2 mailbox check failed.
    pub mt_status: u8,
    /// The MTMSN of the received message (0 without one).
    pub mtmsn: u16,
    /// The length of the received message.
    pub mt_length: usize,
    /// MT messages still waiting at the gateway.
    pub mt_queued: usize,
}

impl SessionOutcome {
    /// A failed session: nothing received, nothing known about the queue.
    pub fn failed(mo_status: u8, momsn: u16) -> Self {
        Self {
            mo_status,
            momsn,
            mt_status: MT_FAILED,
            mtmsn: 0,
            mt_length: 0,
            mt_queued: 0,
        }
    }

    /// `+SBDIX: <MO status>, <MOMSN>, <MT status>, <MTMSN>, <MT length>, <MT queued>` (the
    /// answer to `AT+SBDIXA` has the same prefix).
    pub fn line(&self) -> String {
        format!(
            "+SBDIX: {}, {}, {}, {}, {}, {}",
            self.mo_status, self.momsn, self.mt_status, self.mtmsn, self.mt_length, self.mt_queued
        )
    }

    /// The `session` event.
    pub fn event(&self, kind: SessionKind) -> Value {
        json!({
            "event": "session",
            "command": kind.command(),
            "mo_status": self.mo_status,
            "momsn": self.momsn,
            "mt_status": self.mt_status,
            "mtmsn": self.mtmsn,
            "mt_length": self.mt_length,
            "mt_queued": self.mt_queued,
        })
    }
}

impl Transceiver {
    /// Runs a session: returns its `+SBDIX` line and the events (`mo` when a message reached the
    /// gateway, then `session`).
    ///
    /// Without service the call does not start (MO status 32). A started session empties the MT
    /// buffer, then fills it with the MT message the gateway hands over. The MO buffer stays as
    /// it is (only `AT+SBDD0` clears it). Every successful session counts the MOMSN up.
    pub(super) fn run_session(&mut self, kind: SessionKind) -> (String, Vec<Value>) {
        self.sessions += 1;
        let momsn = self.momsn;
        let mut events = Vec::new();
        let outcome = if !self.coverage.available() {
            SessionOutcome::failed(NO_SERVICE, momsn)
        } else {
            self.mt_buffer = None;
            match self.gateway.session(momsn, &self.mo_buffer) {
                GatewayReply::Failed(mo_status) => SessionOutcome::failed(mo_status, momsn),
                GatewayReply::Done {
                    mo_status,
                    mt,
                    queued,
                    delivered,
                } => {
                    if let Some(message) = delivered {
                        let mut event = message.to_json();
                        event["event"] = json!("mo");
                        events.push(event);
                    }
                    self.momsn = momsn.wrapping_add(1);
                    self.ring_alert = false;
                    self.last_queued = queued;
                    let (mt_status, mtmsn, mt_length) = match &mt {
                        Some(message) => (MT_RECEIVED, message.mtmsn, message.data.len()),
                        None => (0, 0, 0),
                    };
                    self.mt_buffer = mt;
                    SessionOutcome {
                        mo_status,
                        momsn,
                        mt_status,
                        mtmsn,
                        mt_length,
                        mt_queued: queued,
                    }
                }
            }
        };
        events.push(outcome.event(kind));
        (outcome.line(), events)
    }
}
