//! The benchmark's wait for a device to become `ready` ([`m2mhal_tests::ready_watch`]) reads the
//! daemon's signals in the order the bus delivered them. A device the daemon publishes (an
//! `InterfacesAdded` per interface, the Device interface last) and that turns `ready` right after
//! (`PropertiesChanged`) must be seen ready even when every one of these signals is already waiting
//! when the wait starts, as on a loaded machine (part 2 of the benchmark once waited in vain).

use std::collections::HashMap;

use futures_util::StreamExt;
use m2mhal_tests::ready_watch::DeviceChanges;
use m2mhal_tests::{DEVICE, MANAGER_PATH, MESSAGING, SIGNAL, TestBus, WAIT};
use zbus::names::BusName;
use zbus::{Connection, MessageStream, ObjectPath, Variant};

/// The port the device is announced on.
const PORT: &str = "/dev/pts/7";
/// The device's object.
const OBJECT: &str = "/org/m2mhal/Hal1/Devices/1";
/// A signal emitted after the device's, so the test knows they have all arrived.
const MARKER_INTERFACE: &str = "org.m2mhal.Test";
const MARKER: &str = "AllSent";

/// Emits `InterfacesAdded` for `interface` of the device's object with `properties`, as the
/// daemon's object manager does.
async fn interfaces_added(conn: &Connection, interface: &str, properties: &[(&str, &str)]) {
    let properties: HashMap<&str, Variant<'_>> = properties
        .iter()
        .map(|(name, value)| (*name, Variant::from(*value)))
        .collect();
    let object = ObjectPath::try_from(OBJECT).expect("object path");
    let body = (object, HashMap::from([(interface, properties)]));
    conn.emit_signal(
        None::<BusName<'_>>,
        MANAGER_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "InterfacesAdded",
        &body,
    )
    .await
    .expect("emit InterfacesAdded");
}

/// Emits `PropertiesChanged` of the device's Device interface with its new `State`.
async fn state_changed(conn: &Connection, state: &str) {
    let changed = HashMap::from([("State", Variant::from(state))]);
    let body = (DEVICE, changed, Vec::<&str>::new());
    conn.emit_signal(
        None::<BusName<'_>>,
        OBJECT,
        "org.freedesktop.DBus.Properties",
        "PropertiesChanged",
        &body,
    )
    .await
    .expect("emit PropertiesChanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_ready_right_after_it_was_published_is_seen_ready() {
    let bus = TestBus::start().await;
    let daemon = bus.connect().await;
    let client = bus.connect().await;
    let sender = daemon.unique_name().expect("unique name").to_string();
    let mut changes = DeviceChanges::subscribe(&client, &sender).await;
    let marker_rule = zbus::MatchRule::builder()
        .sender(sender.as_str())
        .interface(MARKER_INTERFACE)
        .member(MARKER)
        .build()
        .expect("marker rule");
    let mut marker = MessageStream::for_match_rule(marker_rule, &client, None)
        .await
        .expect("subscribe to the marker");

    // What the daemon sends for a modem that is ready a millisecond after it was published.
    interfaces_added(&daemon, SIGNAL, &[]).await;
    interfaces_added(&daemon, MESSAGING, &[]).await;
    interfaces_added(
        &daemon,
        DEVICE,
        &[("Port", PORT), ("State", "initializing")],
    )
    .await;
    state_changed(&daemon, "ready").await;
    daemon
        .emit_signal(None::<BusName<'_>>, "/", MARKER_INTERFACE, MARKER, &())
        .await
        .expect("emit the marker");
    // The client reads its messages in order: once the marker is here, so is everything before.
    tokio::time::timeout(WAIT, marker.next())
        .await
        .expect("the marker arrives");

    assert!(
        changes.device_ready(PORT, WAIT).await,
        "the device on {PORT} was not seen ready"
    );
}
