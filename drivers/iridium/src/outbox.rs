//! Messages waiting to go out: checking a message, and the FIFO of accepted messages of which
//! the first is the one in (or next for) the MO buffer.

use std::collections::VecDeque;

use m2mhal_plugin_api::{CallError, CallErrorKind, Encoding, OutgoingMessage};

use crate::sbd::MAX_PAYLOAD;

/// Checks that `message` can go out as one SBD message.
pub(crate) fn check(message: &OutgoingMessage) -> Result<(), CallError> {
    let invalid = |text: String| Err(CallError::new(CallErrorKind::InvalidArgument, text));
    if !message.destination.is_empty() {
        return invalid(format!(
            "satellite messages go to the gateway; destination must be empty, not {:?}",
            message.destination
        ));
    }
    if message.payload.is_empty() {
        return invalid(format!(
            "the payload is empty; an SBD message carries 1 to {MAX_PAYLOAD} bytes"
        ));
    }
    if message.payload.len() > MAX_PAYLOAD {
        return Err(CallError::new(
            CallErrorKind::PayloadTooLarge,
            format!(
                "payload of {} bytes exceeds the maximum of {MAX_PAYLOAD} bytes of an SBD message",
                message.payload.len()
            ),
        ));
    }
    match (message.encoding, std::str::from_utf8(&message.payload)) {
        (Encoding::Text, Err(error)) => {
            invalid(format!("payload is not valid UTF-8 text: {error}"))
        }
        _ => Ok(()),
    }
}

/// A message accepted by `Send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// The `Send` call to answer.
    pub call: u64,
    /// The host's message id.
    pub id: String,
    /// The bytes to send (text goes as its UTF-8 bytes).
    pub payload: Vec<u8>,
    /// Sessions that carried it so far.
    pub attempts: u32,
    /// A session that carried it ended without a result (it may have reached the gateway): it
    /// stays here until a session settles it.
    pub uncertain: bool,
}

/// The messages waiting to go out, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Outgoing>,
    /// Whether the first message is in the terminal's MO buffer.
    written: bool,
}

impl Outbox {
    /// Queues a checked message behind the others; `attempts` are the sessions that carried it
    /// before (recorded by earlier driver instances).
    pub fn push(&mut self, call: u64, message: OutgoingMessage, attempts: u32) {
        self.queue.push_back(Outgoing {
            call,
            id: message.id,
            payload: message.payload,
            attempts,
            uncertain: false,
        });
    }

    /// Notes that the session that carried the first message ended without a result.
    pub fn head_uncertain(&mut self) {
        if let Some(head) = self.queue.front_mut() {
            head.uncertain = true;
        }
    }

    /// Removes every message no session may have delivered (the host keeps them until the
    /// terminal can send); the others stay in order.
    pub fn take_certain(&mut self) -> Vec<Outgoing> {
        let head_stays = self.queue.front().is_some_and(|m| m.uncertain);
        let (uncertain, certain): (VecDeque<Outgoing>, VecDeque<Outgoing>) =
            self.queue.drain(..).partition(|m| m.uncertain);
        self.queue = uncertain;
        // The MO buffer holds the old first message; the next one is written afresh.
        self.written &= head_stays;
        certain.into()
    }

    /// The message the next session carries.
    pub fn head(&self) -> Option<&Outgoing> {
        self.queue.front()
    }

    /// Counts one more session for the first message; returns it.
    pub fn count_attempt(&mut self) -> Option<&Outgoing> {
        let head = self.queue.front_mut()?;
        head.attempts += 1;
        Some(head)
    }

    /// Whether the first message is in the MO buffer.
    pub fn is_written(&self) -> bool {
        self.written
    }

    /// Notes whether the first message is in the MO buffer.
    pub fn set_written(&mut self, written: bool) {
        self.written = written;
    }

    /// Removes the first message (sent or failed for good).
    pub fn pop(&mut self) -> Option<Outgoing> {
        self.written = false;
        self.queue.pop_front()
    }

    /// Removes every message; returns them, to answer their calls.
    pub fn abandon_all(&mut self) -> Vec<Outgoing> {
        self.written = false;
        self.queue.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use m2mhal_driver_testkit::outgoing;

    use super::*;

    #[test]
    fn check_accepts_1_to_340_bytes_to_the_gateway() {
        assert_eq!(check(&outgoing("m1", "", b"x", Encoding::Text)), Ok(()));
        assert_eq!(
            check(&outgoing("m1", "", &[0xff; 340], Encoding::Binary)),
            Ok(())
        );
        let kind = |m: &OutgoingMessage| check(m).unwrap_err().kind;
        assert_eq!(
            kind(&outgoing("m1", "", &[0; 341], Encoding::Binary)),
            CallErrorKind::PayloadTooLarge
        );
        assert_eq!(
            kind(&outgoing("m1", "", b"", Encoding::Binary)),
            CallErrorKind::InvalidArgument
        );
        assert_eq!(
            kind(&outgoing("m1", "", b"\xff", Encoding::Text)),
            CallErrorKind::InvalidArgument
        );
        let error = check(&outgoing("m1", "+881612345678", b"x", Encoding::Text)).unwrap_err();
        assert_eq!(error.kind, CallErrorKind::InvalidArgument);
        assert!(
            error
                .message
                .starts_with("satellite messages go to the gateway; destination must be empty")
        );
    }

    #[test]
    fn fifo_with_attempts_and_buffer_state() {
        let mut outbox = Outbox::default();
        outbox.push(1, outgoing("m1", "", b"a", Encoding::Text), 0);
        outbox.push(2, outgoing("m1", "", b"b", Encoding::Text), 0);
        assert_eq!(outbox.count_attempt().map(|m| m.attempts), Some(1));
        outbox.set_written(true);
        assert_eq!(outbox.pop().map(|m| m.call), Some(1));
        assert!(!outbox.is_written(), "the next message is not written yet");
        assert_eq!(outbox.head().map(|m| m.attempts), Some(0));
        let abandoned: Vec<u64> = outbox.abandon_all().iter().map(|m| m.call).collect();
        assert_eq!(abandoned, [2]);
        assert!(outbox.head().is_none());
    }

    #[test]
    fn only_messages_no_session_may_have_delivered_are_taken_back() {
        let mut outbox = Outbox::default();
        for (call, id) in [(1, "m1"), (2, "m2"), (3, "m3")] {
            outbox.push(call, outgoing(id, "", b"a", Encoding::Text), 0);
        }
        outbox.set_written(true);
        let calls = |taken: Vec<Outgoing>| taken.iter().map(|m| m.call).collect::<Vec<_>>();
        assert_eq!(calls(outbox.take_certain()), [1, 2, 3]);
        assert!(!outbox.is_written(), "the buffer's message was taken back");

        for (call, id) in [(4, "m4"), (5, "m5")] {
            outbox.push(call, outgoing(id, "", b"a", Encoding::Text), 0);
        }
        outbox.set_written(true);
        outbox.head_uncertain();
        assert_eq!(calls(outbox.take_certain()), [5]);
        assert!(outbox.is_written(), "the uncertain one stays in the buffer");
        assert_eq!(outbox.head().map(|m| m.call), Some(4));
    }
}
