//! Who waits for the answer to each driver call, and until when.

use std::collections::{BTreeMap, BTreeSet};

/// How many calls that timed out are remembered, so that the driver's late answers to them are
/// recognised as late rather than unknown.
const LATE_REMEMBERED: usize = 64;

/// Until when a caller waits for a call's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the caller stops waiting, on the runner's millisecond clock.
    pub at_ms: u64,
    /// How long the caller meant to wait, in milliseconds (told in the `Timeout` answer).
    pub timeout_ms: u64,
}

/// Who is waiting for a call's reply.
#[derive(Debug)]
pub enum Waiting<C> {
    /// A caller (a D-Bus method, a test).
    Caller(C),
    /// The outbox, sending the message with this id.
    Outbox(String),
}

/// What became of a call the driver answers.
#[derive(Debug)]
pub enum Finished<C> {
    /// Somebody waits for the answer; the call is over.
    Waiting(Waiting<C>),
    /// Its caller was answered `Timeout` before.
    Late,
    /// Nobody ever waited for it, or it was answered before.
    Unknown,
}

/// Calls in flight by id; ids are never reused by one host.
#[derive(Debug)]
pub struct Calls<C> {
    waiting: BTreeMap<u64, Waiting<C>>,
    deadlines: BTreeMap<u64, Deadline>,
    late: BTreeSet<u64>,
    last: u64,
}

impl<C> Default for Calls<C> {
    fn default() -> Self {
        Calls {
            waiting: BTreeMap::new(),
            deadlines: BTreeMap::new(),
            late: BTreeSet::new(),
            last: 0,
        }
    }
}

impl<C> Calls<C> {
    /// Registers a new call, answered `Timeout` at `deadline` if there is one; returns its id.
    pub fn start(&mut self, waiting: Waiting<C>, deadline: Option<Deadline>) -> u64 {
        self.last += 1;
        self.waiting.insert(self.last, waiting);
        if let Some(deadline) = deadline {
            self.deadlines.insert(self.last, deadline);
        }
        self.last
    }

    /// Who waits for call `call`, if anybody; the call is over.
    pub fn finish(&mut self, call: u64) -> Finished<C> {
        self.deadlines.remove(&call);
        match self.waiting.remove(&call) {
            Some(waiting) => Finished::Waiting(waiting),
            None if self.late.remove(&call) => Finished::Late,
            None => Finished::Unknown,
        }
    }

    /// When the next call's caller stops waiting.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.values().map(|deadline| deadline.at_ms).min()
    }

    /// The calls whose deadline is due at `now`, oldest first, with how long their callers
    /// meant to wait; they are over (the driver's answer to one comes [`Finished::Late`]).
    pub fn expire(&mut self, now: u64) -> Vec<(u64, Waiting<C>, u64)> {
        let due: Vec<(u64, u64)> = self
            .deadlines
            .iter()
            .filter(|(_, deadline)| deadline.at_ms <= now)
            .map(|(call, deadline)| (*call, deadline.timeout_ms))
            .collect();
        let mut expired = Vec::new();
        for (call, timeout_ms) in due {
            self.deadlines.remove(&call);
            if let Some(waiting) = self.waiting.remove(&call) {
                expired.push((call, waiting, timeout_ms));
            }
            self.late.insert(call);
            if self.late.len() > LATE_REMEMBERED {
                self.late.pop_first();
            }
        }
        expired
    }

    /// Every call in flight, oldest first; none is any more.
    pub fn drain(&mut self) -> impl Iterator<Item = (u64, Waiting<C>)> {
        self.deadlines.clear();
        self.late.clear();
        std::mem::take(&mut self.waiting).into_iter()
    }
}
