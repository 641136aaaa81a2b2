//! `isolated_drivers`: a driver that runs in worker processes serves its devices as it would in
//! the daemon, and when it crashes or hangs only its worker goes: the caller gets an error, the
//! device comes back with a fresh worker, the daemon and every other device carry on.

use m2mhal_tests::*;

const IMEI: &str = "490154203237518";
const PEER: &str = "+4915112345678";

/// The worker process id from the daemon's log line for an isolated instance.
async fn worker_pid(daemon: &mut Daemon, driver: &str) -> u32 {
    let line = daemon
        .expect_log(&format!(
            "driver {driver} runs this device in worker process"
        ))
        .await;
    line.rsplit(' ')
        .next()
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid at the end of {line:?}"))
}

/// The command line of process `pid`, arguments separated by spaces.
fn command_line(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .unwrap_or_default()
}

/// Asserts that the daemon process the test started still owns the bus name (it did not crash
/// and was not replaced).
async fn assert_daemon_serves(daemon: &Daemon) {
    let dbus = zbus::fdo::DBusProxy::new(&daemon.conn).await.unwrap();
    let name = zbus::names::BusName::try_from(BUS_NAME).unwrap();
    let owner_pid = dbus.get_connection_unix_process_id(name).await.unwrap();
    assert_eq!(Some(owner_pid), daemon.pid());
}

/// A daemon directory with the misbehaving test plugin installed next to the real ones.
fn dir_with_misbehaving() -> tempfile::TempDir {
    let dir = daemon_dir();
    install_test_plugin(dir.path(), "misbehaving");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_cellular_modem_goes_ready_and_sends_sms() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem", "--imei", IMEI], 1).await;
    let port = sim.path(0);
    let config = format!(
        "isolated_drivers = [\"cellular\", \"nosuchdriver\"]\n{}",
        port_config(&port)
    );
    let mut daemon = Daemon::start(&bus, &config).await;
    let loaded = daemon
        .expect_log("(isolated: one worker process per device)")
        .await;
    assert!(loaded.contains("loaded driver cellular "), "{loaded}");
    daemon
        .expect_log(
            "isolated_drivers names \"nosuchdriver\", but no libm2mhal_driver_nosuchdriver.so",
        )
        .await;
    let pid = worker_pid(&mut daemon, "cellular").await;
    assert_ne!(Some(pid), daemon.pid());
    let worker = command_line(pid);
    assert!(
        worker.contains("m2mhald --plugin-fd 3 --driver-worker ")
            && worker.ends_with("plugins/libm2mhal_driver_cellular.so "),
        "{worker:?}"
    );
    // The worker loads the file the daemon opened (and checked), handed down as descriptor 3.
    let loaded = std::fs::read_link(format!("/proc/{pid}/fd/3")).unwrap();
    assert!(
        loaded.ends_with("plugins/libm2mhal_driver_cellular.so"),
        "{loaded:?}"
    );

    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    let id: String = property(&daemon.conn, &path, DEVICE, "Id").await;
    assert_eq!(id, format!("imei:{IMEI}"));
    let mut states = subscribe(&daemon.conn, MESSAGING, "StateChanged").await;
    let message = send_text(&daemon.conn, &path, PEER, "from a worker")
        .await
        .unwrap();
    wait_message_state(&mut states, &message, "sent").await;
    let sent = sim.expect_event("sms-sent").await;
    assert_eq!(sent["to"], PEER);
    assert_eq!(sent["text"], "from a worker");

    // Stopping the device ends its worker with it.
    assert!(daemon.stop().await.success());
    assert_eq!(command_line(pid), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_isolated_driver_takes_down_only_its_worker() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem", "--count", "2"], 2).await;
    let (crasher, modem) = (sim.path(0), sim.path(1));
    let config = format!(
        "isolated_drivers = [\"misbehaving\"]\n\
         [[port]]\npath = \"{crasher}\"\ndriver = \"misbehaving\"\n\
         [[port]]\npath = \"{modem}\"\ndriver = \"cellular\"\n\
         [drivers.misbehaving]\non_call = \"abort\"\n"
    );
    let dir = dir_with_misbehaving();
    let mut daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let first_worker = worker_pid(&mut daemon, "misbehaving").await;
    let crasher_path = wait_for_device(&daemon.conn, &crasher, "ready").await;
    let modem_path = wait_for_device(&daemon.conn, &modem, "ready").await;

    let mut changes = properties_changed(&daemon.conn, &crasher_path).await;
    let reset: Result<(), _> = call(&daemon.conn, &crasher_path, DEVICE, "Reset", &()).await;
    assert_eq!(assert_hal_error(reset, "Failed"), "the driver failed");
    daemon
        .expect_log("driver failed, restarting it in 5s: handle: the driver's worker died: signal 6 (SIGABRT)")
        .await;
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "failed").await;
    let reason: String = property(&daemon.conn, &crasher_path, DEVICE, "StateReason").await;
    assert_eq!(reason, "driver-error");

    // The daemon and the other modem carry on.
    assert_daemon_serves(&daemon).await;
    let refreshed: Result<(), _> = call(&daemon.conn, &modem_path, SIGNAL, "Refresh", &()).await;
    assert_eq!(refreshed, Ok(()));
    let state: String = property(&daemon.conn, &modem_path, DEVICE, "State").await;
    assert_eq!(state, "ready");

    // The driver comes back in a new worker.
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "ready").await;
    let second_worker = worker_pid(&mut daemon, "misbehaving").await;
    assert_ne!(second_worker, first_worker);
    assert_daemon_serves(&daemon).await;
    assert!(daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_isolated_driver_is_killed_at_the_deadline() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let config = format!(
        "isolated_drivers = [\"misbehaving\"]\n\
         [[port]]\npath = \"{port}\"\ndriver = \"misbehaving\"\n\
         [drivers.misbehaving]\non_call = \"hang\"\n"
    );
    let dir = dir_with_misbehaving();
    let mut daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let worker = worker_pid(&mut daemon, "misbehaving").await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;

    // Device.Reset allows the driver 60 s; the worker's deadline ends the call long before.
    let reset: Result<(), _> = call(&daemon.conn, &path, DEVICE, "Reset", &()).await;
    assert_eq!(assert_hal_error(reset, "Failed"), "the driver failed");
    daemon
        .expect_log("handle: the driver did not answer within 5 s (killed)")
        .await;
    assert_eq!(command_line(worker), "", "the hung worker is gone");
    assert_daemon_serves(&daemon).await;

    assert_ne!(worker_pid(&mut daemon, "misbehaving").await, worker);
    wait_for_device(&daemon.conn, &port, "ready").await;
    assert!(daemon.stop().await.success());
}
