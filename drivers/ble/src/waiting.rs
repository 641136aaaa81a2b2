//! Application calls waiting for the link. Each one gives up (and fails with `NotReady`) after
//! [`CALL_WAIT_MS`] or once [`MAX_FAILED_CONNECTS`] connection attempts failed since it arrived.

use m2mhal_plugin_api::ble::GattAction;

use crate::timers::CALL_WAIT_MS;

/// Connection attempts that may fail while a call waits.
pub(crate) const MAX_FAILED_CONNECTS: u32 = 3;

/// What a waiting call needs the link for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// `Connect`: done once the link is up.
    Link,
    /// `Refresh`: the sensor values read.
    Refresh,
    /// A GATT operation.
    Gatt {
        /// The characteristic.
        characteristic: String,
        /// The operation.
        action: GattAction,
    },
}

/// A call waiting for the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WaitingCall {
    /// The call to answer.
    pub call: u64,
    /// What it needs.
    pub wanted: Wanted,
    deadline_ms: u64,
    failed_connects: u32,
}

/// The calls waiting for the link, in arrival order.
#[derive(Debug, Default)]
pub(crate) struct WaitingCalls {
    calls: Vec<WaitingCall>,
}

impl WaitingCalls {
    /// `call` starts waiting at `now_ms`.
    pub fn push(&mut self, call: u64, wanted: Wanted, now_ms: u64) {
        self.calls.push(WaitingCall {
            call,
            wanted,
            deadline_ms: now_ms.saturating_add(CALL_WAIT_MS),
            failed_connects: 0,
        });
    }

    /// Whether no call waits.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The link is up (or will not come): every waiting call, in arrival order.
    pub fn take_all(&mut self) -> Vec<WaitingCall> {
        std::mem::take(&mut self.calls)
    }

    /// A connection attempt failed: the calls that have now seen too many failures.
    pub fn connect_failed(&mut self) -> Vec<u64> {
        for waiting in &mut self.calls {
            waiting.failed_connects += 1;
        }
        self.give_up(|waiting| waiting.failed_connects >= MAX_FAILED_CONNECTS)
    }

    /// The calls whose deadline has passed at `now_ms`.
    pub fn expire(&mut self, now_ms: u64) -> Vec<u64> {
        self.give_up(|waiting| waiting.deadline_ms <= now_ms)
    }

    /// The earliest deadline, if any call waits.
    pub fn next_deadline(&self) -> Option<u64> {
        self.calls.iter().map(|waiting| waiting.deadline_ms).min()
    }

    fn give_up(&mut self, done: impl Fn(&WaitingCall) -> bool) -> Vec<u64> {
        let (given_up, still): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.calls).into_iter().partition(done);
        self.calls = still;
        given_up.into_iter().map(|waiting| waiting.call).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_give_up_after_three_failed_connects_counted_from_their_arrival() {
        let mut waiting = WaitingCalls::default();
        waiting.push(1, Wanted::Link, 0);
        assert!(waiting.connect_failed().is_empty());
        waiting.push(2, Wanted::Refresh, 100);
        assert!(waiting.connect_failed().is_empty());
        assert_eq!(waiting.connect_failed(), [1]);
        assert_eq!(waiting.connect_failed(), [2]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn calls_give_up_after_thirty_seconds() {
        let mut waiting = WaitingCalls::default();
        waiting.push(1, Wanted::Link, 1_000);
        waiting.push(2, Wanted::Link, 5_000);
        assert_eq!(waiting.next_deadline(), Some(31_000));
        assert!(waiting.expire(30_999).is_empty());
        assert_eq!(waiting.expire(31_000), [1]);
        assert_eq!(waiting.next_deadline(), Some(35_000));
        let rest = waiting.take_all();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].call, 2);
        assert_eq!(waiting.next_deadline(), None);
    }
}
