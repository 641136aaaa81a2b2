//! A driver that cannot open its device is retried 5 s, then 10 s, ... later, with one warning
//! and the repeats at debug level, instead of an error every 5 s for ever.

use m2mhal_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_failing_on_open_backs_off_and_warns_once() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    // The cellular driver refuses to open with a malformed option, as after a typo in the config.
    let config = format!(
        "{}[drivers.cellular]\nsignal_interval = \"soon\"\n",
        port_config(&sim.path(0))
    );
    let mut daemon = Daemon::start(&bus, &config).await;
    let lines = daemon.log_until("retrying in 10s:").await;
    let failures: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("driver cellular cannot open the device"))
        .collect();
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].contains("WARN"),
        "first failure: {}",
        failures[0]
    );
    assert!(failures[0].contains("retrying in 5s:"), "{}", failures[0]);
    assert!(failures[1].contains("DEBUG"), "repeat: {}", failures[1]);
    assert!(devices(&daemon.conn).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_driver_that_cannot_be_restarted_backs_off_and_warns_once() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let dir = daemon_dir();
    let refuse = dir.path().join("refuse-open");
    let config = format!(
        "isolated_drivers = [\"misbehaving\"]\n\
         [[port]]\npath = \"{port}\"\ndriver = \"misbehaving\"\n\
         [drivers.misbehaving]\non_call = \"abort\"\nrefuse_open_while = \"{}\"\n",
        refuse.display()
    );
    install_test_plugin(dir.path(), "misbehaving");
    let mut daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;

    // From now on every new instance of the driver fails to open (as a driver whose device
    // went bad would); the Reset crashes the running one.
    std::fs::write(&refuse, b"").unwrap();
    let reset: Result<(), _> = call(&daemon.conn, &path, DEVICE, "Reset", &()).await;
    assert_hal_error(reset, "Failed");
    let lines = daemon
        .log_until("cannot restart the driver, retrying in 10s:")
        .await;
    let crash = lines
        .iter()
        .find(|line| line.contains("driver failed, restarting it in 5s:"))
        .expect("the crash is logged");
    assert!(crash.contains("WARN"), "{crash}");
    let repeat = lines.last().unwrap();
    assert!(repeat.contains("DEBUG"), "{repeat}");
    let state: String = property(&daemon.conn, &path, DEVICE, "State").await;
    assert_eq!(state, "failed");
}
