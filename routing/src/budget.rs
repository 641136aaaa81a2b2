//! Bytes sent through an uplink over a rolling period: an uplink with a budget of `bytes` per
//! `period` seconds carries a message only if the message fits in what the last `period` seconds
//! left.

use std::collections::VecDeque;

/// How many bytes an uplink may carry per rolling period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Payload bytes per period (never 0: a config error).
    pub bytes: u64,
    /// The period in seconds (never 0).
    pub period: u64,
}

/// What one uplink carried, and when (unix seconds), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    spent: VecDeque<(u64, u64)>,
}

impl Ledger {
    /// `bytes` went out at `at`.
    pub fn record(&mut self, at: u64, bytes: u64) {
        let position = self.spent.partition_point(|&(time, _)| time <= at);
        self.spent.insert(position, (at, bytes));
    }

    /// Bytes spent within `budget`'s period before `now`; older entries are dropped.
    pub fn spent(&mut self, budget: &Budget, now: u64) -> u64 {
        while let Some(&(at, _)) = self.spent.front() {
            if at.saturating_add(budget.period) > now {
                break;
            }
            self.spent.pop_front();
        }
        self.spent.iter().map(|&(_, bytes)| bytes).sum()
    }

    /// Bytes left in `budget` at `now`.
    pub fn left(&mut self, budget: &Budget, now: u64) -> u64 {
        budget.bytes.saturating_sub(self.spent(budget, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_rolls_off_after_the_period() {
        let budget = Budget {
            bytes: 100,
            period: 60,
        };
        let mut ledger = Ledger::default();
        ledger.record(1000, 40);
        ledger.record(1030, 50);
        assert_eq!(ledger.left(&budget, 1030), 10);
        assert_eq!(ledger.left(&budget, 1059), 10);
        assert_eq!(
            ledger.left(&budget, 1060),
            50,
            "the first 40 bytes rolled off"
        );
        assert_eq!(ledger.left(&budget, 1090), 100);
    }

    #[test]
    fn entries_recorded_late_keep_their_time() {
        let budget = Budget {
            bytes: 100,
            period: 60,
        };
        let mut ledger = Ledger::default();
        ledger.record(1030, 50);
        ledger.record(1000, 40);
        assert_eq!(ledger.left(&budget, 1060), 50);
    }
}
