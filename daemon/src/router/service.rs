//! The router's task: `m2mhal_routing`'s [`Router`] and [`Rule`]s under tokio, with the store,
//! the devices and the time around them.
//!
//! Every input (a `Send`, a device's new properties, a device message's new state, the clock)
//! goes through one channel into one task, in order. Each change of a routed message is
//! committed to the store before it is signalled; a rule's state is committed when it changes.
//! The task asks the router again every second (ttl, failover_after, budgets, rules' `for`).
//! Handing an attempt to its device (the driver's `CheckMessage`, up to seconds) runs beside
//! the task and reports back through the same channel, so a slow device never stalls the others;
//! meanwhile that attempt is not withdrawn, and a device state that comes before its report is
//! kept for it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::MessageState;
use m2mhal_routing::{
    AttemptOutcome, Change, Encoding, Priority, Reading, RouteError, RouteSpec, RouteView,
    RoutedMessage, Router, RouterAction, Rule, RuleSpec, RuleState,
};
use tokio::sync::{mpsc, oneshot, watch};

use super::mqtt_uplink::{self, RemoteEvent, RemoteMessage, RemoteUplinks};
use super::uplink;
use crate::clock::unix_now;
use crate::device::handle::DeviceHandle;
use crate::device::observer::DeviceObserver;
use crate::device::outgoing::WITHDRAWN;
use crate::store::{RoutedRecord, Spent, StoreError, StoreHandle};

/// How often the router looks at the time while a message waits for an uplink.
const TICK: Duration = Duration::from_secs(1);
/// How often it looks when nothing waits and no rule is due (budgets roll on meanwhile).
const IDLE_TICK: Duration = Duration::from_secs(60);

/// Who hears about the router (the D-Bus side).
#[async_trait::async_trait]
pub trait RouterSignals: Send + Sync + std::fmt::Debug {
    /// A routed message's new state, committed.
    async fn state_changed(&self, change: &Change);
    /// The routes' availability or budgets are now `routes`.
    async fn routes_changed(&self, routes: Vec<RouteView>);
    /// The rules stand now as `rules`.
    async fn rules_changed(&self, rules: Vec<RuleView>);
}

/// A rule as `Router.Rules` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleView {
    /// Its name.
    pub name: String,
    /// `armed`, `pending` or `fired`.
    pub state: RuleState,
    /// Times fired.
    pub fired: u32,
    /// Unix seconds of the last firing (0: never).
    pub last_fired: u64,
}

/// What `Router.Send` asks for.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// The route's name.
    pub route: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Text or binary.
    pub encoding: Encoding,
    /// Seconds before it fails as `expired`.
    pub ttl: Option<u64>,
    /// Which go first.
    pub priority: Priority,
}

/// Why a message was not accepted onto a route.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Unknown route, ttl 0, too large for every uplink.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// The store could not commit it.
    #[error("cannot store the message: {0}")]
    Store(#[from] StoreError),
    /// The router's task is gone (the daemon stops).
    #[error("the router is stopping")]
    Stopped,
}

/// What the router's task takes in, in order.
#[derive(Debug)]
enum Input {
    Send(SendRequest, oneshot::Sender<Result<String, SendError>>),
    Device(Arc<DeviceHandle>),
    MessageState {
        /// The device's `Id` (an uplink).
        device: String,
        id: String,
        state: MessageState,
        error: String,
    },
    Remote(RemoteEvent),
    /// An attempt started in the background (`RouterService::attempt`) was taken by its device
    /// (the device message's id) or not (the outcome).
    Attempted {
        routed: String,
        sending: Option<Change>,
        taken: Result<String, AttemptOutcome>,
    },
}

/// The way to the router's task.
#[derive(Debug, Clone)]
pub struct RouterHandle {
    inputs: mpsc::UnboundedSender<Input>,
}

impl RouterHandle {
    /// Accepts a message onto a route; its id once it is committed.
    pub async fn send(&self, request: SendRequest) -> Result<String, SendError> {
        let (reply, answer) = oneshot::channel();
        if self.inputs.send(Input::Send(request, reply)).is_err() {
            return Err(SendError::Stopped);
        }
        answer.await.unwrap_or(Err(SendError::Stopped))
    }

    /// A device's properties changed (or it was published).
    pub fn device_changed(&self, device: &Arc<DeviceHandle>) {
        let _ = self.inputs.send(Input::Device(Arc::clone(device)));
    }

    /// What a registered MQTT bridge says (or that it registered or went).
    pub fn remote_event(&self, event: RemoteEvent) {
        let _ = self.inputs.send(Input::Remote(event));
    }

    /// A device message's new state, committed (`device`: the device's `Id`).
    pub fn message_state(&self, device: &str, id: &str, state: MessageState, error: &str) {
        let _ = self.inputs.send(Input::MessageState {
            device: device.to_owned(),
            id: id.to_owned(),
            state,
            error: error.to_owned(),
        });
    }
}

/// The router's task state.
struct RouterService {
    router: Router,
    rules: Vec<Rule>,
    store: StoreHandle,
    observer: Arc<dyn DeviceObserver>,
    signals: Arc<dyn RouterSignals>,
    remote: Arc<dyn RemoteUplinks>,
    devices: HashMap<String, Arc<DeviceHandle>>,
    /// Device message id -> routed message id, for the attempts under way.
    attempts: HashMap<String, String>,
    /// Routed message -> uplink, for the attempts being handed to their device in the
    /// background (the driver's `CheckMessage`, the commit): not withdrawn meanwhile, they may
    /// still be taken. One per uplink at a time.
    starting: HashMap<String, String>,
    /// Per uplink, the attempts waiting for the one being handed over (a backlog drains one
    /// attempt after the other, not all at once).
    waiting: HashMap<String, VecDeque<Start>>,
    /// Per uplink, final states of device messages not known as attempts, heard while an
    /// attempt was being handed to it: its own state may come before its `Attempted`. Dropped at
    /// that `Attempted` (one attempt per uplink is handed over at a time).
    early: HashMap<String, HashMap<String, AttemptOutcome>>,
    /// The way back into this task, for the attempts started in the background.
    inputs: mpsc::WeakUnboundedSender<Input>,
    /// The routes and rules as last published.
    published: (Vec<RouteView>, Vec<RuleView>),
}

/// An attempt to hand to its uplink's device.
#[derive(Debug)]
struct Start {
    /// Its change to `sending`, not committed yet.
    sending: Option<Change>,
    /// The routed message.
    id: String,
    /// Where to on the uplink.
    destination: String,
}

/// The router's end of its input channel, until the task runs (and a way to it that does not
/// keep it open).
#[derive(Debug)]
pub struct Inputs(
    mpsc::UnboundedReceiver<Input>,
    mpsc::WeakUnboundedSender<Input>,
);

/// A handle on a router not running yet, and the input channel to run it with ([`run`]).
pub fn channel() -> (RouterHandle, Inputs) {
    let (inputs, rx) = mpsc::unbounded_channel();
    let weak = inputs.downgrade();
    (RouterHandle { inputs }, Inputs(rx, weak))
}

/// What the router's task works with.
#[derive(Debug)]
pub struct RouterSetup {
    /// The configured routes.
    pub routes: Vec<RouteSpec>,
    /// The configured rules.
    pub rules: Vec<RuleSpec>,
    /// The durable store.
    pub store: StoreHandle,
    /// Shows device messages (the bus's observer, not the router's own).
    pub observer: Arc<dyn DeviceObserver>,
    /// Hears about the router.
    pub signals: Arc<dyn RouterSignals>,
    /// The registered MQTT bridges.
    pub remote: Arc<dyn RemoteUplinks>,
}

/// Runs the router on `inputs` until `stop` turns true.
pub async fn run(setup: RouterSetup, inputs: Inputs, stop: watch::Receiver<bool>) {
    let service = RouterService {
        router: Router::new(setup.routes),
        rules: setup.rules.into_iter().map(Rule::new).collect(),
        store: setup.store,
        observer: setup.observer,
        signals: setup.signals,
        remote: setup.remote,
        devices: HashMap::new(),
        attempts: HashMap::new(),
        starting: HashMap::new(),
        waiting: HashMap::new(),
        early: HashMap::new(),
        inputs: inputs.1,
        published: (Vec::new(), Vec::new()),
    };
    service.run(inputs.0, stop).await;
}

impl RouterService {
    async fn run(
        mut self,
        mut inputs: mpsc::UnboundedReceiver<Input>,
        mut stop: watch::Receiver<bool>,
    ) {
        self.restore().await;
        self.publish().await;
        loop {
            let pause = self.pause();
            tokio::select! {
                input = inputs.recv() => match input {
                    Some(input) => self.input(input).await,
                    None => return,
                },
                () = tokio::time::sleep(pause) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                    return;
                },
            }
            self.tick().await;
        }
    }

    /// How long the router may sleep when nothing arrives: a tick while a message waits for an
    /// uplink, until the next rule's deadline, else [`IDLE_TICK`] (a quiet daemon stays quiet).
    fn pause(&self) -> Duration {
        let waiting = self.router.messages().iter().any(|m| !m.state.is_final());
        if waiting {
            return TICK;
        }
        let now = unix_now();
        match self.rules.iter().filter_map(Rule::deadline).min() {
            Some(at) => Duration::from_secs(at.saturating_sub(now)).clamp(TICK, IDLE_TICK),
            None => IDLE_TICK,
        }
    }

    /// Reads back what the store kept: budgets spent, rules' state, routed messages not final
    /// (with the attempt each had under way).
    async fn restore(&mut self) {
        let longest = self
            .router
            .routes()
            .flat_map(|r| r.uplinks.iter().filter_map(|u| u.budget.map(|b| b.period)))
            .max()
            .unwrap_or(0);
        let since = unix_now().saturating_sub(longest);
        match self.store.run(move |s| s.spent_since(since)).await {
            Ok(spent) => {
                for (uplink, at, bytes) in spent {
                    self.router.restore_spent(&uplink, at, bytes);
                }
            }
            Err(e) => tracing::error!("cannot read the uplinks' budgets: {e}"),
        }
        for rule in &mut self.rules {
            let name = rule.spec().name.clone();
            match self.store.run(move |s| s.rule(&name)).await {
                Ok(Some(kept)) => rule.restore(kept),
                Ok(None) => {}
                Err(e) => tracing::error!("cannot read rule {}: {e}", rule.spec().name),
            }
        }
        let pending = match self.store.run(|s| s.pending_routed()).await {
            Ok(pending) => pending,
            Err(e) => return tracing::error!("cannot read the routed messages: {e}"),
        };
        if !pending.is_empty() {
            tracing::info!("{} routed message(s) from the store", pending.len());
        }
        for record in pending {
            self.restore_message(record).await;
        }
    }

    /// A routed message read back: its attempt goes on where its device message stands.
    async fn restore_message(&mut self, record: RoutedRecord) {
        let RoutedRecord {
            message,
            attempt_message,
            ..
        } = record;
        let id = message.id.clone();
        let Some(attempt) = message.attempt.clone() else {
            return self.router.queue(message);
        };
        self.router.queue(message);
        if mqtt_uplink::is_remote(&attempt.uplink) {
            // The bridge's: offered again when it registers, it says how it went.
            return;
        }
        // Killed between the device's commit and the router's: the device message says whose.
        let device_message = match attempt_message {
            Some(device_message) => Some(device_message),
            None => {
                let (routed, uplink) = (id.clone(), attempt.uplink.clone());
                let found = self
                    .store
                    .run(move |s| s.attempt_message_of(&routed, &uplink))
                    .await;
                found.unwrap_or_else(|e| {
                    tracing::error!("cannot look for routed message {id}'s attempt: {e}");
                    None
                })
            }
        };
        let Some(device_message) = device_message else {
            // Stopped before the device took it: nothing went out.
            let actions = self
                .router
                .outcome(&id, AttemptOutcome::Withdrawn, unix_now());
            return self.carry_out(actions).await;
        };
        let read = device_message.clone();
        let stored = self.store.run(move |s| s.get(&read)).await;
        let outcome = match stored {
            Ok(Some(stored)) if stored.state == "sent" => Some(AttemptOutcome::Sent),
            Ok(Some(stored)) if stored.state == "failed" && stored.error == WITHDRAWN => {
                Some(AttemptOutcome::Withdrawn)
            }
            Ok(Some(stored)) if stored.state == "failed" => {
                Some(AttemptOutcome::Failed(stored.error))
            }
            Ok(None) => Some(AttemptOutcome::Failed(
                "the device message was deleted".into(),
            )),
            _ => None,
        };
        match outcome {
            Some(outcome) => {
                let actions = self.router.outcome(&id, outcome, unix_now());
                self.carry_out(actions).await;
            }
            None => {
                self.attempts.insert(device_message, id);
            }
        }
    }

    async fn input(&mut self, input: Input) {
        match input {
            Input::Send(request, reply) => {
                let _ = reply.send(self.accept(request).await);
            }
            Input::Device(device) => self.device_changed(device).await,
            Input::Remote(event) => self.remote_event(event).await,
            Input::MessageState {
                device,
                id,
                state,
                error,
            } => {
                let outcome = match state {
                    MessageState::Sent => AttemptOutcome::Sent,
                    MessageState::Failed => AttemptOutcome::Failed(error),
                    MessageState::Queued => {
                        // Back in its device's queue: it may be withdrawn now.
                        if let Some(routed) = self.attempts.get(&id) {
                            self.router.attempt_changed(routed);
                        }
                        return;
                    }
                    MessageState::Sending => return,
                };
                match self.attempts.remove(&id) {
                    Some(routed) => {
                        let actions = self.router.outcome(&routed, outcome, unix_now());
                        self.carry_out(actions).await;
                    }
                    None if self.starting.values().any(|uplink| *uplink == device) => {
                        self.early.entry(device).or_default().insert(id, outcome);
                    }
                    None => {}
                }
            }
            Input::Attempted {
                routed,
                sending,
                taken,
            } => {
                let actions = self.attempted(routed, sending, taken).await;
                self.carry_out(actions).await;
            }
        }
    }

    /// A registered bridge's news: its status, its registration (every message whose attempt
    /// is on it is offered again), or how a message it took went.
    async fn remote_event(&mut self, event: RemoteEvent) {
        match event {
            RemoteEvent::Status { uplink, status } => self.router.set_status(&uplink, status),
            RemoteEvent::Registered { uplink } => {
                let held = mqtt_uplink::held_on(self.router.messages(), &uplink);
                for message in held {
                    let taken = mqtt_uplink::attempt(self.remote.as_ref(), &uplink, &message).await;
                    if let Err(outcome) = taken {
                        let actions = self.router.outcome(&message.id, outcome, unix_now());
                        self.carry_out(actions).await;
                    }
                }
            }
            RemoteEvent::Outcome {
                uplink,
                id,
                outcome,
            } => {
                if mqtt_uplink::is_on(self.router.messages(), &id, &uplink) {
                    let actions = self.router.outcome(&id, outcome, unix_now());
                    self.carry_out(actions).await;
                }
            }
        }
    }

    /// An attempt started in the background was taken by its device, or not; the next attempt
    /// waiting for its uplink starts.
    async fn attempted(
        &mut self,
        routed: String,
        sending: Option<Change>,
        taken: Result<String, AttemptOutcome>,
    ) -> Vec<RouterAction> {
        let uplink = self.starting.remove(&routed);
        let mut heard = uplink
            .as_ref()
            .and_then(|uplink| self.early.remove(uplink))
            .unwrap_or_default();
        let early = match &taken {
            Ok(device_message) => heard.remove(device_message),
            Err(_) => None,
        };
        let mut actions = match taken {
            Ok(device_message) => {
                if let Some(change) = &sending {
                    self.signals.state_changed(change).await;
                }
                match early {
                    Some(outcome) => self.router.outcome(&routed, outcome, unix_now()),
                    None => {
                        // In its device's outbox now: a withdraw held back while it was being
                        // handed over is asked again when due.
                        self.router.attempt_changed(&routed);
                        self.attempts.insert(device_message, routed);
                        Vec::new()
                    }
                }
            }
            Err(outcome) => self.not_taken(sending, &routed, outcome).await,
        };
        if let Some(uplink) = uplink {
            while let Some(next) = self.waiting.get_mut(&uplink).and_then(VecDeque::pop_front) {
                match self.start(next, &uplink) {
                    None => break,
                    Some(start) => actions.extend(
                        self.not_taken(start.sending, &start.id, AttemptOutcome::Withdrawn)
                            .await,
                    ),
                }
            }
            self.waiting.retain(|_, queue| !queue.is_empty());
        }
        actions
    }

    /// An attempt its device did not take (nothing committed yet): its `sending` is committed
    /// and signalled on its own, then the router hears the outcome.
    async fn not_taken(
        &mut self,
        sending: Option<Change>,
        id: &str,
        outcome: AttemptOutcome,
    ) -> Vec<RouterAction> {
        if let Some(change) = &sending {
            self.changed(change, None).await;
        }
        self.router.outcome(id, outcome, unix_now())
    }

    /// Commits a new routed message as `queued`, signals it, and queues it.
    async fn accept(&mut self, request: SendRequest) -> Result<String, SendError> {
        let now = unix_now();
        self.router
            .check(&request.route, request.payload.len(), request.ttl)?;
        let mut message = RoutedMessage::new("", &request.route, request.payload, request.encoding);
        message.priority = request.priority;
        message.expires = request.ttl.map(|ttl| now.saturating_add(ttl));
        let stored = message.clone();
        message.id = self
            .store
            .run(move |s| s.insert_routed(&stored, now))
            .await?;
        let queued = Change {
            id: message.id.clone(),
            state: message.state,
            uplink: String::new(),
            attempts: 0,
            error: String::new(),
        };
        self.signals.state_changed(&queued).await;
        let id = message.id.clone();
        self.router.queue(message);
        Ok(id)
    }

    fn rule_views(&self) -> Vec<RuleView> {
        self.rules
            .iter()
            .map(|rule| RuleView {
                name: rule.spec().name.clone(),
                state: rule.state(),
                fired: rule.fired(),
                last_fired: rule.last_fired(),
            })
            .collect()
    }

    async fn device_changed(&mut self, device: Arc<DeviceHandle>) {
        let (id, status, state, readings) = {
            let state = device.state();
            (
                state.id.clone(),
                uplink::status(&state),
                state.state.clone(),
                state.sensor.readings.clone(),
            )
        };
        if id.is_empty() {
            return;
        }
        self.devices.insert(id.clone(), device);
        self.router.set_status(&id, status);
        let now = unix_now();
        let mut fired = Vec::new();
        let mut changed = false;
        for rule in self.rules.iter_mut().filter(|r| r.spec().device == id) {
            let reading = if rule.spec().reading == "state" {
                Some(Reading::Text(state.clone()))
            } else {
                readings
                    .get(&rule.spec().reading)
                    .map(|v| Reading::Number(*v))
            };
            let Some(reading) = reading else { continue };
            let before = (rule.state(), rule.fired());
            fired.extend(rule.observe(reading, now));
            changed |= before != (rule.state(), rule.fired());
        }
        self.rules_fired(fired, changed).await;
    }

    /// Sends what the rules fired, then keeps their new state (a kill in between may fire a
    /// rule once more after the restart, but never loses its message).
    async fn rules_fired(&mut self, fired: Vec<m2mhal_routing::Fire>, changed: bool) {
        if !changed {
            return;
        }
        for fire in fired {
            tracing::info!("a rule fired: message to route {}", fire.route);
            let request = SendRequest {
                route: fire.route,
                payload: fire.text.into_bytes(),
                encoding: Encoding::Text,
                ttl: None,
                priority: Priority::Normal,
            };
            if let Err(e) = self.accept(request).await {
                tracing::warn!("cannot send a rule's message: {e}");
            }
        }
        let kept: Vec<_> = self
            .rules
            .iter()
            .map(|r| (r.spec().name.clone(), r.snapshot()))
            .collect();
        let saved = self
            .store
            .run(move |s| {
                for (name, snapshot) in &kept {
                    s.save_rule(name, *snapshot)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = saved {
            tracing::error!("cannot keep the rules' state: {e}");
        }
    }

    /// Publishes the routes and rules when they changed since they were last published.
    async fn publish(&mut self) {
        let routes = self.router.view(unix_now());
        if routes != self.published.0 {
            self.published.0 = routes.clone();
            self.signals.routes_changed(routes).await;
        }
        let rules = self.rule_views();
        if rules != self.published.1 {
            self.published.1 = rules.clone();
            self.signals.rules_changed(rules).await;
        }
    }

    async fn tick(&mut self) {
        let now = unix_now();
        let mut fired = Vec::new();
        let mut changed = false;
        for rule in &mut self.rules {
            let before = rule.state();
            fired.extend(rule.tick(now));
            changed |= before != rule.state();
        }
        self.rules_fired(fired, changed).await;
        let actions = self.router.poll(now);
        self.carry_out(actions).await;
        self.publish().await;
    }

    /// Carries out the router's actions and those their outcomes bring, then asks the router
    /// once more (an attempt that ended at once moves on to the next uplink now; anything
    /// after that waits for the next tick, so an uplink that refuses at once cannot spin).
    ///
    /// Commits are as few as the order allows: a message's change to `sending` is committed
    /// with the device message carrying that attempt, and a final `sent` with what its uplink
    /// carried. Each change is signalled after its commit.
    async fn carry_out(&mut self, actions: Vec<RouterAction>) {
        let mut queue: std::collections::VecDeque<RouterAction> = actions.into();
        let mut asked_again = false;
        // A `sending` whose attempt comes next: committed with it.
        let mut sending = None;
        while let Some(action) = queue.pop_front() {
            let more = match action {
                RouterAction::Changed(change)
                    if matches!(queue.front(),
                        Some(RouterAction::Attempt { id, .. }) if *id == change.id) =>
                {
                    sending = Some(change);
                    Vec::new()
                }
                RouterAction::Changed(change) => {
                    self.changed(&change, None).await;
                    Vec::new()
                }
                RouterAction::Spent { uplink, at, bytes } => {
                    let spent = Spent { uplink, at, bytes };
                    match queue.pop_front() {
                        Some(RouterAction::Changed(change)) if change.state.is_final() => {
                            self.changed(&change, Some(spent)).await;
                        }
                        other => {
                            queue.extend(other);
                            let stored = self.store.run(move |s| s.record_spent(&spent)).await;
                            if let Err(e) = stored {
                                tracing::error!("cannot record an uplink's spending: {e}");
                            }
                        }
                    }
                    Vec::new()
                }
                RouterAction::Attempt {
                    id,
                    uplink,
                    destination,
                    ..
                } => self.attempt(sending.take(), id, &uplink, destination).await,
                RouterAction::Withdraw { id, uplink } => self.withdraw(&id, &uplink).await,
            };
            queue.extend(more);
            if queue.is_empty() && !asked_again {
                asked_again = true;
                queue.extend(self.router.poll(unix_now()));
            }
        }
    }

    /// Commits a routed message's change (with `spent`, when it is its final `sent`), then
    /// signals it.
    async fn changed(&mut self, change: &Change, spent: Option<Spent>) {
        self.commit(change, spent).await;
        self.signals.state_changed(change).await;
    }

    /// Starts the attempt of routed message `id` on `uplink`, in the background (the driver's
    /// `CheckMessage` may take seconds; the router goes on meanwhile): the answer comes back as
    /// [`Input::Attempted`]. One attempt per uplink is handed over at a time; the others wait
    /// for it. Its change to `sending` (not committed yet) is committed with the device message
    /// that carries the attempt, or alone when the device does not take it; it is signalled
    /// after that commit.
    async fn attempt(
        &mut self,
        sending: Option<Change>,
        id: String,
        uplink: &str,
        destination: String,
    ) -> Vec<RouterAction> {
        if mqtt_uplink::is_remote(uplink) {
            return self.attempt_remote(sending, &id, uplink).await;
        }
        let start = Start {
            sending,
            id,
            destination,
        };
        if self.starting.values().any(|busy| busy == uplink) {
            let waiting = self.waiting.entry(uplink.to_owned()).or_default();
            waiting.push_back(start);
            return Vec::new();
        }
        match self.start(start, uplink) {
            None => Vec::new(),
            Some(start) => {
                self.not_taken(start.sending, &start.id, AttemptOutcome::Withdrawn)
                    .await
            }
        }
    }

    /// Hands `start` to `uplink`'s device in the background; gives it back when there is no
    /// such device (or message) now.
    fn start(&mut self, start: Start, uplink: &str) -> Option<Start> {
        let routed = self.router.messages().iter().find(|m| m.id == start.id);
        let (Some(device), Some(routed)) = (self.devices.get(uplink).cloned(), routed.cloned())
        else {
            return Some(start);
        };
        let Some(inputs) = self.inputs.upgrade() else {
            // The daemon stops: the attempt starts again after the restart.
            return None;
        };
        let Start {
            sending,
            id,
            destination,
        } = start;
        self.starting.insert(id.clone(), uplink.to_owned());
        let (store, observer) = (self.store.clone(), Arc::clone(&self.observer));
        tokio::spawn(async move {
            let request = uplink::AttemptRequest {
                routed,
                destination,
            };
            let taken = uplink::attempt(&store, &observer, &device, request).await;
            let _ = inputs.send(Input::Attempted {
                routed: id,
                sending,
                taken,
            });
        });
        None
    }

    /// Hands routed message `id` to the MQTT bridge registered as `uplink`: its `sending` is
    /// committed and signalled first (no device message carries it), then the bridge takes it
    /// durably or says why not; how it went comes later as a [`RemoteEvent::Outcome`].
    async fn attempt_remote(
        &mut self,
        sending: Option<Change>,
        id: &str,
        uplink: &str,
    ) -> Vec<RouterAction> {
        if let Some(change) = &sending {
            self.changed(change, None).await;
        }
        let Some(message) = self.router.messages().iter().find(|m| m.id == id) else {
            return Vec::new();
        };
        let message = RemoteMessage::from(message);
        match mqtt_uplink::attempt(self.remote.as_ref(), uplink, &message).await {
            Ok(()) => Vec::new(),
            Err(outcome) => self.router.outcome(id, outcome, unix_now()),
        }
    }

    async fn withdraw(&mut self, id: &str, uplink: &str) -> Vec<RouterAction> {
        if mqtt_uplink::is_remote(uplink) {
            let outcome = mqtt_uplink::withdraw(self.remote.as_ref(), uplink, id).await;
            return self.router.outcome(id, outcome, unix_now());
        }
        if self.starting.contains_key(id) {
            // Being handed to its device: it may be taken yet.
            return self
                .router
                .outcome(id, AttemptOutcome::InFlight, unix_now());
        }
        let waiting = self
            .waiting
            .get_mut(uplink)
            .and_then(|queue| queue.remove(queue.iter().position(|s| s.id == id)?));
        if let Some(start) = waiting {
            // Never handed over.
            return self
                .not_taken(start.sending, id, AttemptOutcome::Withdrawn)
                .await;
        }
        let device_message = self
            .attempts
            .iter()
            .find(|(_, routed)| *routed == id)
            .map(|(message, _)| message.clone());
        let outcome = match (device_message, self.devices.get(uplink).cloned()) {
            (Some(message), Some(device)) => {
                let outcome =
                    uplink::withdraw(&self.store, &self.observer, &device, &message).await;
                if outcome == AttemptOutcome::Withdrawn {
                    self.attempts.remove(&message);
                }
                outcome
            }
            (Some(_), None) => AttemptOutcome::InFlight,
            (None, _) => AttemptOutcome::Withdrawn,
        };
        self.router.outcome(id, outcome, unix_now())
    }

    /// Commits a routed message's change: the whole message while it is under way, its final
    /// state (and `spent`) once it is done.
    async fn commit(&mut self, change: &Change, spent: Option<Spent>) {
        let attempt_message = self
            .attempts
            .iter()
            .find(|(_, routed)| **routed == change.id)
            .map(|(message, _)| message.clone());
        match self.router.messages().iter().find(|m| m.id == change.id) {
            Some(_) => self.save(&change.id, attempt_message).await,
            None => {
                let change = change.clone();
                let stored = self
                    .store
                    .run(move |s| s.finish_routed(&change, spent.as_ref()))
                    .await;
                if let Err(e) = stored {
                    tracing::error!("cannot record a routed message's state: {e}");
                }
            }
        }
    }

    async fn save(&mut self, id: &str, attempt_message: Option<String>) {
        let Some(message) = self.router.messages().iter().find(|m| m.id == id).cloned() else {
            return;
        };
        let stored = self
            .store
            .run(move |s| s.save_routed(&message, attempt_message.as_deref()))
            .await;
        if let Err(e) = stored {
            tracing::error!("cannot record routed message {id}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, RwLock};

    use m2mhal_routing::{Attempt, RoutedState, UplinkSpec};

    use super::*;
    use crate::device::handle::DeviceRequest;
    use crate::device::observer::{DeviceEvent, Publication};
    use crate::device::state::{Changed, DeviceState};
    use crate::store::{NewOutgoing, ROUTED_ID, Store};

    const LTE: &str = "imei:356938035643809";
    const SBD: &str = "imei:300234063904190";
    const PHONE: &str = "+447700900123";

    /// Sees nothing: the restored messages' devices are not back yet.
    #[derive(Debug)]
    struct NoDevices;

    #[async_trait::async_trait]
    impl DeviceObserver for NoDevices {
        async fn publish(
            &self,
            _: &Arc<RwLock<DeviceState>>,
            _: &mpsc::Sender<DeviceRequest>,
        ) -> Option<Publication> {
            None
        }
        async fn withdraw(&self, _: &Arc<DeviceHandle>) {}
        async fn changed(&self, _: &Arc<DeviceHandle>, _: &Changed) {}
        async fn event(&self, _: &Arc<DeviceHandle>, _: DeviceEvent<'_>) {}
        async fn port_removed(&self, _: &str) {}
    }

    /// No bridge registered.
    #[derive(Debug)]
    struct NoBridges;

    #[async_trait::async_trait]
    impl RemoteUplinks for NoBridges {
        async fn send(&self, _: &str, _: &RemoteMessage) -> mqtt_uplink::Handover {
            mqtt_uplink::Handover::Absent
        }
        async fn withdraw(&self, _: &str, _: &str) -> Option<bool> {
            None
        }
    }

    /// Records the routed states signalled.
    #[derive(Debug, Default)]
    struct Recorded(Mutex<Vec<(String, String, String)>>);

    #[async_trait::async_trait]
    impl RouterSignals for Recorded {
        async fn state_changed(&self, change: &Change) {
            let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
            seen.push((
                change.id.clone(),
                change.state.as_str().to_owned(),
                change.uplink.clone(),
            ));
        }
        async fn routes_changed(&self, _: Vec<RouteView>) {}
        async fn rules_changed(&self, _: Vec<RuleView>) {}
    }

    /// A service whose store and router hold one routed message `sending` through LTE.
    struct Queued {
        _dir: tempfile::TempDir,
        routed: RoutedMessage,
        signals: Arc<Recorded>,
        service: RouterService,
    }

    fn queued_through_lte() -> Queued {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let routed = sending_through_lte(&mut store);
        let signals = Arc::new(Recorded::default());
        let mut service = service(StoreHandle::new(store), Arc::clone(&signals));
        service.router.queue(routed.clone());
        Queued {
            _dir: dir,
            routed,
            signals,
            service,
        }
    }

    fn service(store: StoreHandle, signals: Arc<Recorded>) -> RouterService {
        let uplink = |name: &str| UplinkSpec {
            uplink: name.into(),
            destination: String::new(),
            budget: None,
        };
        let route = RouteSpec {
            name: "home".into(),
            failover_after: 120,
            uplinks: vec![uplink(LTE), uplink(SBD)],
        };
        RouterService {
            router: Router::new(vec![route]),
            rules: Vec::new(),
            store,
            observer: Arc::new(NoDevices),
            signals,
            remote: Arc::new(NoBridges),
            devices: HashMap::new(),
            attempts: HashMap::new(),
            starting: HashMap::new(),
            waiting: HashMap::new(),
            early: HashMap::new(),
            inputs: mpsc::unbounded_channel().0.downgrade(),
            published: (Vec::new(), Vec::new()),
        }
    }

    /// A routed message committed as `sending` through LTE, as the router commits it before it
    /// hands the message to the device (no device message id recorded yet).
    fn sending_through_lte(store: &mut Store) -> RoutedMessage {
        let mut message = RoutedMessage::new("", "home", b"hi".to_vec(), Encoding::Text);
        message.id = store.insert_routed(&message, 1000).unwrap();
        message.state = RoutedState::Sending;
        message.uplink = LTE.into();
        message.attempts = 1;
        message.attempt = Some(Attempt {
            uplink: LTE.into(),
            started: 1000,
            withdrawing: false,
        });
        store.save_routed(&message, None).unwrap();
        message
    }

    /// The device message of an attempt, committed by the device with the routed id.
    fn device_message(store: &mut Store, routed: &RoutedMessage, state: &str) -> String {
        let record = store
            .insert_outgoing(NewOutgoing {
                device_id: LTE.into(),
                destination: String::new(),
                payload: b"hi".to_vec(),
                encoding: "text",
                text: Some("hi".into()),
                timestamp: 1000,
                info: BTreeMap::from([(ROUTED_ID.to_owned(), routed.id.clone())]),
            })
            .unwrap();
        store
            .set_state(&record.id, state, "", &BTreeMap::new())
            .unwrap();
        record.id
    }

    #[tokio::test]
    async fn an_attempt_the_device_sent_before_a_kill_is_sent_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let routed = sending_through_lte(&mut store);
        device_message(&mut store, &routed, "sent");
        let signals = Arc::new(Recorded::default());
        let mut service = service(StoreHandle::new(store), Arc::clone(&signals));
        service.restore().await;
        let seen = signals.0.lock().unwrap().clone();
        assert_eq!(seen, [(routed.id.clone(), "sent".into(), LTE.into())]);
        assert!(service.router.messages().is_empty());
    }

    #[tokio::test]
    async fn an_attempt_the_device_still_holds_is_followed_not_started_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let routed = sending_through_lte(&mut store);
        let carried = device_message(&mut store, &routed, "queued");
        let signals = Arc::new(Recorded::default());
        let mut service = service(StoreHandle::new(store), Arc::clone(&signals));
        service.restore().await;
        assert!(signals.0.lock().unwrap().is_empty(), "nothing new");
        assert_eq!(service.attempts.get(&carried), Some(&routed.id));
        service.tick().await;
        assert!(signals.0.lock().unwrap().is_empty(), "no second uplink");
    }

    #[tokio::test]
    async fn an_attempt_the_device_never_took_goes_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let routed = sending_through_lte(&mut store);
        let signals = Arc::new(Recorded::default());
        let mut service = service(StoreHandle::new(store), Arc::clone(&signals));
        service.restore().await;
        let seen = signals.0.lock().unwrap().clone();
        assert_eq!(seen, [(routed.id.clone(), "queued".into(), String::new())]);
    }

    #[tokio::test]
    async fn a_device_state_heard_before_its_attempt_was_answered_is_not_lost() {
        let Queued {
            _dir,
            routed,
            signals,
            mut service,
        } = queued_through_lte();
        service.starting.insert(routed.id.clone(), LTE.into());
        // The device sent it before the background attempt reported back.
        let sent = Input::MessageState {
            device: LTE.into(),
            id: "77".into(),
            state: MessageState::Sent,
            error: String::new(),
        };
        service.input(sent).await;
        assert!(signals.0.lock().unwrap().is_empty());
        let attempted = Input::Attempted {
            routed: routed.id.clone(),
            sending: None,
            taken: Ok("77".into()),
        };
        service.input(attempted).await;
        let seen = signals.0.lock().unwrap().clone();
        assert_eq!(seen, [(routed.id.clone(), "sent".into(), LTE.into())]);
        assert!(service.starting.is_empty() && service.early.is_empty());
    }

    #[tokio::test]
    async fn an_attempt_being_handed_to_its_device_is_not_withdrawn() {
        let Queued {
            _dir,
            routed,
            signals,
            mut service,
        } = queued_through_lte();
        service.starting.insert(routed.id.clone(), LTE.into());
        assert!(service.withdraw(&routed.id, LTE).await.is_empty());
        let attempt = service.router.messages()[0].attempt.clone().unwrap();
        assert_eq!(attempt.uplink, LTE, "still on its first uplink");
        assert!(!attempt.withdrawing);
        assert!(signals.0.lock().unwrap().is_empty(), "no second uplink");
        assert!(
            service.router.poll(unix_now()).is_empty(),
            "not asked again at once"
        );
        // Taken: in the device's outbox, where it may be withdrawn.
        let taken = service.attempted(routed.id.clone(), None, Ok("7".into()));
        assert!(taken.await.is_empty());
        let asked = service.router.poll(unix_now());
        assert!(
            matches!(asked.as_slice(), [RouterAction::Withdraw { id, .. }] if *id == routed.id),
            "{asked:?}"
        );
    }

    #[tokio::test]
    async fn an_attempt_waiting_for_its_uplink_is_withdrawn_without_reaching_it() {
        let Queued {
            _dir,
            routed,
            signals,
            mut service,
        } = queued_through_lte();
        // Another message's attempt is being handed to LTE: this one waits for it.
        service.starting.insert("other".into(), LTE.into());
        let sending = Change {
            id: routed.id.clone(),
            state: RoutedState::Sending,
            uplink: LTE.into(),
            attempts: 1,
            error: String::new(),
        };
        let started = service
            .attempt(Some(sending), routed.id.clone(), LTE, PHONE.into())
            .await;
        assert!(started.is_empty());
        assert_eq!(service.waiting[LTE].len(), 1);
        assert!(
            signals.0.lock().unwrap().is_empty(),
            "signalled once committed"
        );

        let actions = service.withdraw(&routed.id, LTE).await;
        service.carry_out(actions).await;
        let seen = signals.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (routed.id.clone(), "sending".into(), LTE.into()),
                (routed.id.clone(), "queued".into(), String::new()),
            ]
        );
        assert!(service.waiting[LTE].is_empty());
    }
}
