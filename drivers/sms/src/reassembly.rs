//! Joining the parts of concatenated messages, arriving in any order, into whole messages.

use std::collections::HashMap;

use crate::deliver::Deliver;
use crate::user_data::Content;

/// A whole received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complete<K> {
    /// Originator, as in [`Deliver::originator`].
    pub originator: String,
    /// Time stamp of the first part, Unix seconds.
    pub timestamp: i64,
    /// Text parts joined; binary parts appended (if the parts mix both, the text parts count as
    /// their UTF-8 bytes and the result is binary).
    pub content: Content,
    /// Keys of the parts in sequence order; one key for a message that was not split.
    pub parts: Vec<K>,
}

/// What tells the parts of one message from those of another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MessageId {
    originator: String,
    reference: u16,
    total: u8,
}

/// Collects concatenated parts until their message is complete. `K` identifies a part to the
/// caller, e.g. its modem storage index, so the caller can delete the parts once the message is
/// stored. No clock: parts wait until their message completes.
#[derive(Debug)]
pub struct Reassembler<K> {
    /// Parts received so far, indexed by sequence number - 1.
    pending: HashMap<MessageId, Vec<Option<(K, Deliver)>>>,
    duplicates: Vec<K>,
}

impl<K: Clone> Reassembler<K> {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self {
            pending: HashMap::new(),
            duplicates: Vec::new(),
        }
    }

    /// Adds a part; returns the message when this part completes it. A message that was not
    /// split completes at once. Parts belong together when originator, reference and total
    /// match. A second part with the same sequence number replaces nothing: its key is kept in
    /// [`Reassembler::duplicates`].
    pub fn push(&mut self, key: K, part: Deliver) -> Option<Complete<K>> {
        let Some(concat) = part.concat.filter(|c| (1..=c.total).contains(&c.sequence)) else {
            return assemble([(key, part)]);
        };
        let id = MessageId {
            originator: part.originator.clone(),
            reference: concat.reference,
            total: concat.total,
        };
        let slots = self
            .pending
            .entry(id.clone())
            .or_insert_with(|| vec![None; usize::from(concat.total)]);
        match slots.get_mut(usize::from(concat.sequence) - 1) {
            Some(slot @ None) => *slot = Some((key, part)),
            _ => {
                self.duplicates.push(key);
                return None;
            }
        }
        if slots.iter().any(Option::is_none) {
            return None;
        }
        assemble(self.pending.remove(&id)?.into_iter().flatten())
    }

    /// Number of messages waiting for parts.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Keys of parts that repeated a sequence number already received, oldest first.
    pub fn duplicates(&self) -> &[K] {
        &self.duplicates
    }

    /// Takes the keys of duplicate parts (e.g. to delete them from the modem), leaving none.
    pub fn take_duplicates(&mut self) -> Vec<K> {
        std::mem::take(&mut self.duplicates)
    }
}

impl<K: Clone> Default for Reassembler<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// The message made of `parts` in sequence order; `None` if there are none.
fn assemble<K>(parts: impl IntoIterator<Item = (K, Deliver)>) -> Option<Complete<K>> {
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
