//! When a device counts as silent, and how it is probed until it answers again.
//!
//! A timeout alone proves little (a slow network scan, a busy SIM), so a device counts as silent
//! only after [`MAX_CONSECUTIVE_TIMEOUTS`] commands in a row timed out; any answer, even `ERROR`,
//! starts the count again. A silent device gets nothing but `AT` probes, the first after
//! [`PROBE_FIRST_MS`], each unanswered one doubling the wait up to [`PROBE_MAX_MS`].

use crate::channel::{AtError, Command, Response};

/// Commands in a row that may time out before the device counts as silent.
pub const MAX_CONSECUTIVE_TIMEOUTS: u32 = 3;
/// Wait before the first `AT` probe of a silent device.
pub const PROBE_FIRST_MS: u64 = 2_000;
/// Longest wait between `AT` probes.
pub const PROBE_MAX_MS: u64 = 30_000;
/// Timeout of one `AT` probe.
pub const PROBE_TIMEOUT_MS: u64 = 2_000;

/// Counts timeouts in a row and paces the probes of a silent device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceWatch {
    consecutive_timeouts: u32,
    probe_delay_ms: u64,
}

impl Default for SilenceWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl SilenceWatch {
    /// No timeout counted yet.
    pub fn new() -> Self {
        Self {
            consecutive_timeouts: 0,
            probe_delay_ms: PROBE_FIRST_MS,
        }
    }

    /// Counts how a command ended; true when it timed out and makes
    /// [`MAX_CONSECUTIVE_TIMEOUTS`] (or more) in a row.
    pub fn record(&mut self, result: &Result<Response, AtError>) -> bool {
        if matches!(result, Err(AtError::Timeout)) {
            self.consecutive_timeouts = self.consecutive_timeouts.saturating_add(1);
            self.consecutive_timeouts >= MAX_CONSECUTIVE_TIMEOUTS
        } else {
            self.consecutive_timeouts = 0;
            false
        }
    }

    /// Forgets the timeouts counted so far (the device is initialised again).
    pub fn reset(&mut self) {
        self.consecutive_timeouts = 0;
    }

    /// The device went silent: the wait before its first probe.
    pub fn first_probe_delay(&mut self) -> u64 {
        self.probe_delay_ms = PROBE_FIRST_MS;
        self.probe_delay_ms
    }

    /// A probe went unanswered: the wait before the next one, twice the last, at most
    /// [`PROBE_MAX_MS`].
    pub fn next_probe_delay(&mut self) -> u64 {
        self.probe_delay_ms = self
            .probe_delay_ms
            .saturating_mul(2)
            .clamp(PROBE_FIRST_MS, PROBE_MAX_MS);
        self.probe_delay_ms
    }

    /// The probe: `AT`, which any device that speaks AT answers.
    pub fn probe_command() -> Command {
        Command::new("AT", PROBE_TIMEOUT_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Result<Response, AtError> = Err(AtError::Timeout);

    #[test]
    fn three_timeouts_in_a_row_are_silence_and_any_answer_starts_again() {
        let mut watch = SilenceWatch::new();
        assert!(!watch.record(&TIMEOUT));
        assert!(!watch.record(&TIMEOUT));
        assert!(!watch.record(&Err(AtError::Error)), "ERROR is an answer");
        assert!(!watch.record(&TIMEOUT));
        assert!(!watch.record(&Ok(Response::default())));
        assert!(!watch.record(&TIMEOUT));
        assert!(!watch.record(&TIMEOUT));
        assert!(watch.record(&TIMEOUT));
        assert!(watch.record(&TIMEOUT), "still silent");
        watch.reset();
        assert!(!watch.record(&TIMEOUT));
    }

    #[test]
    fn probe_delay_doubles_up_to_thirty_seconds_and_starts_over() {
        let mut watch = SilenceWatch::new();
        let mut delays = vec![watch.first_probe_delay()];
        delays.extend((0..5).map(|_| watch.next_probe_delay()));
        assert_eq!(delays, [2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        assert_eq!(watch.first_probe_delay(), 2_000);
        assert_eq!(watch.next_probe_delay(), 4_000);
    }

    #[test]
    fn the_probe_is_a_plain_at() {
        assert_eq!(SilenceWatch::probe_command(), Command::new("AT", 2_000));
    }
}
