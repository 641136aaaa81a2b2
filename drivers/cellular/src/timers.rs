//! The timers this driver arms through `Effect::SetTimer`, and the delays it uses.

/// One of the driver's timers; its discriminant is the id the host sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The deadline of the AT command in flight.
    CommandDeadline = 1,
    /// Periodic signal (and, without `+CMTI`, storage) refresh.
    SignalRefresh = 2,
    /// Look at the SIM again (it was busy, missing or locked).
    SimRecheck = 3,
    /// Probe a silent modem with `AT`.
    Probe = 4,
    /// The oldest incomplete concatenated message times out.
    MultipartExpiry = 5,
    /// Read the GNSS position (while the GNSS is on).
    GnssPoll = 6,
}

impl Timer {
    /// Every timer, for cancelling them all.
    pub const ALL: [Timer; 6] = [
        Timer::CommandDeadline,
        Timer::SignalRefresh,
        Timer::SimRecheck,
        Timer::Probe,
        Timer::MultipartExpiry,
        Timer::GnssPoll,
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

/// Wait before asking `AT+CPIN?` again when the SIM answered "busy" (`+CME ERROR: 14`).
pub(crate) const SIM_BUSY_RETRY_MS: u64 = 2_000;
/// Wait before asking `AT+CPIN?` again while the SIM is missing or locked.
pub(crate) const SIM_BLOCKED_RECHECK_MS: u64 = 15_000;
/// Default period of the signal refresh, in seconds (`signal_interval` option).
pub(crate) const DEFAULT_SIGNAL_INTERVAL_S: u64 = 30;
/// Default wait for the missing parts of a concatenated message, in seconds (`multipart_timeout`
/// option): a day.
pub(crate) const DEFAULT_MULTIPART_TIMEOUT_S: u64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for timer in Timer::ALL {
            assert_eq!(Timer::from_id(timer.id()), Some(timer));
        }
        assert_eq!(Timer::from_id(99), None);
    }
}
