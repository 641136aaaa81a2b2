//! Device objects coming and going: adding tagged ports one by one and watching objects go with
//! the ObjectManager's `InterfacesRemoved`.

use zbus::{Connection, OwnedObjectPath};

use crate::{
    DEVICE, next_signal, property, report_kernel_event, subscribe, tty_event, wait_for_device,
};

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
