//! Test helpers: a private bus with the fake on it, a recorder of what org.bluez signals, and
//! peripherals to play with.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use m2mhal_fake_bluez::bus::PrivateBus;
use m2mhal_fake_bluez::{
    CharSpec, DescSpec, Event, FakeBluez, PeripheralSpec, ServiceSpec, WriteType,
};
use zbus::message::Type;
use zbus::{Connection, MatchRule, MessageStream, OwnedObjectPath, OwnedVariant, Variant};

/// How long a test waits for anything.
pub const WAIT: Duration = Duration::from_secs(10);

/// A private bus with the fake serving org.bluez on it.
pub async fn start_fake() -> (PrivateBus, FakeBluez) {
    let bus = PrivateBus::start().await.unwrap();
    let bluez = FakeBluez::start(bus.connect().await.unwrap())
        .await
        .unwrap();
    (bus, bluez)
}

/// The characteristic writes the fake saw so far: value and write type, in order.
pub fn writes(bluez: &FakeBluez) -> Vec<(Vec<u8>, WriteType)> {
    bluez
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Write {
                value, write_type, ..
            } => Some((value, write_type)),
            _ => None,
        })
        .collect()
}

/// The signals org.bluez sends, one line each, in order:
/// `PropertiesChanged <path> <interface> <Name>=<value> ... -<Invalidated>`,
/// `InterfacesAdded <path> <interfaces>`, `InterfacesRemoved <path> <interfaces>`,
/// `Disconnected <path> <reason>`.
pub struct SignalRecorder {
    lines: Arc<Mutex<Vec<String>>>,
}

impl SignalRecorder {
    /// Starts recording on `conn`.
    pub async fn start(conn: &Connection) -> SignalRecorder {
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender("org.bluez")
            .build()
            .unwrap();
        let mut stream = MessageStream::for_match_rule(rule, conn, None)
            .await
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if let Some(line) = describe(&message) {
                    sink.lock().unwrap().push(line);
                }
            }
        });
        SignalRecorder { lines }
    }

    /// Everything recorded so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.lines.lock().unwrap().clear();
    }

    /// Waits until a line equal to `line` was recorded; returns all lines so far.
    pub async fn wait_for(&self, line: &str) -> Vec<String> {
        for _ in 0..(WAIT.as_millis() / 10) {
            let lines = self.lines();
            if lines.iter().any(|l| l == line) {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no signal {line:?}; got:\n{}", self.lines().join("\n"));
    }
}

fn describe(message: &zbus::Message) -> Option<String> {
    let header = message.header();
    let path = header.path()?.to_string();
    let body = message.body();
    match header.member()?.as_str() {
        "PropertiesChanged" => {
            let (interface, changed, invalidated): (
                String,
                HashMap<String, OwnedVariant>,
                Vec<String>,
            ) = body.deserialize().ok()?;
            let mut parts: Vec<String> = changed
                .iter()
                .map(|(name, value)| format!("{name}={}", show(value)))
                .collect();
            parts.sort();
            parts.extend(invalidated.iter().map(|name| format!("-{name}")));
            Some(format!(
                "PropertiesChanged {path} {interface} {}",
                parts.join(" ")
            ))
        }
        "InterfacesAdded" => {
            let (object, interfaces): (
                OwnedObjectPath,
                HashMap<String, HashMap<String, OwnedVariant>>,
            ) = body.deserialize().ok()?;
            let mut names: Vec<&String> = interfaces.keys().collect();
            names.sort();
            Some(format!("InterfacesAdded {} {names:?}", object.as_str()))
        }
        "InterfacesRemoved" => {
            let (object, interfaces): (OwnedObjectPath, Vec<String>) = body.deserialize().ok()?;
            Some(format!(
                "InterfacesRemoved {} {interfaces:?}",
                object.as_str()
            ))
        }
        "Disconnected" => {
            let (name, _message): (String, String) = body.deserialize().ok()?;
            Some(format!("Disconnected {path} {name}"))
        }
        _ => None,
    }
}

/// A property value in a transcript: scalars, strings and paths plain, byte arrays as hex,
/// lists as `[a, b]`, dictionaries as `{k: v}` sorted by key.
pub fn show(value: &Variant<'_>) -> String {
    match value {
        Variant::U8(v) => v.to_string(),
        Variant::Bool(v) => v.to_string(),
        Variant::I16(v) => v.to_string(),
        Variant::U16(v) => v.to_string(),
        Variant::U32(v) => v.to_string(),
        Variant::Str(v) => v.to_string(),
        Variant::ObjectPath(v) => v.to_string(),
        Variant::Variant(v) => show(v),
        Variant::Array(array) if array.element_signature() == "y" => array
            .inner()
            .iter()
            .filter_map(|b| u8::try_from(b).ok())
            .map(|b| format!("{b:02x}"))
            .collect(),
        Variant::Array(array) => {
            let items: Vec<String> = array.inner().iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        Variant::Dict(dict) => {
            let mut entries: Vec<String> = dict
                .iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect();
            entries.sort();
            format!("{{{}}}", entries.join(", "))
        }
        other => format!("{other}"),
    }
}

/// A Xiaomi-like plant sensor: advertises service data on FE95, serves a battery service with
/// a notifying level and a vendor service with a writable command characteristic.
pub fn plant_sensor() -> PeripheralSpec {
    PeripheralSpec {
        address: "C4:7C:8D:6A:11:22".parse().unwrap(),
        name: Some("Flower care".into()),
        rssi: -48,
        service_data: [("fe95".to_owned(), vec![0x71, 0x20, 0x98, 0x00])].into(),
        manufacturer_data: [(0x0157u16, vec![0x01, 0x02])].into(),
        uuids: vec!["fe95".into()],
        services: vec![
            ServiceSpec {
                uuid: "180f".into(),
                primary: true,
                characteristics: vec![CharSpec {
                    uuid: "2a19".into(),
                    flags: vec!["read".into(), "notify".into()],
                    value: vec![100],
                    descriptors: vec![],
                }],
            },
            ServiceSpec {
                uuid: "00001204-0000-1000-8000-00805f9b34fb".into(),
                primary: true,
                characteristics: vec![CharSpec {
                    uuid: "00001a00-0000-1000-8000-00805f9b34fb".into(),
                    flags: vec![
                        "read".into(),
                        "write".into(),
                        "write-without-response".into(),
                    ],
                    value: vec![0x00, 0x00],
                    descriptors: vec![DescSpec {
                        uuid: "2901".into(),
                        flags: vec!["read".into()],
                        value: b"mode".to_vec(),
                    }],
                }],
            },
        ],
        ..Default::default()
    }
}

/// A second peripheral, without the FE95 UUID.
pub fn thermometer() -> PeripheralSpec {
    PeripheralSpec {
        address: "A4:C1:38:00:00:01".parse().unwrap(),
        address_type: m2mhal_fake_bluez::AddressType::Random,
        name: Some("LYWSD03MMC".into()),
        rssi: -80,
        ..Default::default()
    }
}
