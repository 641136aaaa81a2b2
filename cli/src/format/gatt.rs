//! GATT UUIDs for people: the names of the common standard services and characteristics.

use m2mhal_plugin_api::ble::short_uuid;

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn vendor_services_keep_their_uuid() {
        let nordic_uart = "6e400001-b5a3-f393-e0a9-e50e24dcca9e";
        assert_eq!(service_name(nordic_uart), None);
        assert_eq!(service_label(nordic_uart), nordic_uart);
        // A 16-bit UUID that is not a known service.
        assert_eq!(service_name("0000fcd2-0000-1000-8000-00805f9b34fb"), None);
    }
}
