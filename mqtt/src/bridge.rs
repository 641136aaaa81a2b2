//! The bridge's event loop: D-Bus signals, MQTT events and command outcomes in, queued
//! publishes out. Glue: the decisions are made by [`Mirror`], [`Sends`], [`Flight`], the
//! [`cursor`] rules and the [`Store`].

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::{Config, ConfigError};
use crate::cursor;
use crate::dbus::{self, DaemonSignal};
use crate::flight::Flight;
use crate::link::{self, Link, LinkEvent};
use crate::mirror::Mirror;
use crate::payload::{self, Command, Incoming, send_result};
use crate::publish::Publish;
use crate::sends::{Change, Request, Sends, Target, is_final};
use crate::store::{KeptCommand, Store, StoreError, UplinkState};
use crate::topics::{Inbound, Topics};
use crate::uplink::{self, UplinkCall, UplinkSignal};

/// The first wait before connecting again; it doubles up to [`RECONNECT_MAX`].
const RECONNECT_MIN: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// How long a stop waits for `offline` to reach the broker.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Why the bridge stopped.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The durable store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system bus cannot be reached.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    /// Signal handlers cannot be installed.
    #[error("signals: {0}")]
    Signals(#[from] std::io::Error),
}

/// An incoming publish of a connection, to acknowledge once it is dealt with.
#[derive(Debug, Clone, Copy)]
struct InboundAck {
    /// Which connection it came on ([`Bridge::link_generation`]).
    link: u64,
    /// Its packet id there.
    pkid: u16,
}

/// How a send command ended at the daemon.
struct Outcome {
    request: Request,
    result: Result<String, String>,
    /// Its key in the store (`None`: no `request_id`, not de-duplicated).
    key: Option<String>,
    /// Its publish, acknowledged once the outcome is stored.
    ack: Option<InboundAck>,
    /// The state of a message found stored for a call the bridge did not see answered.
    found: Option<Change>,
}

/// The request of a kept command, if its target and `request_id` read back.
fn kept_request(kept: &KeptCommand) -> Option<Request> {
    let target = match kept.target.split_once(':')? {
        ("device", node) => Target::Device(node.to_owned()),
        ("route", route) => Target::Route(route.to_owned()),
        _ => return None,
    };
    let request_id = serde_json::from_str(&kept.request_id).ok()?;
    Some(Request { target, request_id })
}

/// Seconds a stored message's timestamp may be before the bridge's record of its call.
const CLOCK_SLACK: u64 = 2;

/// A send command to carry out.
struct Call {
    request: Request,
    command: Command,
    /// Its key in the store (`None`: no `request_id`).
    key: Option<String>,
    /// Its publish, acknowledged once the outcome is stored.
    ack: Option<InboundAck>,
    /// Unix seconds since which a message it may have left is looked for, when a bridge that
    /// stopped handed it to m2mhald without seeing the answer.
    unanswered: Option<u64>,
}

/// The daemon call that carries out a send command.
enum DaemonCall {
    /// `Messaging.Send` on the device object at this path.
    Messaging(String),
    /// `Router.Send` on this route.
    Router(String),
}

/// The running bridge.
struct Bridge {
    topics: Topics,
    options: link::Options,
    store: Store,
    mirror: Mirror,
    sends: Sends,
    /// Route commands in flight (routed ids are not device message ids).
    route_sends: Sends,
    flight: Flight,
    bus: zbus::Connection,
    daemon: Option<String>,
    link: Option<Link>,
    /// Counts the connections opened, so that an acknowledgement goes to its own.
    link_generation: u64,
    /// Keys of the commands whose daemon call is under way.
    calling: HashSet<String>,
    online: bool,
    reconnect_at: Instant,
    backoff: Duration,
    outcomes: mpsc::UnboundedSender<Outcome>,
    /// The name routes use for the bridge as an uplink ("" when it is none).
    uplink: String,
    uplink_signals: mpsc::UnboundedSender<UplinkSignal>,
}

/// Runs the bridge until SIGTERM or SIGINT.
pub async fn run(config: Config) -> Result<(), BridgeError> {
    let topics = Topics::new(&config.topic_prefix, &config.ha_prefix);
    let options = link::options(&config, &topics)?;
    let store = Store::open(&config.state_dir, config.queue_limit)?;
    let bus = zbus::Connection::system().await?;
    // Without an uplink name nobody calls: the sender stays here, the receiver waits forever.
    let (_no_calls, mut calls) = mpsc::unbounded_channel();
    if !config.uplink.is_empty() {
        calls = uplink::serve(&bus).await?;
    }
    let mut signals = dbus::daemon_signals(&bus).await?;
    let mut owners = dbus::owner_changes(&bus).await?;
    let (outcomes, mut outcome_rx) = mpsc::unbounded_channel();
    let uplink_signals = uplink::spawn_signals(bus.clone());
    let mut bridge = Bridge {
        mirror: Mirror::new(topics.clone(), config.ha_discovery),
        topics,
        options,
        store,
        sends: Sends::new(),
        route_sends: Sends::new(),
        flight: Flight::new(),
        bus,
        daemon: None,
        link: None,
        link_generation: 0,
        calling: HashSet::new(),
        online: false,
        reconnect_at: Instant::now(),
        backoff: RECONNECT_MIN,
        outcomes,
        uplink: config.uplink.clone(),
        uplink_signals,
    };
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    bridge.sync_with_daemon().await?;
    loop {
        tokio::select! {
            event = next_event(&mut bridge.link) => bridge.on_mqtt(event)?,
            () = tokio::time::sleep_until(bridge.reconnect_at), if bridge.link.is_none() => {
                debug!("connecting to the broker");
                bridge.link = Some(Link::open(&bridge.options));
                bridge.link_generation += 1;
            }
            Some(Ok(message)) = signals.next() => bridge.on_signal(&message)?,
            Some(Ok(message)) = owners.next() => {
                if dbus::new_owner(&message).is_some_and(|owner| !owner.is_empty()) {
                    bridge.sync_with_daemon().await?;
                } else {
                    info!("m2mhald left the bus");
                    bridge.daemon = None;
                }
            }
            Some(outcome) = outcome_rx.recv() => bridge.on_outcome(outcome)?,
            Some(call) = calls.recv() => bridge.on_uplink_call(call)?,
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    bridge.stop().await;
    Ok(())
}

/// The next event of the current connection; never, while there is none.
async fn next_event(link: &mut Option<Link>) -> Option<LinkEvent> {
    match link {
        Some(link) => link.next().await,
        None => std::future::pending().await,
    }
}

impl Bridge {
    /// Mirrors the daemon's objects again and catches up with the messages that came while
    /// the bridge was not listening.
    async fn sync_with_daemon(&mut self) -> Result<(), BridgeError> {
        self.daemon = dbus::daemon_owner(&self.bus).await;
        if self.daemon.is_none() {
            info!("waiting for m2mhald");
            return Ok(());
        }
        let objects = match dbus::managed_objects(&self.bus).await {
            Ok(objects) => objects,
            Err(e) => {
                warn!("cannot read m2mhald's objects: {e}");
                return Ok(());
            }
        };
        self.mirror.clear();
        let mut publishes = Vec::new();
        for (path, interfaces) in objects {
            publishes.extend(self.mirror.added(&path, interfaces));
        }
        self.enqueue(&publishes, None)?;
        for (path, device) in self.mirror.messaging_devices() {
            let listed = match dbus::list_incoming(&self.bus, &path).await {
                Ok(listed) => listed,
                Err(e) => {
                    warn!(device = %device, "cannot list stored messages: {e}");
                    continue;
                }
            };
            let cursor = self.store.cursor(&device)?;
            let missed = cursor::catch_up(listed, cursor.as_deref());
            if !missed.is_empty() {
                info!(device = %device, count = missed.len(), "forwarding messages that came while away");
            }
            for message in missed {
                self.forward(&device, &message)?;
            }
        }
        info!(
            with_messaging = self.mirror.messaging_devices().len(),
            "mirroring m2mhald"
        );
        self.follow_open_commands().await?;
        if !self.uplink.is_empty() {
            match uplink::register(&self.bus, &self.uplink).await {
                Ok(()) => {
                    info!(uplink = %self.uplink, "registered with m2mhald as a Router uplink")
                }
                Err(e) => warn!(uplink = %self.uplink, "cannot register as a Router uplink: {e}"),
            }
        }
        Ok(())
    }

    /// Commands whose messages were not final when the bridge last knew: their state now is
    /// published when it changed meanwhile (the bridge was away), and they are followed again.
    async fn follow_open_commands(&mut self) -> Result<(), BridgeError> {
        for kept in self.store.open_commands()? {
            let Some(request) = kept_request(&kept) else {
                continue;
            };
            let Some(id) = kept.id else { continue };
            let now = match &request.target {
                Target::Device(node) => match self.mirror.messaging_path(node) {
                    Some(path) => dbus::message_state(&self.bus, path, &id).await,
                    None => None,
                },
                Target::Route(_) => dbus::routed_state(&self.bus, &id).await,
            };
            let last = kept
                .last
                .and_then(|last| serde_json::from_slice::<serde_json::Value>(&last).ok())
                .and_then(|last| last["state"].as_str().map(str::to_owned));
            let done = now.as_ref().is_some_and(|now| is_final(&now.state));
            let mut changes: Vec<Change> = now
                .filter(|now| last.as_deref() != Some(now.state.as_str()))
                .into_iter()
                .collect();
            if !changes.is_empty() {
                debug!(id = %id, "a command's message changed while the bridge was away");
            }
            if !done {
                changes.extend(
                    self.sends_of(&request.target)
                        .accepted(&id, request.clone()),
                );
            }
            if !changes.is_empty() {
                self.record(&request, Some(&id), &changes)?;
            }
        }
        Ok(())
    }

    /// A call of the daemon's Router on the uplink object; only m2mhald may make it.
    fn on_uplink_call(&mut self, call: UplinkCall) -> Result<(), BridgeError> {
        let refusal = |caller: &str| {
            (self.daemon.as_deref() != Some(caller))
                .then(|| format!("only m2mhald may call the uplink, not {caller}"))
        };
        match call {
            UplinkCall::Send {
                caller,
                message,
                reply,
            } => {
                if let Some(refusal) = refusal(&caller) {
                    let _ = reply.send(Err(refusal));
                    return Ok(());
                }
                let publish = Publish::json(
                    self.topics.route_out(&message.route),
                    &message.to_json(),
                    false,
                );
                let state = self.store.take_uplink(&message.id, &publish)?;
                debug!(id = %message.id, ?state, "routed message taken");
                // The caller goes on once it is stored; a known one is reported again.
                let _ = reply.send(Ok(()));
                match state {
                    UplinkState::Queued => self.pump()?,
                    UplinkState::Sent => self.tell_daemon(UplinkSignal::Sent(message.id)),
                    UplinkState::Failed(error) => {
                        self.tell_daemon(UplinkSignal::Failed(message.id, error));
                    }
                }
            }
            UplinkCall::Withdraw { caller, id, reply } => {
                if let Some(refusal) = refusal(&caller) {
                    let _ = reply.send(Err(refusal));
                    return Ok(());
                }
                let withdrawn = self.store.withdraw_uplink(&id)?;
                debug!(id = %id, withdrawn, "routed message asked back");
                let _ = reply.send(Ok(withdrawn));
            }
        }
        Ok(())
    }

    /// Signals the daemon (when the bridge is its uplink).
    fn tell_daemon(&self, signal: UplinkSignal) {
        if !self.uplink.is_empty() {
            // The signalling task ends only with the bridge.
            let _ = self.uplink_signals.send(signal);
        }
    }

    /// Queues an incoming message of `device` and moves its cursor.
    fn forward(&mut self, device: &str, message: &Incoming) -> Result<(), BridgeError> {
        let publish = Publish::json(
            self.topics.device(device, "messages/in"),
            &message.to_json(),
            false,
        );
        self.enqueue(&[publish], Some((device, &message.id)))
    }

    fn on_signal(&mut self, message: &zbus::Message) -> Result<(), BridgeError> {
        let sender = message.header().sender().map(|s| s.as_str().to_owned());
        if self.daemon.is_none() || sender != self.daemon {
            return Ok(());
        }
        let Some(signal) = dbus::decode(message) else {
            return Ok(());
        };
        let publishes = match signal {
            DaemonSignal::Added { path, interfaces } => self.mirror.added(&path, interfaces),
            DaemonSignal::Removed { path, interfaces } => self.mirror.removed(&path, &interfaces),
            DaemonSignal::Changed {
                path,
                interface,
                changed,
            } => self.mirror.changed(&path, &interface, changed),
            DaemonSignal::Received { path, message } => {
                let Some(device) = self.mirror.device_id(&path).map(str::to_owned) else {
                    warn!(path = %path, "message from an unknown device object");
                    return Ok(());
                };
                let cursor = self.store.cursor(&device)?;
                if cursor::is_after(cursor.as_deref(), &message.id) {
                    debug!(device = %device, id = %message.id, "forwarding a message");
                    self.forward(&device, &message)?;
                }
                return Ok(());
            }
            DaemonSignal::StateChanged { id, change } => {
                let Some(request) = self.sends.state_changed(&id, change.clone()) else {
                    return Ok(());
                };
                return self.record(&request, Some(&id), &[change]);
            }
            DaemonSignal::RoutedStateChanged { id, change } => {
                let Some(request) = self.route_sends.state_changed(&id, change.clone()) else {
                    return Ok(());
                };
                return self.record(&request, Some(&id), &[change]);
            }
        };
        self.enqueue(&publishes, None)
    }

    /// The store's key of `request`'s command: its result topic and `request_id`; `None`
    /// without a `request_id` (such a command cannot be told from another).
    fn command_key(&self, request: &Request) -> Option<String> {
        if request.request_id.is_null() {
            return None;
        }
        let topic = self.result_topic(&request.target);
        Some(format!("{topic}\n{}", request.request_id))
    }

    /// Publishes results of `request`'s command for message `id` (`None`: the daemon gave
    /// none), and keeps the first and the latest with the command.
    fn record(
        &mut self,
        request: &Request,
        id: Option<&str>,
        changes: &[Change],
    ) -> Result<(), BridgeError> {
        let publishes: Vec<Publish> = changes
            .iter()
            .map(|change| self.result(request, id, change))
            .collect();
        let done = changes.last().is_some_and(|change| is_final(&change.state));
        let dropped = match self.command_key(request) {
            Some(key) => self.store.command_results(&key, id, &publishes, done)?,
            None => self.store.enqueue(&publishes, None)?,
        };
        self.queued(dropped)
    }

    fn sends_of(&mut self, target: &Target) -> &mut Sends {
        match target {
            Target::Device(_) => &mut self.sends,
            Target::Route(_) => &mut self.route_sends,
        }
    }

    /// Acknowledges an incoming publish, if it came on the current connection (otherwise the
    /// broker delivers it again, and the store tells it is known).
    fn ack(&self, ack: Option<InboundAck>) {
        let (Some(ack), Some(link)) = (ack, &self.link) else {
            return;
        };
        if ack.link == self.link_generation && !link.ack(ack.pkid) {
            debug!(
                pkid = ack.pkid,
                "cannot acknowledge a publish now; it comes again"
            );
        }
    }

    /// The `send/result` topic beside the command topic of `target`.
    fn result_topic(&self, target: &Target) -> String {
        match target {
            Target::Device(node) => self.topics.send_result(node),
            Target::Route(route) => self.topics.route_send_result(route),
        }
    }

    /// A result of `request`'s command on the `send/result` topic beside its own.
    fn result(&self, request: &Request, id: Option<&str>, change: &Change) -> Publish {
        let topic = self.result_topic(&request.target);
        let result = send_result(
            &request.request_id,
            id,
            &change.state,
            &change.error,
            &change.uplink,
        );
        Publish::json(topic, &result, false)
    }

    fn on_mqtt(&mut self, event: Option<LinkEvent>) -> Result<(), BridgeError> {
        match event {
            Some(LinkEvent::Connected) => self.on_connected()?,
            Some(LinkEvent::Written(pkid)) => self.flight.written(pkid),
            Some(LinkEvent::Acknowledged { pkid, refused }) => {
                if let Some(reason) = &refused {
                    warn!(reason = %reason, "the broker refused a publish; it is dropped");
                }
                if let Some(seq) = self.flight.acknowledged(pkid) {
                    match self.store.acknowledged(seq, refused.as_deref())? {
                        Some((id, UplinkState::Failed(error))) => {
                            self.tell_daemon(UplinkSignal::Failed(id, error));
                        }
                        Some((id, _)) => self.tell_daemon(UplinkSignal::Sent(id)),
                        None => {}
                    }
                    self.pump()?;
                }
            }
            Some(LinkEvent::Message {
                topic,
                payload,
                retain,
                pkid,
            }) => {
                let ack = pkid.map(|pkid| InboundAck {
                    link: self.link_generation,
                    pkid,
                });
                self.on_inbound(&topic, &payload, retain, ack)?;
            }
            Some(LinkEvent::Disconnected) => {}
            Some(LinkEvent::Closed(why)) => self.disconnected(&why),
            None => self.disconnected("connection closed"),
        }
        Ok(())
    }

    fn on_connected(&mut self) -> Result<(), BridgeError> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        info!(queued = self.store.queued()?, "connected to the broker");
        self.online = true;
        self.tell_daemon(UplinkSignal::Connected(true));
        self.backoff = RECONNECT_MIN;
        self.flight = Flight::new();
        let status = Publish {
            topic: self.topics.status(),
            payload: link::ONLINE.as_bytes().to_vec(),
            retain: true,
        };
        if link.publish(&status) {
            self.flight.handed_unqueued();
        }
        let filters = [
            self.topics.device_send_filter(),
            self.topics.route_send_filter(),
            self.topics.ha_status(),
        ];
        for filter in filters {
            if !link.subscribe(&filter) {
                warn!(filter = %filter, "cannot subscribe");
            }
        }
        self.publish_stats()?;
        self.pump()
    }

    fn disconnected(&mut self, why: &str) {
        if self.online {
            warn!("lost the broker: {why}");
            self.tell_daemon(UplinkSignal::Connected(false));
        } else {
            debug!("cannot reach the broker: {why}");
        }
        self.link = None;
        self.online = false;
        self.reconnect_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(RECONNECT_MAX);
    }

    /// `<p>/stats`: how many publishes wait and how many the queue's limit dropped.
    fn publish_stats(&mut self) -> Result<(), BridgeError> {
        let (Some(link), true) = (&self.link, self.online) else {
            return Ok(());
        };
        let stats = json!({"queued": self.store.queued()?, "dropped": self.store.dropped()?});
        if link.publish(&Publish::json(self.topics.stats(), &stats, true)) {
            self.flight.handed_unqueued();
        }
        Ok(())
    }

    /// Queues `publishes` (and moves a device's cursor with them), then hands what it can.
    fn enqueue(
        &mut self,
        publishes: &[Publish],
        forwarded: Option<(&str, &str)>,
    ) -> Result<(), BridgeError> {
        if publishes.is_empty() {
            return Ok(());
        }
        let dropped = self.store.enqueue(publishes, forwarded)?;
        self.queued(dropped)
    }

    /// Publishes were queued and the limit dropped `dropped` older ones: says so, then hands
    /// what it can.
    fn queued(&mut self, dropped: u64) -> Result<(), BridgeError> {
        if dropped > 0 {
            warn!(dropped, "publish queue full: dropped the oldest");
            self.publish_stats()?;
        }
        self.pump()
    }

    /// Hands the queue's next publishes to the client while the window has room.
    fn pump(&mut self) -> Result<(), BridgeError> {
        let (Some(link), true) = (&self.link, self.online) else {
            return Ok(());
        };
        while self.flight.room() > 0 {
            let next = self
                .store
                .after(self.flight.last_handed(), self.flight.room())?;
            let (Some(first), Some(last)) = (next.first(), next.last()) else {
                break;
            };
            let routed = self.store.handing(first.seq, last.seq)?;
            if routed > 0 {
                debug!(routed, "routed message(s) handed to the broker");
            }
            for queued in next {
                if !link.publish(&queued.publish) {
                    return Ok(());
                }
                self.flight.handed(queued.seq);
            }
        }
        Ok(())
    }

    /// A publish on a topic the bridge subscribed to; `retained` when the broker kept it. A
    /// command is acknowledged once m2mhald answered it and its result is stored; anything
    /// else at once.
    fn on_inbound(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        ack: Option<InboundAck>,
    ) -> Result<(), BridgeError> {
        let target = match self.topics.inbound(topic) {
            Some(Inbound::DeviceSend(node)) => Target::Device(node.to_owned()),
            Some(Inbound::RouteSend(route)) => Target::Route(route.to_owned()),
            Some(Inbound::HomeAssistantStatus) => {
                if payload == link::ONLINE.as_bytes() {
                    info!("Home Assistant is online: publishing discovery");
                    let publishes = self.mirror.rediscover();
                    self.enqueue(&publishes, None)?;
                }
                self.ack(ack);
                return Ok(());
            }
            None => {
                self.ack(ack);
                return Ok(());
            }
        };
        self.on_command(target, payload, retained, ack)
    }

    /// A send command for `target`: carried out once (a `request_id` seen before gets its
    /// results again), or answered with why it cannot be.
    fn on_command(
        &mut self,
        target: Target,
        payload: &[u8],
        retained: bool,
        ack: Option<InboundAck>,
    ) -> Result<(), BridgeError> {
        // A retained command would be sent again at every reconnect.
        let parsed = payload::parse_command(payload)
            .and_then(|command| payload::refuse_retained(command, retained));
        let command = match parsed {
            Ok(command) => command,
            Err(rejected) => {
                let request = Request {
                    target,
                    request_id: rejected.request_id,
                };
                let result = self.result(&request, None, &Change::failed(rejected.error));
                self.enqueue(&[result], None)?;
                self.ack(ack);
                return Ok(());
            }
        };
        let request = Request {
            target,
            request_id: command.request_id.clone(),
        };
        let key = self.command_key(&request);
        let mut unanswered = None;
        if let Some(key) = &key {
            if self.calling.contains(key) {
                debug!("a command again while m2mhald takes it: its results come once");
                self.ack(ack);
                return Ok(());
            }
            match self.store.command(key)? {
                Some(kept) if kept.first.is_some() => {
                    info!("a command seen before: its results again, not sent again");
                    self.repeat(&request, kept)?;
                    self.ack(ack);
                    return Ok(());
                }
                // Handed to m2mhald by a bridge that stopped before the answer.
                Some(kept) => unanswered = Some(kept.at.saturating_sub(CLOCK_SLACK)),
                None => {
                    let target = match &request.target {
                        Target::Device(node) => format!("device:{node}"),
                        Target::Route(route) => format!("route:{route}"),
                    };
                    self.store
                        .command_calling(key, &target, &request.request_id.to_string())?;
                }
            }
            self.calling.insert(key.clone());
        }
        debug!("carrying out a command");
        let call = Call {
            request,
            command,
            key,
            ack,
            unanswered,
        };
        self.command(call);
        Ok(())
    }

    /// A command seen before: its first result and its latest again.
    fn repeat(&mut self, request: &Request, kept: KeptCommand) -> Result<(), BridgeError> {
        let topic = self.result_topic(&request.target);
        let first = kept.first.unwrap_or_default();
        let mut publishes = vec![Publish {
            topic: topic.clone(),
            payload: first.clone(),
            retain: false,
        }];
        if let Some(last) = kept.last.filter(|last| *last != first) {
            publishes.push(Publish {
                topic,
                payload: last,
                retain: false,
            });
        }
        self.enqueue(&publishes, None)
    }

    /// Carries out a send command: `Messaging.Send` on the device or `Router.Send` on the
    /// route, in a task of its own; the outcome comes back as an [`Outcome`]. One a stopped
    /// bridge handed over without seeing the answer is looked for first: the daemon took it if
    /// it stored such a message since (a call whose caller died before the daemon read it is
    /// refused: the caller cannot be authorized any more), and then it is not sent again.
    fn command(&mut self, call: Call) {
        let Call {
            request,
            command,
            key,
            ack,
            unanswered,
        } = call;
        let target = match &request.target {
            Target::Device(node) => match self.mirror.messaging_path(node) {
                Some(path) => Ok(DaemonCall::Messaging(path.to_owned())),
                None => Err(format!(
                    "unknown device: no device with messaging is {node:?}"
                )),
            },
            Target::Route(route) => Ok(DaemonCall::Router(route.clone())),
        };
        let bus = self.bus.clone();
        let outcomes = self.outcomes.clone();
        tokio::spawn(async move {
            let taken = match (&target, unanswered) {
                (Ok(DaemonCall::Messaging(path)), Some(since)) => {
                    dbus::find_sent(&bus, path, &command, since).await
                }
                (Ok(DaemonCall::Router(route)), Some(since)) => {
                    dbus::find_routed(&bus, route, &command, since).await
                }
                _ => None,
            };
            let found = match (&taken, &target) {
                (Some(id), Ok(DaemonCall::Messaging(path))) => {
                    dbus::message_state(&bus, path, id).await
                }
                (Some(id), Ok(DaemonCall::Router(_))) => dbus::routed_state(&bus, id).await,
                _ => None,
            };
            let result = match (taken, target) {
                (Some(id), _) => Ok(id),
                (None, Ok(DaemonCall::Messaging(path))) => dbus::send(&bus, &path, &command).await,
                (None, Ok(DaemonCall::Router(route))) => {
                    dbus::route_send(&bus, &route, &command).await
                }
                (None, Err(error)) => Err(error),
            };
            // The bridge is stopping when nobody listens any more.
            let _ = outcomes.send(Outcome {
                request,
                result,
                key,
                ack,
                found,
            });
        });
    }

    /// m2mhald answered a command: its results are stored and published, then the command's
    /// publish is acknowledged.
    fn on_outcome(&mut self, outcome: Outcome) -> Result<(), BridgeError> {
        let Outcome {
            request,
            result,
            key,
            ack,
            found,
        } = outcome;
        if let Some(key) = &key {
            self.calling.remove(key);
        }
        match result {
            Ok(id) => {
                let mut changes = vec![Change::accepted()];
                if let Some(found) = found {
                    info!(id = %id, "m2mhald had taken the command before the bridge stopped");
                    changes.push(found);
                }
                changes.extend(
                    self.sends_of(&request.target)
                        .accepted(&id, request.clone()),
                );
                self.record(&request, Some(&id), &changes)?;
            }
            Err(error) => self.record(&request, None, &[Change::failed(error)])?,
        }
        self.ack(ack);
        Ok(())
    }

    /// Says `offline` and disconnects, waiting a moment for the broker to have it.
    async fn stop(mut self) {
        info!("stopping");
        let Some(mut link) = self.link.take() else {
            return;
        };
        if !self.online {
            return;
        }
        let offline = Publish {
            topic: self.topics.status(),
            payload: link::OFFLINE.as_bytes().to_vec(),
            retain: true,
        };
        link.publish(&offline);
        link.disconnect();
        // Done when the DISCONNECT is written or the connection ends; given up after the grace.
        let _ = tokio::time::timeout(STOP_GRACE, async {
            while let Some(event) = link.next().await {
                if matches!(event, LinkEvent::Disconnected | LinkEvent::Closed(_)) {
                    break;
                }
            }
        })
        .await;
    }
}
