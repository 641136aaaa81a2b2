//! gpsd interop: `m2mctl nmea` writes a device's Location as NMEA to a pty, gpsd reads it, and
//! Debian's `gpspipe -w` sees the position as TPV (docs/gpsd.md explains the choice).

use m2mhal_contract::iface::LOCATION;
use m2mhal_tests::gpsd::{GpsdRig, gpsd_available};
use m2mhal_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpspipe_sees_a_receiver_position_through_gpsd() {
    if !gpsd_available() {
        return;
    }
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["gnss", "--interval", "200"], 1).await;
    let port = sim.path(0);
    let config = format!("{}driver = \"gnss\"\n", port_config(&port));
    let daemon = Daemon::start(&bus, &config).await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    sim.ok("position -33.8568 151.2153 58").await;
    wait_for_property(&daemon.conn, &path, LOCATION, "Altitude", |a: &f64| {
        *a == 58.0
    })
    .await;

    let dir = tempfile::tempdir().unwrap();
    let gpsd = GpsdRig::start(&bus.address, &port, dir.path()).await;
    let mut last = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let tpv = loop {
        let objects = gpsd.gpspipe(12).await;
        let fix = objects
            .iter()
            .find(|object| object["class"] == "TPV" && object["mode"] == 3)
            .cloned();
        if let Some(tpv) = fix {
            break tpv;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no 3D TPV from gpsd; last {last:?}"
        );
        last = objects;
    };
    let number = |name: &str| tpv[name].as_f64().unwrap_or(f64::NAN);
    assert!((number("lat") + 33.8568).abs() < 1e-5, "{tpv}");
    assert!((number("lon") - 151.2153).abs() < 1e-5, "{tpv}");
    assert!(
        (number("altMSL") - 58.0).abs() < 0.1 || (number("alt") - 58.0).abs() < 0.1,
        "{tpv}"
    );
    assert_eq!(tpv["device"], gpsd.link.to_str().unwrap(), "{tpv}");
}
