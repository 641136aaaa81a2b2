//! One modem served through ModemManager: an m2mhal device (`Driver` `modemmanager`) whose
//! properties come from MM's, whose outbox hands each message to MM, and which takes in every
//! SMS MM receives.
//!
//! The task publishes and updates the device exactly like a device task does (through the
//! [`DeviceObserver`](crate::device::observer::DeviceObserver), the same registry and numbering by `Id`) and answers the same
//! [`DeviceRequest`]s; it reuses the host core's [`Outbox`] and the device's store I/O
//! ([`persist`]). Every call to MM has a timeout, and the slow ones (sending, enabling, AT
//! commands) run beside the task, so a slow ModemManager holds up no caller and no other device.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use m2mhal_host_core::outbox::Outbox;
use m2mhal_host_core::{IncomingOutcome, states};
use m2mhal_plugin_api::{CallError, CallErrorKind, CallReply, DeviceKind, Request, SignalUpdate};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;
use zbus::{Connection, OwnedObjectPath};

use super::call::{
    ANSWER_TIMEOUT, MmError, SLOW_TIMEOUT, command, get_all, properties_changed, reset, within,
};
use super::handover::{Handover, SMS_INTERFACE, commit_and_signal};
use super::location::{self, LOCATION_CAPABILITY, LOCATION_INTERFACE, LocationView};
use super::mapping::{self, IncomingSms};
use super::properties::{ModemView, Properties, data_state, signal_update, value};
use super::proxies::{MODEM_INTERFACE, MessagingProxy, ModemProxy, SignalProxy};
use super::sms;
use crate::clock;
use crate::device::handle::{DeviceHandle, DeviceRequest};
use crate::device::observer::{DeviceEvent, Publication};
use crate::device::state::{Changed, DeviceState};
use crate::device::task::Services;
use crate::device::{outgoing, persist};

/// `StateReason` of a served modem while ModemManager is away.
pub const MODEMMANAGER_GONE: &str = "modemmanager-gone";
/// `StateReason` of a served modem whose ModemManager object cannot be followed.
const MODEM_UNREADABLE: &str = "modemmanager-unreadable";

/// `Device.Driver` of a modem served through ModemManager.
pub const DRIVER: &str = "modemmanager";
/// `org.freedesktop.ModemManager1.Modem.Modem3gpp`.
const MODEM_3GPP_INTERFACE: &str = "org.freedesktop.ModemManager1.Modem.Modem3gpp";
/// `org.freedesktop.ModemManager1.Modem.Signal`.
const SIGNAL_INTERFACE: &str = "org.freedesktop.ModemManager1.Modem.Signal";
/// `org.freedesktop.ModemManager1.Modem.Messaging`: missing on a modem whose SMS support
/// ModemManager did not detect.
const MESSAGING_INTERFACE: &str = "org.freedesktop.ModemManager1.Modem.Messaging";
/// Where ModemManager keeps its SMS objects.
const SMS_PATHS: &str = "/org/freedesktop/ModemManager1/SMS";
/// `org.freedesktop.ModemManager1.Bearer`.
const BEARER_INTERFACE: &str = "org.freedesktop.ModemManager1.Bearer";
/// Where ModemManager keeps its bearers.
const BEARER_PATHS: &str = "/org/freedesktop/ModemManager1/Bearer";
/// `MM_MODEM_STATE_ENABLED`: from here on the modem has a Signal interface to set up.
const MM_STATE_ENABLED: i32 = 6;

/// Depth of the device's request queue.
const REQUEST_QUEUE: usize = 64;
/// How often MM refreshes the extended signal figures (`Signal.Setup`), in seconds.
const SIGNAL_RATE: u32 = 30;
/// How long a message ModemManager could not take (not ready, no answer) waits before it is
/// handed over again.
const RETRY_DELAY: Duration = Duration::from_secs(30);

/// What the `[modemmanager]` table says about modems served through ModemManager.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Enable a modem MM reports disabled.
    pub enable: bool,
    /// Delete an incoming SMS from MM once it is in the store.
    pub delete_received: bool,
    /// Switch the modem's GNSS on once it is enabled.
    pub gnss: bool,
}

/// What ModemManager says of a modem: its `Modem`, `Modem3gpp`, `Signal` and `Location`
/// properties (the latter three empty when it lacks them), whether it has a Messaging
/// interface, and its bearers'.
struct Reading {
    modem: Properties,
    gpp: Properties,
    signal: Properties,
    messaging: bool,
    location: Properties,
    bearers: Vec<Properties>,
}

/// The message being handed to ModemManager.
struct InFlight {
    id: String,
    task: JoinHandle<Result<CallReply, CallError>>,
}

/// One modem's task. Created by [`run`].
struct ServedModem {
    conn: Connection,
    /// MM's object path of the modem.
    path: String,
    settings: Settings,
    services: Services,
    state: Arc<RwLock<DeviceState>>,
    requests: mpsc::Sender<DeviceRequest>,
    /// The device's object, once published.
    handle: Option<Arc<DeviceHandle>>,
    outbox: Outbox,
    /// What MM said of the modem last.
    view: Option<ModemView>,
    enable_asked: bool,
    signal_set_up: bool,
    incoming_listed: bool,
    /// What MM's Location interface said last; `None` for a modem without one.
    location: Option<LocationView>,
    /// Whether MM was asked for the location sources since the modem was enabled.
    location_set_up: bool,
    /// Whether the GNSS is to be on (`[modemmanager] gnss`, then `SetEnabled`).
    gnss: bool,
    /// Whether MM gives the modem a Messaging interface (assumed until MM says).
    messaging: bool,
    /// Received SMS objects whose other parts MM still waits for.
    waiting: BTreeSet<String>,
    in_flight: Option<InFlight>,
    /// When a message ModemManager could not take is handed over again.
    retry_at: Option<Instant>,
    /// A reading of the modem beside the task, for a change MM announced: requests are answered
    /// meanwhile, however long MM takes.
    reading: Option<JoinHandle<Result<Reading, MmError>>>,
    /// Another change came while reading: read again once that reading is applied.
    read_again: bool,
    /// `Refresh` callers the reading under way answers.
    refresh_callers: Vec<Reply>,
    /// `Refresh` callers that came while a reading was under way: the next one answers them.
    refresh_next: Vec<Reply>,
}

/// Where a call's answer goes.
type Reply = oneshot::Sender<Result<CallReply, CallError>>;

/// What the supervisor ([`super::serve`]) tells a served modem's task.
#[derive(Debug)]
pub enum Control {
    /// ModemManager exports the modem at this object path (again, after a restart).
    Follow(String),
    /// ModemManager added or removed interfaces of the modem: read it anew.
    Reread,
    /// ModemManager left the bus: the device is `offline` until it is back, and still takes
    /// messages to send then.
    Away,
    /// ModemManager no longer exports the modem: the device goes `offline` with this reason and
    /// the task ends.
    Stop(&'static str),
}

/// Serves the modem ModemManager exports at object `path` as `control` directs, until it says
/// [`Control::Stop`] (or closes).
pub async fn run(
    conn: Connection,
    path: String,
    settings: Settings,
    services: Services,
    mut control: mpsc::Receiver<Control>,
) {
    let (requests_tx, mut requests) = mpsc::channel(REQUEST_QUEUE);
    let state = DeviceState::new(DRIVER, DeviceKind::CellularModem.as_str(), "");
    let mut modem = ServedModem {
        conn,
        path: String::new(),
        settings,
        services,
        state: Arc::new(RwLock::new(state)),
        requests: requests_tx,
        handle: None,
        outbox: Outbox::default(),
        view: None,
        enable_asked: false,
        signal_set_up: false,
        incoming_listed: false,
        location: None,
        location_set_up: false,
        gnss: settings.gnss,
        messaging: true,
        waiting: BTreeSet::new(),
        in_flight: None,
        retry_at: None,
        reading: None,
        read_again: false,
        refresh_callers: Vec::new(),
        refresh_next: Vec::new(),
    };
    let mut next = Control::Follow(path);
    loop {
        next = match next {
            Control::Follow(path) => {
                modem.path = path;
                match modem.follow(&mut requests, &mut control).await {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::warn!("cannot follow the modem: {e}");
                        Control::Stop(MODEM_UNREADABLE)
                    }
                }
            }
            Control::Away => modem.away(&mut requests, &mut control).await,
            // Read anew by following the modem's object again.
            Control::Reread => Control::Follow(modem.path.clone()),
            Control::Stop(reason) => return modem.stop(reason).await,
        };
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Answers `reply` by `answer_by` (with `Timeout` then) with what `answer`, a call to
/// ModemManager about `what`, gives: beside the task, which goes on serving meanwhile.
fn answer_beside(
    reply: Reply,
    answer_by: Instant,
    what: &'static str,
    answer: impl Future<Output = Result<CallReply, CallError>> + Send + 'static,
) {
    let answered = async move {
        let answer = tokio::time::timeout_at(answer_by, answer)
            .await
            .unwrap_or_else(|_| {
                Err(CallError::new(
                    CallErrorKind::Timeout,
                    format!("ModemManager did not answer {what} in time"),
                ))
            });
        let _ = reply.send(answer);
    };
    tokio::spawn(answered.instrument(tracing::Span::current()));
}

/// An interface's properties, empty when the modem lacks it (MM answers with an error); only
/// a ModemManager that does not answer fails.
fn if_present(properties: Result<Properties, MmError>) -> Result<Properties, MmError> {
    match properties {
        Err(MmError::Timeout(what)) => Err(MmError::Timeout(what)),
        Err(MmError::Bus(_)) => Ok(Properties::default()),
        Ok(properties) => Ok(properties),
    }
}

/// Reads MM's properties of the modem at `path`: at most [`ANSWER_TIMEOUT`] in all, however
/// many calls that takes, so that a ModemManager that stopped answering holds the reader up no
/// longer than one call would.
async fn read(conn: &Connection, path: &str) -> Result<Reading, MmError> {
    let read = async {
        let modem = get_all(conn, path, MODEM_INTERFACE).await?;
        // A modem without 3GPP or extended signal figures lacks these interfaces.
        let gpp = if_present(get_all(conn, path, MODEM_3GPP_INTERFACE).await)?;
        let signal = if_present(get_all(conn, path, SIGNAL_INTERFACE).await)?;
        let messaging = if_present(get_all(conn, path, MESSAGING_INTERFACE).await)?;
        let location = if_present(get_all(conn, path, LOCATION_INTERFACE).await)?;
        let bearers = bearers(conn, &modem).await;
        Ok(Reading {
            modem,
            gpp,
            signal,
            messaging: !messaging.is_empty(),
            location,
            bearers,
        })
    };
    tokio::time::timeout(ANSWER_TIMEOUT, read)
        .await
        .unwrap_or(Err(MmError::Timeout("the modem's properties")))
}

/// The `Bearer` properties of the modem's bearers (those MM answers for).
async fn bearers(conn: &Connection, modem: &Properties) -> Vec<Properties> {
    let paths = value::<Vec<OwnedObjectPath>>(modem, "Bearers").unwrap_or_default();
    let mut bearers = Vec::new();
    for path in paths {
        match get_all(conn, path.as_str(), BEARER_INTERFACE).await {
            Ok(bearer) => bearers.push(bearer),
            Err(e) => tracing::debug!("cannot read a bearer: {e}"),
        }
    }
    bearers
}

/// Waits for the reading beside the task; forever when there is none.
async fn reading_done(
    reading: &mut Option<JoinHandle<Result<Reading, MmError>>>,
) -> Result<Reading, MmError> {
    match reading {
        Some(reading) => reading
            .await
            .unwrap_or(Err(MmError::Timeout("the modem's properties"))),
        None => std::future::pending().await,
    }
}

/// Waits for the message in flight to be handed over; forever when there is none.
async fn handed_over(in_flight: &mut Option<InFlight>) -> Result<CallReply, CallError> {
    match in_flight {
        Some(in_flight) => (&mut in_flight.task)
            .await
            .unwrap_or_else(|e| Err(CallError::new(CallErrorKind::Failed, e.to_string()))),
        None => std::future::pending().await,
    }
}

impl ServedModem {
    /// Serves the modem at MM's current path until `control` says otherwise; returns what it
    /// said.
    async fn follow(
        &mut self,
        requests: &mut mpsc::Receiver<DeviceRequest>,
        control: &mut mpsc::Receiver<Control>,
    ) -> Result<Control, MmError> {
        self.forget_reading();
        self.view = None;
        self.enable_asked = false;
        self.signal_set_up = false;
        self.incoming_listed = false;
        self.location = None;
        self.location_set_up = false;
        self.messaging = true;
        self.waiting.clear();
        self.retry_at = None;
        let mut modem_changes = properties_changed(&self.conn, Some(&self.path), None).await?;
        let mut sms_changes =
            properties_changed(&self.conn, None, Some((SMS_PATHS, SMS_INTERFACE))).await?;
        let mut bearer_changes =
            properties_changed(&self.conn, None, Some((BEARER_PATHS, BEARER_INTERFACE))).await?;
        let messaging = self.messaging().await?;
        let mut added = messaging.receive_added().await?;
        self.refresh_on_change().await;
        loop {
            self.send_next().await;
            tokio::select! {
                next = control.recv() => match next {
                    Some(Control::Reread) => self.read_beside(),
                    next => return Ok(next.unwrap_or(Control::Stop(MODEMMANAGER_GONE))),
                },
                Some(request) = requests.recv() => self.request(request).await,
                Some(_) = modem_changes.next() => self.read_beside(),
                Some(_) = bearer_changes.next() => self.read_beside(),
                reading = reading_done(&mut self.reading) => self.read_done(reading).await,
                Some(signal) = added.next() => {
                    if let Ok(args) = signal.args() {
                        self.take_incoming(args.path().as_str()).await;
                    }
                }
                Some(Ok(message)) = sms_changes.next() => {
                    let path = message.header().path().map(|path| path.to_string());
                    if let Some(path) = path.filter(|path| self.waiting.contains(path)) {
                        self.take_incoming(&path).await;
                    }
                }
                result = handed_over(&mut self.in_flight) => self.handed_over(result).await,
                () = sleep_until(self.retry_at) => self.retry_at = None,
            }
        }
    }

    /// ModemManager is away: the device is `offline` (`modemmanager-gone`), a message in flight
    /// goes back to the queue, and requests are answered (messages are taken for later) until
    /// `control` says what next.
    async fn away(
        &mut self,
        requests: &mut mpsc::Receiver<DeviceRequest>,
        control: &mut mpsc::Receiver<Control>,
    ) -> Control {
        self.go_offline(MODEMMANAGER_GONE).await;
        self.view = None;
        // Messages are taken meanwhile, whatever MM said of its interfaces as it left (it
        // removes them on its way out).
        self.messaging = true;
        loop {
            tokio::select! {
                next = control.recv() => match next {
                    // Nothing to read while ModemManager is away.
                    Some(Control::Reread) => {}
                    next => return next.unwrap_or(Control::Stop(MODEMMANAGER_GONE)),
                },
                Some(request) = requests.recv() => self.request(request).await,
            }
        }
    }

    async fn messaging(&self) -> zbus::Result<MessagingProxy<'static>> {
        MessagingProxy::builder(&self.conn)
            .path(self.path.clone())
            .build()
            .await
    }

    /// [`Self::refresh`] on a change MM announced: a failure only waits for the next one.
    async fn refresh_on_change(&mut self) {
        if let Err(e) = self.refresh().await {
            tracing::debug!("cannot read the modem: {e}");
        }
    }

    /// Reads MM's properties of the modem beside the task after a change MM announced (one
    /// reading at a time; a change meanwhile reads again after it), so that requests that need
    /// no answer from MM (a message's check, properties) never wait behind a slow MM.
    fn read_beside(&mut self) {
        if self.reading.is_some() {
            self.read_again = true;
            return;
        }
        let (conn, path) = (self.conn.clone(), self.path.clone());
        let reading = async move { read(&conn, &path).await };
        self.reading = Some(tokio::spawn(reading.instrument(tracing::Span::current())));
    }

    /// Applies a reading made beside the task (a failure only waits for the next change), then
    /// reads again if MM announced a change meanwhile.
    async fn read_done(&mut self, reading: Result<Reading, MmError>) {
        self.reading = None;
        let applied = self.apply(reading).await;
        if let Err(e) = &applied {
            tracing::debug!("cannot read the modem: {e}");
        }
        for caller in std::mem::take(&mut self.refresh_callers) {
            let answer = applied.as_ref().map(|()| CallReply::Done);
            let _ = caller.send(answer.map_err(MmError::call_error));
        }
        if std::mem::take(&mut self.read_again) {
            self.refresh_callers = std::mem::take(&mut self.refresh_next);
            self.read_beside();
        }
    }

    /// `Refresh`: answered by a reading that starts after it (beside the task, like a change's).
    fn refresh_beside(&mut self, caller: Reply) {
        if self.reading.is_none() {
            self.refresh_callers.push(caller);
        } else {
            self.refresh_next.push(caller);
        }
        self.read_beside();
    }

    /// Forgets a reading under way (of the object the task followed until now); its callers
    /// hear that the modem is read anew.
    fn forget_reading(&mut self) {
        if let Some(reading) = self.reading.take() {
            reading.abort();
        }
        self.read_again = false;
        let callers = [
            std::mem::take(&mut self.refresh_callers),
            std::mem::take(&mut self.refresh_next),
        ];
        for caller in callers.into_iter().flatten() {
            let _ = caller.send(Err(CallError::new(
                CallErrorKind::NotReady,
                "ModemManager's modem changed while it was read: refresh again",
            )));
        }
    }

    /// Reads MM's properties of the modem anew and applies them.
    async fn refresh(&mut self) -> Result<(), MmError> {
        let reading = read(&self.conn, &self.path).await;
        self.apply(reading).await
    }

    /// Applies a reading of MM's properties of the modem: publishes the device once its `Id` is
    /// known, enables it, sets up its signal figures and takes in its messages.
    async fn apply(&mut self, reading: Result<Reading, MmError>) -> Result<(), MmError> {
        let Reading {
            modem,
            gpp,
            signal,
            messaging,
            location,
            bearers,
        } = reading?;
        if messaging && !self.messaging {
            tracing::info!("ModemManager gives this modem a Messaging interface");
        } else if self.messaging && !messaging {
            tracing::warn!("ModemManager gives this modem no Messaging interface: no SMS");
        }
        self.messaging = messaging;
        let view = ModemView::read(&modem);
        if view.id.is_none() {
            tracing::debug!("ModemManager names no IMEI for this modem yet");
            return Ok(());
        }
        if self.handle.is_none() {
            self.write_state(|s| s.port.clone_from(&view.port));
        }
        self.refresh_location(&location).await;
        let mut device = view.device.clone();
        if self.location.as_ref().is_some_and(LocationView::offered) {
            let capabilities = device.capabilities.get_or_insert_default();
            capabilities.push(LOCATION_CAPABILITY.to_owned());
        }
        let device = self.write_state(|s| s.apply_device(device));
        self.announce(&device).await;
        let update = signal_update(&modem, &gpp, &signal);
        let data = data_state(&bearers);
        let data = self.write_state(|s| s.set_data(data));
        self.announce(&data).await;
        let signal = self.write_state(|s| s.apply_signal(update));
        if !signal.is_empty() {
            let stamp = SignalUpdate {
                updated_at: Some(clock::unix_now()),
                ..SignalUpdate::default()
            };
            self.write_state(|s| s.apply_signal(stamp));
            self.announce(&signal).await;
        }
        if self.handle.is_none() {
            self.publish().await;
        }
        self.follow_up(&view);
        let registered = view.registered();
        self.view = Some(view);
        if registered && self.messaging && self.handle.is_some() && !self.incoming_listed {
            self.incoming_listed = true;
            self.take_all_incoming().await;
        }
        Ok(())
    }

    /// Applies what MM's Location interface of the modem says (`location`, empty for a modem
    /// without one): its fix and serving cell.
    async fn refresh_location(&mut self, location: &Properties) {
        if location.is_empty() {
            // MM took it away (or has not given it yet): set it up again once it is back.
            self.location = None;
            self.location_set_up = false;
        } else {
            self.location = Some(LocationView::read(location, clock::unix_now()));
        }
        let Some(view) = &self.location else {
            return;
        };
        let (update, cell) = (view.update(), view.cell.clone());
        let fix = self.write_state(|s| s.apply_location(update));
        self.announce(&fix).await;
        let cell = self.write_state(|s| s.set_cell(cell));
        self.announce(&cell).await;
    }

    /// What a modem's state asks of m2mhald once: enabling it, setting up its signal figures
    /// and its location sources.
    fn follow_up(&mut self, view: &ModemView) {
        if view.disabled() && self.settings.enable && !self.enable_asked {
            self.enable_asked = true;
            let (conn, path) = (self.conn.clone(), self.path.clone());
            tokio::spawn(
                async move {
                    tracing::info!("enabling the modem ([modemmanager] enable)");
                    let modem = ModemProxy::builder(&conn).path(path).build().await?;
                    if let Err(e) = within("Enable", SLOW_TIMEOUT, modem.enable(true)).await {
                        tracing::warn!("cannot enable the modem: {e}");
                    }
                    zbus::Result::Ok(())
                }
                .instrument(tracing::Span::current()),
            );
        }
        if view.mm_state >= MM_STATE_ENABLED && !self.signal_set_up {
            self.signal_set_up = true;
            let (conn, path) = (self.conn.clone(), self.path.clone());
            tokio::spawn(
                async move {
                    let signal = SignalProxy::builder(&conn).path(path).build().await?;
                    if let Err(e) =
                        within("Signal.Setup", ANSWER_TIMEOUT, signal.setup(SIGNAL_RATE)).await
                    {
                        tracing::debug!("no extended signal figures: {e}");
                    }
                    zbus::Result::Ok(())
                }
                .instrument(tracing::Span::current()),
            );
        }
        let offered = self.location.as_ref().filter(|location| location.offered());
        if let Some(location) = offered
            && view.mm_state >= MM_STATE_ENABLED
            && !self.location_set_up
        {
            self.location_set_up = true;
            self.set_up_location(location.sources(self.gnss), |done| {
                if let Err(e) = done {
                    tracing::warn!("cannot set up the modem's location: {}", e.message);
                }
            });
        }
    }

    /// Asks MM for the location `sources`, beside the task; `then` gets the outcome.
    fn set_up_location(
        &self,
        sources: u32,
        then: impl FnOnce(Result<(), CallError>) + Send + 'static,
    ) {
        let (conn, path) = (self.conn.clone(), self.path.clone());
        tokio::spawn(
            async move { then(location::setup(&conn, &path, sources).await) }
                .instrument(tracing::Span::current()),
        );
    }

    /// `Location.SetEnabled`: switches MM's gps-raw source, beside the task; before the modem
    /// is enabled the wish waits for [`Self::follow_up`].
    fn set_gnss(&mut self, on: bool, reply: Reply) {
        let Some(location) = self
            .location
            .as_ref()
            .filter(|location| location.has_gnss())
        else {
            let none = CallError::new(
                CallErrorKind::NotSupported,
                "ModemManager offers no GNSS (gps-raw) for this modem",
            );
            let _ = reply.send(Err(none));
            return;
        };
        let sources = location.sources(on);
        self.gnss = on;
        if !self.location_set_up {
            let _ = reply.send(Ok(CallReply::Done));
            return;
        }
        self.set_up_location(sources, |done| {
            let _ = reply.send(done.map(|()| CallReply::Done));
        });
    }

    /// Puts the device on the bus, or back into the object its `Id` had, and loads its outbox.
    async fn publish(&mut self) {
        let observer = Arc::clone(&self.services.observer);
        let handle = match observer.publish(&self.state, &self.requests).await {
            Some(Publication::New(handle)) => {
                let state = self.read_state();
                tracing::info!(
                    path = handle.path,
                    "{} {} {} served through ModemManager is {}",
                    state.kind,
                    state.manufacturer,
                    state.model,
                    state.state
                );
                drop(state);
                handle
            }
            Some(Publication::Back(known)) => {
                let now = self.read_state().clone();
                self.state = known.shared_state();
                tracing::info!(
                    path = known.path,
                    "device is back, served through ModemManager"
                );
                let changed = self.write_state(|s| s.replace_with(now));
                self.handle = Some(known);
                self.announce(&changed).await;
                return self.load_outbox().await;
            }
            Some(Publication::Taken(known)) => {
                return tracing::warn!(
                    path = known.path,
                    "this modem is already served through {}; leaving it alone",
                    known.state().port
                );
            }
            None => return,
        };
        self.handle = Some(handle);
        self.load_outbox().await;
    }

    async fn load_outbox(&mut self) {
        let device_id = self.read_state().id.clone();
        if let Some(stored) = outgoing::load_outbox(&self.services.store, device_id).await {
            self.outbox.load(stored);
        }
        self.announce_pending().await;
    }

    async fn request(&mut self, request: DeviceRequest) {
        match request {
            DeviceRequest::Call {
                request,
                reply,
                answer_by,
                ..
            } => self.call(request, reply, answer_by).await,
            DeviceRequest::Enqueue(record) => {
                self.outbox.enqueue(outgoing::outgoing(record));
                self.announce_pending().await;
            }
            DeviceRequest::Forget(id) => {
                self.outbox.forget(&id);
                self.announce_pending().await;
            }
            DeviceRequest::Withdraw { id, reply } => {
                let withdrawn = self.withdraw(&id).await;
                let _ = reply.send(withdrawn);
            }
            DeviceRequest::Withdrawn => self.handle = None,
        }
    }

    /// The router takes a waiting message back: never one handed to ModemManager, in flight or
    /// in an earlier run (its SMS object is recorded), which may have reached the network.
    async fn withdraw(&mut self, id: &str) -> bool {
        let recorded = outgoing::recorded_progress(&self.services.store, id.to_owned()).await;
        let handed = recorded.is_some_and(|info| info.contains_key(sms::MM_SMS_INFO));
        let waiting = self.in_flight.as_ref().is_some_and(|m| m.id == id);
        let withdrawn = !handed && !waiting && self.outbox.withdraw(id);
        if withdrawn {
            self.announce_pending().await;
        }
        withdrawn
    }

    /// Answers a call of the D-Bus side by `answer_by` for calls that wait on ModemManager
    /// beyond its usual answer time (`Command`). (The caller may have timed out and gone.)
    async fn call(&mut self, request: Request, reply: Reply, answer_by: Instant) {
        let result = match request {
            Request::CheckMessage(_) if self.failed() => Err(self.failed_error()),
            Request::CheckMessage(_) if !self.messaging => Err(CallError::new(
                CallErrorKind::NotSupported,
                "ModemManager gives this modem no Messaging interface \
                 (it found no SMS support on it): it cannot send SMS",
            )),
            Request::CheckMessage(message) => sms::check(&message).map(|()| CallReply::Done),
            Request::Refresh => return self.refresh_beside(reply),
            Request::Poll => {
                self.take_all_incoming().await;
                Ok(CallReply::Done)
            }
            Request::SetLocationEnabled(on) => return self.set_gnss(on, reply),
            Request::Command { line, timeout_ms } => {
                let (conn, path) = (self.conn.clone(), self.path.clone());
                let answer = async move { command(&conn, path, &line, timeout_ms).await };
                return answer_beside(reply, answer_by, "the command", answer);
            }
            Request::Reset => {
                let (conn, path) = (self.conn.clone(), self.path.clone());
                let answer = async move { reset(&conn, path).await };
                return answer_beside(reply, answer_by, "the reset", answer);
            }
            other => Err(CallError::new(
                CallErrorKind::NotSupported,
                format!("a modem served through ModemManager does not take {other:?}"),
            )),
        };
        let _ = reply.send(result);
    }

    /// Whether ModemManager reports the modem `failed` (no SIM, say): it gives it no Messaging
    /// interface, and takes it up again only when it probes it anew (a SIM inserted).
    fn failed(&self) -> bool {
        self.read_state().state == states::FAILED
    }

    /// The `NotReady` of a message for a modem ModemManager reports `failed`, naming the reason;
    /// nothing is stored, so that the caller (or the router) can take another way.
    fn failed_error(&self) -> CallError {
        let reason = self.read_state().state_reason.clone();
        CallError::new(
            CallErrorKind::NotReady,
            format!("ModemManager reports the modem failed ({reason}): it cannot send SMS"),
        )
    }

    /// Hands the next queued message to ModemManager, when the modem is registered, has a
    /// Messaging interface, and no other message is in flight.
    async fn send_next(&mut self) {
        let registered = self.view.as_ref().is_some_and(ModemView::registered);
        let waiting = self.retry_at.is_some() || self.in_flight.is_some();
        if self.handle.is_none() || !registered || waiting || !self.messaging {
            return;
        }
        let Some(id) = self.outbox.start_next() else {
            return;
        };
        let progress = outgoing::recorded_progress(&self.services.store, id.clone()).await;
        let Some((message, sending)) = self.outbox.hand_over(progress) else {
            return;
        };
        let handover = Handover {
            conn: self.conn.clone(),
            path: self.path.clone(),
            services: self.services.clone(),
            handle: self.handle.clone(),
        };
        let task = tokio::spawn(
            handover
                .send(message, sending)
                .instrument(tracing::Span::current()),
        );
        self.in_flight = Some(InFlight { id, task });
        self.announce_pending().await;
    }

    /// ModemManager answered the message in flight: commit its new state, then signal it.
    async fn handed_over(&mut self, result: Result<CallReply, CallError>) {
        let Some(InFlight { id, .. }) = self.in_flight.take() else {
            return;
        };
        let retry = result
            .as_ref()
            .is_err_and(|e| matches!(e.kind, CallErrorKind::NotReady | CallErrorKind::Timeout));
        if retry {
            self.retry_at = Some(Instant::now() + RETRY_DELAY);
        }
        let record = self.outbox.finished(&id, result);
        commit_and_signal(&self.services, self.handle.as_ref(), record).await;
        self.announce_pending().await;
    }

    /// Takes in every SMS ModemManager holds for the modem.
    async fn take_all_incoming(&mut self) {
        let listed = match self.messaging().await {
            Ok(messaging) => within("Messaging.List", ANSWER_TIMEOUT, messaging.list()).await,
            Err(e) => Err(e.into()),
        };
        match listed {
            Ok(paths) => {
                for path in paths {
                    self.take_incoming(path.as_str()).await;
                }
            }
            Err(e) => tracing::debug!("cannot list the modem's messages: {e}"),
        }
    }

    /// Takes in the SMS object at `path` if it is a whole received message: commit, signal,
    /// then delete it from ModemManager. A message still missing parts waits.
    async fn take_incoming(&mut self, path: &str) {
        let Some(handle) = self.handle.clone() else {
            return;
        };
        let properties = match get_all(&self.conn, path, SMS_INTERFACE).await {
            Ok(properties) => properties,
            Err(e) => return tracing::debug!("cannot read an SMS: {e}"),
        };
        let state = value::<u32>(&properties, "State").unwrap_or(0);
        let pdu_type = value::<u32>(&properties, "PduType").unwrap_or(0);
        match mapping::incoming_sms(state, pdu_type) {
            IncomingSms::Wait => {
                self.waiting.insert(path.to_owned());
                return;
            }
            IncomingSms::Ignore => {
                self.waiting.remove(path);
                return;
            }
            IncomingSms::Commit => self.waiting.remove(path),
        };
        let Some(message) = sms::incoming(&properties, clock::unix_now()) else {
            return tracing::warn!(
                sms = path,
                "ModemManager holds a received SMS without a sender: not stored, left to it"
            );
        };
        let device_id = self.read_state().id.clone();
        match persist::store_incoming(&self.services.store, device_id, message.clone()).await {
            IncomingOutcome::Committed { id } => {
                let received = DeviceEvent::Received {
                    id: &id,
                    message: &message,
                };
                self.services.observer.event(&handle, received).await;
            }
            IncomingOutcome::AlreadyCommitted => {}
            IncomingOutcome::NotCommitted => return,
        }
        if self.settings.delete_received {
            self.delete_sms(path).await;
        }
    }

    async fn delete_sms(&self, path: &str) {
        let deleted = match (self.messaging().await, OwnedObjectPath::try_from(path)) {
            (Ok(messaging), Ok(sms)) => {
                within("Messaging.Delete", ANSWER_TIMEOUT, messaging.delete(&sms)).await
            }
            (Err(e), _) | (_, Err(e)) => Err(e.into()),
        };
        if let Err(e) = deleted {
            tracing::warn!("cannot delete a stored SMS from ModemManager: {e}");
        }
    }

    /// ModemManager no longer exports the modem: the device goes `offline` with `reason`, and
    /// the task ends (callers get `DeviceGone`; queued messages stay in the store).
    async fn stop(mut self, reason: &'static str) {
        self.go_offline(reason).await;
    }

    /// ModemManager or the modem went away: a message in flight goes back to the head of the
    /// queue (committed `queued`), the device goes `offline` with `reason`.
    async fn go_offline(&mut self, reason: &'static str) {
        if let Some(in_flight) = self.in_flight.take() {
            in_flight.task.abort();
            let gone = CallError::new(
                CallErrorKind::NotReady,
                format!("the modem went away ({reason})"),
            );
            let record = self.outbox.finished(&in_flight.id, Err(gone));
            commit_and_signal(&self.services, self.handle.as_ref(), record).await;
        }
        let changed = self.write_state(|s| s.set_state(states::OFFLINE, reason));
        self.announce(&changed).await;
        tracing::info!("device offline ({reason})");
    }

    async fn announce_pending(&self) {
        let pending = self.outbox.pending();
        let changed = self.write_state(|s| s.set_pending(pending));
        self.announce(&changed).await;
    }

    async fn announce(&self, changed: &Changed) {
        if let Some(handle) = &self.handle
            && !changed.is_empty()
        {
            self.services.observer.changed(handle, changed).await;
        }
    }

    fn write_state<R>(&self, f: impl FnOnce(&mut DeviceState) -> R) -> R {
        f(&mut self.state.write().unwrap_or_else(|p| p.into_inner()))
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, DeviceState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }
}
