//! Discovery through `Manager.ReportKernelEvent`: tagged ports become devices, any other port is
//! never opened, removed ports go offline, and several modems live side by side.

use std::time::{Duration, Instant};

use m2mhal_tests::*;

const PEER: &str = "+4915112345678";

/// Reports an `add` for `devnode` with `properties`; it must be accepted.
async fn add(conn: &zbus::Connection, devnode: &str, properties: &[(&str, &str)]) {
    report_kernel_event(conn, &tty_event("add", devnode, properties))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_port_is_probed_and_claimed() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let daemon = Daemon::start(&bus, "").await;
    add(&daemon.conn, &sim.path(0), &[("ID_M2MHAL_CANDIDATE", "1")]).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let driver: String = property(&daemon.conn, &path, DEVICE, "Driver").await;
    assert_eq!(driver, "cellular");
    let id: String = property(&daemon.conn, &path, DEVICE, "Id").await;
    assert_eq!(id, "imei:356938035643809");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_tagged_with_a_driver_is_claimed_by_it() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let daemon = Daemon::start(&bus, "").await;
    add(
        &daemon.conn,
        &sim.path(0),
        &[("ID_M2MHAL_DRIVER", "cellular")],
    )
    .await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let kind: String = property(&daemon.conn, &path, DEVICE, "Kind").await;
    assert_eq!(kind, "cellular-modem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_that_are_not_tagged_are_never_opened() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem", "--count", "4"], 4).await;
    let ports: Vec<String> = (0..4).map(|index| sim.path(index)).collect();
    let mut watch = OpenWatch::new(&ports.iter().map(String::as_str).collect::<Vec<_>>());
    let daemon = Daemon::start(&bus, "").await;
    let conn = &daemon.conn;

    // Untagged, tagged but ignored, and tagged on another subsystem: none may be touched.
    add(conn, &ports[0], &[]).await;
    add(
        conn,
        &ports[1],
        &[("ID_M2MHAL_CANDIDATE", "1"), ("ID_M2MHAL_IGNORE", "1")],
    )
    .await;
    let mut usb = tty_event("add", &ports[2], &[("ID_M2MHAL_CANDIDATE", "1")]);
    usb.insert(
        "subsystem",
        zbus::OwnedVariant::try_from(zbus::Variant::from("usb")).unwrap(),
    );
    report_kernel_event(conn, &usb).await.unwrap();
    // Events are handled in order: once the tagged port is up, the others have been decided.
    add(conn, &ports[3], &[("ID_M2MHAL_CANDIDATE", "1")]).await;
    let path = wait_for_device(conn, &ports[3], "ready").await;

    assert_eq!(
        watch.opened(),
        [std::path::PathBuf::from(&ports[3])],
        "only the tagged port was opened"
    );
    let listed: Vec<String> = devices(conn).await.iter().map(|p| p.to_string()).collect();
    assert_eq!(listed, [path]);
    for index in 0..3 {
        let status = sim.status(index).await;
        assert_eq!(
            status["echo"], true,
            "no ATE0 reached port {index}: {status}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_port_goes_offline_and_calls_fail_at_once() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let daemon = Daemon::start(&bus, "").await;
    let conn = daemon.conn.clone();
    add(&conn, &sim.path(0), &[("ID_M2MHAL_CANDIDATE", "1")]).await;
    let path = wait_for_device(&conn, &sim.path(0), "ready").await;
    let mut changes = properties_changed(&conn, &path).await;

    report_kernel_event(&conn, &tty_event("remove", &sim.path(0), &[]))
        .await
        .unwrap();
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "offline").await;
    let reason: String = property(&conn, &path, DEVICE, "StateReason").await;
    assert_eq!(reason, "unplugged");
    let id: String = property(&conn, &path, DEVICE, "Id").await;
    assert_eq!(id, "imei:356938035643809", "the object keeps its identity");

    let started = Instant::now();
    let command: Result<String, _> = call(&conn, &path, DEVICE, "Command", &("AT", 0u32)).await;
    assert_hal_error(command, "DeviceGone");
    let reset: Result<(), _> = call(&conn, &path, DEVICE, "Reset", &()).await;
    assert_hal_error(reset, "DeviceGone");
    let refresh: Result<(), _> = call(&conn, &path, SIGNAL, "Refresh", &()).await;
    assert_hal_error(refresh, "DeviceGone");
    let poll: Result<(), _> = call(&conn, &path, MESSAGING, "Poll", &()).await;
    assert_hal_error(poll, "DeviceGone");
    assert_hal_error(send_text(&conn, &path, PEER, "anyone?").await, "DeviceGone");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "calls to a gone device took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_modems_are_independent() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem", "--count", "2"], 2).await;
    let daemon = Daemon::start(&bus, "").await;
    let conn = daemon.conn.clone();
    for index in 0..2 {
        add(&conn, &sim.path(index), &[("ID_M2MHAL_CANDIDATE", "1")]).await;
    }
    let first = wait_for_device(&conn, &sim.path(0), "ready").await;
    let second = wait_for_device(&conn, &sim.path(1), "ready").await;
    assert_ne!(first, second);
    let ids = [
        property::<String>(&conn, &first, DEVICE, "Id").await,
        property::<String>(&conn, &second, DEVICE, "Id").await,
    ];
    assert_eq!(ids, ["imei:356938035643809", "imei:356938035643817"]);

    // A change on the second modem shows on the second device only.
    let mut second_changes = properties_changed(&conn, &second).await;
    sim.ok("@1 register roaming").await;
    next_property_change::<String>(&mut second_changes, SIGNAL, "Registration", |r| {
        r == "roaming"
    })
    .await;
    let registration: String = property(&conn, &first, SIGNAL, "Registration").await;
    assert_eq!(registration, "home");

    // A message to the first modem is received on the first device.
    let mut received = subscribe(&conn, MESSAGING, "Received").await;
    sim.ok(&format!("@0 sms {PEER} for the first")).await;
    let message = next_signal(&mut received, |_: &ReceivedBody| true).await;
    assert_eq!(message.2, b"for the first");
    assert_eq!(list_messages(&conn, &first).await.len(), 1);
    assert!(list_messages(&conn, &second).await.is_empty());

    // A message sent on the second device leaves through the second modem.
    let mut states = subscribe(&conn, MESSAGING, "StateChanged").await;
    let id = send_text(&conn, &second, PEER, "from the second")
        .await
        .unwrap();
    wait_message_state(&mut states, &id, "sent").await;
    let sent = sim.expect_event("sms-sent").await;
    assert_eq!(sent["index"], 1);
    assert_eq!(sent["text"], "from the second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replugged_modem_is_ready_again_under_its_id() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let daemon = Daemon::start(&bus, "").await;
    let conn = daemon.conn.clone();
    let tags = [("ID_M2MHAL_CANDIDATE", "1")];
    add(&conn, &sim.path(0), &tags).await;
    let before = wait_for_device(&conn, &sim.path(0), "ready").await;
    report_kernel_event(&conn, &tty_event("remove", &sim.path(0), &[]))
        .await
        .unwrap();
    wait_for_property::<String>(&conn, &before, DEVICE, "State", |s| s == "offline").await;
    add(&conn, &sim.path(0), &tags).await;
    let after = wait_for_device(&conn, &sim.path(0), "ready").await;
    let mut ids = Vec::new();
    for path in devices(&conn).await {
        ids.push(property::<String>(&conn, path.as_str(), DEVICE, "Id").await);
    }
    assert_eq!(
        ids,
        ["imei:356938035643809"],
        "one object per device: {before} (offline) and {after}"
    );
    assert_eq!(after, before, "the known device comes back in its object");
}

/// A composite modem exposes several AT ports of one device (same IMEI): the first port that
/// identifies it serves it, the other is let go, and the device is one object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ports_of_one_modem_are_one_device() {
    let bus = TestBus::start().await;
    let at_port = Sim::start(&["modem"], 1).await;
    let modem_port = Sim::start(&["modem"], 1).await;
    let mut daemon = Daemon::start(&bus, "").await;
    let conn = daemon.conn.clone();
    add(&conn, &at_port.path(0), &[("ID_M2MHAL_CANDIDATE", "1")]).await;
    let path = wait_for_device(&conn, &at_port.path(0), "ready").await;
    add(&conn, &modem_port.path(0), &[("ID_M2MHAL_CANDIDATE", "1")]).await;
    let left = daemon.expect_log("already served through").await;
    assert!(left.contains(&at_port.path(0)), "{left}");
    let listed: Vec<String> = devices(&conn)
        .await
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    assert_eq!(listed, std::slice::from_ref(&path));
    let port: String = property(&conn, &path, DEVICE, "Port").await;
    assert_eq!(port, at_port.path(0));
}

/// As root, a plugin directory that others may write is refused, and so nothing is loaded from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_writable_plugin_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let bus = TestBus::start().await;
    let dir = daemon_dir();
    let plugins = dir.path().join("plugins");
    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut daemon = Daemon::start_in(&bus, dir.path(), "").await;
    let refused = daemon.expect_log("refusing plugin directory").await;
    assert!(refused.contains("0777"), "{refused}");
    let loaded: Vec<std::collections::HashMap<String, zbus::OwnedVariant>> =
        call(&daemon.conn, MANAGER_PATH, MANAGER, "ListPlugins", &())
            .await
            .unwrap();
    assert!(loaded.is_empty(), "{loaded:?}");
}
