//! [`Effects`]: the effects a driver collects while it handles one input.

use crate::location::LocationUpdate;
use crate::messages::{CallError, CallReply, DeviceUpdate, Effect, LogLevel, SignalUpdate};

/// The effects of the input being handled, in the order the driver asked for them.
///
/// A driver keeps one in its state, adds to it from wherever it handles the input, and hands the
/// lot to the host at the end of [`Driver::handle`](super::Driver::handle):
///
/// ```
/// use m2mhal_plugin_api::sdk::Effects;
/// use m2mhal_plugin_api::{CallReply, Effect, LogLevel};
///
/// let mut out = Effects::new();
/// out.log(LogLevel::Info, "ready");
/// out.set_timer(1, 30_000);
/// out.reply(7, Ok(CallReply::Done));
/// let effects: Vec<Effect> = out.take();
/// assert_eq!(effects.len(), 3);
/// assert!(out.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects(Vec<Effect>);

impl Effects {
    /// No effects yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds any effect.
    pub fn push(&mut self, effect: Effect) {
        self.0.push(effect);
    }

    /// Answers `call` ([`Effect::Reply`]).
    pub fn reply(&mut self, call: u64, result: Result<CallReply, CallError>) {
        self.push(Effect::Reply { call, result });
    }

    /// Answers each of `calls` with the same `error`.
    pub fn fail_all(&mut self, calls: impl IntoIterator<Item = u64>, error: &CallError) {
        for call in calls {
            self.reply(call, Err(error.clone()));
        }
    }

    /// Arms (or re-arms) timer `id` to fire once after `after_ms` ([`Effect::SetTimer`]).
    pub fn set_timer(&mut self, id: u32, after_ms: u64) {
        self.push(Effect::SetTimer { id, after_ms });
    }

    /// Disarms timer `id` if it is armed ([`Effect::CancelTimer`]).
    pub fn cancel_timer(&mut self, id: u32) {
        self.push(Effect::CancelTimer(id));
    }

    /// A log line in the device's span ([`Effect::Log`]).
    pub fn log(&mut self, level: LogLevel, message: impl Into<String>) {
        self.push(Effect::Log {
            level,
            message: message.into(),
        });
    }

    /// Publishes changed device properties ([`Effect::Device`]).
    pub fn device(&mut self, update: DeviceUpdate) {
        self.push(Effect::Device(update));
    }

    /// Publishes changed signal properties ([`Effect::Signal`]).
    pub fn signal(&mut self, update: SignalUpdate) {
        self.push(Effect::Signal(update));
    }

    /// Publishes a changed fix or receiver power ([`Effect::Location`]).
    pub fn location(&mut self, update: LocationUpdate) {
        self.push(Effect::Location(update));
    }

    /// The plain list, for code that adds to a `Vec<Effect>` (such as a command queue).
    pub fn as_mut_vec(&mut self) -> &mut Vec<Effect> {
        &mut self.0
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Hands over everything collected, in order, and starts empty again.
    pub fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.0)
    }
}

impl Extend<Effect> for Effects {
    fn extend<I: IntoIterator<Item = Effect>>(&mut self, effects: I) {
        self.0.extend(effects);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::CallErrorKind;

    #[test]
    fn each_helper_adds_its_effect_in_order() {
        let mut out = Effects::new();
        out.reply(1, Ok(CallReply::Done));
        out.set_timer(2, 500);
        out.cancel_timer(3);
        out.log(LogLevel::Warn, "careful");
        out.device(DeviceUpdate {
            state: Some("ready".into()),
            ..DeviceUpdate::default()
        });
        out.signal(SignalUpdate {
            quality: Some(60),
            ..SignalUpdate::default()
        });
        out.push(Effect::Connect);
        assert_eq!(
            out.take(),
            [
                Effect::Reply {
                    call: 1,
                    result: Ok(CallReply::Done)
                },
                Effect::SetTimer {
                    id: 2,
                    after_ms: 500
                },
                Effect::CancelTimer(3),
                Effect::Log {
                    level: LogLevel::Warn,
                    message: "careful".into()
                },
                Effect::Device(DeviceUpdate {
                    state: Some("ready".into()),
                    ..DeviceUpdate::default()
                }),
                Effect::Signal(SignalUpdate {
                    quality: Some(60),
                    ..SignalUpdate::default()
                }),
                Effect::Connect,
            ]
        );
    }

    #[test]
    fn fail_all_answers_every_call_with_the_error() {
        let mut out = Effects::new();
        let error = CallError::new(CallErrorKind::NotReady, "the port hung up");
        out.fail_all([4, 9], &error);
        out.fail_all([], &error);
        assert_eq!(
            out.take(),
            [
                Effect::Reply {
                    call: 4,
                    result: Err(error.clone())
                },
                Effect::Reply {
                    call: 9,
                    result: Err(error)
                },
            ]
        );
    }

    #[test]
    fn take_empties_and_plain_list_and_extend_append() {
        let mut out = Effects::new();
        assert!(out.is_empty());
        out.as_mut_vec().push(Effect::Tx(b"AT\r".to_vec()));
        out.extend([Effect::Disconnect, Effect::CancelTimer(1)]);
        assert!(!out.is_empty());
        assert_eq!(
            out.take(),
            [
                Effect::Tx(b"AT\r".to_vec()),
                Effect::Disconnect,
                Effect::CancelTimer(1)
            ]
        );
        assert!(out.is_empty());
        assert_eq!(out.take(), []);
    }
}
