//! When to try again something that keeps failing (opening a driver), and how loudly to say so.
//!
//! The policy is pure: the caller passes the time in (a [`Duration`] since any fixed start of a
//! monotonic clock), so it is tested without waiting.

use std::fmt::Display;
use std::time::Duration;

/// First delay before a failed driver is opened again.
pub const DRIVER_RETRY_FIRST: Duration = Duration::from_secs(5);
/// Largest delay between two attempts to open a failing driver.
pub const DRIVER_RETRY_MAX: Duration = Duration::from_secs(300);

/// Delays doubling from `first` up to `max` while failures follow each other; a failure after a
/// run of at least `max` starts again from `first`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    failures: u32,
    started: Option<Duration>,
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// How long to wait before the next attempt.
    pub delay: Duration,
    /// Whether this failure repeats an earlier one of the same series (log it quietly).
    pub repeated: bool,
}

impl Backoff {
    /// A policy starting at `first` and doubling up to `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            next: first,
            failures: 0,
            started: None,
        }
    }

    /// The policy for driver instances: 5 s doubling to 5 min.
    pub fn driver_restarts() -> Self {
        Backoff::new(DRIVER_RETRY_FIRST, DRIVER_RETRY_MAX)
    }

    /// The thing started successfully at `now`.
    pub fn started(&mut self, now: Duration) {
        self.started = Some(now);
    }

    /// It failed at `now`: when to try again, and whether the failure is a repeat.
    pub fn failed(&mut self, now: Duration) -> Retry {
        if let Some(started) = self.started.take()
            && now.saturating_sub(started) >= self.max
        {
            self.next = self.first;
            self.failures = 0;
        }
        let retry = Retry {
            delay: self.next,
            repeated: self.failures > 0,
        };
        self.failures = self.failures.saturating_add(1);
        self.next = (self.next * 2).min(self.max);
        retry
    }
}

impl Retry {
    /// Logs `failure` (which says when the next attempt is): a warning the first time, a debug
    /// line for repeats.
    pub fn log(&self, failure: impl Display) {
        if self.repeated {
            tracing::debug!("{failure}");
        } else {
            tracing::warn!("{failure}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// The delays and repeat flags of `count` failures one after the other, each right at the
    /// moment the previous delay ran out.
    fn failures_in_a_row(backoff: &mut Backoff, clock: &mut Duration, count: usize) -> Vec<Retry> {
        (0..count)
            .map(|_| {
                let retry = backoff.failed(*clock);
                *clock += retry.delay;
                retry
            })
            .collect()
    }

    #[test]
    fn driver_restarts_double_from_5_s_to_5_min_and_warn_only_once() {
        let mut clock = Duration::ZERO;
        let mut backoff = Backoff::driver_restarts();
        let retries = failures_in_a_row(&mut backoff, &mut clock, 9);
        let delays: Vec<u64> = retries.iter().map(|r| r.delay.as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        let repeated: Vec<bool> = retries.iter().map(|r| r.repeated).collect();
        assert_eq!(
            repeated,
            [false, true, true, true, true, true, true, true, true]
        );
    }

    #[test]
    fn a_start_that_fails_soon_keeps_backing_off() {
        let mut clock = Duration::ZERO;
        let mut backoff = Backoff::driver_restarts();
        failures_in_a_row(&mut backoff, &mut clock, 3);
        backoff.started(clock);
        clock += 30 * SECOND;
        assert_eq!(
            backoff.failed(clock),
            Retry {
                delay: 40 * SECOND,
                repeated: true
            }
        );
    }

    #[test]
    fn a_failure_after_a_long_run_starts_a_new_series() {
        let mut clock = Duration::ZERO;
        let mut backoff = Backoff::driver_restarts();
        failures_in_a_row(&mut backoff, &mut clock, 4);
        backoff.started(clock);
        clock += DRIVER_RETRY_MAX;
        assert_eq!(
            backoff.failed(clock),
            Retry {
                delay: DRIVER_RETRY_FIRST,
                repeated: false
            }
        );
    }
}
