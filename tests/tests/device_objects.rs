//! Device object numbers and forgetting devices (API 1.1): the same `Id` gets the same
//! `Devices/<n>` across restarts whatever order the devices come in, and an offline device can be
//! forgotten (`Device.Forget`, `m2mctl forget`, `forget_after`) and gets its number back.

use m2mhal_contract::action;
use m2mhal_tests::device_objects::*;
use m2mhal_tests::*;

const PEER: &str = "+4915112345678";
/// No signal polling: the tests only look at device objects.
const QUIET: &str = "[drivers.cellular]\nsignal_interval = 0\n";

/// `Devices/<n>`.
fn device_path(number: u32) -> String {
    format!("{MANAGER_PATH}/Devices/{number}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_id_keeps_its_object_number_across_restarts_in_any_order() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem", "--count", "4"], 4).await;
    let ports: Vec<String> = (0..4).map(|index| sim.path(index)).collect();
    let dir = daemon_dir();

    // First run: modems 0, 1 and 2 come one after the other.
    let daemon = Daemon::start_in(&bus, dir.path(), QUIET).await;
    let mut first = Vec::new();
    for port in &ports[..3] {
        add_modem_port(&daemon.conn, port).await;
        first.push(ready_device(&daemon.conn, port).await);
    }
    let paths: Vec<&str> = first.iter().map(|(_, path)| path.as_str()).collect();
    assert_eq!(paths, [device_path(0), device_path(1), device_path(2)]);
    assert!(daemon.stop().await.success());

    // Second run: a modem never seen before comes first, then modem 2, then 1 and 0 together.
    let daemon = Daemon::start_in(&bus, dir.path(), QUIET).await;
    let conn = &daemon.conn;
    add_modem_port(conn, &ports[3]).await;
    let (new_id, new_path) = ready_device(conn, &ports[3]).await;
    add_modem_port(conn, &ports[2]).await;
    let mut second = vec![ready_device(conn, &ports[2]).await];
    add_modem_port(conn, &ports[1]).await;
    add_modem_port(conn, &ports[0]).await;
    second.push(ready_device(conn, &ports[1]).await);
    second.push(ready_device(conn, &ports[0]).await);
    second.reverse();

    assert_eq!(second, first, "every Id is back on its own object");
    assert!(!first.iter().any(|(id, _)| *id == new_id));
    assert_eq!(
        new_path,
        device_path(3),
        "a new Id gets the lowest number never given to another Id"
    );
    assert!(daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_device_is_forgotten_and_gets_its_number_and_messages_back() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem", "--count", "2"], 2).await;
    let (port, other_port) = (sim.path(0), sim.path(1));
    let daemon = Daemon::start(&bus, QUIET).await;
    let conn = &daemon.conn;
    add_modem_port(conn, &port).await;
    let (id, path) = ready_device(conn, &port).await;
    let mut states = subscribe(conn, MESSAGING, "StateChanged").await;
    let sent = send_text(conn, &path, PEER, "before forgetting")
        .await
        .unwrap();
    wait_message_state(&mut states, &sent, "sent").await;
    sim.expect_event("sms-sent").await;

    // A device that is not offline is not forgotten.
    let refused: Result<(), _> = call(conn, &path, DEVICE, "Forget", &()).await;
    assert_hal_error(refused, "NotReady");
    let refused = m2mctl(&bus.address, &["forget", &id]).await;
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert!(refused.stderr.contains("NotReady"), "{refused:?}");

    let mut changes = properties_changed(conn, &path).await;
    remove_port(conn, &port).await;
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "offline").await;
    let mut removed = interfaces_removed(conn).await;
    let forgotten = m2mctl(&bus.address, &["forget", &id]).await;
    assert_eq!(forgotten.code, Some(0), "{forgotten:?}");
    device_removed(&mut removed, &path).await;
    assert!(devices(conn).await.is_empty(), "the object is gone");

    // Its number stays its own: a modem never seen before gets the next one.
    add_modem_port(conn, &other_port).await;
    let (_, other_path) = ready_device(conn, &other_port).await;
    assert_eq!(other_path, device_path(1));

    add_modem_port(conn, &port).await;
    let back = ready_device(conn, &port).await;
    assert_eq!(
        back,
        (id, path.clone()),
        "the device is back on its old number"
    );
    let kept: Vec<String> = list_messages(conn, &path)
        .await
        .iter()
        .map(|message| field(message, "id"))
        .collect();
    assert_eq!(kept, [sent], "its stored messages stayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_offline_for_forget_after_is_forgotten_by_the_daemon() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let daemon = Daemon::start(&bus, &format!("forget_after = 1\n{QUIET}")).await;
    let conn = &daemon.conn;
    add_modem_port(conn, &port).await;
    let (id, path) = ready_device(conn, &port).await;

    let mut removed = interfaces_removed(conn).await;
    remove_port(conn, &port).await;
    device_removed(&mut removed, &path).await;
    assert!(devices(conn).await.is_empty(), "the object is gone");

    add_modem_port(conn, &port).await;
    assert_eq!(ready_device(conn, &port).await, (id, path));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_ble_sensor_that_comes_back_into_range_gets_its_number_back() {
    const SENSOR_ADDRESS: &str = "A4:C1:38:00:00:01";
    let config = format!("{}\n[drivers.ble]\nabsent_after = 2\n", ble_config(""));
    let mut rig = BleRig::start(&[&format!("add-bthome {SENSOR_ADDRESS}")], &config).await;
    let conn = rig.daemon.conn.clone();
    let id = format!("ble:{SENSOR_ADDRESS}");
    let path = wait_for_device_id(&conn, &id, "ready").await;

    // Out of range, its driver still listens for it: offline, but the task stays.
    rig.sim.ok(&format!("range {SENSOR_ADDRESS} off")).await;
    wait_for_property(&conn, &path, DEVICE, "State", |s: &String| s == "offline").await;
    let mut removed = interfaces_removed(&conn).await;
    let forgotten: Result<(), _> = call(&conn, &path, DEVICE, "Forget", &()).await;
    assert_eq!(forgotten, Ok(()));
    device_removed(&mut removed, &path).await;
    assert!(devices(&conn).await.is_empty(), "the object is gone");

    rig.sim.ok(&format!("range {SENSOR_ADDRESS} on")).await;
    assert_eq!(wait_for_device_id(&conn, &id, "ready").await, path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_needs_the_control_action() {
    /// uid of `nobody`.
    const NOBODY: u32 = 65534;
    let Some((bus, polkit)) = bus_with_mock_polkit().await else {
        return;
    };
    let sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let daemon = Daemon::start(&bus, QUIET).await;
    let conn = &daemon.conn;
    add_modem_port(conn, &port).await;
    let (id, path) = ready_device(conn, &port).await;
    remove_port(conn, &port).await;
    wait_for_property(conn, &path, DEVICE, "State", |s: &String| s == "offline").await;

    let refused = m2mctl_as_user(&bus.address, NOBODY, &["forget", &id]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("NotAuthorized"), "{refused:?}");
    assert!(refused.stderr.contains(action::CONTROL), "{refused:?}");
    assert_eq!(devices(conn).await.len(), 1, "the device is still there");

    polkit.set_allowed(&[action::CONTROL]).await;
    let mut removed = interfaces_removed(conn).await;
    let forgotten = m2mctl_as_user(&bus.address, NOBODY, &["forget", &id]).await;
    assert_eq!(forgotten.code, Some(0), "{forgotten:?}");
    device_removed(&mut removed, &path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_fails_before_its_id_is_known_moves_to_its_ids_number() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let dir = daemon_dir();
    // The driver is named: the port is not probed, the driver identifies the modem itself.
    let config = format!("{}driver = \"cellular\"\n{QUIET}", port_config(&port));
    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let (id, path) = ready_device(&daemon.conn, &port).await;
    assert!(daemon.stop().await.success());

    // After a restart the modem does not answer: it is shown, failed, before anyone knows its Id.
    sim.ok("@0 quirk silent on").await;
    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let conn = &daemon.conn;
    let nameless = wait_long_for_device(conn, &port, "failed", SILENT_MODEM_WAIT).await;
    let nameless_id: String = property(conn, &nameless, DEVICE, "Id").await;
    assert_eq!(nameless_id, "");
    assert_ne!(nameless, path, "a number kept for an Id is not lent out");

    // Once it answers and says who it is, it moves to its own number.
    let mut removed = interfaces_removed(conn).await;
    sim.ok("@0 quirk silent off").await;
    device_removed(&mut removed, &nameless).await;
    assert_eq!(ready_device(conn, &port).await, (id, path));
}
