//! Exactly-once SMS parts across restarts: what is recorded about a message while its parts go
//! out, and how a restarted driver resumes it.
//!
//! Right before each part's `AT+CMGS` the driver reports (an
//! [`Effect::MessageState`](m2mhal_plugin_api::Effect::MessageState) ahead of the command's
//! bytes, which the host commits first: write-ahead) the message's concatenation reference, its
//! part count, how many parts the modem acknowledged (`+CMGS: <mr>`) and their message
//! references. After a restart the message comes back with that record in
//! `OutgoingMessage::progress`: it is encoded again under the same reference, the acknowledged
//! parts are skipped, and the handset assembles one message.
//!
//! Kill points, for part `k + 1` of `n`:
//! - before the record `parts_sent = k` is committed: the modem's answer to part `k` was not
//!   recorded; part `k` goes again (the daemon never committed the answer: the one duplicate a
//!   kill can cause, and only when the modem answered in the instant before the commit);
//! - after the record, before the modem answered part `k + 1` (at `AT+CMGS`, at the `> ` prompt,
//!   while the network takes the PDU): nobody knows whether it went; it goes again;
//! - after the answer to the last part, before the host committed `sent`: as the first point.
//!
//! A recorded part count that does not match the new encoding (a message from an older driver
//! that split it otherwise) is not resumed: it goes whole under a new reference.

use std::collections::BTreeMap;

/// Progress key: the concatenation reference of the message's parts.
const CONCAT_REFERENCE: &str = "concat_reference";
/// Progress key (also in the final info): the message's part count.
const PARTS: &str = "parts";
/// Progress key: parts the modem acknowledged, in order from the first.
const PARTS_SENT: &str = "parts_sent";
/// Progress key (also in the final info): the acknowledged parts' message references, joined
/// with commas.
const MESSAGE_REFERENCES: &str = "message_references";

/// The facts about a message with parts still to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartProgress {
    /// The concatenation reference all its parts carry.
    pub concat_reference: u8,
    /// Its part count.
    pub parts: usize,
    /// The message references of the parts the modem acknowledged, in order.
    pub references: Vec<String>,
}

impl PartProgress {
    /// The facts recorded by an earlier driver instance, if complete and readable.
    pub fn from_progress(progress: &BTreeMap<String, String>) -> Option<Self> {
        let concat_reference = progress.get(CONCAT_REFERENCE)?.parse().ok()?;
        let parts: usize = progress.get(PARTS)?.parse().ok()?;
        let sent: usize = progress.get(PARTS_SENT)?.parse().ok()?;
        let references: Vec<String> = match sent {
            0 => Vec::new(),
            _ => progress
                .get(MESSAGE_REFERENCES)?
                .split(',')
                .map(str::to_owned)
                .collect(),
        };
        (references.len() == sent && sent <= parts).then_some(PartProgress {
            concat_reference,
            parts,
            references,
        })
    }

    /// The facts to record before the next part goes out.
    pub fn to_record(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                CONCAT_REFERENCE.to_owned(),
                self.concat_reference.to_string(),
            ),
            (PARTS.to_owned(), self.parts.to_string()),
            (PARTS_SENT.to_owned(), self.references.len().to_string()),
            (MESSAGE_REFERENCES.to_owned(), self.references.join(",")),
        ])
    }

    /// The info of the reply once every part is acknowledged.
    pub fn to_sent_info(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (PARTS.to_owned(), self.parts.to_string()),
            (MESSAGE_REFERENCES.to_owned(), self.references.join(",")),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_the_same_progress() {
        let progress = PartProgress {
            concat_reference: 7,
            parts: 3,
            references: vec!["12".to_owned(), String::new()],
        };
        let record = progress.to_record();
        assert_eq!(record["parts_sent"], "2");
        assert_eq!(PartProgress::from_progress(&record), Some(progress.clone()));
        let none_yet = PartProgress {
            references: Vec::new(),
            ..progress
        };
        assert_eq!(
            PartProgress::from_progress(&none_yet.to_record()),
            Some(none_yet)
        );
    }

    #[test]
    fn incomplete_or_inconsistent_records_are_not_resumed() {
        let record = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect()
        };
        for pairs in [
            &[("parts", "2"), ("parts_sent", "0")][..],
            &[
                ("concat_reference", "300"),
                ("parts", "2"),
                ("parts_sent", "0"),
            ],
            &[
                ("concat_reference", "1"),
                ("parts", "2"),
                ("parts_sent", "2"),
                ("message_references", "5"),
            ],
            &[
                ("concat_reference", "1"),
                ("parts", "1"),
                ("parts_sent", "2"),
                ("message_references", "5,6"),
            ],
        ] {
            assert_eq!(
                PartProgress::from_progress(&record(pairs)),
                None,
                "{pairs:?}"
            );
        }
    }
}
