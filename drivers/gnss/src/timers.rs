//! The timers this driver arms through `Effect::SetTimer`, and the delays it uses.

/// After this long without a byte the burst of an epoch is over and its fix goes out.
pub(crate) const QUIET_MS: u64 = 300;
/// After this long without a valid sentence the receiver counts as silent: no fix, `failed` /
/// `no-response` until it talks again.
pub(crate) const SILENCE_MS: u64 = 10_000;

/// One of the driver's timers; its discriminant is the id the host sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The line went quiet after a burst.
    Quiet = 1,
    /// Check whether the receiver went silent.
    Silence = 2,
}

impl Timer {
    /// The id used in `SetTimer` / `Event::Timer`.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// The timer with this id, if it is one of ours.
    pub fn from_id(id: u32) -> Option<Timer> {
        [Timer::Quiet, Timer::Silence]
            .into_iter()
            .find(|timer| timer.id() == id)
    }
}
