//! Joining the parts of concatenated messages, arriving in any order, into whole messages, and
//! giving up on those whose missing parts never come.

use std::collections::BTreeMap;

use crate::deliver::Deliver;
use crate::user_data::Content;

/// A received message: whole, or, once given up on ([`Reassembler::expire`]), the parts that
/// arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complete<K> {
    /// Originator, as in [`Deliver::originator`].
    pub originator: String,
    /// Time stamp of the first part present, Unix seconds.
    pub timestamp: i64,
    /// Text parts joined; binary parts appended (if the parts mix both, the text parts count as
    /// their UTF-8 bytes and the result is binary).
    pub content: Content,
    /// Keys of the parts present in sequence order; one key for a message that was not split.
    pub parts: Vec<K>,
    /// Sequence numbers (1-based, ascending) of the parts that never arrived; empty for a whole
    /// message. The message had `parts.len() + missing.len()` parts.
    pub missing: Vec<u8>,
}

/// What tells the parts of one message from those of another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MessageId {
    originator: String,
    reference: u16,
    total: u8,
}

/// The parts of one message received so far.
#[derive(Debug)]
struct Pending<K> {
    /// When its first part was pushed, on the caller's clock.
    first_seen: u64,
    /// Indexed by sequence number - 1.
    slots: Vec<Option<(K, Deliver)>>,
}

/// A part that repeated the sequence number of a part already held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate<K> {
    /// The caller's key of the repeated part.
    pub key: K,
    /// Whether it is the very part already held (a retransmission), not a different part that
    /// happens to carry the same originator, reference, total and sequence number.
    pub identical: bool,
}

/// Collects concatenated parts until their message is complete. `K` identifies a part to the
/// caller, e.g. its modem storage index, so the caller can delete the parts once the message is
/// stored. No clock of its own: the caller says when each part came ([`Reassembler::push`]) and
/// when to give up on the messages still incomplete ([`Reassembler::expire`]).
#[derive(Debug)]
pub struct Reassembler<K> {
    pending: BTreeMap<MessageId, Pending<K>>,
    duplicates: Vec<Duplicate<K>>,
}

impl<K: Clone> Reassembler<K> {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self {
            pending: BTreeMap::new(),
            duplicates: Vec::new(),
        }
    }

    /// Adds a part that came at time `now` (any clock and unit, the same as for
    /// [`Reassembler::expire`]); returns the message when this part completes it. A message that
    /// was not split completes at once. Parts belong together when originator, reference and
    /// total match. A second part with the same sequence number replaces nothing: it is kept in
    /// [`Reassembler::duplicates`].
    pub fn push(&mut self, key: K, part: Deliver, now: u64) -> Option<Complete<K>> {
        let Some(concat) = part.concat.filter(|c| (1..=c.total).contains(&c.sequence)) else {
            return assemble([(key, part)], Vec::new());
        };
        let id = MessageId {
            originator: part.originator.clone(),
            reference: concat.reference,
            total: concat.total,
        };
        let pending = self.pending.entry(id.clone()).or_insert_with(|| Pending {
            first_seen: now,
            slots: vec![None; usize::from(concat.total)],
        });
        match pending.slots.get_mut(usize::from(concat.sequence) - 1) {
            Some(slot @ None) => *slot = Some((key, part)),
            held => {
                let identical = held
                    .and_then(|slot| slot.as_ref())
                    .is_some_and(|(_, held)| *held == part);
                self.duplicates.push(Duplicate { key, identical });
                return None;
            }
        }
        if pending.slots.iter().any(Option::is_none) {
            return None;
        }
        assemble(
            self.pending.remove(&id)?.slots.into_iter().flatten(),
            Vec::new(),
        )
    }

    /// Gives up waiting for the messages whose first part came at or before `first_seen_by`:
    /// returns each with the parts that arrived (oldest first) and forgets it. A part of such a
    /// message pushed later starts a message of its own.
    pub fn expire(&mut self, first_seen_by: u64) -> Vec<Complete<K>> {
        let (mut expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(_, pending)| pending.first_seen <= first_seen_by);
        self.pending = waiting.into_iter().collect();
        expired.sort_by_key(|(_, pending)| pending.first_seen);
        expired
            .into_iter()
            .filter_map(|(id, pending)| {
                let mut missing = Vec::new();
                let mut present = Vec::new();
                for (sequence, slot) in (1..=id.total).zip(pending.slots) {
                    match slot {
                        Some(part) => present.push(part),
                        None => missing.push(sequence),
                    }
                }
                assemble(present, missing)
            })
            .collect()
    }

    /// When the first part of the oldest incomplete message came, if any is waiting.
    pub fn oldest(&self) -> Option<u64> {
        self.pending
            .values()
            .map(|pending| pending.first_seen)
            .min()
    }

    /// Number of messages waiting for parts.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The parts that repeated a sequence number already received, oldest first.
    pub fn duplicates(&self) -> &[Duplicate<K>] {
        &self.duplicates
    }

    /// Takes the duplicate parts (e.g. to delete the identical ones from the modem), leaving none.
    pub fn take_duplicates(&mut self) -> Vec<Duplicate<K>> {
        std::mem::take(&mut self.duplicates)
    }
}

impl<K: Clone> Default for Reassembler<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// The message made of `parts` in sequence order, without the `missing` ones; `None` if there
/// are no parts.
fn assemble<K>(
    parts: impl IntoIterator<Item = (K, Deliver)>,
    missing: Vec<u8>,
) -> Option<Complete<K>> {
    let mut parts = parts.into_iter();
    let (key, first) = parts.next()?;
    let mut keys = vec![key];
    let mut content = first.content;
    for (key, part) in parts {
        keys.push(key);
        content = join(content, part.content);
    }
    Some(Complete {
        originator: first.originator,
        timestamp: first.timestamp,
        content,
        parts: keys,
        missing,
    })
}

fn join(head: Content, tail: Content) -> Content {
    match (head, tail) {
        (Content::Text(mut text), Content::Text(more)) => {
            text.push_str(&more);
            Content::Text(text)
        }
        (head, tail) => Content::Binary([bytes(head), bytes(tail)].concat()),
    }
}

fn bytes(content: Content) -> Vec<u8> {
    match content {
        Content::Text(text) => text.into_bytes(),
        Content::Binary(bytes) => bytes,
    }
}
