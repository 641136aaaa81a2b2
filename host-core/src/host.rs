//! [`DeviceHost`]: everything the host does for one device, as a state machine.
//!
//! ```text
//!            deliver (link event) ──> inputs ──> Drive ──> driver ──> Answer::Driven
//!            call, wake (timers)  ──┘                                      │ effects, in order
//!   enqueue, forget ──> outbox                                             v
//!                         │            Link (bytes, GATT) · Update (properties) · Reply
//!                         │            StoreIncoming ─> EmitReceived ─> MessageCommitted (input)
//!                         └──────────> ReadProgress ─> CommitState ─> EmitState ─> Call (input)
//! ```
//!
//! The runner polls actions and carries them out one after the other; an action that needs an
//! answer (the driver's effects, a store read, a publication) blocks the core until the runner
//! hands the answer in, so everything happens in exactly the order it would in straight-line
//! code. The driver's lifecycle:
//!
//! ```text
//!   running ──Driven(Err)──> failed: state `failed`, callers answered Failed, timers dropped,
//!      ^                     the message in flight back at the head; RestartDriver after backoff
//!      └──DriverRestarted(Ok): Opened──┘   (DriverRestarted(Err): backoff again)
//! ```
//!
//! A send the driver answers `NotReady` (it cannot send now and keeps nothing) puts the message
//! back at the head of the outbox, and the outbox holds: nothing is handed over again until the
//! driver reports news about the device (`Effect::Signal`, `Effect::Device`) or
//! [`NOT_READY_RETRY_MS`] passed. Meanwhile the waiting messages are host-side, where the router
//! may withdraw them to try another uplink.
//!
//! A caller may wait with a deadline ([`DeviceHost::call_by`]): when it passes before the driver
//! answers, [`DeviceHost::wake`] answers the caller `Timeout`, and the driver's answer that comes
//! later is dropped. (The driver still gets the call: a command may be half done on the device.)
//!
//! A device that turns out to be served through another port already ([`Publication::Taken`]:
//! two ports of one modem) ends the host at that `Publish`: it polls nothing more, so the other
//! port's host alone loads, sends and commits the device's messages.

use std::collections::VecDeque;
use std::time::Duration;

use m2mhal_plugin_api::redact::mask_number;
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DeviceUpdate, Effect, Event, IncomingMessage, Input,
    Request,
};

use crate::action::{Action, Answer, IncomingOutcome, Now, Publication, Update};
use crate::backoff::Backoff;
use crate::calls::{Calls, Deadline, Finished, Waiting};
use crate::outbox::{Outbox, Outgoing, Record};
use crate::states;
use crate::timers::Timers;

/// How many of a device's most recent committed incoming messages a (re)initialising driver is
/// told about again.
pub const REPLAYED_COMMITS: u32 = 32;

/// How long the outbox holds its messages after the driver answered a send `NotReady` (it cannot
/// send now, and the message never reached the wire), unless the driver reports news about the
/// device (signal, state) sooner.
pub const NOT_READY_RETRY_MS: u64 = 30_000;

/// Work that follows a device update, each part in its turn (it may wait for an answer).
#[derive(Debug, Clone, Copy)]
enum Step {
    Publish,
    LoadOutbox,
    ReplayCommits,
    SendNext,
    RestartDriver,
}

/// The answer the core waits for, and what it needs to go on.
#[derive(Debug)]
enum Awaiting {
    Driver,
    Publication,
    Outbox,
    Commits,
    Incoming(IncomingMessage),
    Progress,
    Restart,
}

/// The host of one device, without I/O: inputs in, [`Action`]s out, time passed in. `C` is
/// whoever waits for a call's answer (a reply channel in the daemon).
#[derive(Debug)]
pub struct DeviceHost<C> {
    driver_running: bool,
    /// The device's `Id` ("" until the driver reports it).
    id: String,
    /// The device's `State`.
    state: String,
    /// Whether the device is on the bus.
    published: bool,
    /// Its object was forgotten while it was offline; published again once it is back.
    withdrawn: bool,
    /// Another port serves the same device; the runner stops.
    abandoned: bool,
    /// Tell the driver again which messages are committed once the `Id` is known.
    replay_commits: bool,
    timers: Timers,
    calls: Calls<C>,
    outbox: Outbox,
    inputs: VecDeque<Event>,
    effects: VecDeque<Effect>,
    steps: VecDeque<Step>,
    actions: VecDeque<Action<C>>,
    awaiting: Option<Awaiting>,
    answer: Option<Answer>,
    restart_at: Option<u64>,
    restarts: Backoff,
    /// The driver answered the last send `NotReady`: nothing is handed over before this time
    /// or the driver's next news about the device. The waiting messages stay host-side, where
    /// the router may withdraw them.
    send_held_until: Option<u64>,
    /// The runner's clock as of the last [`Self::poll`].
    now_ms: u64,
}

/// A point on the runner's millisecond clock, for the backoff policy.
fn since_start(now: Now) -> Duration {
    Duration::from_millis(now.ms)
}

impl<C> DeviceHost<C> {
    /// The host of a device whose driver instance was just opened at `now` (the link is not
    /// `Opened` yet: [`Self::deliver`] that first).
    pub fn new(now: Now) -> Self {
        let mut restarts = Backoff::driver_restarts();
        restarts.started(since_start(now));
        DeviceHost {
            driver_running: true,
            id: String::new(),
            state: states::INITIALIZING.to_owned(),
            published: false,
            withdrawn: false,
            abandoned: false,
            replay_commits: true,
            timers: Timers::default(),
            calls: Calls::default(),
            outbox: Outbox::default(),
            inputs: VecDeque::new(),
            effects: VecDeque::new(),
            steps: VecDeque::new(),
            actions: VecDeque::new(),
            awaiting: None,
            answer: None,
            restart_at: None,
            restarts,
            send_held_until: None,
            now_ms: now.ms,
        }
    }

    /// An event for the driver: from the link (open, bytes, hangup, BLE events), or any event a
    /// test host injects. Handed over in order after everything queued before.
    pub fn deliver(&mut self, event: Event) {
        self.replay_commits |= matches!(event, Event::Opened);
        self.inputs.push_back(event);
    }

    /// A call to the driver; `caller` gets the answer ([`Action::Reply`]), or is dropped when the
    /// device goes away first. Returns the call's id.
    pub fn call(&mut self, request: Request, caller: C) -> u64 {
        self.start_call(request, caller, None)
    }

    /// A call to the driver whose `caller` waits until `deadline`: as [`Self::call`], and if the
    /// driver has not answered by then, the core answers `Timeout` itself ([`Self::wake`]); the
    /// driver's late answer is dropped.
    pub fn call_by(&mut self, request: Request, caller: C, deadline: Deadline) -> u64 {
        self.start_call(request, caller, Some(deadline))
    }

    fn start_call(&mut self, request: Request, caller: C, deadline: Option<Deadline>) -> u64 {
        let call = self.calls.start(Waiting::Caller(caller), deadline);
        if self.driver_running {
            self.inputs.push_back(Event::Call { call, request });
        } else {
            let restarting = CallError::new(
                CallErrorKind::NotReady,
                "the driver is restarting after a failure",
            );
            self.reply(call, Err(restarting));
        }
        call
    }

    /// A message committed to the store waits in the outbox for its turn.
    pub fn enqueue(&mut self, message: Outgoing) {
        self.outbox.enqueue(message);
        self.update_pending();
        self.steps.push_back(Step::SendNext);
    }

    /// The router takes a waiting message back (see [`Outbox::withdraw`]); whether it did.
    pub fn withdraw(&mut self, id: &str) -> bool {
        let withdrawn = self.outbox.withdraw(id);
        if withdrawn {
            self.update_pending();
        }
        withdrawn
    }

    /// A stored message was deleted: it leaves the outbox if it still waits there.
    pub fn forget(&mut self, id: &str) {
        self.outbox.forget(id);
        self.update_pending();
    }

    /// The device's object was taken off the bus (`Device.Forget`): it is published again when
    /// the device is back (at once, if it already is).
    pub fn withdrawn(&mut self) {
        self.published = false;
        if self.state == states::OFFLINE {
            self.withdrawn = true;
        } else {
            self.steps.push_back(Step::Publish);
        }
    }

    /// The device went away (unplug, shutdown): waiting callers are dropped, the device is
    /// `offline`.
    pub fn detach(&mut self) {
        self.fail_calls(None);
        self.set_state(states::OFFLINE, "unplugged");
    }

    /// When [`Self::wake`] has something to do next (a timer, a call's deadline, a driver
    /// restart, the end of a hold on the outbox), on the runner's millisecond clock.
    pub fn deadline(&self) -> Option<u64> {
        [
            self.timers.next(),
            self.calls.next_deadline(),
            self.restart_at,
            self.send_held_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time passed: fires the timers due at `now`, earliest first, answers `Timeout` to the
    /// callers whose deadline is due, restarts a failed driver when its backoff is over, and
    /// hands the next message over again when a hold after `NotReady` is over.
    pub fn wake(&mut self, now: Now) {
        if self.send_held_until.is_some_and(|at| at <= now.ms) {
            self.release_outbox();
        }
        for id in self.timers.fire(now.ms) {
            self.inputs.push_back(Event::Timer(id));
        }
        for (call, waiting, timeout_ms) in self.calls.expire(now.ms) {
            if let Waiting::Caller(caller) = waiting {
                let message = format!("the device did not answer within {timeout_ms} ms");
                self.actions.push_back(Action::Reply {
                    call,
                    caller,
                    result: Err(CallError::new(CallErrorKind::Timeout, message)),
                });
            }
        }
        if self.restart_at.is_some_and(|at| at <= now.ms) {
            self.restart_at = None;
            self.steps.push_back(Step::RestartDriver);
        }
    }

    /// The next thing to do at `now`; `None` when the core is idle, or waits for an
    /// [`Answer`] it has not got yet.
    pub fn poll(&mut self, now: Now) -> Option<Action<C>> {
        self.now_ms = now.ms;
        loop {
            if self.abandoned {
                return None;
            }
            if let Some(action) = self.actions.pop_front() {
                return Some(action);
            }
            if let Some(awaiting) = self.awaiting.take() {
                let Some(answer) = self.answer.take() else {
                    self.awaiting = Some(awaiting);
                    return None;
                };
                self.resume(awaiting, answer, now);
            } else if let Some(step) = self.steps.pop_front() {
                self.step(step);
            } else if let Some(effect) = self.effects.pop_front() {
                self.apply(effect, now);
            } else {
                let event = self.inputs.pop_front()?;
                if !self.driver_running {
                    self.inputs.clear();
                    continue;
                }
                self.awaiting = Some(Awaiting::Driver);
                return Some(Action::Drive(Input {
                    now_ms: now.ms,
                    unix_time: now.unix_time,
                    event,
                }));
            }
        }
    }

    /// The answer to the last action that asked for one.
    pub fn answer(&mut self, answer: Answer) {
        self.answer = Some(answer);
    }

    /// Whether another port serves this device, so that this host's runner ends. An abandoned
    /// host does nothing more: [`Self::poll`] gives no action after the [`Action::Publish`] that
    /// found the device taken.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    /// When timer `id` fires, if it is armed.
    pub fn timer_due(&self, id: u32) -> Option<u64> {
        self.timers.due(id)
    }

    /// The device's `Id` ("" while unknown).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The device's `State`.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Emits `action` and waits for its answer.
    fn wait(&mut self, awaiting: Awaiting, action: Action<C>) {
        debug_assert!(
            self.awaiting.is_none(),
            "already waiting for {:?}",
            self.awaiting
        );
        self.actions.push_back(action);
        self.awaiting = Some(awaiting);
    }

    fn resume(&mut self, awaiting: Awaiting, answer: Answer, now: Now) {
        match (awaiting, answer) {
            (Awaiting::Driver, Answer::Driven(Ok(effects))) => self.effects.extend(effects),
            (Awaiting::Driver, Answer::Driven(Err(why))) => self.driver_failed(&why, now),
            (Awaiting::Publication, Answer::Published(publication)) => match publication {
                Publication::New | Publication::Back => self.published = true,
                Publication::Taken => self.abandon(),
                Publication::Failed => {}
            },
            (Awaiting::Outbox, Answer::OutboxLoaded(stored)) => {
                if let Some(stored) = stored {
                    self.outbox.load(stored);
                    self.update_pending();
                }
            }
            (Awaiting::Commits, Answer::RecentCommits(keys)) => self
                .inputs
                .extend(keys.into_iter().map(|key| Event::MessageCommitted { key })),
            (Awaiting::Incoming(message), Answer::IncomingStored(outcome)) => {
                self.incoming_stored(message, outcome);
            }
            (Awaiting::Progress, Answer::Progress(progress)) => self.hand_over(progress),
            (Awaiting::Restart, Answer::DriverRestarted(result)) => {
                self.driver_restarted(result, now);
            }
            (awaiting, answer) => {
                tracing::error!("host bug: answer {answer:?} while waiting for {awaiting:?}");
            }
        }
    }

    /// Another port serves this device (same `Id`), and that port's host owns its outbox: this
    /// one drops the work it had planned (loading the outbox, replaying commits, sending the
    /// next message, the driver's remaining effects and inputs) and stops.
    fn abandon(&mut self) {
        self.abandoned = true;
        self.steps.clear();
        self.effects.clear();
        self.inputs.clear();
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::Publish => {
                self.withdrawn = false;
                self.wait(Awaiting::Publication, Action::Publish);
            }
            Step::LoadOutbox => {
                if !self.id.is_empty() && !self.outbox.is_loaded() {
                    let device_id = self.id.clone();
                    self.wait(Awaiting::Outbox, Action::LoadOutbox { device_id });
                }
            }
            Step::ReplayCommits => {
                if !self.id.is_empty() && std::mem::take(&mut self.replay_commits) {
                    let device_id = self.id.clone();
                    let limit = REPLAYED_COMMITS;
                    self.wait(
                        Awaiting::Commits,
                        Action::ReadRecentCommits { device_id, limit },
                    );
                }
            }
            Step::SendNext => {
                if self.driver_running
                    && self.state == states::READY
                    && self.send_held_until.is_none()
                    && let Some(id) = self.outbox.start_next()
                {
                    self.wait(Awaiting::Progress, Action::ReadProgress { id });
                }
            }
            Step::RestartDriver => self.wait(Awaiting::Restart, Action::RestartDriver),
        }
    }

    fn apply(&mut self, effect: Effect, now: Now) {
        match effect {
            effect @ (Effect::Tx(_) | Effect::Connect | Effect::Disconnect | Effect::Gatt(_)) => {
                self.actions.push_back(Action::Link(effect));
            }
            Effect::SetTimer { id, after_ms } => {
                self.timers.set(id, now.ms.saturating_add(after_ms))
            }
            Effect::CancelTimer(id) => self.timers.cancel(id),
            Effect::Reply { call, result } => self.reply(call, result),
            Effect::Device(update) => {
                self.release_outbox();
                self.device_update(update);
            }
            Effect::Signal(update) => {
                self.release_outbox();
                self.update(Update::Signal(update));
            }
            Effect::Sensor(update) => self.update(Update::Sensor(update)),
            Effect::Location(update) => self.update(Update::Location(update)),
            Effect::MessageReceived(message) => self.message_received(message),
            Effect::MessageState {
                id,
                state,
                error,
                info,
            } => {
                let record = self.outbox.reported(&id, state, &error, info);
                self.record(record);
            }
            Effect::Notify {
                characteristic,
                value,
            } => self.actions.push_back(Action::EmitNotification {
                characteristic,
                value,
            }),
            Effect::Log { level, message } => {
                self.actions.push_back(Action::Log { level, message });
            }
        }
    }

    fn update(&mut self, update: Update) {
        self.actions.push_back(Action::Update(update));
    }

    fn set_state(&mut self, state: &'static str, reason: &'static str) {
        self.state = state.to_owned();
        self.update(Update::State { state, reason });
    }

    fn update_pending(&mut self) {
        self.update(Update::Pending(self.outbox.pending()));
    }

    /// Commits an outgoing message's new state, then (if it is to be signalled) signals it.
    fn record(&mut self, record: Record) {
        let Record { change, signal } = record;
        let emit = signal.then(|| Action::EmitState {
            id: change.id.clone(),
            state: change.state,
            error: change.error.clone(),
        });
        self.actions.push_back(Action::CommitState(change));
        self.actions.extend(emit);
    }

    fn reply(&mut self, call: u64, result: Result<CallReply, CallError>) {
        match self.calls.finish(call) {
            Finished::Waiting(Waiting::Caller(caller)) => self.actions.push_back(Action::Reply {
                call,
                caller,
                result,
            }),
            Finished::Waiting(Waiting::Outbox(id)) => {
                if matches!(&result, Err(e) if e.kind == CallErrorKind::NotReady) {
                    self.send_held_until = Some(self.now_ms.saturating_add(NOT_READY_RETRY_MS));
                }
                let record = self.outbox.finished(&id, result);
                self.record(record);
                self.update_pending();
                self.steps.push_back(Step::SendNext);
            }
            Finished::Late => {
                tracing::debug!("call {call} answered after its caller was told Timeout");
            }
            Finished::Unknown => self.actions.push_back(Action::StrayReply { call }),
        }
    }

    fn device_update(&mut self, update: DeviceUpdate) {
        let id_appears = update.id.as_ref().is_some_and(|id| *id != self.id);
        if id_appears && self.id.is_empty() && self.published {
            // Published without an Id (it failed first); now it gets the number of its Id.
            self.published = false;
            self.actions.push_back(Action::Withdraw);
        }
        if let Some(id) = &update.id {
            self.id.clone_from(id);
        }
        if let Some(state) = &update.state {
            self.state.clone_from(state);
        }
        self.update(Update::Device(update));
        let publishable = !self.id.is_empty() || self.state == states::FAILED;
        let back = !self.withdrawn || self.state != states::OFFLINE;
        if !self.published && publishable && back {
            self.steps.push_back(Step::Publish);
        }
        self.steps
            .extend([Step::LoadOutbox, Step::ReplayCommits, Step::SendNext]);
    }

    /// Commits an incoming message, signals it, then lets the driver delete it from the device.
    fn message_received(&mut self, message: IncomingMessage) {
        if self.id.is_empty() {
            tracing::warn!(
                "driver reported a message before the device identity; not acknowledged"
            );
            return;
        }
        let device_id = self.id.clone();
        self.wait(
            Awaiting::Incoming(message.clone()),
            Action::StoreIncoming { device_id, message },
        );
    }

    fn incoming_stored(&mut self, message: IncomingMessage, outcome: IncomingOutcome) {
        let key = message.key.clone();
        match outcome {
            IncomingOutcome::Committed { id } => {
                let peer = mask_number(&message.peer);
                tracing::info!("message {id} received from {peer}");
                self.actions.push_back(Action::EmitReceived { id, message });
            }
            IncomingOutcome::AlreadyCommitted => {
                tracing::debug!("message {key} was stored before; acknowledging again");
            }
            IncomingOutcome::NotCommitted => return,
        }
        self.inputs.push_back(Event::MessageCommitted { key });
    }

    /// Hands the message in flight to the driver, as a call the outbox waits for.
    fn hand_over(&mut self, progress: Option<std::collections::BTreeMap<String, String>>) {
        let Some((message, record)) = self.outbox.hand_over(progress) else {
            return;
        };
        self.record(record);
        let call = self.calls.start(Waiting::Outbox(message.id.clone()), None);
        self.inputs.push_back(Event::Call {
            call,
            request: Request::Send(message),
        });
    }

    /// Ends a hold after `NotReady`: the next message is handed over (the device has news, or
    /// the hold's time is over).
    fn release_outbox(&mut self) {
        if self.send_held_until.take().is_some() {
            self.steps.push_back(Step::SendNext);
        }
    }

    /// Answers every waiting caller with `error` (or, with `None`, drops them: they see the
    /// device gone), and puts the message in flight back at the head of the outbox.
    fn fail_calls(&mut self, error: Option<(CallErrorKind, &str)>) {
        let waiting: Vec<_> = self.calls.drain().collect();
        for (call, waiting) in waiting {
            if let (Waiting::Caller(caller), Some((kind, message))) = (waiting, error) {
                let result = Err(CallError::new(kind, message));
                self.actions.push_back(Action::Reply {
                    call,
                    caller,
                    result,
                });
            }
        }
        self.outbox.interrupt();
    }

    fn driver_failed(&mut self, why: &str, now: Now) {
        self.schedule_restart(now, |delay| {
            format!("driver failed, restarting it in {delay:?}: {why}")
        });
        self.driver_running = false;
        self.inputs.clear();
        self.timers.clear();
        self.fail_calls(Some((CallErrorKind::Failed, "the driver failed")));
        self.set_state(states::FAILED, "driver-error");
    }

    fn driver_restarted(&mut self, result: Result<(), String>, now: Now) {
        match result {
            Ok(()) => {
                tracing::info!("driver restarted");
                self.restarts.started(since_start(now));
                self.driver_running = true;
                self.deliver(Event::Opened);
            }
            Err(e) => self.schedule_restart(now, |delay| {
                format!("cannot restart the driver, retrying in {delay:?}: {e}")
            }),
        }
    }

    /// Plans the next start of the driver after a failure, backing off while failures repeat.
    fn schedule_restart(&mut self, now: Now, failure: impl FnOnce(Duration) -> String) {
        let retry = self.restarts.failed(since_start(now));
        retry.log(failure(retry.delay));
        let delay = u64::try_from(retry.delay.as_millis()).unwrap_or(u64::MAX);
        self.restart_at = Some(now.ms.saturating_add(delay));
    }
}
