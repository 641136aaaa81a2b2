//! The bridge's event loop: D-Bus signals, MQTT events and command outcomes in, queued
//! publishes out. Glue: the decisions are made by [`Mirror`], [`Sends`], [`Flight`], the
//! [`cursor`] rules and the [`Store`]. Its send commands are in `commands`, its part as the
//! daemon's Router uplink in `routed`.

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
use crate::payload::Incoming;
use crate::publish::Publish;
use crate::sends::{Sends, Target};
use crate::store::{Store, StoreError, UplinkState};
use crate::topics::{Inbound, Topics};
use crate::uplink::{self, UplinkSignal};

mod commands;
mod routed;

use commands::{InboundAck, Outcome};

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
