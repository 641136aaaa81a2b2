//! The timers a driver armed, on the runner's monotonic millisecond clock.

use std::collections::BTreeMap;

/// Armed timers by id, with the millisecond each one fires at.
#[derive(Debug, Default)]
pub struct Timers {
    deadlines: BTreeMap<u32, u64>,
}

impl Timers {
    /// Arms (or re-arms) timer `id` to fire at `deadline`.
    pub fn set(&mut self, id: u32, deadline: u64) {
        self.deadlines.insert(id, deadline);
    }

    /// Disarms timer `id`.
    pub fn cancel(&mut self, id: u32) {
        self.deadlines.remove(&id);
    }

    /// Disarms every timer.
    pub fn clear(&mut self) {
        self.deadlines.clear();
    }

    /// When timer `id` fires, if it is armed.
    pub fn due(&self, id: u32) -> Option<u64> {
        self.deadlines.get(&id).copied()
    }

    /// When the next timer fires.
    pub fn next(&self) -> Option<u64> {
        self.deadlines.values().min().copied()
    }

    /// Disarms the timers due at `now` and returns their ids, earliest first (by id at a tie).
    pub fn fire(&mut self, now: u64) -> Vec<u32> {
        let mut due: Vec<(u64, u32)> = self
            .deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(id, deadline)| (*deadline, *id))
            .collect();
        due.sort_unstable();
        due.into_iter()
            .map(|(_, id)| {
                self.deadlines.remove(&id);
                id
            })
            .collect()
    }
}
