//! The timers this driver arms through `Effect::SetTimer`, and the delays it uses.

/// One of the driver's timers; its discriminant is the id the host sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The deadline of the AT command in flight.
    CommandDeadline = 1,
    /// The next SBD session may start (minimum interval or retry backoff over).
    Session = 2,
    /// Read the signal with `AT+CSQ` (only while indications cannot be relied on).
    SignalPoll = 3,
    /// Probe a silent terminal with `AT`.
    Probe = 4,
}

impl Timer {
    /// Every timer.
    pub const ALL: [Timer; 4] = [
        Timer::CommandDeadline,
        Timer::Session,
        Timer::SignalPoll,
        Timer::Probe,
    ];

    /// The id used in `SetTimer` / `Event::Timer`.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// The timer with this id, if it is one of ours.
    pub fn from_id(id: u32) -> Option<Timer> {
        Timer::ALL.into_iter().find(|timer| timer.id() == id)
    }
}

/// After MO status 36 the terminal must wait 3 minutes since its last registration.
pub(crate) const REGISTRATION_WAIT_MS: u64 = 180_000;

/// The wait after `failures` failed sessions in a row (at least 1): the minimum session interval,
/// doubled for each further failure, at most `max_backoff_ms` (never below the minimum).
pub(crate) fn retry_delay(failures: u32, min_interval_ms: u64, max_backoff_ms: u64) -> u64 {
    let doublings = failures.saturating_sub(1).min(32);
    min_interval_ms
        .saturating_mul(1 << doublings)
        .min(max_backoff_ms)
        .max(min_interval_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_from_the_minimum_interval_up_to_the_cap() {
        let delays: Vec<u64> = (1..=8)
            .map(|failures| retry_delay(failures, 15_000, 600_000))
            .collect();
        assert_eq!(
            delays,
            [
                15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000
            ]
        );
        assert_eq!(retry_delay(u32::MAX, 15_000, 600_000), 600_000);
        assert_eq!(retry_delay(3, 20_000, 5_000), 20_000, "the minimum wins");
    }

    #[test]
    fn ids_round_trip() {
        for timer in Timer::ALL {
            assert_eq!(Timer::from_id(timer.id()), Some(timer));
        }
        assert_eq!(Timer::from_id(99), None);
    }
}
