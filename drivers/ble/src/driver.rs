//! [`BleDriver`]: the `Driver` implementation for one BLE peripheral. It routes each host event
//! to the part that handles it and keeps the device's lifecycle:
//!
//! ```text
//! Opened --> initializing --first advertisement or LinkUp--> ready
//! ready --LinkDown of a link it needs--> offline "link-lost" --reconnect, LinkUp--> ready
//! ready --first connection attempt of a GATT sensor fails--> offline "connect-failed"
//! ```
//!
//! The link: the driver wants it up while the device is a GATT sensor, an application subscribed
//! to a characteristic or called `Connect`, or a call waits for it. A lost link is reconnected
//! after 1 s, 2 s, 4 s, ... at most 60 s (reset by every `LinkUp`); after each `LinkUp` the
//! driver reads Device Information and the sensor values, subscribes to the sensor values that
//! notify and re-arms the applications' subscriptions. `Disconnect` keeps the link down until
//! `Connect`.
//!
//! Calls: GATT calls run at once while the link is up; otherwise they connect and wait, failing
//! with `NotReady` after 30 s or three failed connection attempts. `Refresh` re-reads the sensor
//! values (advertisement-only devices answer at once: their readings arrive by themselves).

use std::collections::BTreeSet;

use m2mhal_plugin_api::ble::{Advertisement, GattAction, GattCharacteristic, GattService};
use m2mhal_plugin_api::sdk::{Driver, Effects};
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DeviceKind, DeviceUpdate, DriverDescription, Effect,
    Event, Input, LogLevel, OpenConfig, Request, SensorUpdate, SignalUpdate,
};
use serde_bytes::ByteBuf;

use crate::bthome;
use crate::characteristics::{
    BATTERY_SERVICE, ENVIRONMENTAL_SENSING, InfoCharacteristic, SensorCharacteristic, uuid16,
};
use crate::config::{Config, ConnectMode};
use crate::describe::description;
use crate::operations::{GattOperations, Purpose};
use crate::signal::quality_from_rssi;
use crate::timers::{self, Timer};
use crate::waiting::{MAX_FAILED_CONNECTS, WaitingCall, WaitingCalls, Wanted};

/// The interfaces every BLE device implements.
const CAPABILITIES: [&str; 3] = ["gatt", "sensor", "signal"];

/// The state of the link, as far as the driver knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No link and no attempt under way.
    Down,
    /// `Effect::Connect` sent, waiting for `LinkUp` or `LinkDown`.
    Connecting,
    /// Up, services resolved.
    Up,
}

/// What the applications said about the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkPolicy {
    /// Nothing: the driver decides.
    Auto,
    /// `Connect`: keep it up.
    Requested,
    /// `Disconnect`: keep it down until `Connect`.
    HeldDown,
}

/// The BLE driver: one instance per peripheral.
pub struct BleDriver {
    config: Config,
    /// Whether an advertisement or a link showed the device.
    seen: bool,
    /// No advertisement for `absent_after` and no link: out of range.
    absent: bool,
    /// Whether the device's readings come over GATT (its advertisement shows the Environmental
    /// Sensing or Battery service without BTHome data, or `connect = always`).
    gatt_sensor: bool,
    policy: LinkPolicy,
    link: Link,
    /// The services of the last link; kept while it is down to check calls.
    services: Option<Vec<GattService>>,
    /// Why a link the driver needs is down (`link-lost`, `connect-failed`); cleared by `LinkUp`.
    link_trouble: Option<&'static str>,
    reconnect_delay_ms: u64,
    reconnect_armed: bool,
    /// The deadline the call deadline timer is armed for.
    call_deadline_armed: Option<u64>,
    operations: GattOperations,
    waiting: WaitingCalls,
    /// `Refresh` calls answered once the sensor reads in flight are done.
    refresh_calls: Vec<u64>,
    /// Characteristics applications subscribed to.
    subscriptions: BTreeSet<String>,
    /// Sensor characteristics whose notifications are on for the current link.
    sensor_notifications: BTreeSet<String>,
    /// The BTHome packet id of the last advertisement.
    last_packet_id: Option<u8>,
    /// The unix second of the last `Sensor` publication (readings or a confirmation of them).
    sensor_published_at: Option<u64>,
    last_rssi: Option<i16>,
    /// The advertised name last published as the model.
    published_name: Option<String>,
    /// Whether the device reported its model (0x2A24), which wins over the advertised name.
    model_from_device: bool,
    /// The `State` and `StateReason` last published.
    published_state: Option<(&'static str, &'static str)>,
    /// Warnings already logged, so that each appears once.
    warned: BTreeSet<String>,
    /// Clocks of the input being handled.
    now_ms: u64,
    unix_time: u64,
    /// Effects of the input being handled.
    out: Effects,
}

impl Driver for BleDriver {
    fn describe() -> DriverDescription {
        description()
    }

    /// The port is the peripheral's address; options `bthome_key` and `connect` (see the crate
    /// documentation).
    fn open(config: OpenConfig) -> Result<Self, String> {
        let config = Config::parse(&config).map_err(|error| error.to_string())?;
        Ok(BleDriver {
            gatt_sensor: config.connect == ConnectMode::Always,
            config,
            seen: false,
            absent: false,
            policy: LinkPolicy::Auto,
            link: Link::Down,
            services: None,
            link_trouble: None,
            reconnect_delay_ms: timers::RECONNECT_FIRST_MS,
            reconnect_armed: false,
            call_deadline_armed: None,
            operations: GattOperations::default(),
            waiting: WaitingCalls::default(),
            refresh_calls: Vec::new(),
            subscriptions: BTreeSet::new(),
            sensor_notifications: BTreeSet::new(),
            last_packet_id: None,
            sensor_published_at: None,
            last_rssi: None,
            published_name: None,
            model_from_device: false,
            published_state: None,
            warned: BTreeSet::new(),
            now_ms: 0,
            unix_time: 0,
            out: Effects::new(),
        })
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        self.now_ms = input.now_ms;
        self.unix_time = input.unix_time;
        match input.event {
            Event::Opened => self.on_opened(),
            Event::Advertisement(advertisement) => self.on_advertisement(advertisement),
            Event::LinkUp { services } => self.on_link_up(services),
            Event::LinkDown { reason } => self.on_link_down(&reason),
            Event::GattDone { op, result } => self.on_gatt_done(op, result),
            Event::Notification {
                characteristic,
                value,
            } => self.on_notification(characteristic, value),
            Event::Timer(id) => self.on_timer(id),
            Event::Call { call, request } => self.on_call(call, request),
            // Serial-port events and events of later ABI versions do not concern a peripheral.
            _ => {}
        }
        self.publish_state();
        self.out.take()
    }
}

/// Lifecycle and link.
impl BleDriver {
    /// Starts from scratch: identity, no link.
    fn on_opened(&mut self) {
        self.reset_link(&CallError::new(
            CallErrorKind::Failed,
            "the device was reopened",
        ));
        self.seen = false;
        self.last_packet_id = None;
        self.last_rssi = None;
        self.published_state = None;
        self.out.device(DeviceUpdate {
            id: Some(format!("ble:{}", self.config.address_text)),
            kind: Some(DeviceKind::BleDevice),
            capabilities: Some(CAPABILITIES.map(str::to_owned).to_vec()),
            connected: Some(false),
            ..DeviceUpdate::default()
        });
        self.out.signal(SignalUpdate {
            technology: Some("ble".to_owned()),
            ..SignalUpdate::default()
        });
        self.ensure_link();
    }

    /// Whether the device needs the link to do its job (its `State` is `offline` without it).
    fn link_required(&self) -> bool {
        match self.policy {
            LinkPolicy::HeldDown => false,
            LinkPolicy::Requested => true,
            LinkPolicy::Auto => self.gatt_sensor || !self.subscriptions.is_empty(),
        }
    }

    /// Whether the driver brings the link up (again) when it is down.
    fn wants_link(&self) -> bool {
        self.link_required() || (self.policy != LinkPolicy::HeldDown && !self.waiting.is_empty())
    }

    /// Connects if the link is wanted and no reconnection is scheduled.
    fn ensure_link(&mut self) {
        if self.wants_link() && self.link == Link::Down && !self.reconnect_armed {
            self.connect_now();
        }
    }

    /// Connects now (a call asks for the link), unless an attempt is under way or it is up.
    fn connect_now(&mut self) {
        if self.link == Link::Down {
            self.cancel_reconnect();
            self.link = Link::Connecting;
            self.out.push(Effect::Connect);
        }
    }

    fn on_link_up(&mut self, services: Vec<GattService>) {
        if self.policy == LinkPolicy::HeldDown {
            // An attempt that was under way when the application disconnected.
            self.out.push(Effect::Disconnect);
            return;
        }
        self.link = Link::Up;
        self.seen = true;
        self.link_trouble = None;
        self.reconnect_delay_ms = timers::RECONNECT_FIRST_MS;
        self.cancel_reconnect();
        self.out.log(
            LogLevel::Info,
            format!("connected, {} GATT services", services.len()),
        );
        let uuids = services
            .iter()
            .map(|service| service.uuid.clone())
            .collect();
        self.out.device(DeviceUpdate {
            connected: Some(true),
            services: Some(uuids),
            gatt_services: Some(services.clone()),
            ..DeviceUpdate::default()
        });
        self.services = Some(services);
        self.read_identity();
        self.read_sensors();
        self.subscribe_sensors();
        self.resubscribe();
        for waiting in self.waiting.take_all() {
            self.resume(waiting);
        }
        self.arm_call_deadline();
    }

    fn on_link_down(&mut self, reason: &str) {
        match std::mem::replace(&mut self.link, Link::Down) {
            // Already down: the answer to our own `Disconnect`, or a stale report.
            Link::Down => return,
            Link::Up => {
                self.out.log(LogLevel::Info, format!("link lost: {reason}"));
                self.out.device(DeviceUpdate {
                    connected: Some(false),
                    ..DeviceUpdate::default()
                });
                self.link_trouble = Some("link-lost");
            }
            Link::Connecting => {
                self.out.log(
                    LogLevel::Info,
                    format!("connection attempt failed: {reason}"),
                );
                self.link_trouble.get_or_insert("connect-failed");
                let error = CallError::new(
                    CallErrorKind::NotReady,
                    format!(
                        "could not connect to the device ({MAX_FAILED_CONNECTS} attempts failed, the last: {reason})"
                    ),
                );
                self.out.fail_all(self.waiting.connect_failed(), &error);
                self.arm_call_deadline();
            }
        }
        let error = CallError::new(
            CallErrorKind::NotReady,
            format!("the link went down: {reason}"),
        );
        self.drop_link(&error);
        if self.wants_link() {
            self.arm_reconnect();
        }
    }

    /// Forgets what lived on the link: operations in flight (their calls fail with `error`) and
    /// sensor notifications.
    fn drop_link(&mut self, error: &CallError) {
        self.sensor_notifications.clear();
        for purpose in self.operations.abandon() {
            if let Purpose::Call { call, .. } = purpose {
                self.out.reply(call, Err(error.clone()));
            }
        }
        self.out
            .fail_all(std::mem::take(&mut self.refresh_calls), error);
    }

    /// Takes the link down for good: waiting calls and operations in flight fail with `error`,
    /// no reconnection is pending, the backoff starts over.
    fn reset_link(&mut self, error: &CallError) {
        let waiting = self.waiting.take_all();
        self.out
            .fail_all(waiting.iter().map(|waiting| waiting.call), error);
        self.arm_call_deadline();
        self.cancel_reconnect();
        self.drop_link(error);
        self.link = Link::Down;
        self.link_trouble = None;
        self.reconnect_delay_ms = timers::RECONNECT_FIRST_MS;
    }

    fn arm_reconnect(&mut self) {
        self.out.log(
            LogLevel::Debug,
            format!("reconnecting in {} ms", self.reconnect_delay_ms),
        );
        self.out
            .set_timer(Timer::Reconnect.id(), self.reconnect_delay_ms);
        self.reconnect_armed = true;
        self.reconnect_delay_ms = timers::next_reconnect_delay(self.reconnect_delay_ms);
    }

    fn cancel_reconnect(&mut self) {
        if self.reconnect_armed {
            self.reconnect_armed = false;
            self.out.cancel_timer(Timer::Reconnect.id());
        }
    }

    fn on_timer(&mut self, id: u32) {
        match Timer::from_id(id) {
            Some(Timer::Reconnect) => {
                self.reconnect_armed = false;
                self.ensure_link();
            }
            Some(Timer::CallDeadline) => {
                self.call_deadline_armed = None;
                let error = CallError::new(
                    CallErrorKind::NotReady,
                    format!(
                        "no link to the device within {} s",
                        timers::CALL_WAIT_MS / 1000
                    ),
                );
                self.out.fail_all(self.waiting.expire(self.now_ms), &error);
                self.arm_call_deadline();
            }
            Some(Timer::Absent) if self.link != Link::Up => {
                self.absent = true;
                self.publish_state();
            }
            Some(Timer::Absent) | None => {}
        }
    }

    /// Arms the call deadline timer for the earliest waiting call (or disarms it).
    fn arm_call_deadline(&mut self) {
        let next = self.waiting.next_deadline();
        if next == self.call_deadline_armed {
            return;
        }
        match next {
            Some(deadline) => {
                self.out.set_timer(
                    Timer::CallDeadline.id(),
                    deadline.saturating_sub(self.now_ms),
                );
            }
            None => self.out.cancel_timer(Timer::CallDeadline.id()),
        }
        self.call_deadline_armed = next;
    }
}

/// The characteristics read and subscribed after every `LinkUp`.
impl BleDriver {
    /// The characteristic with this canonical UUID on the device, as last resolved.
    fn characteristic(&self, uuid: &str) -> Option<&GattCharacteristic> {
        self.services
            .iter()
            .flatten()
            .flat_map(|service| &service.characteristics)
            .find(|characteristic| characteristic.uuid == uuid)
    }

    /// Starts `action` on `uuid` if the device has that characteristic.
    fn start_if_present(&mut self, uuid: &str, action: GattAction, purpose: Purpose) -> bool {
        let present = self.characteristic(uuid).is_some();
        if present {
            let effect = self.operations.start(uuid, action, purpose);
            self.out.push(effect);
        }
        present
    }

    fn read_identity(&mut self) {
        for info in InfoCharacteristic::ALL {
            let uuid = uuid16(info.uuid16());
            self.start_if_present(&uuid, GattAction::Read, Purpose::Identity(info));
        }
    }

    fn read_sensors(&mut self) {
        for sensor in SensorCharacteristic::ALL {
            let uuid = uuid16(sensor.uuid16());
            let purpose = Purpose::Reading {
                sensor,
                outdated: false,
            };
            self.start_if_present(&uuid, GattAction::Read, purpose);
        }
    }

    fn subscribe_sensors(&mut self) {
        for sensor in SensorCharacteristic::ALL {
            let uuid = uuid16(sensor.uuid16());
            let notifies = self.characteristic(&uuid).is_some_and(|characteristic| {
                characteristic
                    .flags
                    .iter()
                    .any(|flag| flag == "notify" || flag == "indicate")
            });
            if notifies
                && self.start_if_present(
                    &uuid,
                    GattAction::Subscribe,
                    Purpose::SensorNotifications(sensor),
                )
            {
                self.sensor_notifications.insert(uuid);
            }
        }
    }

    /// Re-arms the applications' subscriptions; those whose characteristic is gone are dropped.
    fn resubscribe(&mut self) {
        for uuid in self.subscriptions.clone() {
            if self.sensor_notifications.contains(&uuid) {
                continue;
            }
            let purpose = Purpose::Resubscribe(uuid.clone());
            if !self.start_if_present(&uuid, GattAction::Subscribe, purpose) {
                self.subscriptions.remove(&uuid);
                self.out.log(
                    LogLevel::Warn,
                    format!(
                        "characteristic {uuid} is no longer on the device: subscription dropped"
                    ),
                );
            }
        }
    }

    fn on_gatt_done(&mut self, op: u64, result: Result<ByteBuf, String>) {
        let Some(purpose) = self.operations.finish(op) else {
            return;
        };
        match purpose {
            Purpose::Identity(info) => match result {
                Ok(value) => {
                    if let Some(update) = info.update(&value) {
                        self.model_from_device |= info == InfoCharacteristic::Model;
                        self.out.device(update);
                    }
                }
                Err(error) => self.out.log(
                    LogLevel::Warn,
                    format!("reading {} failed: {error}", uuid16(info.uuid16())),
                ),
            },
            Purpose::Reading { sensor, outdated } => {
                match result {
                    // A notification already brought a newer value.
                    Ok(_) if outdated => {}
                    Ok(value) => self.publish_value(sensor, &value),
                    Err(error) => self.out.log(
                        LogLevel::Warn,
                        format!("reading {} failed: {error}", uuid16(sensor.uuid16())),
                    ),
                }
                if !self.operations.reading() {
                    for call in std::mem::take(&mut self.refresh_calls) {
                        self.out.reply(call, Ok(CallReply::Done));
                    }
                }
            }
            Purpose::SensorNotifications(sensor) => {
                if let Err(error) = result {
                    let uuid = uuid16(sensor.uuid16());
                    self.out.log(
                        LogLevel::Warn,
                        format!("subscribing to {uuid} failed: {error}"),
                    );
                    self.sensor_notifications.remove(&uuid);
                }
            }
            Purpose::Resubscribe(uuid) => {
                if let Err(error) = result {
                    self.out.log(
                        LogLevel::Warn,
                        format!("re-subscribing to {uuid} failed: {error}"),
                    );
                }
            }
            Purpose::Call {
                call,
                characteristic,
                action,
            } => self.finish_call(call, characteristic, action, result),
        }
    }

    fn on_notification(&mut self, characteristic: String, value: Vec<u8>) {
        if self.sensor_notifications.contains(&characteristic)
            && let Some(sensor) = SensorCharacteristic::from_uuid(&characteristic)
        {
            self.publish_value(sensor, &value);
            self.operations.outdate_readings(sensor);
        }
        if self.subscriptions.contains(&characteristic) {
            self.out.push(Effect::Notify {
                characteristic,
                value,
            });
        }
    }
}

/// Advertisements.
impl BleDriver {
    fn on_advertisement(&mut self, advertisement: Advertisement) {
        self.seen = true;
        self.absent = false;
        if self.config.absent_after_ms > 0 {
            self.out
                .set_timer(Timer::Absent.id(), self.config.absent_after_ms);
        }
        if let Some(rssi) = advertisement.rssi {
            self.publish_rssi(rssi);
        }
        if let Some(name) = &advertisement.name {
            self.publish_name(name);
        }
        match advertisement
            .service_data
            .get(&uuid16(bthome::SERVICE_UUID16))
        {
            Some(data) => self.on_bthome(data),
            None if self.config.connect == ConnectMode::Auto
                && advertises_gatt_sensor(&advertisement) =>
            {
                self.gatt_sensor = true;
            }
            None => {}
        }
        self.ensure_link();
    }

    fn on_bthome(&mut self, data: &[u8]) {
        let key = self.config.bthome_key;
        let packet = match bthome::decode(data, key.as_ref(), &self.config.address) {
            Ok(packet) => packet,
            Err(error) => return self.warn_once(error.to_string()),
        };
        if let Some(id) = packet.packet_id
            && self.last_packet_id.replace(id) == Some(id)
        {
            // The same measurement advertised again: not new readings, but proof they still hold.
            return self.confirm_readings();
        }
        if let Some(stop) = packet.stopped {
            self.warn_once(stop.to_string());
        }
        if !packet.readings.is_empty() {
            self.publish_readings(packet.readings);
        }
    }

    fn publish_rssi(&mut self, rssi: i16) {
        if self.last_rssi.replace(rssi) == Some(rssi) {
            return;
        }
        self.out.signal(SignalUpdate {
            rssi: Some(i32::from(rssi)),
            quality: Some(quality_from_rssi(rssi)),
            updated_at: Some(self.unix_time),
            ..SignalUpdate::default()
        });
    }

    /// The advertised name is the model until the device reports one.
    fn publish_name(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() || self.model_from_device || self.published_name.as_deref() == Some(name)
        {
            return;
        }
        self.published_name = Some(name.to_owned());
        self.out.device(DeviceUpdate {
            model: Some(name.to_owned()),
            ..DeviceUpdate::default()
        });
    }
}

/// Whether the advertisement shows a standard GATT sensor service.
fn advertises_gatt_sensor(advertisement: &Advertisement) -> bool {
    [ENVIRONMENTAL_SENSING, BATTERY_SERVICE]
        .map(uuid16)
        .iter()
        .any(|uuid| advertisement.services.contains(uuid))
}

/// Calls.
impl BleDriver {
    fn on_call(&mut self, call: u64, request: Request) {
        match request {
            Request::Refresh => self.on_refresh(call),
            Request::Connect => self.on_connect(call),
            Request::Disconnect => self.on_disconnect(call),
            Request::GattRead { characteristic } => {
                self.gatt_call(call, characteristic, GattAction::Read);
            }
            Request::GattWrite {
                characteristic,
                value,
                with_response,
            } => self.gatt_call(
                call,
                characteristic,
                GattAction::Write {
                    value,
                    with_response,
                },
            ),
            Request::GattSubscribe { characteristic } => {
                self.gatt_call(call, characteristic, GattAction::Subscribe);
            }
            Request::GattUnsubscribe { characteristic } => {
                self.gatt_call(call, characteristic, GattAction::Unsubscribe);
            }
            other => {
                // The variant name (`Reset`, `Send`, ...) names the request; `Request` is
                // non-exhaustive, so it is taken from the debug form rather than listed.
                let debug = format!("{other:?}");
                let name = debug.split([' ', '(', '{']).next().unwrap_or_default();
                self.out.reply(
                    call,
                    Err(CallError::new(
                        CallErrorKind::NotSupported,
                        format!("{name} is not supported by BLE devices"),
                    )),
                );
            }
        }
    }

    fn on_refresh(&mut self, call: u64) {
        if self.link == Link::Up {
            self.refresh_now(call);
        } else if !self.gatt_sensor {
            // Advertised readings arrive by themselves.
            self.out.reply(call, Ok(CallReply::Done));
        } else if self.policy == LinkPolicy::HeldDown {
            self.out.reply(call, Err(held_down()));
        } else {
            self.wait_for_link(call, Wanted::Refresh);
        }
    }

    /// Reads the sensor values (unless a read is under way) and answers `call` once read.
    fn refresh_now(&mut self, call: u64) {
        if !self.operations.reading() {
            self.read_sensors();
        }
        if self.operations.reading() {
            self.refresh_calls.push(call);
        } else {
            self.out.reply(call, Ok(CallReply::Done));
        }
    }

    fn on_connect(&mut self, call: u64) {
        self.policy = LinkPolicy::Requested;
        if self.link == Link::Up {
            self.out.reply(call, Ok(CallReply::Done));
        } else {
            self.wait_for_link(call, Wanted::Link);
        }
    }

    fn on_disconnect(&mut self, call: u64) {
        self.policy = LinkPolicy::HeldDown;
        let was = self.link;
        self.reset_link(&CallError::new(
            CallErrorKind::NotReady,
            "the link was disconnected on request",
        ));
        if was != Link::Down {
            self.out.push(Effect::Disconnect);
        }
        if was == Link::Up {
            self.out.device(DeviceUpdate {
                connected: Some(false),
                ..DeviceUpdate::default()
            });
        }
        self.out.reply(call, Ok(CallReply::Done));
    }

    fn gatt_call(&mut self, call: u64, characteristic: String, action: GattAction) {
        if self.link == Link::Up {
            self.start_call(call, characteristic, action);
        } else if action == GattAction::Unsubscribe {
            // Nothing is armed while the link is down; it just will not be re-armed.
            self.subscriptions.remove(&characteristic);
            self.out.reply(call, Ok(CallReply::Done));
        } else if self.policy == LinkPolicy::HeldDown {
            self.out.reply(call, Err(held_down()));
        } else if self.services.is_some() && self.characteristic(&characteristic).is_none() {
            self.out.reply(call, Err(absent(&characteristic)));
        } else {
            self.wait_for_link(
                call,
                Wanted::Gatt {
                    characteristic,
                    action,
                },
            );
        }
    }

    /// `call` waits for the link, which comes up now.
    fn wait_for_link(&mut self, call: u64, wanted: Wanted) {
        self.waiting.push(call, wanted, self.now_ms);
        self.connect_now();
        self.arm_call_deadline();
    }

    /// The link came up for a waiting call.
    fn resume(&mut self, waiting: WaitingCall) {
        match waiting.wanted {
            Wanted::Link => self.out.reply(waiting.call, Ok(CallReply::Done)),
            Wanted::Refresh => self.refresh_now(waiting.call),
            Wanted::Gatt {
                characteristic,
                action,
            } => self.start_call(waiting.call, characteristic, action),
        }
    }

    /// Runs a GATT call on the link that is up.
    fn start_call(&mut self, call: u64, characteristic: String, action: GattAction) {
        if self.characteristic(&characteristic).is_none() {
            return self.out.reply(call, Err(absent(&characteristic)));
        }
        let sensor_uses = self.sensor_notifications.contains(&characteristic);
        let already_on = sensor_uses || self.subscriptions.contains(&characteristic);
        match action {
            GattAction::Subscribe if already_on => {
                self.subscriptions.insert(characteristic);
                return self.out.reply(call, Ok(CallReply::Done));
            }
            GattAction::Unsubscribe
                if !self.subscriptions.remove(&characteristic) || sensor_uses =>
            {
                return self.out.reply(call, Ok(CallReply::Done));
            }
            _ => {}
        }
        let effect = self.operations.start(
            &characteristic,
            action.clone(),
            Purpose::Call {
                call,
                characteristic: characteristic.clone(),
                action,
            },
        );
        self.out.push(effect);
    }

    fn finish_call(
        &mut self,
        call: u64,
        characteristic: String,
        action: GattAction,
        result: Result<ByteBuf, String>,
    ) {
        let reply = match (result, &action) {
            (Ok(value), GattAction::Read) => Ok(CallReply::Bytes(value.into_vec())),
            (Ok(_), GattAction::Subscribe) => {
                self.subscriptions.insert(characteristic);
                Ok(CallReply::Done)
            }
            (Ok(_), _) => Ok(CallReply::Done),
            (Err(error), action) => {
                let doing = match action {
                    GattAction::Read => "reading",
                    GattAction::Write { .. } => "writing",
                    GattAction::Subscribe => "subscribing to",
                    GattAction::Unsubscribe => "unsubscribing from",
                };
                Err(CallError::new(
                    CallErrorKind::Failed,
                    format!("{doing} {characteristic} failed: {error}"),
                ))
            }
        };
        self.out.reply(call, reply);
    }
}

/// The error of a call for a characteristic the device does not have.
fn absent(characteristic: &str) -> CallError {
    CallError::new(
        CallErrorKind::InvalidArgument,
        format!("characteristic {characteristic} is not on this device"),
    )
}

/// The error of a call that needs the link while an application holds it down.
fn held_down() -> CallError {
    CallError::new(
        CallErrorKind::NotReady,
        "the link is disconnected on request: call Connect first",
    )
}

/// Effects.
impl BleDriver {
    /// Logs a warning the first time it occurs.
    fn warn_once(&mut self, message: String) {
        if self.warned.insert(message.clone()) {
            self.out.log(LogLevel::Warn, message);
        }
    }

    /// Publishes the value of a sensor characteristic.
    fn publish_value(&mut self, sensor: SensorCharacteristic, value: &[u8]) {
        match sensor.decode(value) {
            Ok(Some(reading)) => {
                self.publish_readings(vec![(sensor.reading_key().to_owned(), reading)]);
            }
            Ok(None) => {}
            Err(error) => self.warn_once(error.to_string()),
        }
    }

    fn publish_readings(&mut self, readings: Vec<(String, f64)>) {
        self.sensor_published_at = Some(self.unix_time);
        self.out.push(Effect::Sensor(SensorUpdate {
            readings: readings.into_iter().collect(),
            updated_at: Some(self.unix_time),
        }));
    }

    /// An advertisement repeated the published readings: `UpdatedAt` moves on to now, so a
    /// steady sensor can be told from a silent one. At most once per second (the resolution of
    /// `UpdatedAt`), however often the sensor advertises.
    fn confirm_readings(&mut self) {
        let Some(published_at) = self.sensor_published_at else {
            return;
        };
        if published_at == self.unix_time {
            return;
        }
        self.sensor_published_at = Some(self.unix_time);
        self.out.push(Effect::Sensor(SensorUpdate {
            readings: Default::default(),
            updated_at: Some(self.unix_time),
        }));
    }

    /// The `State` and `StateReason` the device has now.
    fn state(&self) -> (&'static str, &'static str) {
        match self.link_trouble {
            Some(reason) if self.link_required() && self.link != Link::Up => ("offline", reason),
            _ if self.absent && self.link != Link::Up => ("offline", "out-of-range"),
            _ if self.seen => ("ready", ""),
            _ => ("initializing", ""),
        }
    }

    /// Publishes `State` and `StateReason` when they changed.
    fn publish_state(&mut self) {
        let state = self.state();
        if self.published_state == Some(state) {
            return;
        }
        self.published_state = Some(state);
        let (state, reason) = state;
        self.out.device(DeviceUpdate {
            state: Some(state.to_owned()),
            state_reason: Some(reason.to_owned()),
            ..DeviceUpdate::default()
        });
    }
}
