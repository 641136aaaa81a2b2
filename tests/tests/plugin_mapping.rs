//! In-process driver plugins are mapped into the daemon when a device first needs them: with one
//! modem, only the cellular plugin's code is in the daemon's memory, although all four shipped
//! plugins are installed and loaded (checked and described) at start.

use m2mhal_tests::*;

/// The `libm2mhal_driver_*.so` files mapped into process `pid`, by file name, sorted.
fn mapped_plugins(pid: u32) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read the maps");
    let mut names: Vec<String> = maps
        .lines()
        .filter_map(|line| line.rsplit('/').next())
        .filter(|name| name.starts_with("libm2mhal_driver_"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_plugins_of_present_devices_are_mapped_into_the_daemon() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let mut daemon = Daemon::start(&bus, &port_config(&port)).await;
    for driver in ["ble", "cellular", "gnss", "iridium"] {
        let loaded = daemon.expect_log(&format!("loaded driver {driver} ")).await;
        assert!(!loaded.contains("isolated"), "{loaded}");
    }
    wait_for_device(&daemon.conn, &port, "ready").await;
    let pid = daemon.pid().expect("the daemon runs");
    assert_eq!(mapped_plugins(pid), ["libm2mhal_driver_cellular.so"]);
    daemon
        .expect_log("mapped driver cellular into the daemon for its first device")
        .await;
    assert!(daemon.stop().await.success());
}
