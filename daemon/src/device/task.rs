//! The task that runs one device: a thin tokio runner around the host core
//! ([`m2mhal_host_core::DeviceHost`]).
//!
//! The core decides everything (driver timers and calls, the outbox, the effects, restarts); this
//! task feeds it link events, requests and the time, and carries out its actions with the link,
//! the driver instance, the store and the bus. Everything about one device happens here, in
//! order; D-Bus handlers only send requests in and wait for answers, so a slow or dead device
//! never blocks anybody else. A call's deadline is kept by the core, which answers `Timeout` when
//! the driver has not answered by then.

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use m2mhal_host_core::{
    Action, Answer, Deadline, DeviceHost, Now, Publication as Published, Update,
};
use m2mhal_plugin_api::{CallError, CallReply, Input, LogLevel, OpenConfig};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::Instrument;

use super::handle::{DeviceHandle, DeviceRequest};
use super::observer::{DeviceEvent, DeviceObserver, Publication};
use super::state::{Changed, DeviceState, Property};
use super::{outgoing, persist};
use crate::clock;
use crate::link::Link;
use crate::plugin_host::{DriverInstance, Plugin};
use crate::store::StoreHandle;

/// Depth of a device's request queue.
const REQUEST_QUEUE: usize = 64;

/// The services every device task uses.
#[derive(Debug, Clone)]
pub struct Services {
    /// The durable message store.
    pub store: StoreHandle,
    /// Who shows the devices (the D-Bus side).
    pub observer: Arc<dyn DeviceObserver>,
}

/// Who waits for a driver call's answer.
type Caller = oneshot::Sender<Result<CallReply, CallError>>;

/// Why the main loop woke up.
enum Wake {
    Link(m2mhal_plugin_api::Event),
    Request(Box<DeviceRequest>),
    Due,
    Stop,
}

/// One device's task. Created by [`run`].
struct DeviceTask {
    services: Services,
    plugin: Arc<Plugin>,
    config: OpenConfig,
    driver: Option<DriverInstance>,
    link: Box<dyn Link>,
    state: Arc<RwLock<DeviceState>>,
    /// The task's end of the request channel, handed to the object the device is published in.
    requests: mpsc::Sender<DeviceRequest>,
    /// The device's object, once published.
    handle: Option<Arc<DeviceHandle>>,
    core: DeviceHost<Caller>,
    epoch: Instant,
}

/// Runs a claimed device until `stop` turns true (unplug or shutdown). `config` is what `driver`
/// was opened with (to restart it after a failure); its `port` names the device node or address.
/// Transports start a device through [`super::start`].
pub(super) async fn run(
    services: Services,
    plugin: Arc<Plugin>,
    driver: DriverInstance,
    config: OpenConfig,
    link: Box<dyn Link>,
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
    let epoch = Instant::now();
    let mut task = DeviceTask {
        services,
        plugin,
        config,
        driver: Some(driver),
        link,
        state,
        requests: requests_tx,
        handle: None,
        core: DeviceHost::new(Now {
            ms: 0,
            unix_time: clock::unix_now(),
        }),
        epoch,
    };
    task.core.deliver(m2mhal_plugin_api::Event::Opened);
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
        self.drain().await;
        loop {
            let deadline = self
                .core
                .deadline()
                .map(|ms| self.epoch + Duration::from_millis(ms));
            let wake = tokio::select! {
                event = self.link.next() => Wake::Link(event),
                request = requests.recv() => match request {
                    Some(request) => Wake::Request(Box::new(request)),
                    None => Wake::Stop,
                },
                () = sleep_until(deadline) => Wake::Due,
                changed = stop.changed() => match changed {
                    Ok(()) if !*stop.borrow() => continue,
                    _ => Wake::Stop,
                },
            };
            match wake {
                Wake::Link(event) => self.core.deliver(event),
                Wake::Request(request) => self.request(*request),
                Wake::Due => self.core.wake(self.now()),
                Wake::Stop => break,
            }
            self.drain().await;
            if self.core.is_abandoned() {
                self.link.close();
                return;
            }
        }
        self.detach().await;
    }

    fn now(&self) -> Now {
        Now {
            ms: self.ms_at(Instant::now()),
            unix_time: clock::unix_now(),
        }
    }

    /// `instant` on the core's millisecond clock (0 at the task's start).
    fn ms_at(&self, instant: Instant) -> u64 {
        let since_start = instant.saturating_duration_since(self.epoch);
        u64::try_from(since_start.as_millis()).unwrap_or(u64::MAX)
    }

    fn request(&mut self, request: DeviceRequest) {
        match request {
            DeviceRequest::Call {
                request,
                reply,
                answer_by,
                timeout,
            } => {
                let deadline = Deadline {
                    at_ms: self.ms_at(answer_by),
                    timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                };
                self.core.call_by(request, reply, deadline);
            }
            DeviceRequest::Enqueue(record) => self.core.enqueue(outgoing::outgoing(record)),
            DeviceRequest::Forget(id) => self.core.forget(&id),
            DeviceRequest::Withdraw { id, reply } => {
                let _ = reply.send(self.core.withdraw(&id));
            }
            DeviceRequest::Withdrawn => {
                self.handle = None;
                self.core.withdrawn();
            }
        }
    }

    /// Carries out the core's actions until it is idle.
    async fn drain(&mut self) {
        while let Some(action) = self.core.poll(self.now()) {
            self.carry_out(action).await;
        }
    }

    async fn carry_out(&mut self, action: Action<Caller>) {
        let answer = match action {
            Action::Drive(input) => Answer::Driven(self.drive(&input).await),
            Action::Link(effect) => {
                if let Some(event) = self.link.perform(effect).await {
                    self.core.deliver(event);
                }
                return;
            }
            Action::Update(update) => return self.update(update).await,
            Action::Log { level, message } => return log(level, &message),
            Action::Reply { caller, result, .. } => {
                // The caller may have timed out and gone; nothing to do then.
                let _ = caller.send(result);
                return;
            }
            Action::StrayReply { call } => {
                return tracing::warn!("driver replied to unknown call {call}");
            }
            Action::Withdraw => {
                if let Some(handle) = self.handle.take() {
                    self.services.observer.withdraw(&handle).await;
                }
                return;
            }
            Action::Publish => Answer::Published(self.publish().await),
            Action::LoadOutbox { device_id } => {
                Answer::OutboxLoaded(outgoing::load_outbox(&self.services.store, device_id).await)
            }
            Action::ReadRecentCommits { device_id, limit } => Answer::RecentCommits(
                persist::recent_commits(&self.services.store, device_id, limit).await,
            ),
            Action::StoreIncoming { device_id, message } => Answer::IncomingStored(
                persist::store_incoming(&self.services.store, device_id, message).await,
            ),
            Action::EmitReceived { id, message } => {
                let received = DeviceEvent::Received {
                    id: &id,
                    message: &message,
                };
                return self.event(received).await;
            }
            Action::ReadProgress { id } => {
                Answer::Progress(outgoing::recorded_progress(&self.services.store, id).await)
            }
            Action::CommitState(change) => {
                return outgoing::commit_state(&self.services.store, change).await;
            }
            Action::EmitState { id, state, error } => {
                let state = DeviceEvent::MessageState {
                    id: &id,
                    state,
                    error: &error,
                };
                return self.event(state).await;
            }
            Action::EmitNotification {
                characteristic,
                value,
            } => {
                let notification = DeviceEvent::Notification {
                    characteristic: &characteristic,
                    value: &value,
                };
                return self.event(notification).await;
            }
            Action::RestartDriver => Answer::DriverRestarted(self.restart_driver().await),
        };
        self.core.answer(answer);
    }

    /// Hands `input` to the driver; its effects, or why it failed (the instance is dropped then).
    async fn drive(&mut self, input: &Input) -> Result<Vec<m2mhal_plugin_api::Effect>, String> {
        let Some(driver) = self.driver.as_mut() else {
            return Err("no driver instance".into());
        };
        match driver.handle(input).await {
            Ok(decoded) => {
                for rejected in decoded.rejected {
                    tracing::warn!("ignoring an effect this daemon does not know: {rejected}");
                }
                Ok(decoded.effects)
            }
            Err(e) => {
                self.driver = None;
                Err(e.to_string())
            }
        }
    }

    /// Opens a fresh driver instance after a failure.
    async fn restart_driver(&mut self) -> Result<(), String> {
        let driver = self
            .plugin
            .open(&self.config)
            .await
            .map_err(|e| e.to_string())?;
        self.driver = Some(driver);
        Ok(())
    }

    fn write_state<R>(&self, f: impl FnOnce(&mut DeviceState) -> R) -> R {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    /// Applies a change of the device's properties and announces it.
    async fn update(&mut self, update: Update) {
        let changed = self.write_state(|s| match update {
            Update::Device(update) => s.apply_device(update),
            Update::Signal(update) => s.apply_signal(update),
            Update::Sensor(update) => s.apply_sensor(update),
            Update::Location(update) => s.apply_location(update),
            Update::State { state, reason } => s.set_state(state, reason),
            Update::Pending(pending) => s.set_pending(pending),
        });
        if changed.contains(Property::Id) {
            tracing::Span::current().record("id", self.read_state().id.as_str());
        }
        if changed.contains(Property::State) {
            let state = self.read_state();
            tracing::debug!(reason = state.state_reason, "state {}", state.state);
        }
        self.announce(&changed).await;
    }

    /// Puts the device on the bus, or back into the object it had before (same `Id`).
    async fn publish(&mut self) -> Published {
        let observer = Arc::clone(&self.services.observer);
        match observer.publish(&self.state, &self.requests).await {
            Some(Publication::New(handle)) => {
                let state = self.read_state().clone();
                tracing::info!(
                    path = handle.path,
                    "{} {} {} is {}",
                    state.kind,
                    state.manufacturer,
                    state.model,
                    state.state
                );
                self.handle = Some(handle);
                Published::New
            }
            Some(Publication::Back(known)) => {
                self.adopt(known).await;
                Published::Back
            }
            Some(Publication::Taken(known)) => {
                tracing::warn!(
                    path = known.path,
                    "this device is already served through {}; leaving this port alone",
                    known.state().port
                );
                Published::Taken
            }
            None => Published::Failed,
        }
    }

    /// Serves a device in the object it had before under its `Id` (replug): the object's
    /// properties become this task's.
    async fn adopt(&mut self, known: Arc<DeviceHandle>) {
        let now = self.read_state().clone();
        self.state = known.shared_state();
        tracing::info!(path = known.path, "device is back");
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
        self.services.observer.changed(handle, changed).await;
    }

    /// Reports an event of the published device.
    async fn event(&self, event: DeviceEvent<'_>) {
        if let Some(handle) = &self.handle {
            self.services.observer.event(handle, event).await;
        }
    }

    /// Reads the current properties. The guard must not be held across an await.
    fn read_state(&self) -> RwLockReadGuard<'_, DeviceState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The device was unplugged or the daemon stops: the object stays, `offline`.
    async fn detach(&mut self) {
        self.link.close();
        self.core.detach();
        self.drain().await;
        tracing::info!("device detached");
    }
}

/// Writes a driver's log line in the device's span.
fn log(level: LogLevel, message: &str) {
    match level {
        LogLevel::Trace => tracing::trace!("{message}"),
        LogLevel::Debug => tracing::debug!("{message}"),
        LogLevel::Info => tracing::info!("{message}"),
        LogLevel::Warn => tracing::warn!("{message}"),
        LogLevel::Error => tracing::error!("{message}"),
    }
}
