//! Sending SMS: checking and encoding an [`OutgoingMessage`], and the queue of messages waiting to
//! go out, one `AT+CMGS` per part.

use std::collections::{BTreeMap, VecDeque};

use m2mhal_at::{AtError, Command, Response};
use m2mhal_plugin_api::{CallError, CallErrorKind, CallReply, Encoding, OutgoingMessage};
use m2mhal_sms::{Body, EncodedPart, PhoneNumber, SmsError, SubmitOptions, encode_submit, to_hex};

use crate::parse::fields;
use crate::progress::PartProgress;

/// Largest payload one `Send` accepts, in bytes: 1200 bytes of GSM 7-bit text are 8
/// concatenated parts (up to 18 parts for UCS-2 text), which keeps one message from holding
/// the modem for minutes while staying far below the 255-part limit of concatenation.
pub const MAX_PAYLOAD: usize = 1200;

/// How long the network may take to accept one part.
const SEND_TIMEOUT_MS: u64 = 60_000;
/// Ctrl-Z: ends the PDU after the `> ` prompt.
const CTRL_Z: u8 = 0x1A;

/// Checks `message` and encodes it as SMS-SUBMIT parts using `concat_reference`.
pub(crate) fn encode(
    message: &OutgoingMessage,
    concat_reference: u8,
) -> Result<Vec<EncodedPart>, CallError> {
    let destination = PhoneNumber::destination(&message.destination).map_err(|error| {
        CallError::new(
            CallErrorKind::InvalidArgument,
            format!("destination: {error}"),
        )
    })?;
    let body = match message.encoding {
        Encoding::Text => Body::Text(std::str::from_utf8(&message.payload).map_err(|error| {
            CallError::new(
                CallErrorKind::InvalidArgument,
                format!("payload is not valid UTF-8 text: {error}"),
            )
        })?),
        Encoding::Binary => Body::Binary(&message.payload),
    };
    if message.payload.len() > MAX_PAYLOAD {
        return Err(CallError::new(
            CallErrorKind::PayloadTooLarge,
            format!(
                "payload of {} bytes exceeds the maximum of {MAX_PAYLOAD}",
                message.payload.len()
            ),
        ));
    }
    let options = SubmitOptions {
        concat_reference,
        ..SubmitOptions::default()
    };
    let parts = encode_submit(&destination, body, &options).map_err(|error| {
        let kind = match error {
            SmsError::TooManyParts { .. } => CallErrorKind::PayloadTooLarge,
            _ => CallErrorKind::InvalidArgument,
        };
        CallError::new(kind, error.to_string())
    })?;
    if parts.is_empty() {
        return Err(CallError::new(
            CallErrorKind::InvalidArgument,
            "the message encodes to no PDU",
        ));
    }
    Ok(parts)
}

/// The `AT+CMGS` command of one part: the PDU goes out in hex after the `> ` prompt.
fn part_command(part: &EncodedPart) -> Command {
    let mut payload = to_hex(&part.pdu).into_bytes();
    payload.push(CTRL_Z);
    Command::new(format!("AT+CMGS={}", part.tpdu_len), SEND_TIMEOUT_MS).with_prompt_payload(payload)
}

/// A message accepted by `Send`, and where it is.
#[derive(Debug)]
struct Outgoing {
    call: u64,
    id: String,
    parts: Vec<EncodedPart>,
    /// Its reference and the parts acknowledged so far (before a restart too).
    progress: PartProgress,
}

/// What comes next for the message being sent.
#[derive(Debug)]
pub(crate) enum PartOutcome {
    /// Record `record` for message `id` (before the command goes: see [`crate::progress`]), then
    /// send `command` (the next part).
    Next {
        /// The host's message id.
        id: String,
        /// The facts to record about it.
        record: BTreeMap<String, String>,
        /// The part's `AT+CMGS`.
        command: Command,
    },
    /// The message is done: answer its `Send` call.
    Finished {
        /// The `Send` call.
        call: u64,
        /// The reply.
        result: Result<CallReply, CallError>,
    },
}

/// Messages waiting to be sent, one at a time.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    waiting: VecDeque<Outgoing>,
    sending: Option<Outgoing>,
}

impl Outbox {
    /// Queues a message for `call`: its encoded `parts` and `progress` (the parts of it the
    /// modem acknowledged before a restart are not sent again).
    pub fn push(&mut self, call: u64, id: String, parts: Vec<EncodedPart>, progress: PartProgress) {
        self.waiting.push_back(Outgoing {
            call,
            id,
            parts,
            progress,
        });
    }

    /// Starts the next message unless one is being sent; returns what comes first (the message
    /// is finished at once when every part was acknowledged before a restart).
    pub fn start(&mut self) -> Option<PartOutcome> {
        if self.sending.is_some() {
            return None;
        }
        self.sending = Some(self.waiting.pop_front()?);
        self.next_step()
    }

    /// Takes in the result of the current part's `AT+CMGS`; `None` when nothing is being sent.
    pub fn part_done(&mut self, result: Result<Response, AtError>) -> Option<PartOutcome> {
        let sending = self.sending.as_mut()?;
        match result {
            Ok(response) => {
                let reference = response
                    .lines
                    .iter()
                    .find_map(|line| Some(fields(line, "+CMGS:")?.first()?.text.to_owned()))
                    .unwrap_or_default();
                sending.progress.references.push(reference);
                self.next_step()
            }
            Err(error) => {
                let kind = match error {
                    AtError::Timeout => CallErrorKind::Timeout,
                    _ => CallErrorKind::Failed,
                };
                let number = sending.progress.references.len() + 1;
                let total = sending.parts.len();
                let sending = self.sending.take()?;
                Some(PartOutcome::Finished {
                    call: sending.call,
                    result: Err(CallError::new(
                        kind,
                        format!("part {number} of {total} not sent: {error}"),
                    )),
                })
            }
        }
    }

    /// The first part not acknowledged yet, or the reply when there is none.
    fn next_step(&mut self) -> Option<PartOutcome> {
        let sending = self.sending.as_ref()?;
        if let Some(part) = sending.parts.get(sending.progress.references.len()) {
            return Some(PartOutcome::Next {
                id: sending.id.clone(),
                record: sending.progress.to_record(),
                command: part_command(part),
            });
        }
        let sending = self.sending.take()?;
        Some(PartOutcome::Finished {
            call: sending.call,
            result: Ok(CallReply::Sent(sending.progress.to_sent_info())),
        })
    }

    /// Abandons the message being sent; returns its call.
    pub fn abandon_current(&mut self) -> Option<u64> {
        self.sending.take().map(|sending| sending.call)
    }

    /// Abandons every message; returns their calls.
    pub fn abandon_all(&mut self) -> Vec<u64> {
        self.abandon_current()
            .into_iter()
            .chain(self.waiting.drain(..).map(|message| message.call))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use m2mhal_driver_testkit::outgoing;

    use super::*;

    #[test]
    fn bad_destination_is_named() {
        let error = encode(&outgoing("m1", "+49 151", b"hi", Encoding::Text), 0).unwrap_err();
        assert_eq!(error.kind, CallErrorKind::InvalidArgument);
        assert!(error.message.contains("+49 151"), "{}", error.message);
    }

    #[test]
    fn invalid_utf8_text_is_rejected_but_binary_is_fine() {
        let error = encode(
            &outgoing("m1", "+4915112345678", b"\xff\xfe", Encoding::Text),
            0,
        )
        .unwrap_err();
        assert_eq!(error.kind, CallErrorKind::InvalidArgument);
        assert!(error.message.contains("UTF-8"));
        assert_eq!(
            encode(
                &outgoing("m1", "+4915112345678", b"\xff\xfe", Encoding::Binary),
                0
            )
            .unwrap()
            .len(),
            1
        );
    }

    #[test]
    fn oversized_payload_is_too_large() {
        let payload = vec![b'a'; MAX_PAYLOAD + 1];
        let error = encode(
            &outgoing("m1", "+4915112345678", &payload, Encoding::Text),
            0,
        )
        .unwrap_err();
        assert_eq!(error.kind, CallErrorKind::PayloadTooLarge);
        let fits = vec![b'a'; MAX_PAYLOAD];
        assert_eq!(
            encode(&outgoing("m1", "+4915112345678", &fits, Encoding::Text), 0)
                .unwrap()
                .len(),
            8
        );
    }

    #[test]
    fn part_command_sends_hex_and_ctrl_z_after_the_prompt() {
        let parts = encode(&outgoing("m1", "+4915112345678", b"hi", Encoding::Text), 0).unwrap();
        let command = part_command(&parts[0]);
        assert_eq!(command.line, format!("AT+CMGS={}", parts[0].tpdu_len));
        let payload = command.prompt_payload.unwrap();
        assert_eq!(payload.last(), Some(&CTRL_Z));
        assert!(payload.starts_with(b"00"));
    }
}
