//! Device objects: finding them by port or id and state, their sensor readings, and kernel
//! events reported to the manager.

use std::collections::HashMap;
use std::path::Path;

use m2mhal_contract::MANAGER_PATH;
use m2mhal_contract::iface::{DEVICE, MANAGER, SENSOR};
use zbus::{Connection, OwnedObjectPath, OwnedVariant, Variant};

use crate::client::{call, property};
use crate::wait::{accepted, poll};

/// Current device object paths.
pub async fn devices(conn: &Connection) -> Vec<OwnedObjectPath> {
    property(conn, MANAGER_PATH, MANAGER, "Devices").await
}

/// Waits for a device on `port` whose `State` is `state`; returns its object path.
pub async fn wait_for_device(conn: &Connection, port: &str, state: &str) -> String {
    poll(
        &format!("a device on {port} in state {state}"),
        async || {
            for path in devices(conn).await {
                let path = path.as_str().to_owned();
                let device_port: String = property(conn, &path, DEVICE, "Port").await;
                let device_state: String = property(conn, &path, DEVICE, "State").await;
                if device_port == port && device_state == state {
                    return Ok(path);
                }
            }
            Err(None)
        },
    )
    .await
}

/// The `Id` of every current device object, with its path.
pub async fn device_ids(conn: &Connection) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    for path in devices(conn).await {
        let id: String = property(conn, path.as_str(), DEVICE, "Id").await;
        ids.push((id, path.as_str().to_owned()));
    }
    ids
}

/// Waits for the device with `Id` = `id` to be in `state`; returns its object path.
pub async fn wait_for_device_id(conn: &Connection, id: &str, state: &str) -> String {
    poll(&format!("device {id} in state {state}"), async || {
        for (device_id, path) in device_ids(conn).await {
            if device_id == id {
                let device_state: String = property(conn, &path, DEVICE, "State").await;
                if device_state == state {
                    return Ok(path);
                }
            }
        }
        Err(None)
    })
    .await
}

/// `Sensor.Readings` of the device at `path`, as numbers.
pub async fn readings(conn: &Connection, path: &str) -> HashMap<String, f64> {
    let readings: HashMap<String, OwnedVariant> = property(conn, path, SENSOR, "Readings").await;
    readings
        .into_iter()
        .map(|(key, value)| {
            let value = f64::try_from(value).expect("readings are doubles");
            (key, value)
        })
        .collect()
}

/// Polls `Sensor.Readings` until `accept` takes them; returns them.
pub async fn wait_for_readings(
    conn: &Connection,
    path: &str,
    accept: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    poll(&format!("readings on {path}"), async || {
        accepted(readings(conn, path).await, &accept)
    })
    .await
}

/// A `ReportKernelEvent` dictionary for a tty: `name` is the last component of `devnode`.
pub fn tty_event(
    action: &str,
    devnode: &str,
    properties: &[(&str, &str)],
) -> HashMap<&'static str, OwnedVariant> {
    let name = Path::new(devnode)
        .file_name()
        .expect("devnode has a name")
        .to_string_lossy()
        .into_owned();
    let properties: HashMap<String, String> = properties
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let owned = |value: Variant<'_>| OwnedVariant::try_from(value).expect("owned variant");
    HashMap::from([
        ("action", owned(Variant::from(action))),
        ("subsystem", owned(Variant::from("tty"))),
        ("name", owned(Variant::from(name))),
        ("devnode", owned(Variant::from(devnode))),
        ("properties", owned(Variant::from(properties))),
    ])
}

/// Calls `Manager.ReportKernelEvent`.
pub async fn report_kernel_event(
    conn: &Connection,
    event: &HashMap<&str, OwnedVariant>,
) -> Result<(), (String, String)> {
    call(conn, MANAGER_PATH, MANAGER, "ReportKernelEvent", &(event,)).await
}
