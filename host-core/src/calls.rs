//! Who waits for the answer to each driver call.

use std::collections::BTreeMap;

/// Who is waiting for a call's reply.
#[derive(Debug)]
pub enum Waiting<C> {
    /// A caller (a D-Bus method, a test).
    Caller(C),
    /// The outbox, sending the message with this id.
    Outbox(String),
}

/// Calls in flight by id; ids are never reused by one host.
#[derive(Debug)]
pub struct Calls<C> {
    waiting: BTreeMap<u64, Waiting<C>>,
    last: u64,
}

impl<C> Default for Calls<C> {
    fn default() -> Self {
        Calls {
            waiting: BTreeMap::new(),
            last: 0,
        }
    }
}

impl<C> Calls<C> {
    /// Registers a new call; returns its id.
    pub fn start(&mut self, waiting: Waiting<C>) -> u64 {
        self.last += 1;
        self.waiting.insert(self.last, waiting);
        self.last
    }

    /// Who waits for call `call`, if anybody; the call is over.
    pub fn finish(&mut self, call: u64) -> Option<Waiting<C>> {
        self.waiting.remove(&call)
    }

    /// Every call in flight, oldest first; none is any more.
    pub fn drain(&mut self) -> impl Iterator<Item = (u64, Waiting<C>)> {
        std::mem::take(&mut self.waiting).into_iter()
    }
}
