//! `systemctl reload m2mhald` (SIGHUP): the daemon reads its config again and applies it to the
//! running devices without dropping the others or its bus name.

use std::collections::HashMap;

use m2mhal_tests::*;
use zbus::{OwnedObjectPath, OwnedVariant};

const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";

/// Body of `InterfacesAdded`.
type Added = (
    OwnedObjectPath,
    HashMap<String, HashMap<String, OwnedVariant>>,
);
/// Body of `InterfacesRemoved`.
type Removed = (OwnedObjectPath, Vec<String>);

/// The unique name that owns the daemon's bus name now.
async fn owner(conn: &zbus::Connection) -> String {
    let dbus = zbus::fdo::DBusProxy::new(conn).await.expect("bus proxy");
    let name = zbus::names::BusName::try_from(BUS_NAME).expect("bus name");
    dbus.get_name_owner(name).await.expect("owner").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_new_ports_and_removes_dropped_ones() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem", "--count", "2"], 2).await;
    let (first, second) = (sim.path(0), sim.path(1));
    let mut daemon = Daemon::start(&bus, &port_config(&first)).await;
    let first_device = wait_for_device(&daemon.conn, &first, "ready").await;
    let daemon_name = owner(&daemon.conn).await;
    let mut added = subscribe(&daemon.conn, OBJECT_MANAGER, "InterfacesAdded").await;
    let mut removed = subscribe(&daemon.conn, OBJECT_MANAGER, "InterfacesRemoved").await;

    // A new [[port]] appears.
    let both = format!("{}{}", port_config(&first), port_config(&second));
    let verdict = daemon.reload(&both).await;
    assert!(
        verdict.contains("1 port(s) added, 0 removed, 0 restarted"),
        "{verdict}"
    );
    let (new_path, _): Added = next_signal(&mut added, |_: &Added| true).await;
    let second_device = wait_for_device(&daemon.conn, &second, "ready").await;
    assert_eq!(new_path.as_str(), second_device);

    // A dropped [[port]] goes, object and all; the other device is untouched.
    let verdict = daemon.reload(&port_config(&second)).await;
    assert!(
        verdict.contains("0 port(s) added, 1 removed, 0 restarted"),
        "{verdict}"
    );
    let _: Removed = next_signal(&mut removed, |(path, interfaces): &Removed| {
        path.as_str() == first_device && interfaces.iter().any(|i| i == DEVICE)
    })
    .await;
    let gone = daemon.expect_log("device removed").await;
    assert!(gone.contains(&first_device), "{gone}");
    let paths: Vec<String> = devices(&daemon.conn)
        .await
        .iter()
        .map(|path| path.as_str().to_owned())
        .collect();
    assert_eq!(paths, std::slice::from_ref(&second_device));
    // Every interface of the removed object went, not just Device.
    let objects: HashMap<OwnedObjectPath, HashMap<String, HashMap<String, OwnedVariant>>> = call(
        &daemon.conn,
        MANAGER_PATH,
        OBJECT_MANAGER,
        "GetManagedObjects",
        &(),
    )
    .await
    .expect("GetManagedObjects");
    assert!(
        !objects.keys().any(|path| path.as_str() == first_device),
        "{:?}",
        objects.keys()
    );
    let state: String = property(&daemon.conn, &second_device, DEVICE, "State").await;
    assert_eq!(state, "ready");
    assert_eq!(
        owner(&daemon.conn).await,
        daemon_name,
        "the bus name was kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_changed_driver_options_to_that_driver_only() {
    let bus = TestBus::start().await;
    let mut modem = Sim::start(&["modem"], 1).await;
    let iridium = Sim::start(&["iridium"], 1).await;
    let ports = format!(
        "{}{}",
        port_config(&modem.path(0)),
        port_config(&iridium.path(0))
    );
    let mut daemon = Daemon::start(
        &bus,
        &format!("{ports}[drivers.cellular]\nsignal_interval = 0\n"),
    )
    .await;
    let cellular = wait_for_device(&daemon.conn, &modem.path(0), "ready").await;
    let satellite = wait_for_device(&daemon.conn, &iridium.path(0), "ready").await;
    let mut cellular_changes = properties_changed(&daemon.conn, &cellular).await;
    let mut satellite_changes = properties_changed(&daemon.conn, &satellite).await;

    // The modem's driver restarts with a signal refresh every second; Iridium goes on.
    let verdict = daemon
        .reload(&format!("{ports}[drivers.cellular]\nsignal_interval = 1\n"))
        .await;
    assert!(
        verdict.contains("0 port(s) added, 0 removed, 1 restarted"),
        "{verdict}"
    );
    next_property_change::<String>(&mut cellular_changes, DEVICE, "State", |s| s == "offline")
        .await;
    next_property_change::<String>(&mut cellular_changes, DEVICE, "State", |s| s == "ready").await;
    // Only the periodic refresh can find an operator change: the new option is in force.
    modem.ok("operator Later Net").await;
    next_property_change::<String>(&mut cellular_changes, SIGNAL, "Operator", |o| {
        o == "Later Net"
    })
    .await;
    let state: String = property(&daemon.conn, &satellite, DEVICE, "State").await;
    assert_eq!(state, "ready");
    // Nothing about the Iridium device changed state meanwhile.
    let satellite_state = tokio::time::timeout(
        std::time::Duration::ZERO,
        next_property_change::<String>(&mut satellite_changes, DEVICE, "State", |_| true),
    )
    .await;
    assert!(satellite_state.is_err(), "{satellite_state:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_does_not_parse_is_refused_and_the_running_one_stays() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem", "--count", "2"], 2).await;
    let (first, second) = (sim.path(0), sim.path(1));
    let mut daemon = Daemon::start(&bus, &port_config(&first)).await;
    let device = wait_for_device(&daemon.conn, &first, "ready").await;
    let daemon_name = owner(&daemon.conn).await;

    // Not TOML, then an unknown key: both refused with the reason, nothing changes.
    for broken in [
        "[[port]\npath = ",
        "[[port]]\npath = \"/dev/ttyS9\"\nbaudrate = 9600\n",
    ] {
        let verdict = daemon.reload(broken).await;
        assert!(
            verdict.contains("config reload refused, the running config stays"),
            "{verdict}"
        );
        assert!(verdict.contains("m2mhald.toml"), "{verdict}");
        assert!(verdict.contains("TOML parse error at line"), "{verdict}");
    }
    let state: String = property(&daemon.conn, &device, DEVICE, "State").await;
    assert_eq!(state, "ready");
    assert_eq!(owner(&daemon.conn).await, daemon_name);

    // The next good file is applied against the config that stayed: the first port is kept.
    let both = format!("{}{}", port_config(&first), port_config(&second));
    let verdict = daemon.reload(&both).await;
    assert!(
        verdict.contains("1 port(s) added, 0 removed, 0 restarted"),
        "{verdict}"
    );
    wait_for_device(&daemon.conn, &second, "ready").await;
    assert_eq!(devices(&daemon.conn).await.len(), 2);
}
