//! `list` and `show`: the device objects and their properties.

use serde_json::{Map, Value as Json, json};

use super::{print, print_json};
use crate::bus::{Hal, iface};
use crate::device::{Device, Properties};
use crate::error::CliError;
use crate::format::table::Table;
use crate::format::value::{properties_to_json, render_named, unsigned};

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
            signal_percent(device),
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

/// `73%` for a device with a Signal interface, else "".
fn signal_percent(device: &Device) -> String {
    device
        .property(iface::SIGNAL, "Quality")
        .and_then(unsigned)
        .map(|quality| format!("{quality}%"))
        .unwrap_or_default()
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
            let value = render_named(property, value);
            text.push_str(&format!("    {property:<width$}  {value}\n"));
        }
    }
    text
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
    use zbus::Variant;

    use super::*;
    use crate::test_support::{device, properties};

    fn modem_with_signal() -> Device {
        let mut modem = device(1, "imei:356938035643809", "/dev/ttyUSB2", "ready");
        modem.interfaces.insert(
            iface::SIGNAL.to_owned(),
            properties([
                ("Quality", Variant::from(73u32)),
                ("Rssi", Variant::from(-71i32)),
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
             1  imei:356938035643809  cellular-modem  cellular  ready                EG25   /dev/ttyUSB2  73%\n\
             4  imei:490154203237518  cellular-modem  cellular  offline (unplugged)  EG25   /dev/ttyUSB5  -\n"
        );
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
            \x20   Rssi        -71\n\
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
