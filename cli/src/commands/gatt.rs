//! `gatt DEVICE services|read|write|subscribe|connect|disconnect`: the Gatt interface.
//!
//! Characteristic UUIDs go to the daemon as the user typed them: the daemon normalises them and
//! answers `InvalidArgument` (with a message saying why) for malformed ones.

use std::collections::HashMap;
use std::time::Duration;

use m2mhal_plugin_api::ble::normalize_uuid;
use serde_json::json;
use zbus::Variant;

use super::monitor::follow;
use super::{print, print_json};
use crate::bus::{Hal, iface};
use crate::cli::{GattAction, GattArgs, GattWriteArgs};
use crate::device::{Device, Properties, unwrap_variant};
use crate::error::CliError;
use crate::events::Event;
use crate::format::gatt::{Characteristic, characteristic_name, characteristics, service_name};
use crate::format::table::Table;
use crate::format::value::{hex, strings};

/// `m2mctl gatt DEVICE ...`
pub async fn gatt(hal: &Hal, json: bool, args: &GattArgs) -> Result<(), CliError> {
    let device = hal.device(&args.device).await?;
    let properties = device.interface(iface::GATT)?;
    let path = device.path.as_str();
    match &args.action {
        GattAction::Services => services(json, properties),
        GattAction::Read { uuid, text } => read(hal, json, path, uuid, *text).await,
        GattAction::Write(write_args) => write(hal, path, write_args).await,
        GattAction::Subscribe { uuid, count } => subscribe(hal, json, &device, uuid, *count).await,
        GattAction::Connect => hal.call(path, iface::GATT, "Connect", &()).await,
        GattAction::Disconnect => hal.call(path, iface::GATT, "Disconnect", &()).await,
    }
}

/// `gatt DEVICE services`: `Connected`, the `Services` with their names and, under each, its
/// characteristics with their flags (from `Characteristics`, when the daemon has it).
fn services(json: bool, gatt: &Properties) -> Result<(), CliError> {
    let connected = matches!(
        gatt.get("Connected").map(|value| unwrap_variant(value)),
        Some(Variant::Bool(true))
    );
    let services = gatt
        .get("Services")
        .map(|value| strings(value))
        .unwrap_or_default();
    let characteristics = characteristics(gatt);
    if json {
        let characteristics: Vec<serde_json::Value> = characteristics
            .iter()
            .map(|c| json!({"service": c.service, "uuid": c.uuid, "flags": c.flags}))
            .collect();
        print_json(&json!({
            "connected": connected,
            "services": services,
            "characteristics": characteristics,
        }))
    } else {
        print(&services_text(connected, &services, &characteristics))
    }
}

/// `Connected: yes` and a table of the services, each followed by its characteristics
/// (indented) and their flags, as bluetoothctl lists them.
fn services_text(
    connected: bool,
    services: &[String],
    characteristics: &[Characteristic],
) -> String {
    let link = if connected { "yes" } else { "no" };
    if services.is_empty() {
        return format!("Connected: {link}\nno services known\n");
    }
    let mut table = Table::new(&["UUID", "NAME", "FLAGS"]);
    for uuid in services {
        let name = service_name(uuid).unwrap_or_default();
        table.push(vec![uuid.clone(), name.to_owned(), String::new()]);
        for characteristic in characteristics.iter().filter(|c| &c.service == uuid) {
            table.push(vec![
                format!("  {}", characteristic.uuid),
                characteristic_name(&characteristic.uuid)
                    .unwrap_or_default()
                    .to_owned(),
                characteristic.flags.join(", "),
            ]);
        }
    }
    format!("Connected: {link}\n{}", table.render())
}

/// `gatt DEVICE read UUID [--text]`
async fn read(hal: &Hal, json: bool, path: &str, uuid: &str, text: bool) -> Result<(), CliError> {
    let value: Vec<u8> = hal.call(path, iface::GATT, "Read", &(uuid,)).await?;
    if json {
        print_json(&value_json(&canonical(uuid), &value))
    } else if text {
        print(&as_text(uuid, value)?)
    } else {
        print(&hex(&value))
    }
}

/// The value as UTF-8 text; an error showing the bytes when it is not text.
fn as_text(uuid: &str, value: Vec<u8>) -> Result<String, CliError> {
    String::from_utf8(value).map_err(|error| {
        CliError::Failed(format!(
            "the value of {uuid} is not UTF-8 text: {}",
            hex(error.as_bytes())
        ))
    })
}

/// `gatt DEVICE write UUID HEX|--text TEXT [--no-response]`
async fn write(hal: &Hal, path: &str, args: &GattWriteArgs) -> Result<(), CliError> {
    let options = HashMap::from([("with_response", Variant::from(!args.no_response))]);
    let body = (args.uuid.as_str(), args.value(), options);
    hal.call(path, iface::GATT, "Write", &body).await
}

/// `gatt DEVICE subscribe UUID [--count N]`: `Subscribe`, the notifications, `Unsubscribe`.
/// With `--count`, the N notifications must come within `--timeout`; without it, it runs until
/// Ctrl-C.
async fn subscribe(
    hal: &Hal,
    json: bool,
    device: &Device,
    uuid: &str,
    count: Option<u64>,
) -> Result<(), CliError> {
    // Listen before subscribing, so that the first notifications cannot slip by.
    let signals = hal.signals().await?;
    hal.call::<_, ()>(&device.path, iface::GATT, "Subscribe", &(uuid,))
        .await?;
    let wanted = canonical(uuid);
    let mut received = 0;
    let following = follow(signals, count, |event| {
        let Some(value) = notified_value(device, &wanted, event)? else {
            return Ok(false);
        };
        if json {
            print_json(&value_json(&wanted, &value))?;
        } else {
            print(&hex(&value))?;
        }
        received += 1;
        Ok(true)
    });
    let printed = match count {
        Some(count) => tokio::time::timeout(hal.timeout(), following)
            .await
            .unwrap_or_else(|_| {
                Err(notifications_timeout(
                    &wanted,
                    received,
                    count,
                    hal.timeout(),
                ))
            }),
        None => following.await,
    };
    let unsubscribed = hal
        .call::<_, ()>(&device.path, iface::GATT, "Unsubscribe", &(uuid,))
        .await;
    printed.and(unsubscribed)
}

/// The value of a notification of `characteristic` from `device`; `None` for other events; an
/// error when the daemon or the device goes away.
fn notified_value(
    device: &Device,
    characteristic: &str,
    event: Event,
) -> Result<Option<Vec<u8>>, CliError> {
    match event {
        Event::Notification {
            path,
            characteristic: notified,
            value,
        } if path == device.path && notified == characteristic => Ok(Some(value)),
        Event::ObjectRemoved { path, interfaces }
            if path == device.path && interfaces.iter().any(|name| name == iface::GATT) =>
        {
            Err(CliError::Failed(format!(
                "device {} went away",
                device.label()
            )))
        }
        Event::DaemonLeft => Err(CliError::DaemonLeft),
        _ => Ok(None),
    }
}

/// The error of a `subscribe --count` whose notifications did not all come in time.
fn notifications_timeout(
    characteristic: &str,
    received: u64,
    count: u64,
    after: Duration,
) -> CliError {
    CliError::Timeout {
        what: format!("notifications of {characteristic} ({received} of {count} arrived)"),
        after,
    }
}

/// The canonical form of a characteristic UUID, as the daemon names it in notifications; the
/// text as typed (lower-cased) when it does not look like a UUID.
fn canonical(uuid: &str) -> String {
    normalize_uuid(uuid).unwrap_or_else(|| uuid.to_ascii_lowercase())
}

/// `{"characteristic": ..., "value_hex": ...}`
fn value_json(characteristic: &str, value: &[u8]) -> serde_json::Value {
    json!({"characteristic": characteristic, "value_hex": hex(value)})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::device;

    const BATTERY_LEVEL: &str = "00002a19-0000-1000-8000-00805f9b34fb";

    #[test]
    fn services_table_lists_each_services_characteristics_with_their_flags() {
        let services = [
            "00001800-0000-1000-8000-00805f9b34fb".to_owned(),
            "0000180f-0000-1000-8000-00805f9b34fb".to_owned(),
            "6e400001-b5a3-f393-e0a9-e50e24dcca9e".to_owned(),
        ];
        let characteristic = |service: &str, uuid: &str, flags: &[&str]| Characteristic {
            service: service.to_owned(),
            uuid: uuid.to_owned(),
            flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
        };
        let characteristics = [
            characteristic(&services[1], BATTERY_LEVEL, &["read", "notify"]),
            characteristic(
                &services[2],
                "6e400002-b5a3-f393-e0a9-e50e24dcca9e",
                &["write", "write-without-response"],
            ),
        ];
        assert_eq!(
            services_text(true, &services, &characteristics),
            "Connected: yes\n\
             UUID                                    NAME            FLAGS\n\
             00001800-0000-1000-8000-00805f9b34fb    Generic Access  -\n\
             0000180f-0000-1000-8000-00805f9b34fb    Battery         -\n\
             \x20 00002a19-0000-1000-8000-00805f9b34fb  Battery Level   read, notify\n\
             6e400001-b5a3-f393-e0a9-e50e24dcca9e    -               -\n\
             \x20 6e400002-b5a3-f393-e0a9-e50e24dcca9e  -               write, write-without-response\n"
        );
        assert_eq!(
            services_text(false, &[], &[]),
            "Connected: no\nno services known\n"
        );
    }

    #[test]
    fn a_subscription_that_times_out_says_how_many_came() {
        let error = notifications_timeout(BATTERY_LEVEL, 1, 3, Duration::from_secs(2));
        assert_eq!(
            error.to_string(),
            "timed out after 2 s waiting for notifications of \
             00002a19-0000-1000-8000-00805f9b34fb (1 of 3 arrived)"
        );
        assert_eq!(error.exit_code(), crate::error::EXIT_FAILED);
    }

    #[test]
    fn text_values_must_be_utf8() {
        assert_eq!(as_text("2a00", b"Thermo 1".to_vec()).unwrap(), "Thermo 1");
        let error = as_text("2a00", vec![0x48, 0xff]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the value of 2a00 is not UTF-8 text: 48ff"
        );
    }

    #[test]
    fn notifications_are_matched_in_canonical_form() {
        assert_eq!(canonical("2A19"), BATTERY_LEVEL);
        assert_eq!(canonical("0x2a19"), BATTERY_LEVEL);
        assert_eq!(canonical("Battery"), "battery");
        assert_eq!(
            value_json(BATTERY_LEVEL, &[0x57]),
            json!({"characteristic": BATTERY_LEVEL, "value_hex": "57"})
        );
    }

    #[test]
    fn only_this_devices_characteristic_is_printed() {
        let sensor = device(12, "ble:AA:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FF", "ready");
        let notification = |path: &str, characteristic: &str| Event::Notification {
            path: path.to_owned(),
            characteristic: characteristic.to_owned(),
            value: vec![0x57],
        };
        let value = notified_value(
            &sensor,
            BATTERY_LEVEL,
            notification(&sensor.path, BATTERY_LEVEL),
        );
        assert_eq!(value.unwrap(), Some(vec![0x57]));
        let other_device = notification("/org/m2mhal/Hal1/Devices/13", BATTERY_LEVEL);
        assert_eq!(
            notified_value(&sensor, BATTERY_LEVEL, other_device).unwrap(),
            None
        );
        let heart_rate = notification(&sensor.path, "00002a37-0000-1000-8000-00805f9b34fb");
        assert_eq!(
            notified_value(&sensor, BATTERY_LEVEL, heart_rate).unwrap(),
            None
        );

        let removed = Event::ObjectRemoved {
            path: sensor.path.clone(),
            interfaces: vec![iface::DEVICE.to_owned(), iface::GATT.to_owned()],
        };
        let error = notified_value(&sensor, BATTERY_LEVEL, removed).unwrap_err();
        assert_eq!(error.to_string(), "device 12 went away");
        let left = notified_value(&sensor, BATTERY_LEVEL, Event::DaemonLeft).unwrap_err();
        assert_eq!(left.exit_code(), crate::error::EXIT_UNREACHABLE);
    }
}
