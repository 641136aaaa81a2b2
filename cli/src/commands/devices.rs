//! `list` and `show`: the device objects and their properties.

use serde_json::{Map, Value as Json, json};
use zbus::Variant;

use super::{print, print_json};
use crate::bus::{Hal, iface};
use crate::device::{Device, Properties};
use crate::error::CliError;
use crate::format::gatt::{characteristics_of, service_label};
use crate::format::location::location_text;
use crate::format::sensor::reading_text;
use crate::format::signal::{level_text, modem_levels};
use crate::format::table::Table;
use crate::format::value::{
    dict_entries, properties_to_json, render_named, string, strings, unsigned,
};

/// `m2mctl list`
pub async fn list(hal: &Hal, json: bool) -> Result<(), CliError> {
    let devices = hal.devices().await?;
    if json {
        print_json(&Json::Array(devices.iter().map(device_json).collect()))
    } else if devices.is_empty() {
        print("no devices")
    } else {
        print(&device_table(&devices))
    }
}

/// `m2mctl show DEVICE`
pub async fn show(hal: &Hal, json: bool, spec: &str) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    if json {
        print_json(&device_json(&device))
    } else {
        print(&device_details(&device))
    }
}

/// The `list` table: one row per device.
fn device_table(devices: &[Device]) -> String {
    let mut table = Table::new(&[
        "#", "ID", "KIND", "DRIVER", "STATE", "MODEL", "PORT", "SIGNAL",
    ]);
    for device in devices {
        table.push(vec![
            device.label(),
            device.device_string("Id").to_owned(),
            device.device_string("Kind").to_owned(),
            device.device_string("Driver").to_owned(),
            state_with_reason(device),
            device.device_string("Model").to_owned(),
            device.device_string("Port").to_owned(),
            signal_summary(device),
        ]);
    }
    table.render()
}

/// `ready`, or `offline (unplugged)` when there is a reason.
fn state_with_reason(device: &Device) -> String {
    match device.device_string("StateReason") {
        "" => device.state().to_owned(),
        reason => format!("{} ({reason})", device.state()),
    }
}

/// The signal for the SIGNAL column: `64% (RSSI -73 dBm, RSRP -93 dBm)` for a modem (the levels
/// it knows; `64%` with none); `60% (-70 dBm)` for BLE, where the RSSI is what the quality is
/// made from; `60% (3/5 bars)` for Iridium. "" without a Signal interface or before the first
/// reading.
fn signal_summary(device: &Device) -> String {
    let signal = |name| device.property(iface::SIGNAL, name);
    let Some(quality) = signal("Quality").and_then(unsigned) else {
        return String::new();
    };
    if signal("UpdatedAt").and_then(unsigned) == Some(0) {
        return String::new();
    }
    match (signal("Technology").and_then(string), signal("Rssi")) {
        (Some("ble"), Some(Variant::I32(rssi))) if *rssi != 0 => {
            format!("{quality}% ({rssi} dBm)")
        }
        (Some("ble"), _) => format!("{quality}%"),
        (Some("iridium"), _) => format!("{quality}% ({}/5 bars)", quality / 20),
        (_, rssi) => match modem_levels(rssi, signal("Rsrp")).as_str() {
            "" => format!("{quality}%"),
            levels => format!("{quality}% ({levels})"),
        },
    }
}

/// Every property of every interface, grouped by interface: Device first, then the other
/// m2mhal interfaces, then foreign interfaces that have properties.
fn device_details(device: &Device) -> String {
    let mut interfaces: Vec<(&String, &Properties)> = device
        .interfaces
        .iter()
        .filter(|(name, properties)| name.starts_with(iface::PREFIX) || !properties.is_empty())
        .collect();
    interfaces.sort_by_key(|(name, _)| {
        (
            name.as_str() != iface::DEVICE,
            !name.starts_with(iface::PREFIX),
            name.as_str(),
        )
    });
    let mut text = format!("{}\n", device.path);
    for (name, properties) in interfaces {
        text.push_str(&format!("  {}\n", iface::short(name)));
        let width = properties
            .keys()
            .map(|key| key.chars().count())
            .max()
            .unwrap_or(0);
        for (property, value) in properties {
            for (index, line) in property_lines(name, property, value).iter().enumerate() {
                let label = if index == 0 { property.as_str() } else { "" };
                text.push_str(&format!("    {label:<width$}  {line}\n"));
            }
        }
    }
    text
}

/// A property as one or more lines: one line per sensor reading (`temperature=21.5 °C`) and per
/// GATT service (with its name), one line for anything else.
fn property_lines(interface: &str, property: &str, value: &Variant<'_>) -> Vec<String> {
    let lines: Vec<String> = match (interface, property) {
        (iface::SENSOR, "Readings") => dict_entries(value)
            .into_iter()
            .map(|(key, reading)| format!("{key}={}", reading_text(&key, reading)))
            .collect(),
        (iface::GATT, "Services") => strings(value)
            .iter()
            .map(|uuid| service_label(uuid))
            .collect(),
        (iface::GATT, "Characteristics") => characteristics_of(value)
            .iter()
            .map(|characteristic| characteristic.label())
            .collect(),
        (iface::SIGNAL, _) => {
            vec![level_text(property, value).unwrap_or_else(|| render_named(property, value))]
        }
        (iface::LOCATION, _) => {
            vec![location_text(property, value).unwrap_or_else(|| render_named(property, value))]
        }
        _ => return vec![render_named(property, value)],
    };
    if lines.is_empty() {
        vec!["none".to_owned()]
    } else {
        lines
    }
}

/// `{"path": ..., "interfaces": {"org.m2mhal.Hal1.Device": {"Id": ...}, ...}}`
fn device_json(device: &Device) -> Json {
    let interfaces: Map<String, Json> = device
        .interfaces
        .iter()
        .map(|(name, properties)| (name.clone(), properties_to_json(properties)))
        .collect();
    json!({"path": device.path, "interfaces": interfaces})
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::test_support::{device, properties};

    fn modem_with_signal() -> Device {
        let mut modem = device(1, "imei:356938035643809", "/dev/ttyUSB2", "ready");
        modem.interfaces.insert(
            iface::SIGNAL.to_owned(),
            properties([
                ("Quality", Variant::from(73u32)),
                ("Rssi", Variant::from(-71i32)),
                ("Rsrp", Variant::from(-95i32)),
                ("Rsrq", Variant::from(-9.5f64)),
                ("Sinr", Variant::from(f64::NAN)),
                ("Technology", Variant::from("lte")),
                ("UpdatedAt", Variant::from(1_714_564_800u64)),
            ]),
        );
        modem
            .interfaces
            .insert("org.freedesktop.DBus.Peer".to_owned(), Properties::new());
        modem
    }

    #[test]
    fn table_has_state_reason_and_signal_only_where_known() {
        let devices = [
            modem_with_signal(),
            device(4, "imei:490154203237518", "/dev/ttyUSB5", "offline"),
        ];
        assert_eq!(
            device_table(&devices),
            "#  ID                    KIND            DRIVER    STATE                MODEL  PORT          SIGNAL\n\
             1  imei:356938035643809  cellular-modem  cellular  ready                EG25   /dev/ttyUSB2  73% (RSSI -71 dBm, RSRP -95 dBm)\n\
             4  imei:490154203237518  cellular-modem  cellular  offline (unplugged)  EG25   /dev/ttyUSB5  -\n"
        );
    }

    /// A device with these Device properties and other interfaces.
    fn device_with(
        number: u64,
        device_properties: [(&str, &str); 5],
        interfaces: Vec<(&str, Properties)>,
    ) -> Device {
        let mut all = BTreeMap::from([(iface::DEVICE.to_owned(), properties(device_properties))]);
        all.extend(
            interfaces
                .into_iter()
                .map(|(name, properties)| (name.to_owned(), properties)),
        );
        Device {
            path: m2mhal_contract::device_path(number),
            interfaces: all,
        }
    }

    fn signal(quality: u32, rssi: i32, technology: &str, updated_at: u64) -> Properties {
        properties([
            ("Quality", Variant::from(quality)),
            ("Rssi", Variant::from(rssi)),
            ("Technology", Variant::from(technology)),
            ("UpdatedAt", Variant::from(updated_at)),
        ])
    }

    fn ble_thermometer(number: u64, signal_properties: Properties) -> Device {
        let readings = Variant::from(BTreeMap::from([
            ("temperature", Variant::from(21.5f64)),
            ("humidity", Variant::from(45.25f64)),
            ("battery", Variant::from(87.0f64)),
        ]));
        let services = vec![
            "00001800-0000-1000-8000-00805f9b34fb",
            "0000180f-0000-1000-8000-00805f9b34fb",
            "6e400001-b5a3-f393-e0a9-e50e24dcca9e",
        ];
        device_with(
            number,
            [
                ("Id", "ble:A4:C1:38:0B:5E:11"),
                ("Kind", "ble-device"),
                ("Driver", "ble"),
                ("Port", "A4:C1:38:0B:5E:11"),
                ("State", "ready"),
            ],
            vec![
                (iface::SIGNAL, signal_properties),
                (
                    iface::SENSOR,
                    properties([
                        ("Readings", readings),
                        ("UpdatedAt", Variant::from(1_714_564_800u64)),
                    ]),
                ),
                (
                    iface::GATT,
                    properties([
                        ("Connected", Variant::from(false)),
                        ("Services", Variant::from(services)),
                    ]),
                ),
            ],
        )
    }

    fn iridium(number: u64) -> Device {
        device_with(
            number,
            [
                ("Id", "imei:300234063904190"),
                ("Kind", "satellite-terminal"),
                ("Driver", "iridium"),
                ("Port", "/dev/ttymxc1"),
                ("State", "ready"),
            ],
            vec![(iface::SIGNAL, signal(60, 0, "iridium", 1_714_564_800))],
        )
    }

    #[test]
    fn signal_column_by_technology() {
        let devices = [
            ble_thermometer(2, signal(60, -70, "ble", 1_714_564_800)),
            iridium(3),
            ble_thermometer(5, signal(0, 0, "ble", 0)),
            ble_thermometer(6, signal(30, 0, "ble", 1_714_564_800)),
        ];
        assert_eq!(
            device_table(&devices),
            "#  ID                     KIND                DRIVER   STATE  MODEL  PORT               SIGNAL\n\
             2  ble:A4:C1:38:0B:5E:11  ble-device          ble      ready  -      A4:C1:38:0B:5E:11  60% (-70 dBm)\n\
             3  imei:300234063904190   satellite-terminal  iridium  ready  -      /dev/ttymxc1       60% (3/5 bars)\n\
             5  ble:A4:C1:38:0B:5E:11  ble-device          ble      ready  -      A4:C1:38:0B:5E:11  -\n\
             6  ble:A4:C1:38:0B:5E:11  ble-device          ble      ready  -      A4:C1:38:0B:5E:11  30%\n"
        );
    }

    #[test]
    fn details_show_readings_with_units_and_named_services() {
        let sensor = ble_thermometer(2, signal(60, -70, "ble", 1_714_564_800));
        let text = device_details(&sensor);
        assert!(
            text.ends_with(
                "  Gatt\n\
                \x20   Connected  false\n\
                \x20   Services   00001800-0000-1000-8000-00805f9b34fb (Generic Access)\n\
                \x20              0000180f-0000-1000-8000-00805f9b34fb (Battery)\n\
                \x20              6e400001-b5a3-f393-e0a9-e50e24dcca9e\n\
                \x20 Sensor\n\
                \x20   Readings   battery=87 %\n\
                \x20              humidity=45.25 %\n\
                \x20              temperature=21.5 °C\n\
                \x20   UpdatedAt  2024-05-01 12:00:00 UTC (1714564800)\n\
                \x20 Signal\n\
                \x20   Quality     60\n\
                \x20   Rssi        -70 dBm\n\
                \x20   Technology  ble\n\
                \x20   UpdatedAt   2024-05-01 12:00:00 UTC (1714564800)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn empty_readings_and_services_say_none() {
        let empty: BTreeMap<&str, Variant> = BTreeMap::new();
        let readings = Variant::from(empty);
        assert_eq!(
            property_lines(iface::SENSOR, "Readings", &readings),
            ["none"]
        );
        let services = Variant::from(Vec::<&str>::new());
        assert_eq!(property_lines(iface::GATT, "Services", &services), ["none"]);
        assert_eq!(property_lines(iface::SIGNAL, "Services", &services), ["[]"]);
    }

    #[test]
    fn details_group_properties_by_interface() {
        assert_eq!(
            device_details(&modem_with_signal()),
            "/org/m2mhal/Hal1/Devices/1\n\
            \x20 Device\n\
            \x20   Driver        cellular\n\
            \x20   Id            imei:356938035643809\n\
            \x20   Kind          cellular-modem\n\
            \x20   Manufacturer  Quectel\n\
            \x20   Model         EG25\n\
            \x20   Port          /dev/ttyUSB2\n\
            \x20   State         ready\n\
            \x20   StateReason   \"\"\n\
            \x20 Signal\n\
            \x20   Quality     73\n\
            \x20   Rsrp        -95 dBm\n\
            \x20   Rsrq        -9.5 dB\n\
            \x20   Rssi        -71 dBm\n\
            \x20   Sinr        unknown\n\
            \x20   Technology  lte\n\
            \x20   UpdatedAt   2024-05-01 12:00:00 UTC (1714564800)\n"
        );
    }

    #[test]
    fn json_has_every_property_by_interface() {
        let json = device_json(&modem_with_signal());
        assert_eq!(json["path"], "/org/m2mhal/Hal1/Devices/1");
        assert_eq!(
            json["interfaces"][iface::DEVICE]["Id"],
            "imei:356938035643809"
        );
        assert_eq!(json["interfaces"][iface::SIGNAL]["Rssi"], -71);
        assert_eq!(
            json["interfaces"][iface::SIGNAL]["UpdatedAt"],
            1_714_564_800u64
        );
    }
}
