//! First end-to-end check: a configured port with a simulated modem becomes a ready device.

use m2mhal_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_port_becomes_ready_device() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let daemon = Daemon::start(&bus, &format!("[[port]]\npath = \"{port}\"\n")).await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    let id: String = property(&daemon.conn, &path, DEVICE, "Id").await;
    assert_eq!(id, "imei:356938035643809");
    let status = daemon.stop().await;
    assert!(status.success(), "{status:?}");
}
