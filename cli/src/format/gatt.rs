//! GATT UUIDs for people: the names of the common standard services and characteristics.

use m2mhal_plugin_api::ble::short_uuid;
use zbus::Variant;

use crate::device::{Properties, unwrap_variant};
use crate::format::value::{dict_entries, string, strings};

/// 16-bit UUIDs of standard GATT services (Bluetooth Assigned Numbers) and their names.
const SERVICE_NAMES: [(u16, &str); 11] = [
    (0x1800, "Generic Access"),
    (0x1801, "Generic Attribute"),
    (0x1805, "Current Time"),
    (0x1809, "Health Thermometer"),
    (0x180a, "Device Information"),
    (0x180d, "Heart Rate"),
    (0x180f, "Battery"),
    (0x1810, "Blood Pressure"),
    (0x1812, "Human Interface Device"),
    (0x1816, "Cycling Speed and Cadence"),
    (0x181a, "Environmental Sensing"),
];

/// 16-bit UUIDs of common standard characteristics (Bluetooth Assigned Numbers) and their names.
const CHARACTERISTIC_NAMES: [(u16, &str); 16] = [
    (0x2a00, "Device Name"),
    (0x2a01, "Appearance"),
    (0x2a05, "Service Changed"),
    (0x2a19, "Battery Level"),
    (0x2a1c, "Temperature Measurement"),
    (0x2a23, "System ID"),
    (0x2a24, "Model Number String"),
    (0x2a25, "Serial Number String"),
    (0x2a26, "Firmware Revision String"),
    (0x2a27, "Hardware Revision String"),
    (0x2a28, "Software Revision String"),
    (0x2a29, "Manufacturer Name String"),
    (0x2a37, "Heart Rate Measurement"),
    (0x2a6d, "Pressure"),
    (0x2a6e, "Temperature"),
    (0x2a6f, "Humidity"),
];

/// The name of a standard service given in canonical (lower-case, 128-bit) form.
pub fn service_name(uuid: &str) -> Option<&'static str> {
    name_in(&SERVICE_NAMES, uuid)
}

/// The name of a standard characteristic given in canonical (lower-case, 128-bit) form.
pub fn characteristic_name(uuid: &str) -> Option<&'static str> {
    name_in(&CHARACTERISTIC_NAMES, uuid)
}

fn name_in(names: &[(u16, &'static str)], uuid: &str) -> Option<&'static str> {
    let short = short_uuid(uuid)?;
    names
        .iter()
        .find(|(known, _)| *known == short)
        .map(|(_, name)| *name)
}

/// `0000180f-0000-1000-8000-00805f9b34fb (Battery)`, or the UUID alone when it has no name.
pub fn service_label(uuid: &str) -> String {
    match service_name(uuid) {
        Some(name) => format!("{uuid} ({name})"),
        None => uuid.to_owned(),
    }
}

/// One entry of `Gatt.Characteristics` (API 1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Characteristic {
    /// The service it belongs to (canonical UUID).
    pub service: String,
    /// Its canonical UUID.
    pub uuid: String,
    /// BlueZ-style flags: `read`, `write`, `notify`, ...
    pub flags: Vec<String>,
}

impl Characteristic {
    /// `00002a19-0000-1000-8000-00805f9b34fb (Battery Level): read, notify`; without the name
    /// when it has none, without the colon when it has no flags.
    pub fn label(&self) -> String {
        let name = match characteristic_name(&self.uuid) {
            Some(name) => format!("{} ({name})", self.uuid),
            None => self.uuid.clone(),
        };
        match self.flags.as_slice() {
            [] => name,
            flags => format!("{name}: {}", flags.join(", ")),
        }
    }
}

/// The entries of the `Characteristics` property of a Gatt interface (none from a daemon
/// without it); entries without `uuid` or `service` are left out.
pub fn characteristics(gatt: &Properties) -> Vec<Characteristic> {
    gatt.get("Characteristics")
        .map_or(Vec::new(), |value| characteristics_of(value))
}

/// The entries of a `Characteristics` value (`aa{sv}`).
pub fn characteristics_of(value: &Variant<'_>) -> Vec<Characteristic> {
    let Variant::Array(entries) = unwrap_variant(value) else {
        return Vec::new();
    };
    entries
        .inner()
        .iter()
        .filter_map(|entry| {
            let fields = dict_entries(entry);
            let text = |key: &str| fields.get(key).and_then(|value| string(value));
            Some(Characteristic {
                service: text("service")?.to_owned(),
                uuid: text("uuid")?.to_owned(),
                flags: fields.get("flags").map(|v| strings(v)).unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const BATTERY_LEVEL: &str = "00002a19-0000-1000-8000-00805f9b34fb";

    #[test]
    fn standard_services_are_named() {
        assert_eq!(
            service_name("0000180f-0000-1000-8000-00805f9b34fb"),
            Some("Battery")
        );
        assert_eq!(
            service_label("0000181a-0000-1000-8000-00805f9b34fb"),
            "0000181a-0000-1000-8000-00805f9b34fb (Environmental Sensing)"
        );
    }

    #[test]
    fn standard_characteristics_are_named() {
        assert_eq!(
            characteristic_name("00002a19-0000-1000-8000-00805f9b34fb"),
            Some("Battery Level")
        );
        assert_eq!(
            characteristic_name("0000180f-0000-1000-8000-00805f9b34fb"),
            None,
            "a service is no characteristic"
        );
        assert_eq!(
            characteristic_name("6e400002-b5a3-f393-e0a9-e50e24dcca9e"),
            None
        );
    }

    #[test]
    fn characteristics_come_from_the_property_entries() {
        let entry = |uuid: &'static str| {
            Variant::from(HashMap::from([
                ("uuid", Variant::from(uuid)),
                (
                    "service",
                    Variant::from("0000180f-0000-1000-8000-00805f9b34fb"),
                ),
                ("flags", Variant::from(vec!["read", "notify"])),
            ]))
        };
        let gatt: Properties = [(
            "Characteristics".to_owned(),
            Variant::from(vec![entry(BATTERY_LEVEL)])
                .try_into()
                .unwrap(),
        )]
        .into();
        assert_eq!(
            characteristics(&gatt),
            [Characteristic {
                service: "0000180f-0000-1000-8000-00805f9b34fb".into(),
                uuid: BATTERY_LEVEL.into(),
                flags: vec!["read".into(), "notify".into()],
            }]
        );
        assert_eq!(characteristics(&Properties::new()), []);
    }

    #[test]
    fn characteristic_labels_name_standard_ones_and_list_flags() {
        let characteristic = |uuid: &str, flags: &[&str]| Characteristic {
            service: "0000180f-0000-1000-8000-00805f9b34fb".into(),
            uuid: uuid.into(),
            flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
        };
        assert_eq!(
            characteristic(BATTERY_LEVEL, &["read", "notify"]).label(),
            format!("{BATTERY_LEVEL} (Battery Level): read, notify")
        );
        let vendor = "6e400002-b5a3-f393-e0a9-e50e24dcca9e";
        assert_eq!(
            characteristic(vendor, &["write"]).label(),
            format!("{vendor}: write")
        );
        assert_eq!(characteristic(vendor, &[]).label(), vendor);
    }

    #[test]
    fn vendor_services_keep_their_uuid() {
        let nordic_uart = "6e400001-b5a3-f393-e0a9-e50e24dcca9e";
        assert_eq!(service_name(nordic_uart), None);
        assert_eq!(service_label(nordic_uart), nordic_uart);
        // A 16-bit UUID that is not a known service.
        assert_eq!(service_name("0000fcd2-0000-1000-8000-00805f9b34fb"), None);
    }
}
