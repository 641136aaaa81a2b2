//! The timers this driver arms through `Effect::SetTimer`, and the delays it uses.

/// One of the driver's timers; its discriminant is the id the host sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Bring a lost link up again.
    Reconnect = 1,
    /// The earliest deadline of the calls waiting for a link.
    CallDeadline = 2,
    /// No advertisement for a while: the device is out of range.
    Absent = 3,
}

impl Timer {
    /// Every timer.
    const ALL: [Timer; 3] = [Timer::Reconnect, Timer::CallDeadline, Timer::Absent];

    /// The id used in `SetTimer` / `Event::Timer`.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// The timer with this id, if it is one of ours.
    pub fn from_id(id: u32) -> Option<Timer> {
        Timer::ALL.into_iter().find(|timer| timer.id() == id)
    }
}

/// First wait before reconnecting a lost link; it doubles after every failed attempt.
pub(crate) const RECONNECT_FIRST_MS: u64 = 1_000;
/// Longest wait between reconnection attempts.
pub(crate) const RECONNECT_MAX_MS: u64 = 60_000;
/// How long a call waits for the link before it fails with `NotReady`.
pub(crate) const CALL_WAIT_MS: u64 = 30_000;

/// The reconnection delay after one that failed.
pub(crate) fn next_reconnect_delay(previous_ms: u64) -> u64 {
    previous_ms
        .saturating_mul(2)
        .clamp(RECONNECT_FIRST_MS, RECONNECT_MAX_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_doubles_up_to_a_minute() {
        let delays: Vec<u64> =
            std::iter::successors(Some(RECONNECT_FIRST_MS), |d| Some(next_reconnect_delay(*d)))
                .take(9)
                .collect();
        assert_eq!(
            delays,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000
            ]
        );
    }

    #[test]
    fn ids_round_trip() {
        for timer in Timer::ALL {
            assert_eq!(Timer::from_id(timer.id()), Some(timer));
        }
        assert_eq!(Timer::from_id(99), None);
    }
}
