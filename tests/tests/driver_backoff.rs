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
