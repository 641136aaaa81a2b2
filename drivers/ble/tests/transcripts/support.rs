//! A fake host for transcript tests: it feeds the driver events, keeps the clock and the armed
//! timers, and records every effect, so that a test reads like a BLE log:
//!
//! ```ignore
//! sensor.expect_connect();
//! sensor.link_up(ess_services());
//! sensor.read("2a19", &[90]);
//! ```

use std::collections::{BTreeMap, VecDeque};

use m2mhal_driver_ble::BleDriver;
use m2mhal_plugin_api::ble::{
    Advertisement, GattAction, GattCharacteristic, GattOp, GattService, normalize_uuid,
};
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{
    CallError, CallReply, DeviceUpdate, Effect, Event, Input, LogLevel, OpenConfig, Request,
    SensorUpdate, SignalUpdate,
};
use serde_bytes::ByteBuf;

/// Unix time at `now_ms == 0`.
pub const EPOCH: u64 = 1_700_000_000;
/// The peripheral's address (the one of the bthome.io encryption example).
pub const ADDRESS: &str = "54:48:E6:8F:80:A5";
/// The key of the bthome.io encryption example.
pub const EXAMPLE_KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";
/// A vendor characteristic (readable, writable, notifying) next to the standard ones.
pub const VENDOR: &str = "12345678-1234-5678-1234-56789abcdef0";

/// The link requests the driver made, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequest {
    Connect,
    Disconnect,
}

/// The driver and everything it asked the host to do.
pub struct Peripheral {
    driver: BleDriver,
    now_ms: u64,
    timers: BTreeMap<u32, u64>,
    link_requests: VecDeque<LinkRequest>,
    gatt: VecDeque<GattOp>,
    next_call: u64,
    /// Replies by call id.
    pub replies: BTreeMap<u64, Result<CallReply, CallError>>,
    /// Every `Effect::Device`, in order.
    pub devices: Vec<DeviceUpdate>,
    /// Every `Effect::Signal`, in order.
    pub signals: Vec<SignalUpdate>,
    /// Every `Effect::Sensor`, in order.
    pub sensors: Vec<SensorUpdate>,
    /// Every `Effect::Notify`: characteristic and value.
    pub notifications: Vec<(String, Vec<u8>)>,
    /// Every `Effect::Log`.
    pub logs: Vec<(LogLevel, String)>,
}

/// The canonical UUID of `text` (`2a19`, or a 128-bit UUID).
pub fn uuid(text: &str) -> String {
    normalize_uuid(text).unwrap_or_else(|| panic!("{text} is not a UUID"))
}

/// Bytes from hex digits, spaces ignored.
pub fn hex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A service with characteristics given as (UUID, flags).
pub fn service(uuid_text: &str, characteristics: &[(&str, &[&str])]) -> GattService {
    GattService {
        uuid: uuid(uuid_text),
        characteristics: characteristics
            .iter()
            .map(|(c, flags)| GattCharacteristic {
                uuid: uuid(c),
                flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            })
            .collect(),
    }
}

/// A GATT environmental sensor: Device Information, Battery (notifying), Environmental Sensing
/// with notifying temperature and humidity and a read-only pressure, and a vendor service.
pub fn ess_services() -> Vec<GattService> {
    vec![
        service("1800", &[("2a00", &["read"])]),
        service(
            "180a",
            &[
                ("2a29", &["read"]),
                ("2a24", &["read"]),
                ("2a26", &["read"]),
                ("2a25", &["read"]),
            ],
        ),
        service("180f", &[("2a19", &["read", "notify"])]),
        service(
            "181a",
            &[
                ("2a6e", &["read", "notify"]),
                ("2a6f", &["read", "indicate"]),
                ("2a6d", &["read"]),
            ],
        ),
        service(
            "12345678-1234-5678-1234-56789abcdef1",
            &[(VENDOR, &["read", "write", "notify"])],
        ),
    ]
}

/// The advertisement of the GATT sensor.
pub fn ess_advertisement(rssi: i16) -> Advertisement {
    Advertisement {
        address: ADDRESS.into(),
        name: Some("ESS-Sensor".into()),
        rssi: Some(rssi),
        services: vec![uuid("181a"), uuid("180f")],
        ..Advertisement::default()
    }
}

/// A BTHome advertisement with this service data (hex) and name.
pub fn bthome_advertisement(service_data: &str, rssi: i16) -> Advertisement {
    Advertisement {
        address: ADDRESS.into(),
        name: Some("DIY-sensor".into()),
        rssi: Some(rssi),
        service_data: [(uuid("fcd2"), ByteBuf::from(hex(service_data)))].into(),
        ..Advertisement::default()
    }
}

impl Peripheral {
    /// A driver opened with these options (the device is not `Opened` yet).
    pub fn with_options(options: &[(&str, &str)]) -> Self {
        let config = OpenConfig {
            port: ADDRESS.into(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..OpenConfig::default()
        };
        Peripheral {
            driver: BleDriver::open(config).unwrap(),
            now_ms: 0,
            timers: BTreeMap::new(),
            link_requests: VecDeque::new(),
            gatt: VecDeque::new(),
            next_call: 1,
            replies: BTreeMap::new(),
            devices: Vec::new(),
            signals: Vec::new(),
            sensors: Vec::new(),
            notifications: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// A driver with default options, `Opened`.
    pub fn opened() -> Self {
        let mut peripheral = Self::with_options(&[]);
        peripheral.input(Event::Opened);
        peripheral
    }

    /// Hands one event to the driver and records its effects.
    pub fn input(&mut self, event: Event) {
        let input = Input {
            now_ms: self.now_ms,
            unix_time: self.unix_time(),
            event,
        };
        for effect in self.driver.handle(input) {
            match effect {
                Effect::SetTimer { id, after_ms } => {
                    self.timers.insert(id, self.now_ms + after_ms);
                }
                Effect::CancelTimer(id) => {
                    self.timers.remove(&id);
                }
                Effect::Reply { call, result } => {
                    let earlier = self.replies.insert(call, result);
                    assert!(earlier.is_none(), "call {call} answered twice");
                }
                Effect::Connect => self.link_requests.push_back(LinkRequest::Connect),
                Effect::Disconnect => self.link_requests.push_back(LinkRequest::Disconnect),
                Effect::Gatt(op) => self.gatt.push_back(op),
                Effect::Device(update) => self.devices.push(update),
                Effect::Signal(update) => self.signals.push(update),
                Effect::Sensor(update) => self.sensors.push(update),
                Effect::Notify {
                    characteristic,
                    value,
                } => self.notifications.push((characteristic, value)),
                Effect::Log { level, message } => self.logs.push((level, message)),
                other => panic!("a BLE driver asked for {other:?}"),
            }
        }
    }

    /// Unix time now.
    pub fn unix_time(&self) -> u64 {
        EPOCH + self.now_ms / 1000
    }

    /// The peripheral advertised.
    pub fn advertise(&mut self, advertisement: Advertisement) {
        self.input(Event::Advertisement(advertisement));
    }

    /// The link came up with these services.
    pub fn link_up(&mut self, services: Vec<GattService>) {
        self.input(Event::LinkUp { services });
    }

    /// The link went down (or a connection attempt failed).
    pub fn link_down(&mut self, reason: &str) {
        self.input(Event::LinkDown {
            reason: reason.into(),
        });
    }

    /// The next link request must be `expected`.
    #[track_caller]
    pub fn expect_link_request(&mut self, expected: LinkRequest) {
        assert_eq!(self.link_requests.pop_front(), Some(expected));
    }

    /// The next link request must be `Connect`.
    #[track_caller]
    pub fn expect_connect(&mut self) {
        self.expect_link_request(LinkRequest::Connect);
    }

    /// No link request is pending.
    #[track_caller]
    pub fn expect_no_link_request(&mut self) {
        assert_eq!(self.link_requests.pop_front(), None);
    }

    /// The next GATT operation must be `action` on `characteristic` (short or long form);
    /// returns its op id.
    #[track_caller]
    pub fn expect_gatt(&mut self, characteristic: &str, action: GattAction) -> u64 {
        let op = self
            .gatt
            .pop_front()
            .unwrap_or_else(|| panic!("no GATT operation, expected {action:?} {characteristic}"));
        assert_eq!(
            (op.characteristic.as_str(), &op.action),
            (uuid(characteristic).as_str(), &action),
            "unexpected GATT operation"
        );
        op.op
    }

    /// No GATT operation is pending.
    #[track_caller]
    pub fn expect_no_gatt(&mut self) {
        let pending: Vec<&GattOp> = self.gatt.iter().collect();
        assert!(
            pending.is_empty(),
            "unexpected GATT operations: {pending:?}"
        );
    }

    /// The host finished operation `op`.
    pub fn done(&mut self, op: u64, result: Result<Vec<u8>, &str>) {
        self.input(Event::GattDone {
            op,
            result: result.map(ByteBuf::from).map_err(str::to_owned),
        });
    }

    /// The next operation reads `characteristic` and the device answers `value`.
    #[track_caller]
    pub fn read(&mut self, characteristic: &str, value: &[u8]) {
        let op = self.expect_gatt(characteristic, GattAction::Read);
        self.done(op, Ok(value.to_vec()));
    }

    /// The next operation subscribes to `characteristic` and succeeds.
    #[track_caller]
    pub fn subscribe(&mut self, characteristic: &str) {
        let op = self.expect_gatt(characteristic, GattAction::Subscribe);
        self.done(op, Ok(Vec::new()));
    }

    /// The device notified `value` on `characteristic`.
    pub fn notify(&mut self, characteristic: &str, value: &[u8]) {
        self.input(Event::Notification {
            characteristic: uuid(characteristic),
            value: value.to_vec(),
        });
    }

    /// Lets `ms` pass, firing due timers in order.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        while let Some((&id, &due)) = self
            .timers
            .iter()
            .filter(|(_, due)| **due <= end)
            .min_by_key(|(_, due)| **due)
        {
            self.timers.remove(&id);
            self.now_ms = due;
            self.input(Event::Timer(id));
        }
        self.now_ms = end;
    }

    /// An application call; returns its id.
    pub fn call(&mut self, request: Request) -> u64 {
        let call = self.next_call;
        self.next_call += 1;
        self.input(Event::Call { call, request });
        call
    }

    /// The reply to `call`, which must have come.
    #[track_caller]
    pub fn reply(&self, call: u64) -> Result<CallReply, CallError> {
        self.replies
            .get(&call)
            .cloned()
            .unwrap_or_else(|| panic!("call {call} not answered"))
    }

    /// Whether `call` was answered.
    pub fn answered(&self, call: u64) -> bool {
        self.replies.contains_key(&call)
    }

    /// The last published state and reason.
    #[track_caller]
    pub fn state(&self) -> (&str, &str) {
        let last = self
            .devices
            .iter()
            .rev()
            .find(|update| update.state.is_some())
            .expect("no state published");
        (
            last.state.as_deref().unwrap_or_default(),
            last.state_reason.as_deref().unwrap_or_default(),
        )
    }

    /// All device updates folded into one, as the host's view of the device.
    pub fn device(&self) -> DeviceUpdate {
        let mut view = DeviceUpdate::default();
        for update in self.devices.iter().cloned() {
            macro_rules! fold {
                ($($field:ident),*) => { $( if update.$field.is_some() { view.$field = update.$field; } )* };
            }
            fold!(
                id,
                kind,
                manufacturer,
                model,
                revision,
                serial_number,
                state,
                state_reason,
                capabilities,
                connected,
                services
            );
        }
        view
    }

    /// All signal updates folded into one.
    pub fn signal(&self) -> SignalUpdate {
        let mut view = SignalUpdate::default();
        for update in self.signals.iter().cloned() {
            macro_rules! fold {
                ($($field:ident),*) => { $( if update.$field.is_some() { view.$field = update.$field; } )* };
            }
            fold!(quality, rssi, technology, updated_at);
        }
        view
    }

    /// All sensor readings merged by key, as `Sensor.Readings`.
    pub fn readings(&self) -> BTreeMap<String, f64> {
        self.sensors
            .iter()
            .flat_map(|update| update.readings.clone())
            .collect()
    }

    /// Log lines at `level` containing `text`.
    pub fn logged(&self, level: LogLevel, text: &str) -> usize {
        self.logs
            .iter()
            .filter(|(l, message)| *l == level && message.contains(text))
            .count()
    }

    /// Whether timer `id` is armed, and when it is due.
    pub fn timer_due(&self, id: u32) -> Option<u64> {
        self.timers.get(&id).copied()
    }

    /// Milliseconds since the start.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
}

/// A GATT sensor that advertised, connected, was read and subscribed: temperature 25.14 C,
/// humidity 50.00 %, pressure 1013.25 hPa, battery 90 %.
pub fn connected_sensor() -> Peripheral {
    let mut sensor = Peripheral::opened();
    sensor.advertise(ess_advertisement(-70));
    sensor.expect_connect();
    sensor.link_up(ess_services());
    answer_link_up_reads(&mut sensor);
    sensor.subscribe("2a19");
    sensor.subscribe("2a6e");
    sensor.subscribe("2a6f");
    sensor.expect_no_gatt();
    assert_eq!(sensor.state(), ("ready", ""));
    sensor
}

/// Answers the reads every `LinkUp` of the sensor starts: Device Information, then the values.
pub fn answer_link_up_reads(sensor: &mut Peripheral) {
    sensor.read("2a29", b"Acme Sensors\0");
    sensor.read("2a24", b"ESS-1");
    sensor.read("2a26", b"2.1.0");
    sensor.read("2a25", b"SN0042");
    sensor.read("2a19", &[90]);
    sensor.read("2a6e", &hex("D209"));
    sensor.read("2a6f", &hex("8813"));
    sensor.read("2a6d", &hex("02760F00"));
}
