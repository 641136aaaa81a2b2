//! The task that runs one device: port I/O, the driver's timers and calls, the outbox, and the
//! effects the driver asks for.
//!
//! Everything about one device happens here, in order; D-Bus handlers only send requests in and
//! wait (with a timeout) for answers, so a slow or dead device never blocks anybody else.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use m2mhal_plugin_api::redact::mask_number;
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DeviceUpdate, Effect, Encoding, Event, IncomingMessage,
    Input, LogLevel, MessageState, OpenConfig, OutgoingMessage, Request,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::Instrument;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, Variant};

use super::handle::{DeviceHandle, DeviceRequest};
use super::link::Link;
use super::state::{Changed, DeviceState, states};
use crate::backoff::Backoff;
use crate::clock;
use crate::dbus::gatt_iface::GattInterface;
use crate::dbus::messaging_iface::MessagingInterface;
use crate::dbus::objects;
use crate::plugin_host::{DriverInstance, Plugin};
use crate::registry::{Publication, Registry};
use crate::store::{MessageRecord, StoreHandle};

/// How many of a device's most recent committed incoming messages a (re)initialising driver is
/// told about again.
const REPLAYED_COMMITS: u32 = 32;
/// Depth of a device's request queue.
const REQUEST_QUEUE: usize = 64;

/// The services every device task uses.
#[derive(Debug, Clone)]
pub struct Services {
    /// The bus connection that serves the objects.
    pub conn: Connection,
    /// The durable message store.
    pub store: StoreHandle,
    /// Published devices.
    pub registry: Arc<Registry>,
}

/// Who is waiting for a driver call's reply.
enum PendingCall {
    /// A D-Bus caller.
    External(oneshot::Sender<Result<CallReply, CallError>>),
    /// The outbox, sending the message with this id.
    Outbox(String),
}

/// Why the main loop woke up.
enum Wake {
    Link(Event),
    Request(Box<DeviceRequest>),
    Timers,
    RestartDriver,
    Stop,
}

/// One device's task. Created by [`run`].
struct DeviceTask {
    services: Services,
    plugin: Arc<Plugin>,
    config: OpenConfig,
    driver: Option<DriverInstance>,
    link: Link,
    state: Arc<RwLock<DeviceState>>,
    /// The task's end of the request channel, handed to the object the device is published in.
    requests: mpsc::Sender<DeviceRequest>,
    /// The device's object, once published.
    handle: Option<Arc<DeviceHandle>>,
    /// The object was forgotten while the device was offline; it is published again when the
    /// device is back.
    withdrawn: bool,
    /// Another port serves the same device; this task ends.
    abandoned: bool,
    outbox_loaded: bool,
    /// The driver (re)initialises: once the device's `Id` is known, tell it again which of its
    /// messages are committed (see [`DeviceTask::replay_commits`]).
    replay_commits: bool,
    timers: HashMap<u32, Instant>,
    calls: HashMap<u64, PendingCall>,
    next_call: u64,
    outbox: VecDeque<MessageRecord>,
    sending: Option<MessageRecord>,
    inputs: VecDeque<Event>,
    epoch: Instant,
    restart_at: Option<Instant>,
    restarts: Backoff,
}

/// Runs a claimed device until `stop` turns true (unplug or shutdown). `config` is what `driver`
/// was opened with (to restart it after a failure); its `port` names the device node or address.
pub async fn run(
    services: Services,
    plugin: Arc<Plugin>,
    driver: DriverInstance,
    config: OpenConfig,
    link: Link,
    stop: watch::Receiver<bool>,
) {
    let port = config.port.clone();
    // The caller's span is the device's one span (`crate::device::span`).
    let span = tracing::Span::current();
    let (requests_tx, requests) = mpsc::channel(REQUEST_QUEUE);
    let kind = plugin
        .description
        .kinds
        .first()
        .map(|k| k.as_str())
        .unwrap_or_default();
    let state = Arc::new(RwLock::new(DeviceState::new(plugin.name(), kind, &port)));
    let mut restarts = Backoff::driver_restarts();
    restarts.started(std::time::Instant::now());
    let task = DeviceTask {
        services,
        plugin,
        config,
        driver: Some(driver),
        link,
        state,
        requests: requests_tx,
        handle: None,
        withdrawn: false,
        abandoned: false,
        outbox_loaded: false,
        replay_commits: true,
        timers: HashMap::new(),
        calls: HashMap::new(),
        next_call: 0,
        outbox: VecDeque::new(),
        sending: None,
        inputs: VecDeque::new(),
        epoch: Instant::now(),
        restart_at: None,
        restarts,
    };
    task.main_loop(requests, stop).instrument(span).await;
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl DeviceTask {
    async fn main_loop(
        mut self,
        mut requests: mpsc::Receiver<DeviceRequest>,
        mut stop: watch::Receiver<bool>,
    ) {
        self.queue(Event::Opened);
        self.drain().await;
        loop {
            let next_timer = self.timers.values().min().copied();
            let wake = tokio::select! {
                event = self.link.next() => Wake::Link(event),
                request = requests.recv() => match request {
                    Some(request) => Wake::Request(Box::new(request)),
                    None => Wake::Stop,
                },
                () = sleep_until(next_timer) => Wake::Timers,
                () = sleep_until(self.restart_at) => Wake::RestartDriver,
                changed = stop.changed() => match changed {
                    Ok(()) if !*stop.borrow() => continue,
                    _ => Wake::Stop,
                },
            };
            match wake {
                Wake::Link(event) => self.queue(event),
                Wake::Request(request) => self.request(*request).await,
                Wake::Timers => self.fire_timers(),
                Wake::RestartDriver => self.restart_driver().await,
                Wake::Stop => break,
            }
            self.drain().await;
            if self.abandoned {
                self.link.close();
                return;
            }
        }
        self.detach().await;
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Queues an event for the driver; [`Self::drain`] hands it over.
    fn queue(&mut self, event: Event) {
        self.replay_commits |= matches!(event, Event::Opened);
        self.inputs.push_back(event);
    }

    /// Hands queued events to the driver, including those its own effects give rise to, in order.
    async fn drain(&mut self) {
        while let Some(event) = self.inputs.pop_front() {
            let input = Input {
                now_ms: self.now_ms(),
                unix_time: clock::unix_now(),
                event,
            };
            let Some(driver) = self.driver.as_mut() else {
                self.inputs.clear();
                return;
            };
            match driver.handle(&input).await {
                Ok(decoded) => {
                    for rejected in decoded.rejected {
                        tracing::warn!("ignoring an effect this daemon does not know: {rejected}");
                    }
                    for effect in decoded.effects {
                        self.apply(effect).await;
                    }
                }
                Err(e) => {
                    self.driver_failed(&e.to_string()).await;
                    return;
                }
            }
        }
    }

    async fn apply(&mut self, effect: Effect) {
        match effect {
            effect @ (Effect::Tx(_) | Effect::Connect | Effect::Disconnect | Effect::Gatt(_)) => {
                if let Some(event) = self.link.perform(effect).await {
                    self.queue(event);
                }
            }
            Effect::SetTimer { id, after_ms } => {
                let deadline = Instant::now() + Duration::from_millis(after_ms);
                self.timers.insert(id, deadline);
            }
            Effect::CancelTimer(id) => {
                self.timers.remove(&id);
            }
            Effect::Reply { call, result } => self.reply(call, result).await,
            Effect::Device(update) => self.device_update(update).await,
            Effect::Signal(update) => {
                let changed = self.write_state(|s| s.apply_signal(update));
                self.announce(&changed).await;
            }
            Effect::MessageReceived(message) => self.message_received(message).await,
            Effect::MessageState {
                id,
                state,
                error,
                info,
            } => {
                // The host already announced `sending` for the message in flight; the driver's
                // own `sending` only adds facts (attempts, next retry) to record. The facts are
                // committed before the next effect of the batch is performed: a driver reports a
                // fact ahead of the `Tx` that makes it true (write-ahead), and gets it back in
                // `OutgoingMessage::progress` after a restart.
                let repeated = state == MessageState::Sending
                    && self.sending.as_ref().is_some_and(|r| r.id == id);
                self.record_state(&id, state, &error, &info, !repeated)
                    .await
            }
            Effect::Sensor(update) => {
                let changed = self.write_state(|s| s.apply_sensor(update));
                self.announce(&changed).await;
            }
            Effect::Notify {
                characteristic,
                value,
            } => self.notify(&characteristic, &value).await,
            Effect::Location(update) => {
                let changed = self.write_state(|s| s.apply_location(update));
                self.announce(&changed).await;
            }
            Effect::Log { level, message } => match level {
                LogLevel::Trace => tracing::trace!("{message}"),
                LogLevel::Debug => tracing::debug!("{message}"),
                LogLevel::Info => tracing::info!("{message}"),
                LogLevel::Warn => tracing::warn!("{message}"),
                LogLevel::Error => tracing::error!("{message}"),
            },
        }
    }

    fn write_state<R>(&self, f: impl FnOnce(&mut DeviceState) -> R) -> R {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    /// Starts a fresh driver instance after a failure and lets it initialise the device.
    async fn restart_driver(&mut self) {
        self.restart_at = None;
        match self.plugin.open(&self.config).await {
            Ok(driver) => {
                tracing::info!("driver restarted");
                self.restarts.started(std::time::Instant::now());
                self.driver = Some(driver);
                self.queue(Event::Opened);
            }
            Err(e) => self.schedule_restart(|delay| {
                format!("cannot restart the driver, retrying in {delay:?}: {e}")
            }),
        }
    }

    /// Plans the next start of the driver after a failure, backing off while failures repeat.
    fn schedule_restart(&mut self, failure: impl FnOnce(Duration) -> String) {
        let retry = self.restarts.failed(std::time::Instant::now());
        retry.log(failure(retry.delay));
        self.restart_at = Some(Instant::now() + retry.delay);
    }

    async fn driver_failed(&mut self, why: &str) {
        self.schedule_restart(|delay| format!("driver failed, restarting it in {delay:?}: {why}"));
        self.driver = None;
        self.inputs.clear();
        self.timers.clear();
        self.fail_calls(Some((CallErrorKind::Failed, "the driver failed")));
        let changed = self.write_state(|s| s.set_state(states::FAILED, "driver-error"));
        self.announce(&changed).await;
    }

    /// Answers every waiting caller with `error` (or, with `None`, drops them so they see
    /// `DeviceGone`), and puts a message that was being sent back at the head of the outbox.
    fn fail_calls(&mut self, error: Option<(CallErrorKind, &str)>) {
        for (_, pending) in self.calls.drain() {
            if let (PendingCall::External(reply), Some((kind, message))) = (pending, error) {
                let _ = reply.send(Err(CallError::new(kind, message)));
            }
        }
        if let Some(record) = self.sending.take() {
            // Still committed as `sending`; it goes out again once the device is back.
            self.outbox.push_front(record);
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        let mut due: Vec<(Instant, u32)> = self
            .timers
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(id, deadline)| (*deadline, *id))
            .collect();
        due.sort();
        for (_, id) in due {
            self.timers.remove(&id);
            self.queue(Event::Timer(id));
        }
    }

    async fn request(&mut self, request: DeviceRequest) {
        match request {
            DeviceRequest::Call { request, reply } => {
                if self.driver.is_none() {
                    let _ = reply.send(Err(CallError::new(
                        CallErrorKind::NotReady,
                        "the driver is restarting after a failure",
                    )));
                    return;
                }
                let call = self.new_call(PendingCall::External(reply));
                self.queue(Event::Call { call, request });
            }
            DeviceRequest::Enqueue(record) => {
                self.outbox.push_back(record);
                self.update_pending().await;
                self.send_next().await;
            }
            DeviceRequest::Forget(id) => {
                self.outbox.retain(|r| r.id != id);
                self.update_pending().await;
            }
            DeviceRequest::Withdrawn => {
                self.handle = None;
                if self.read_state().state == states::OFFLINE {
                    self.withdrawn = true;
                } else {
                    // It came back while it was being forgotten.
                    self.publish().await;
                }
            }
        }
    }

    fn new_call(&mut self, pending: PendingCall) -> u64 {
        self.next_call += 1;
        self.calls.insert(self.next_call, pending);
        self.next_call
    }

    async fn reply(&mut self, call: u64, result: Result<CallReply, CallError>) {
        match self.calls.remove(&call) {
            Some(PendingCall::External(reply)) => {
                // The caller may have timed out and gone; nothing to do then.
                let _ = reply.send(result);
            }
            Some(PendingCall::Outbox(id)) => self.send_finished(&id, result).await,
            None => tracing::warn!("driver replied to unknown call {call}"),
        }
    }

    async fn device_update(&mut self, update: DeviceUpdate) {
        let old_id = self.read_state().id.clone();
        let changed = self.write_state(|s| s.apply_device(update));
        let (id, state) = {
            let s = self.read_state();
            (s.id.clone(), s.state.clone())
        };
        if changed.device.contains(&"Id") {
            tracing::Span::current().record("id", id.as_str());
            if old_id.is_empty()
                && let Some(handle) = self.handle.take()
            {
                // Published without an Id (it failed first); now it gets the number of its Id.
                self.services
                    .registry
                    .withdraw(&self.services.conn, &handle)
                    .await;
            }
        }
        let publishable = !id.is_empty() || state == states::FAILED;
        let back = !self.withdrawn || state != states::OFFLINE;
        if self.handle.is_none() && publishable && back {
            self.publish().await;
        } else {
            self.announce(&changed).await;
        }
        if !id.is_empty() && !self.outbox_loaded {
            self.load_outbox(&id).await;
        }
        if !id.is_empty() && std::mem::take(&mut self.replay_commits) {
            self.replay_commits(&id).await;
        }
        if state == states::READY {
            self.send_next().await;
        }
    }

    /// Puts the device on the bus, or back into the object it had before (same `Id`).
    async fn publish(&mut self) {
        let registry = Arc::clone(&self.services.registry);
        let publication = registry
            .publish(&self.services.conn, &self.state, &self.requests)
            .await;
        self.withdrawn = false;
        match publication {
            Ok(Publication::New(handle)) => {
                let state = self.read_state().clone();
                tracing::info!(
                    path = handle.path.as_str(),
                    "{} {} {} is {}",
                    state.kind,
                    state.manufacturer,
                    state.model,
                    state.state
                );
                self.handle = Some(handle);
            }
            Ok(Publication::Back(known)) => self.adopt(known).await,
            Ok(Publication::Taken(known)) => {
                tracing::warn!(
                    path = known.path.as_str(),
                    "this device is already served through {}; leaving this port alone",
                    known.state().port
                );
                self.abandoned = true;
            }
            Err(e) => tracing::error!("cannot publish the device: {e}"),
        }
    }

    /// Serves a device in the object it had before under its `Id` (replug): the object's
    /// properties become this task's.
    async fn adopt(&mut self, known: Arc<DeviceHandle>) {
        let now = self.read_state().clone();
        self.state = known.shared_state();
        tracing::info!(path = known.path.as_str(), "device is back");
        self.handle = Some(known);
        let changed = self.write_state(|s| s.replace_with(now));
        self.announce(&changed).await;
    }

    async fn announce(&self, changed: &Changed) {
        let Some(handle) = &self.handle else {
            return;
        };
        if changed.is_empty() {
            return;
        }
        objects::emit_changed(&self.services.conn, handle, changed).await;
        if changed.device.contains(&"State") && self.read_state().state == states::OFFLINE {
            self.services
                .registry
                .went_offline(&self.services.conn, handle);
        }
    }

    /// Reads the current properties. The guard must not be held across an await.
    fn read_state(&self) -> RwLockReadGuard<'_, DeviceState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn emitter(&self) -> Option<SignalEmitter<'static>> {
        let handle = self.handle.as_ref()?;
        SignalEmitter::new(&self.services.conn, handle.path.clone().into_inner()).ok()
    }

    /// Tells the driver again that the device's most recent incoming messages are committed
    /// (`Event::MessageCommitted`): a driver killed while it deleted one from the device (a
    /// multipart SMS whose other parts stayed on the SIM) finishes the deletion.
    async fn replay_commits(&mut self, device_id: &str) {
        let id = device_id.to_owned();
        match self
            .services
            .store
            .run(move |store| store.recent_incoming_keys(&id, REPLAYED_COMMITS))
            .await
        {
            Ok(keys) => self
                .inputs
                .extend(keys.into_iter().map(|key| Event::MessageCommitted { key })),
            Err(e) => tracing::warn!("cannot read the committed messages: {e}"),
        }
    }

    async fn load_outbox(&mut self, device_id: &str) {
        let id = device_id.to_owned();
        match self
            .services
            .store
            .run(move |store| store.pending_outgoing(&id))
            .await
        {
            Ok(records) => {
                self.outbox_loaded = true;
                if !records.is_empty() {
                    tracing::info!("{} queued message(s) from the store", records.len());
                }
                let known: Vec<String> = self.outbox.iter().map(|r| r.id.clone()).collect();
                for record in records {
                    let in_flight = self.sending.as_ref().is_some_and(|r| r.id == record.id);
                    if !known.contains(&record.id) && !in_flight {
                        self.outbox.push_back(record);
                    }
                }
                self.update_pending().await;
            }
            Err(e) => tracing::error!("cannot read queued messages: {e}"),
        }
    }

    async fn update_pending(&mut self) {
        let pending = self.outbox.len() + usize::from(self.sending.is_some());
        let pending = u32::try_from(pending).unwrap_or(u32::MAX);
        let changed = self.write_state(|s| s.set_pending(pending));
        self.announce(&changed).await;
    }

    /// Hands the next queued message to the driver when the device is ready and idle.
    async fn send_next(&mut self) {
        if self.sending.is_some() || self.driver.is_none() {
            return;
        }
        if self.read_state().state != states::READY {
            return;
        }
        let Some(record) = self.outbox.pop_front() else {
            return;
        };
        let encoding = if record.encoding == "binary" {
            Encoding::Binary
        } else {
            Encoding::Text
        };
        let message = OutgoingMessage {
            id: record.id.clone(),
            destination: record.peer.clone(),
            payload: record.payload.clone(),
            encoding,
            progress: self.recorded_progress(&record).await,
        };
        self.sending = Some(record.clone());
        self.record_state(
            &record.id,
            MessageState::Sending,
            "",
            &Default::default(),
            true,
        )
        .await;
        let call = self.new_call(PendingCall::Outbox(record.id));
        self.queue(Event::Call {
            call,
            request: Request::Send(message),
        });
    }

    /// What the driver recorded about a message so far, read afresh from the store: the copy in
    /// the outbox is as old as the last load, and a driver resuming the message after a restart
    /// needs the facts it committed last (see `OutgoingMessage::progress`).
    async fn recorded_progress(&self, record: &MessageRecord) -> BTreeMap<String, String> {
        let id = record.id.clone();
        match self.services.store.run(move |store| store.get(&id)).await {
            Ok(Some(stored)) => stored.info,
            Ok(None) => record.info.clone(),
            Err(e) => {
                tracing::error!(
                    "cannot read what was recorded about message {}: {e}",
                    record.id
                );
                record.info.clone()
            }
        }
    }

    async fn send_finished(&mut self, id: &str, result: Result<CallReply, CallError>) {
        let record = self.sending.take();
        match result {
            Ok(reply) => {
                let info = match reply {
                    CallReply::Sent(info) => info,
                    _ => Default::default(),
                };
                self.record_state(id, MessageState::Sent, "", &info, true)
                    .await;
            }
            Err(e) if matches!(e.kind, CallErrorKind::NotReady | CallErrorKind::Timeout) => {
                tracing::info!("message {id} stays queued: {}", e.message);
                self.record_state(
                    id,
                    MessageState::Queued,
                    &e.message,
                    &Default::default(),
                    true,
                )
                .await;
                if let Some(record) = record {
                    self.outbox.push_front(record);
                }
            }
            Err(e) => {
                tracing::warn!("message {id} failed: {}", e.message);
                self.record_state(
                    id,
                    MessageState::Failed,
                    &e.message,
                    &Default::default(),
                    true,
                )
                .await;
            }
        }
        self.update_pending().await;
        self.send_next().await;
    }

    /// Commits an outgoing message's new state, then signals it.
    async fn record_state(
        &mut self,
        id: &str,
        state: MessageState,
        error: &str,
        info: &BTreeMap<String, String>,
        announce: bool,
    ) {
        let (owned_id, owned_error, owned_info) = (id.to_owned(), error.to_owned(), info.clone());
        let stored = self
            .services
            .store
            .run(move |store| store.set_state(&owned_id, state.as_str(), &owned_error, &owned_info))
            .await;
        if let Err(e) = stored {
            tracing::error!("cannot record message {id} as {}: {e}", state.as_str());
        }
        if announce
            && let Some(emitter) = self.emitter()
            && let Err(e) =
                MessagingInterface::state_changed(&emitter, id, state.as_str(), error).await
        {
            tracing::warn!("cannot emit StateChanged: {e}");
        }
    }

    /// Commits an incoming message, signals it, then lets the driver delete it from the device.
    async fn message_received(&mut self, message: IncomingMessage) {
        let device_id = self.read_state().id.clone();
        if device_id.is_empty() {
            tracing::warn!(
                "driver reported a message before the device identity; not acknowledged"
            );
            return;
        }
        let key = message.key.clone();
        let record = {
            let message = message.clone();
            self.services
                .store
                .run(move |store| {
                    store.insert_incoming(
                        &device_id,
                        &message.key,
                        &message.peer,
                        &message.payload,
                        message.text.as_deref(),
                        message.timestamp,
                        &message.info,
                    )
                })
                .await
        };
        match record {
            Ok(Some(record)) => {
                let peer = mask_number(&record.peer);
                tracing::info!("message {} received from {peer}", record.id);
                self.signal_received(&record.id, &message).await;
            }
            Ok(None) => tracing::debug!("message {key} was stored before; acknowledging again"),
            Err(e) => {
                tracing::error!(
                    "cannot store incoming message {key}; leaving it on the device: {e}"
                );
                return;
            }
        }
        self.inputs.push_back(Event::MessageCommitted { key });
    }

    async fn signal_received(&self, id: &str, message: &IncomingMessage) {
        let Some(emitter) = self.emitter() else {
            return;
        };
        let mut info: HashMap<&str, Variant<'_>> = HashMap::new();
        if let Some(text) = &message.text {
            info.insert("text", Variant::from(text.as_str()));
        }
        info.insert("timestamp", Variant::from(message.timestamp));
        for (key, value) in &message.info {
            info.entry(key.as_str())
                .or_insert_with(|| Variant::from(value.as_str()));
        }
        if let Err(e) =
            MessagingInterface::received(&emitter, id, &message.peer, &message.payload, info).await
        {
            tracing::warn!("cannot emit Received: {e}");
        }
    }

    async fn notify(&self, characteristic: &str, value: &[u8]) {
        if let Some(emitter) = self.emitter()
            && let Err(e) = GattInterface::notification(&emitter, characteristic, value).await
        {
            tracing::warn!("cannot emit Notification: {e}");
        }
    }

    /// The device was unplugged or the daemon stops: the object stays, `offline`.
    async fn detach(&mut self) {
        self.link.close();
        self.fail_calls(None);
        let changed = self.write_state(|s| s.set_state(states::OFFLINE, "unplugged"));
        self.announce(&changed).await;
        tracing::info!("device detached");
    }
}
