//! A device's outbox: the whole life of an outgoing message once the store has committed it.
//!
//! ```text
//!   enqueue / load          start_next             driver's reply (finished)
//!  ───────────────> queued ───────────> sending ──┬─ Ok ─────────────────> sent
//!                     ^                           ├─ NotReady | Timeout ─> queued (head)
//!                     └─ interrupt (driver failed,└─ other error ───────> failed
//!                        device gone): head
//!   queued ── withdraw (never on the wire: not in flight, last attempt not timed out) ──> out
//! ```
//!
//! A driver that cannot send now answers `NotReady` and keeps nothing: the message waits here,
//! host-side, where the router can withdraw it (the host holds the outbox until the driver has
//! news about the device, see `DeviceHost`). `Timeout` means it may have gone: not withdrawn.
//!
//! A message enters through the daemon's one owner of outgoing messages (`device/outgoing.rs`):
//! it checks the message, commits it as `queued`, signals `queued`, then hands it to
//! [`Outbox::enqueue`]. That insert happens outside the core because `Send` must accept a
//! message while no task serves the device (it goes out when the device is back, from
//! [`Outbox::load`]).
//!
//! Every state change is a [`Record`]: committed to the store first, signalled after (an
//! application that sees `StateChanged` finds the same state in the store). One message is in
//! flight at a time; the others wait in order. A driver's own `MessageState` reports for the
//! message in flight add facts (attempts, next retry) and are committed the same way; a repeated
//! `sending` is committed without a second signal.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, Encoding, MessageState, OutgoingMessage,
};

/// An outgoing message in the outbox, as the store committed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The store's message id.
    pub id: String,
    /// Where it goes (a phone number; "" for a satellite gateway).
    pub destination: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Text or binary.
    pub encoding: Encoding,
    /// Facts recorded with the message when it was read from the store.
    pub info: BTreeMap<String, String>,
}

/// A new state of an outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The message id.
    pub id: String,
    /// The new state.
    pub state: MessageState,
    /// Why, when failed or put back ("" otherwise).
    pub error: String,
    /// Extra facts to record.
    pub info: BTreeMap<String, String>,
}

/// A state change to commit, and whether to signal it once committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What to commit.
    pub change: StateChange,
    /// Whether `Messaging.StateChanged` follows the commit.
    pub signal: bool,
}

impl StateChange {
    fn new(id: &str, state: MessageState, error: &str, info: BTreeMap<String, String>) -> Self {
        StateChange {
            id: id.to_owned(),
            state,
            error: error.to_owned(),
            info,
        }
    }

    fn signalled(self) -> Record {
        Record {
            change: self,
            signal: true,
        }
    }
}

/// The messages waiting for one device, and the one being sent.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Outgoing>,
    sending: Option<Outgoing>,
    loaded: bool,
    /// Waiting messages whose last attempt timed out on the wire: they may have gone.
    uncertain: BTreeSet<String>,
}

impl Outbox {
    /// A message committed to the store (`Messaging.Send`) waits for its turn.
    pub fn enqueue(&mut self, message: Outgoing) {
        self.queue.push_back(message);
    }

    /// A stored message was deleted: it no longer waits (one in flight finishes).
    pub fn forget(&mut self, id: &str) {
        self.queue.retain(|m| m.id != id);
    }

    /// Takes a waiting message back (the router sends it through another uplink): only one that
    /// never may have reached the wire, neither in flight nor put back after a timeout.
    pub fn withdraw(&mut self, id: &str) -> bool {
        if self.in_flight(id) || self.uncertain.contains(id) {
            return false;
        }
        let before = self.queue.len();
        self.queue.retain(|m| m.id != id);
        self.queue.len() < before
    }

    /// Whether the store's waiting messages were loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Adds the messages the store holds as waiting (after a restart of the daemon) that the
    /// outbox does not hold yet.
    pub fn load(&mut self, stored: Vec<Outgoing>) {
        self.loaded = true;
        if !stored.is_empty() {
            tracing::info!("{} queued message(s) from the store", stored.len());
        }
        for message in stored {
            let known = self.queue.iter().any(|m| m.id == message.id);
            if !known && !self.in_flight(&message.id) {
                self.queue.push_back(message);
            }
        }
    }

    /// How many messages wait or are being sent (`Messaging.Pending`).
    pub fn pending(&self) -> u32 {
        let pending = self.queue.len() + usize::from(self.sending.is_some());
        u32::try_from(pending).unwrap_or(u32::MAX)
    }

    /// Whether message `id` is the one being sent.
    pub fn in_flight(&self, id: &str) -> bool {
        self.sending.as_ref().is_some_and(|m| m.id == id)
    }

    /// Whether a message is being sent.
    pub fn is_sending(&self) -> bool {
        self.sending.is_some()
    }

    /// Takes the next waiting message into flight, when none is; returns its id.
    pub fn start_next(&mut self) -> Option<String> {
        if self.sending.is_some() {
            return None;
        }
        let message = self.queue.pop_front()?;
        let id = message.id.clone();
        self.sending = Some(message);
        Some(id)
    }

    /// The message in flight for the driver, with `progress` (what the driver recorded about it
    /// so far, read afresh from the store; `None`: what the outbox holds), and its `sending`
    /// record.
    pub fn hand_over(
        &self,
        progress: Option<BTreeMap<String, String>>,
    ) -> Option<(OutgoingMessage, Record)> {
        let message = self.sending.as_ref()?;
        let outgoing = OutgoingMessage {
            id: message.id.clone(),
            destination: message.destination.clone(),
            payload: message.payload.clone(),
            encoding: message.encoding,
            progress: progress.unwrap_or_else(|| message.info.clone()),
        };
        let record =
            StateChange::new(&message.id, MessageState::Sending, "", BTreeMap::new()).signalled();
        Some((outgoing, record))
    }

    /// A driver reported a state of message `id` (`Effect::MessageState`). Its facts are
    /// committed before the next effect is carried out: a driver reports a fact ahead of the
    /// bytes that make it true (write-ahead) and gets it back after a restart.
    pub fn reported(
        &self,
        id: &str,
        state: MessageState,
        error: &str,
        info: BTreeMap<String, String>,
    ) -> Record {
        // The host already signalled `sending` for the message in flight.
        let repeated = state == MessageState::Sending && self.in_flight(id);
        Record {
            change: StateChange::new(id, state, error, info),
            signal: !repeated,
        }
    }

    /// The driver answered the send of message `id`: sent, put back at the head (the device is
    /// not ready, or took too long), or failed.
    pub fn finished(&mut self, id: &str, result: Result<CallReply, CallError>) -> Record {
        let message = self.sending.take();
        let timed_out = matches!(&result, Err(e) if e.kind == CallErrorKind::Timeout);
        if timed_out {
            self.uncertain.insert(id.to_owned());
        } else {
            self.uncertain.remove(id);
        }
        let change = match result {
            Ok(reply) => {
                let info = match reply {
                    CallReply::Sent(info) => info,
                    _ => BTreeMap::new(),
                };
                StateChange::new(id, MessageState::Sent, "", info)
            }
            Err(e) if matches!(e.kind, CallErrorKind::NotReady | CallErrorKind::Timeout) => {
                tracing::info!("message {id} stays queued: {}", e.message);
                if let Some(message) = message {
                    self.queue.push_front(message);
                }
                StateChange::new(id, MessageState::Queued, &e.message, BTreeMap::new())
            }
            Err(e) => {
                tracing::warn!("message {id} failed: {}", e.message);
                StateChange::new(id, MessageState::Failed, &e.message, BTreeMap::new())
            }
        };
        change.signalled()
    }

    /// Sending stopped without an answer (the driver failed, the device went away): the message
    /// in flight, still committed as `sending`, goes out again first once the device is back.
    pub fn interrupt(&mut self) {
        if let Some(message) = self.sending.take() {
            self.queue.push_front(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> Outgoing {
        Outgoing {
            id: id.into(),
            destination: "+15550100".into(),
            payload: b"hi".to_vec(),
            encoding: Encoding::Text,
            info: BTreeMap::from([("attempts".to_owned(), "1".to_owned())]),
        }
    }

    fn ids(outbox: &mut Outbox) -> Vec<String> {
        std::iter::from_fn(|| {
            let id = outbox.start_next()?;
            outbox.finished(&id, Ok(CallReply::Done));
            Some(id)
        })
        .collect()
    }

    #[test]
    fn messages_leave_in_order_one_at_a_time() {
        let mut outbox = Outbox::default();
        outbox.enqueue(message("1"));
        outbox.enqueue(message("2"));
        assert_eq!(outbox.start_next().as_deref(), Some("1"));
        assert_eq!(outbox.start_next(), None, "one in flight at a time");
        assert_eq!(outbox.pending(), 2);
        outbox.finished("1", Ok(CallReply::Done));
        assert_eq!(ids(&mut outbox), ["2"]);
        assert_eq!(outbox.pending(), 0);
    }

    #[test]
    fn a_busy_device_puts_the_message_back_at_the_head() {
        let mut outbox = Outbox::default();
        outbox.enqueue(message("1"));
        outbox.enqueue(message("2"));
        let id = outbox.start_next().unwrap_or_default();
        let busy = CallError::new(CallErrorKind::NotReady, "no network");
        let record = outbox.finished(&id, Err(busy));
        assert_eq!(record.change.state, MessageState::Queued);
        assert_eq!(record.change.error, "no network");
        assert_eq!(ids(&mut outbox), ["1", "2"]);
    }

    #[test]
    fn a_failed_message_is_not_retried() {
        let mut outbox = Outbox::default();
        outbox.enqueue(message("1"));
        let id = outbox.start_next().unwrap_or_default();
        let refused = CallError::new(CallErrorKind::Failed, "+CMS ERROR: 500");
        assert_eq!(
            outbox.finished(&id, Err(refused)).change.state,
            MessageState::Failed
        );
        assert_eq!(outbox.pending(), 0);
    }

    #[test]
    fn loading_skips_what_the_outbox_already_holds() {
        let mut outbox = Outbox::default();
        outbox.enqueue(message("1"));
        outbox.enqueue(message("2"));
        outbox.start_next();
        outbox.load(vec![message("1"), message("2"), message("3")]);
        assert!(outbox.is_loaded());
        assert_eq!(outbox.pending(), 3);
    }

    #[test]
    fn the_message_in_flight_goes_out_with_the_progress_read_last() {
        let mut outbox = Outbox::default();
        outbox.enqueue(message("1"));
        outbox.start_next();
        let progress = BTreeMap::from([("attempts".to_owned(), "3".to_owned())]);
        let (outgoing, record) = outbox.hand_over(Some(progress.clone())).unwrap_or_else(|| {
            panic!("nothing in flight");
        });
        assert_eq!(outgoing.progress, progress);
        assert_eq!(record.change.state, MessageState::Sending);
        let (outgoing, _) = outbox
            .hand_over(None)
            .unwrap_or_else(|| panic!("nothing in flight"));
        assert_eq!(outgoing.progress["attempts"], "1");
        assert!(
            !outbox
                .reported("1", MessageState::Sending, "", BTreeMap::new())
                .signal
        );
        assert!(
            outbox
                .reported("2", MessageState::Sending, "", BTreeMap::new())
                .signal
        );
    }

    #[test]
    fn only_a_message_that_never_reached_the_wire_is_withdrawn() {
        let mut outbox = Outbox::default();
        for id in ["1", "2", "3"] {
            outbox.enqueue(message(id));
        }
        let id = outbox.start_next().unwrap_or_default();
        assert!(!outbox.withdraw(&id), "in flight");
        let timeout = CallError::new(CallErrorKind::Timeout, "SBD session timed out");
        outbox.finished(&id, Err(timeout));
        assert!(!outbox.withdraw("1"), "it may have gone");
        assert!(outbox.withdraw("2"));
        assert!(!outbox.withdraw("2"), "already gone");
        assert!(!outbox.withdraw("9"), "never here");
        assert_eq!(ids(&mut outbox), ["1", "3"]);
    }

    #[test]
    fn an_interrupted_send_goes_first_again() {
        let mut outbox = Outbox::default();
        outbox.enqueue(message("1"));
        outbox.enqueue(message("2"));
        outbox.start_next();
        outbox.interrupt();
        assert!(!outbox.is_sending());
        assert_eq!(ids(&mut outbox), ["1", "2"]);
    }
}
