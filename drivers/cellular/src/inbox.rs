//! Receiving SMS: parsing `+CMTI`/`+CMGR`/`+CMGL`, decoding and reassembling the parts (giving up
//! on a concatenated message whose missing parts never come, see [`Inbox::expire`]), and
//! remembering which storage indices hold a message until the host has committed it.
//!
//! A message's key is the FNV-1a 64 hash of each part PDU, in hex, in sequence order and joined
//! with `+`: the same message read twice (after a restart before deletion) gets the same key, so
//! the host stores it once. Nothing is deleted from the modem before the host commits that key;
//! a PDU that cannot be decoded is left where it is. Because the key names every part, a part
//! left on the modem by a restart in the middle of deleting a committed message is recognised
//! when the host repeats the commit after the restart, and deleted.

use std::collections::{BTreeMap, BTreeSet};

use m2mhal_plugin_api::IncomingMessage;
use m2mhal_plugin_api::redact::mask_number;
use m2mhal_sms::{
    Complete, Content, Duplicate, MessageType, Reassembler, decode_deliver, decode_status_report,
    from_hex, message_type,
};

use crate::parse::fields;

/// One stored (or directly delivered) part, as the reassembler keeps it.
#[derive(Debug, Clone)]
struct Part {
    /// Storage index; `None` for a `+CMT` direct delivery.
    index: Option<u32>,
    /// The PDU, SCA included.
    pdu: Vec<u8>,
    /// The service centre named in the PDU.
    smsc: Option<String>,
}

/// What became of a PDU handed to [`Inbox::accept`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received {
    /// A complete message for the host.
    Message(IncomingMessage),
    /// A part of a concatenated message; the others are still missing.
    PartHeld,
    /// The very part already held came again (a retransmission): delete this copy.
    RepeatedPart {
        /// Its storage index, if stored.
        index: Option<u32>,
    },
    /// A different part with the sequence number of one already held (say, a reference number
    /// that wrapped around): it cannot join, and stays on the modem.
    ConflictingPart,
    /// This storage index was read before.
    AlreadySeen,
    /// An SMS-STATUS-REPORT; delete it (it is no message for the host).
    StatusReport {
        /// Its storage index, if stored.
        index: Option<u32>,
        /// What it says, for the log.
        summary: String,
    },
    /// A part of a message the host committed before (its deletion was cut short): delete it.
    CommittedPart {
        /// Its storage index, if stored.
        index: Option<u32>,
    },
    /// A stored outgoing message (SMS-SUBMIT); not ours to touch.
    Outgoing,
    /// The PDU cannot be decoded; it stays on the modem.
    Undecodable(String),
}

/// Received parts and messages waiting for the host's commit.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    reassembler: Reassembler<Part>,
    /// Storage indices read since initialisation (held, awaiting commit, or left alone).
    seen: BTreeSet<u32>,
    /// Key of a reported message -> its storage indices.
    awaiting_commit: BTreeMap<String, Vec<u32>>,
    /// The part keys of committed messages that were not reported since initialisation: parts
    /// still on the modem after a deletion that was cut short.
    committed_parts: BTreeSet<String>,
}

impl Inbox {
    /// Whether the part at `index` was read already.
    pub fn has_seen(&self, index: u32) -> bool {
        self.seen.contains(&index)
    }

    /// Takes in the hex PDU from storage `index` (or a direct delivery when `None`), read at
    /// `now_ms` (monotonic; starts the expiry clock of a concatenated message's first part).
    /// `unix_time` stamps a message whose time stamp cannot be used.
    pub fn accept(
        &mut self,
        index: Option<u32>,
        pdu_hex: &str,
        now_ms: u64,
        unix_time: u64,
    ) -> Received {
        let first_read = index.is_none_or(|index| self.seen.insert(index));
        if !first_read {
            return Received::AlreadySeen;
        }
        let pdu = match from_hex(pdu_hex) {
            Ok(pdu) => pdu,
            Err(error) => return Received::Undecodable(error.to_string()),
        };
        match message_type(&pdu) {
            Ok(MessageType::Deliver) => {}
            Ok(MessageType::StatusReport) => return status_report(index, &pdu),
            Ok(MessageType::Submit) => return Received::Outgoing,
            Ok(other) => return Received::Undecodable(format!("PDU of type {other}")),
            Err(error) => return Received::Undecodable(error.to_string()),
        }
        let deliver = match decode_deliver(&pdu) {
            Ok(deliver) => deliver,
            Err(error) => return Received::Undecodable(error.to_string()),
        };
        if self.committed_parts.contains(&part_key(&pdu)) {
            return Received::CommittedPart { index };
        }
        let part = Part {
            index,
            pdu,
            smsc: deliver.smsc.clone(),
        };
        let complete = self.reassembler.push(part, deliver, now_ms);
        // The reassembler keeps the first of two parts with the same sequence number.
        let repeated = self.reassembler.take_duplicates().pop();
        match (complete, repeated) {
            (Some(complete), _) => Received::Message(self.report(complete, unix_time)),
            (None, None) => Received::PartHeld,
            (
                None,
                Some(Duplicate {
                    key,
                    identical: true,
                }),
            ) => Received::RepeatedPart { index: key.index },
            (None, Some(Duplicate { .. })) => Received::ConflictingPart,
        }
    }

    /// Gives up on the concatenated messages whose first part was read at or before
    /// `first_read_by` (monotonic milliseconds) and returns each as one message made of the parts
    /// that arrived. Its storage indices are deleted, as a whole message's, after the host
    /// commits it. After a restart the parts are read again from storage and their clock starts
    /// anew: a message can wait up to twice its timeout across one restart.
    pub fn expire(&mut self, first_read_by: u64, unix_time: u64) -> Vec<IncomingMessage> {
        self.reassembler
            .expire(first_read_by)
            .into_iter()
            .map(|incomplete| self.report(incomplete, unix_time))
            .collect()
    }

    /// When the first part of the oldest incomplete message was read (monotonic milliseconds).
    pub fn oldest_incomplete(&self) -> Option<u64> {
        self.reassembler.oldest()
    }

    /// The message for the host; remembers its storage indices until the host commits it.
    /// `info` says `parts` (how many joined); a message given up on adds `incomplete` = `true`,
    /// `parts_total` and `parts_missing` (the missing sequence numbers, e.g. `2,4`).
    fn report(&mut self, complete: Complete<Part>, unix_time: u64) -> IncomingMessage {
        let smsc = complete.parts.first().and_then(|part| part.smsc.clone());
        let key = message_key(complete.parts.iter().map(|part| part.pdu.as_slice()));
        let indices: Vec<u32> = complete
            .parts
            .iter()
            .filter_map(|part| part.index)
            .collect();
        if !indices.is_empty() {
            self.awaiting_commit
                .entry(key.clone())
                .or_default()
                .extend(indices);
        }
        let (payload, text) = match complete.content {
            Content::Text(text) => (text.clone().into_bytes(), Some(text)),
            Content::Binary(bytes) => (bytes, None),
        };
        let mut info = BTreeMap::from([("parts".to_owned(), complete.parts.len().to_string())]);
        if let Some(smsc) = smsc {
            info.insert("smsc".to_owned(), smsc);
        }
        if !complete.missing.is_empty() {
            let total = complete.parts.len() + complete.missing.len();
            let missing: Vec<String> = complete.missing.iter().map(u8::to_string).collect();
            info.insert("incomplete".to_owned(), "true".to_owned());
            info.insert("parts_total".to_owned(), total.to_string());
            info.insert("parts_missing".to_owned(), missing.join(","));
        }
        IncomingMessage {
            key,
            peer: complete.originator,
            payload,
            text,
            timestamp: u64::try_from(complete.timestamp).unwrap_or(unix_time),
            info,
        }
    }

    /// The host committed `key`: the storage indices to delete now. A key of a message not
    /// reported since initialisation (the host repeats its commits after a restart) names parts
    /// that may still be on the modem: each is deleted when it is read.
    pub fn commit(&mut self, key: &str) -> Vec<u32> {
        match self.awaiting_commit.remove(key) {
            Some(indices) => indices,
            None => {
                self.committed_parts
                    .extend(key.split(PART_SEPARATOR).map(str::to_owned));
                Vec::new()
            }
        }
    }

    /// The part at `index` was deleted from the modem.
    pub fn deleted(&mut self, index: u32) {
        self.seen.remove(&index);
    }

    /// Forgets everything (a new initialisation reads the storage again).
    pub fn reset(&mut self) {
        *self = Inbox::default();
    }
}

fn status_report(index: Option<u32>, pdu: &[u8]) -> Received {
    let summary = match decode_status_report(pdu) {
        Ok(report) => format!(
            "status report for message reference {} to {}: {:?} (TP-ST 0x{:02X})",
            report.message_reference,
            mask_number(&report.recipient),
            report.outcome(),
            report.status
        ),
        Err(error) => format!("undecodable status report: {error}"),
    };
    Received::StatusReport { index, summary }
}

/// What joins the part keys of a message's key.
const PART_SEPARATOR: char = '+';

/// The key of a message: the [`part_key`]s of its parts joined with [`PART_SEPARATOR`].
pub(crate) fn message_key<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let keys: Vec<String> = parts.into_iter().map(part_key).collect();
    keys.join(&PART_SEPARATOR.to_string())
}

/// The FNV-1a 64 hash of a part PDU prefixed with its length as 4 bytes, as 16 hex digits.
fn part_key(pdu: &[u8]) -> String {
    let length = u32::try_from(pdu.len()).unwrap_or(u32::MAX).to_be_bytes();
    format!(
        "{:016x}",
        fnv1a64(length.into_iter().chain(pdu.iter().copied()))
    )
}

/// FNV-1a, 64 bits.
fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.into_iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// `+CMTI: "SM",3` / `+CDSI: "SM",3` (with `prefix` `+CMTI:` or `+CDSI:`): storage and index.
pub(crate) fn parse_indication(line: &str, prefix: &str) -> Option<(String, u32)> {
    let fields = fields(line, prefix)?;
    Some((fields.first()?.text.to_owned(), fields.get(1)?.number()?))
}

/// The PDU of an `AT+CMGR` answer (`+CMGR: <stat>,[<alpha>],<length>` then the PDU line); `None`
/// for an empty slot.
pub(crate) fn parse_read(lines: &[String]) -> Option<String> {
    let header = lines
        .iter()
        .position(|line| fields(line, "+CMGR:").is_some())?;
    lines.get(header + 1).map(|pdu| pdu.trim().to_owned())
}

/// The `(index, PDU)` pairs of an `AT+CMGL` answer (`+CMGL: <index>,<stat>,[<alpha>],<length>`,
/// each followed by its PDU line).
pub(crate) fn parse_list(lines: &[String]) -> Vec<(u32, String)> {
    lines
        .iter()
        .zip(lines.iter().skip(1))
        .filter_map(|(header, pdu)| {
            let index = fields(header, "+CMGL:")?.first()?.number()?;
            fields(pdu, "+CMGL:")
                .is_none()
                .then(|| (index, pdu.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_answers() {
        // Test vectors of the FNV reference: "" -> offset basis, "a" -> af63dc4c8601ec8c.
        assert_eq!(fnv1a64([]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(*b"a"), 0xaf63_dc4c_8601_ec8c);
        // The key hashes 00 00 00 01 61 for one part "a".
        assert_eq!(message_key([&b"a"[..]]), "e4b8cad92528d179");
        assert_ne!(
            message_key([&b"ab"[..]]),
            message_key([&b"a"[..], &b"b"[..]])
        );
        // A multipart message's key names each part.
        assert_eq!(
            message_key([&b"a"[..], &b"a"[..]]),
            "e4b8cad92528d179+e4b8cad92528d179"
        );
    }

    #[test]
    fn parses_indications() {
        assert_eq!(
            parse_indication(r#"+CMTI: "SM",3"#, "+CMTI:"),
            Some(("SM".into(), 3))
        );
        assert_eq!(
            parse_indication(r#"+CDSI: "ME",12"#, "+CDSI:"),
            Some(("ME".into(), 12))
        );
        assert_eq!(parse_indication(r#"+CMTI: "SM""#, "+CMTI:"), None);
        assert_eq!(parse_indication(r#"+CMTI: "SM",x"#, "+CMTI:"), None);
    }

    #[test]
    fn parses_listing_pairs_and_skips_headers_without_pdu() {
        let lines: Vec<String> = [
            "+CMGL: 1,0,,24",
            "07911326",
            "+CMGL: 4,1,,30",
            "+CMGL: 5,1,,30",
            "0791AB",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(
            parse_list(&lines),
            vec![(1, "07911326".into()), (5, "0791AB".into())]
        );
    }

    #[test]
    fn parses_read_and_empty_slot() {
        let lines = vec!["+CMGR: 0,,24".to_owned(), "0791".to_owned()];
        assert_eq!(parse_read(&lines).as_deref(), Some("0791"));
        assert_eq!(parse_read(&[]), None);
    }

    #[test]
    fn garbage_pdu_is_undecodable_and_kept_seen() {
        let mut inbox = Inbox::default();
        assert!(matches!(
            inbox.accept(Some(2), "ZZ", 0, 0),
            Received::Undecodable(_)
        ));
        assert_eq!(inbox.accept(Some(2), "ZZ", 0, 0), Received::AlreadySeen);
        assert!(matches!(
            inbox.accept(Some(3), "0791", 0, 0),
            Received::Undecodable(_)
        ));
    }
}
