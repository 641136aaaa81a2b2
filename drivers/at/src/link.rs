//! The lifecycle every AT device driver shares, around its own device logic: the [`AtLink`] owns
//! the [`CommandQueue`], the [`SilenceWatch`] and the [`PublishedState`], and does what is the
//! same for a modem and a satellite terminal:
//!
//! - abandoning the queued commands and answering their calls;
//! - going silent after too many timeouts in a row, probing with `AT` at a growing pace, and
//!   telling the driver when the device answers again;
//! - raw commands from applications (`Request::Command`);
//! - publishing the state and answering calls the device cannot take now.
//!
//! The queue holds the link's own commands (probes, raw commands) next to the driver's; the
//! routing of [`AtDriver`](crate::driver::AtDriver) takes the completions of the link's own and
//! hands the driver's to it. The driver keeps its phase and decides when each step applies.

use m2mhal_plugin_api::sdk::Effects;
use m2mhal_plugin_api::{CallError, CallErrorKind, DeviceUpdate, Effect, LogLevel};

use crate::channel::{AtError, ChannelConfig, Command, Response};
use crate::queue::{CommandQueue, QueueEvent};
use crate::raw;
use crate::resync::SyncStep;
use crate::silence::{MAX_CONSECUTIVE_TIMEOUTS, SilenceWatch};
use crate::state::PublishedState;

/// What the link needs to know of a driver's purposes (why each command was sent).
pub trait LinkPurpose {
    /// The application call waiting for this command, if any.
    fn call(&self) -> Option<u64>;
}

/// Why a command is in the link's queue: the link's own work or the driver's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Work<P> {
    /// `AT` sent to a silent device.
    Probe,
    /// A step of the resynchronisation that precedes every initialisation.
    Sync(SyncStep),
    /// A raw command of this `Request::Command` call.
    Raw(u64),
    /// A command the driver queued with this purpose.
    Driver(P),
}

impl<P: LinkPurpose> Work<P> {
    /// The application call waiting for this command, if any.
    fn call(&self) -> Option<u64> {
        match self {
            Work::Probe | Work::Sync(_) => None,
            Work::Raw(call) => Some(*call),
            Work::Driver(purpose) => purpose.call(),
        }
    }
}

/// The command queue, silence watch and published state of one AT device.
#[derive(Debug)]
pub struct AtLink<P> {
    /// What the device is called in logs and errors (`modem`, `terminal`).
    device: &'static str,
    queue: CommandQueue<Work<P>>,
    silence: SilenceWatch,
    state: PublishedState,
    /// Id of the host timer of the command in flight.
    deadline_timer: u32,
    /// Id of the host timer of the next probe.
    probe_timer: u32,
}

impl<P: LinkPurpose> AtLink<P> {
    /// A link to a device called `device` ("the modem stopped answering") whose channel knows
    /// `config`; `deadline_timer` and `probe_timer` are the ids of the host timers of the command
    /// in flight and of the next probe.
    pub fn new(
        device: &'static str,
        config: ChannelConfig,
        deadline_timer: u32,
        probe_timer: u32,
    ) -> Self {
        AtLink {
            device,
            queue: CommandQueue::new(config, deadline_timer),
            silence: SilenceWatch::new(),
            state: PublishedState::new(device),
            deadline_timer,
            probe_timer,
        }
    }

    /// Queues `command` after the others.
    pub fn push(&mut self, command: Command, purpose: P) {
        self.queue.push(command, Work::Driver(purpose));
    }

    /// Queues `command` before the others (a retry, the next part of a message).
    pub fn push_front(&mut self, command: Command, purpose: P) {
        self.queue.push_front(command, Work::Driver(purpose));
    }

    /// Whether a command the driver queued, waiting or in flight, has a purpose that is `wanted`.
    pub fn contains(&self, wanted: impl Fn(&P) -> bool) -> bool {
        self.queue
            .contains(|work| matches!(work, Work::Driver(purpose) if wanted(purpose)))
    }

    /// Drops every queued and running command and answers their calls with `error`.
    pub fn abandon(&mut self, now_ms: u64, error: &CallError, out: &mut Effects) {
        let dropped = self.queue.clear(now_ms, out.as_mut_vec());
        out.fail_all(dropped.iter().filter_map(Work::call), error);
    }

    /// Publishes `state` and `reason` unless they are published already.
    pub fn publish(&mut self, state: &str, reason: &str, out: &mut Effects) {
        out.extend(self.state.change(state, reason));
    }

    /// `update` with the published state and reason in it.
    pub fn with_state(&self, update: DeviceUpdate) -> Effect {
        self.state.with_state(update)
    }

    /// Answers `call` with the `NotReady` error that names the published state.
    pub fn reply_not_ready(&self, call: u64, out: &mut Effects) {
        out.reply(call, Err(self.state.not_ready()));
    }

    /// The device is initialised again: forgets the timeouts so far, publishes `initializing`
    /// and puts the [resynchronisation](crate::resync) of the channel before every command
    /// queued so far.
    pub fn start_initializing(&mut self, out: &mut Effects) {
        self.silence.reset();
        self.publish("initializing", "", out);
        self.push_sync(SyncStep::EchoOn);
    }

    /// A step of the resynchronisation ended: queues the next one, if any, before the others.
    /// Its timeouts do not count towards silence.
    pub(crate) fn sync_ended(
        &mut self,
        step: SyncStep,
        result: &Result<Response, AtError>,
        out: &mut Effects,
    ) {
        let timed_out = matches!(result, Err(AtError::Timeout));
        match step.next(timed_out) {
            Some(next) => self.push_sync(next),
            None if timed_out => out.log(
                LogLevel::Warn,
                format!(
                    "no echo from the {}: its answers cannot be told from stale ones",
                    self.device
                ),
            ),
            None => {}
        }
    }

    fn push_sync(&mut self, step: SyncStep) {
        self.queue.push_front(step.command(), Work::Sync(step));
    }

    /// Feeds bytes from the device; see [`CommandQueue::feed`].
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Effects) -> Vec<QueueEvent<Work<P>>> {
        self.queue.feed(bytes, out.as_mut_vec())
    }

    /// Whether `id` is the host timer of the command in flight.
    pub(crate) fn is_deadline_timer(&self, id: u32) -> bool {
        id == self.deadline_timer
    }

    /// Whether `id` is the host timer of the next probe.
    pub(crate) fn is_probe_timer(&self, id: u32) -> bool {
        id == self.probe_timer
    }

    /// The deadline timer fired; see [`CommandQueue::deadline_fired`].
    pub(crate) fn deadline_fired(&mut self, now_ms: u64) -> Option<QueueEvent<Work<P>>> {
        self.queue.deadline_fired(now_ms)
    }

    /// Starts the next command if the channel is idle; see [`CommandQueue::pump`].
    pub(crate) fn pump(&mut self, now_ms: u64, out: &mut Effects) {
        self.queue.pump(now_ms, out.as_mut_vec());
    }

    /// The error of the calls abandoned because the port hung up.
    pub(crate) fn hangup_error(&self) -> CallError {
        CallError::new(
            CallErrorKind::NotReady,
            format!("the {} port hung up", self.device),
        )
    }

    /// Counts how a command ended; true when the device has just gone silent: the driver
    /// abandons its work with [`went_silent`](Self::went_silent) and
    /// [`start_probing`](Self::start_probing). Never true while `probing` already.
    pub(crate) fn goes_silent(
        &mut self,
        result: &Result<Response, AtError>,
        probing: bool,
    ) -> bool {
        self.silence.record(result) && !probing
    }

    /// The device went silent on the command of `timed_out`: logs it, fails the call waiting for
    /// that command and returns the error for the rest of the work the driver abandons.
    pub(crate) fn went_silent(&mut self, timed_out: &Work<P>, out: &mut Effects) -> CallError {
        out.log(
            LogLevel::Warn,
            format!(
                "the {} stopped answering: {MAX_CONSECUTIVE_TIMEOUTS} commands in a row timed out",
                self.device
            ),
        );
        let silent = CallError::new(
            CallErrorKind::Timeout,
            format!("the {} does not answer", self.device),
        );
        out.fail_all(timed_out.call(), &silent);
        silent
    }

    /// After [`went_silent`](Self::went_silent) and the driver's cleanup: publishes
    /// `failed` / `no-response` and arms the first probe.
    pub(crate) fn start_probing(&mut self, out: &mut Effects) {
        self.publish("failed", "no-response", out);
        let delay = self.silence.first_probe_delay();
        out.set_timer(self.probe_timer, delay);
    }

    /// The probe timer fired while the device is silent: queues `AT` on a clean channel.
    pub(crate) fn send_probe(&mut self, now_ms: u64, out: &mut Effects) {
        self.queue.clear(now_ms, out.as_mut_vec());
        self.queue.push(SilenceWatch::probe_command(), Work::Probe);
    }

    /// The probe ended. Unanswered, it arms the next one and returns `None`; answered (even with
    /// `ERROR`), it logs so and returns the error of the work the driver's restart interrupts.
    pub(crate) fn probe_ended(
        &mut self,
        result: &Result<Response, AtError>,
        out: &mut Effects,
    ) -> Option<CallError> {
        if matches!(result, Err(AtError::Timeout)) {
            let delay = self.silence.next_probe_delay();
            out.set_timer(self.probe_timer, delay);
            return None;
        }
        out.log(
            LogLevel::Info,
            format!("the {} answers again: initialising", self.device),
        );
        Some(CallError::new(
            CallErrorKind::Failed,
            "interrupted by a restart",
        ))
    }

    /// `Request::Command` of `call`: queues the command when `line` is one and the device is
    /// `accepting` commands; otherwise answers the call with the error.
    pub(crate) fn raw_command(
        &mut self,
        call: u64,
        line: &str,
        timeout_ms: u32,
        accepting: bool,
        out: &mut Effects,
    ) {
        let refusal = match raw::command(line, timeout_ms) {
            Ok(command) if accepting => {
                self.queue.push(command, Work::Raw(call));
                return;
            }
            Ok(_) => self.state.not_ready(),
            Err(invalid) => invalid,
        };
        out.reply(call, Err(refusal));
    }
}

#[cfg(test)]
mod tests {
    use m2mhal_plugin_api::{CallReply, Effect};

    use super::*;

    const DEADLINE: u32 = 1;
    const PROBE: u32 = 4;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Why {
        User(u64),
        Signal,
    }

    impl LinkPurpose for Why {
        fn call(&self) -> Option<u64> {
            match self {
                Why::User(call) => Some(*call),
                _ => None,
            }
        }
    }

    fn link() -> AtLink<Why> {
        AtLink::new("modem", ChannelConfig::gsm(), DEADLINE, PROBE)
    }

    fn timeout_error(text: &str) -> CallError {
        CallError::new(CallErrorKind::Timeout, text)
    }

    fn completed(
        events: Vec<QueueEvent<Work<Why>>>,
    ) -> Vec<(Work<Why>, Result<Response, AtError>)> {
        events
            .into_iter()
            .filter_map(|event| match event {
                QueueEvent::Completed(why, result) => Some((why, result)),
                QueueEvent::Urc(_) => None,
            })
            .collect()
    }

    #[test]
    fn three_timeouts_make_silence_which_fails_the_call_and_arms_the_first_probe() {
        let mut link = link();
        let mut out = Effects::new();
        let timeout = Err(AtError::Timeout);
        assert!(!link.goes_silent(&timeout, false));
        assert!(!link.goes_silent(&timeout, false));
        assert!(!link.goes_silent(&timeout, true), "already probing");
        assert!(link.goes_silent(&timeout, false));

        let error = link.went_silent(&Work::Driver(Why::User(7)), &mut out);
        assert_eq!(error, timeout_error("the modem does not answer"));
        link.start_probing(&mut out);
        assert_eq!(
            out.take(),
            [
                Effect::Log {
                    level: LogLevel::Warn,
                    message: "the modem stopped answering: 3 commands in a row timed out".into(),
                },
                Effect::Reply {
                    call: 7,
                    result: Err(timeout_error("the modem does not answer")),
                },
                Effect::Device(DeviceUpdate {
                    state: Some("failed".into()),
                    state_reason: Some("no-response".into()),
                    ..DeviceUpdate::default()
                }),
                Effect::SetTimer {
                    id: PROBE,
                    after_ms: 2_000,
                },
            ]
        );
    }

    #[test]
    fn unanswered_probes_back_off_and_an_answer_asks_for_a_restart() {
        let mut link = link();
        let mut out = Effects::new();
        link.start_probing(&mut out);
        out.take();

        link.send_probe(0, &mut out);
        link.pump(0, &mut out);
        assert_eq!(
            out.take(),
            [
                Effect::Tx(b"AT\r".to_vec()),
                Effect::SetTimer {
                    id: DEADLINE,
                    after_ms: 2_000,
                },
            ]
        );
        assert_eq!(link.probe_ended(&Err(AtError::Timeout), &mut out), None);
        assert_eq!(
            out.take(),
            [Effect::SetTimer {
                id: PROBE,
                after_ms: 4_000,
            }]
        );

        let interrupted = link.probe_ended(&Err(AtError::Error), &mut out);
        assert_eq!(
            interrupted,
            Some(CallError::new(
                CallErrorKind::Failed,
                "interrupted by a restart"
            ))
        );
        assert_eq!(
            out.take(),
            [Effect::Log {
                level: LogLevel::Info,
                message: "the modem answers again: initialising".into(),
            }]
        );
    }

    #[test]
    fn raw_commands_run_when_accepted_and_are_refused_otherwise() {
        let mut link = link();
        let mut out = Effects::new();
        link.publish("failed", "no-response", &mut out);
        out.take();

        link.raw_command(1, "AT+CSQ", 1_000, false, &mut out);
        link.raw_command(2, "AT\r+CSQ", 1_000, true, &mut out);
        link.raw_command(3, "AT+CSQ", 1_000, true, &mut out);
        let replies = out.take();
        assert!(matches!(
            &replies[..],
            [
                Effect::Reply { call: 1, result: Err(not_ready) },
                Effect::Reply { call: 2, result: Err(invalid) },
            ] if not_ready.message == "the modem is not ready (failed: no-response)"
                && invalid.kind == CallErrorKind::InvalidArgument
        ));

        link.pump(0, &mut out);
        assert_eq!(out.take()[0], Effect::Tx(b"AT+CSQ\r".to_vec()));
        let events = link.feed(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n", &mut out);
        let [(Work::Raw(3), result)] = &completed(events)[..] else {
            panic!("the user command did not complete");
        };
        assert_eq!(
            raw::reply(result.clone()),
            Ok(CallReply::Text("+CSQ: 20,99\nOK".into()))
        );
    }

    #[test]
    fn abandoning_fails_the_waiting_calls_and_hangup_names_the_device() {
        let mut link = link();
        let mut out = Effects::new();
        link.push(Command::new("AT+CSQ", 1_000), Why::Signal);
        link.push(Command::new("ATI", 1_000), Why::User(5));
        link.pump(0, &mut out);
        out.take();

        let error = link.hangup_error();
        assert_eq!(error.message, "the modem port hung up");
        link.abandon(10, &error, &mut out);
        assert_eq!(
            out.take(),
            [
                Effect::CancelTimer(DEADLINE),
                Effect::Reply {
                    call: 5,
                    result: Err(error),
                },
            ]
        );
        assert!(!link.contains(|_| true));
    }

    #[test]
    fn initializing_again_forgets_the_timeouts_and_publishes_once() {
        let mut link = link();
        let mut out = Effects::new();
        let timeout = Err(AtError::Timeout);
        link.goes_silent(&timeout, false);
        link.goes_silent(&timeout, false);
        link.start_initializing(&mut out);
        link.start_initializing(&mut out);
        assert_eq!(out.take().len(), 1, "the same state is published once");
        assert!(
            !link.goes_silent(&timeout, false),
            "the count started again"
        );
    }
}
