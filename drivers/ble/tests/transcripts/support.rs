//! The peripheral side of the transcript tests. The fake host is the testkit's [`Host`]; here are
//! the BLE events and expectations ([`BleTranscript`]) and the services and advertisements of the
//! test devices, so that a test reads like a BLE log:
//!
//! ```ignore
//! sensor.expect_connect();
//! sensor.link_up(ess_services());
//! sensor.read("2a19", &[90]);
//! ```

use m2mhal_driver_ble::BleDriver;
use m2mhal_driver_testkit::Host;
pub use m2mhal_driver_testkit::{EPOCH, LinkRequest};
use m2mhal_plugin_api::Event;
use m2mhal_plugin_api::ble::{
    Advertisement, GattAction, GattCharacteristic, GattOp, GattService, normalize_uuid,
};
use serde_bytes::ByteBuf;

/// The peripheral's address (the one of the bthome.io encryption example).
pub const ADDRESS: &str = "54:48:E6:8F:80:A5";
/// The key of the bthome.io encryption example.
pub const EXAMPLE_KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";
/// A vendor characteristic (readable, writable, notifying) next to the standard ones.
pub const VENDOR: &str = "12345678-1234-5678-1234-56789abcdef0";

/// The BLE driver in the fake host, for the peripheral at [`ADDRESS`].
pub type Peripheral = Host<BleDriver>;

/// A driver opened with these options (the device is not `Opened` yet).
pub fn peripheral_with(options: &[(&str, &str)]) -> Peripheral {
    Host::ble_peripheral(ADDRESS, options)
}

/// A driver with default options, `Opened`.
pub fn opened_peripheral() -> Peripheral {
    let mut peripheral = peripheral_with(&[]);
    peripheral.open();
    peripheral
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

/// The BLE side of a transcript: events from the peripheral and the host, and the link requests
/// and GATT operations the driver must have made.
pub trait BleTranscript {
    /// The peripheral advertised.
    fn advertise(&mut self, advertisement: Advertisement);
    /// The link came up with these services.
    fn link_up(&mut self, services: Vec<GattService>);
    /// The link went down (or a connection attempt failed).
    fn link_down(&mut self, reason: &str);
    /// The next link request must be `expected`.
    fn expect_link_request(&mut self, expected: LinkRequest);
    /// The next link request must be `Connect`.
    fn expect_connect(&mut self);
    /// No link request is pending.
    fn expect_no_link_request(&mut self);
    /// The next GATT operation must be `action` on `characteristic` (short or long form);
    /// returns its op id.
    fn expect_gatt(&mut self, characteristic: &str, action: GattAction) -> u64;
    /// No GATT operation is pending.
    fn expect_no_gatt(&mut self);
    /// The host finished operation `op`.
    fn done(&mut self, op: u64, result: Result<Vec<u8>, &str>);
    /// The next operation reads `characteristic` and the device answers `value`.
    fn read(&mut self, characteristic: &str, value: &[u8]);
    /// The next operation subscribes to `characteristic` and succeeds.
    fn subscribe(&mut self, characteristic: &str);
    /// The device notified `value` on `characteristic`.
    fn notify(&mut self, characteristic: &str, value: &[u8]);
}

impl BleTranscript for Peripheral {
    fn advertise(&mut self, advertisement: Advertisement) {
        self.input(Event::Advertisement(advertisement));
    }

    fn link_up(&mut self, services: Vec<GattService>) {
        self.input(Event::LinkUp { services });
    }

    fn link_down(&mut self, reason: &str) {
        self.input(Event::LinkDown {
            reason: reason.into(),
        });
    }

    #[track_caller]
    fn expect_link_request(&mut self, expected: LinkRequest) {
        assert_eq!(self.take_link_request(), Some(expected));
    }

    #[track_caller]
    fn expect_connect(&mut self) {
        self.expect_link_request(LinkRequest::Connect);
    }

    #[track_caller]
    fn expect_no_link_request(&mut self) {
        assert_eq!(self.take_link_request(), None);
    }

    #[track_caller]
    fn expect_gatt(&mut self, characteristic: &str, action: GattAction) -> u64 {
        let op = self
            .take_gatt()
            .unwrap_or_else(|| panic!("no GATT operation, expected {action:?} {characteristic}"));
        assert_eq!(
            (op.characteristic.as_str(), &op.action),
            (uuid(characteristic).as_str(), &action),
            "unexpected GATT operation"
        );
        op.op
    }

    #[track_caller]
    fn expect_no_gatt(&mut self) {
        let pending: Vec<GattOp> = std::iter::from_fn(|| self.take_gatt()).collect();
        assert!(
            pending.is_empty(),
            "unexpected GATT operations: {pending:?}"
        );
    }

    fn done(&mut self, op: u64, result: Result<Vec<u8>, &str>) {
        self.input(Event::GattDone {
            op,
            result: result.map(ByteBuf::from).map_err(str::to_owned),
        });
    }

    #[track_caller]
    fn read(&mut self, characteristic: &str, value: &[u8]) {
        let op = self.expect_gatt(characteristic, GattAction::Read);
        self.done(op, Ok(value.to_vec()));
    }

    #[track_caller]
    fn subscribe(&mut self, characteristic: &str) {
        let op = self.expect_gatt(characteristic, GattAction::Subscribe);
        self.done(op, Ok(Vec::new()));
    }

    fn notify(&mut self, characteristic: &str, value: &[u8]) {
        self.input(Event::Notification {
            characteristic: uuid(characteristic),
            value: value.to_vec(),
        });
    }
}

/// A GATT sensor that advertised, connected, was read and subscribed: temperature 25.14 C,
/// humidity 50.00 %, pressure 1013.25 hPa, battery 90 %.
pub fn connected_sensor() -> Peripheral {
    let mut sensor = opened_peripheral();
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
