//! Device objects coming and going: adding tagged ports one by one and watching objects go with
//! the ObjectManager's `InterfacesRemoved`.

use std::time::Duration;

use zbus::{Connection, OwnedObjectPath};

use crate::{
    DEVICE, devices, next_signal, property, report_kernel_event, subscribe, tty_event,
    wait_for_device,
};

/// How long a driver may take to give up on a silent modem: three commands of 5 s each, and
/// a margin for a loaded machine.
pub const SILENT_MODEM_WAIT: Duration = Duration::from_secs(60);

/// The ObjectManager interface on the daemon's root object.
const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";

/// Reports `devnode` as a tty tagged for the cellular driver.
pub async fn add_modem_port(conn: &Connection, devnode: &str) {
    let event = tty_event("add", devnode, &[("ID_M2MHAL_DRIVER", "cellular")]);
    report_kernel_event(conn, &event)
        .await
        .expect("add accepted");
}

/// Reports that `devnode` is gone.
pub async fn remove_port(conn: &Connection, devnode: &str) {
    let event = tty_event("remove", devnode, &[]);
    report_kernel_event(conn, &event)
        .await
        .expect("remove accepted");
}

/// Waits for the device on `port` to be `ready`; returns its `(Id, object path)`.
pub async fn ready_device(conn: &Connection, port: &str) -> (String, String) {
    let path = wait_for_device(conn, port, "ready").await;
    let id: String = property(conn, &path, DEVICE, "Id").await;
    (id, path)
}

/// Polls (every 20 ms) for a device on `port` in `state` for at most `limit`, for states a
/// driver reaches only after timeouts of its own that are longer than [`crate::WAIT`]; returns
/// its object path.
pub async fn wait_long_for_device(
    conn: &Connection,
    port: &str,
    state: &str,
    limit: Duration,
) -> String {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        for path in devices(conn).await {
            let device_port: String = property(conn, path.as_str(), DEVICE, "Port").await;
            let device_state: String = property(conn, path.as_str(), DEVICE, "State").await;
            if device_port == port && device_state == state {
                return path.as_str().to_owned();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no device on {port} in state {state} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Subscribes to the daemon's `InterfacesRemoved` signals.
pub async fn interfaces_removed(conn: &Connection) -> zbus::MessageStream {
    subscribe(conn, OBJECT_MANAGER, "InterfacesRemoved").await
}

/// Waits on an [`interfaces_removed`] stream until the object at `path` loses its Device
/// interface.
pub async fn device_removed(stream: &mut zbus::MessageStream, path: &str) {
    next_signal::<(OwnedObjectPath, Vec<String>)>(stream, |(removed, interfaces)| {
        removed.as_str() == path && interfaces.iter().any(|i| i == DEVICE)
    })
    .await;
}
