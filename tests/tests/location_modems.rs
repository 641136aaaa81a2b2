//! The GNSS of u-blox and Telit modems end to end: `m2msim modem --vendor ublox|telit --gnss`
//! through the real daemon and the cellular plugin, switched on by `[drivers.cellular] gnss`.

use m2mhal_contract::iface::LOCATION;
use m2mhal_tests::*;

/// The position the sim's receiver is given.
const LATITUDE: f64 = 48.1173;
const LONGITUDE: f64 = -11.5167;

/// Starts the sim as a `vendor` modem with a GNSS and the daemon with `gnss = true`; checks the
/// device names `manufacturer`, that the receiver is switched on and polled without a fix, that
/// the sim's 3D fix arrives, and that losing it gives Mode `none`.
async fn a_modem_gnss_reports_the_fix_and_its_loss(vendor: &str, manufacturer: &str) {
    let mut rig = ModemRig::start(
        &["modem", "--vendor", vendor, "--gnss"],
        "[drivers.cellular]\ngnss = true\ngnss_interval = 1\n",
    )
    .await;
    let (conn, path) = (rig.conn().clone(), rig.path.clone());
    assert_eq!(
        property::<String>(&conn, &path, DEVICE, "Manufacturer").await,
        manufacturer
    );
    let capabilities: Vec<String> = property(&conn, &path, DEVICE, "Capabilities").await;
    assert!(
        capabilities.contains(&"location".to_owned()),
        "{capabilities:?}"
    );
    assert_eq!(rig.sim.expect_event("gnss").await["on"], true);
    wait_for_property(&conn, &path, LOCATION, "Enabled", |on: &bool| *on).await;
    // Polled before the receiver has a fix.
    assert_eq!(rig.sim.expect_event("gnss-location").await["fix"], false);
    assert_eq!(
        property::<String>(&conn, &path, LOCATION, "Mode").await,
        "none"
    );

    rig.sim
        .ok(&format!("gnss {LATITUDE} {LONGITUDE} 545.4"))
        .await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "3d").await;
    let fix = properties(&conn, &path, LOCATION).await;
    assert!((field::<f64>(&fix, "Latitude") - LATITUDE).abs() < 1e-6);
    assert!((field::<f64>(&fix, "Longitude") - LONGITUDE).abs() < 1e-6);
    assert_eq!(field::<String>(&fix, "Source"), "gnss");
    assert_eq!(field::<f64>(&fix, "Altitude"), 545.4);
    assert_eq!(field::<u32>(&fix, "Satellites"), 8);
    assert_ne!(field::<u64>(&fix, "FixTime"), 0);

    rig.sim.ok("gnss none").await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "none").await;
    let lost = properties(&conn, &path, LOCATION).await;
    assert!(field::<f64>(&lost, "Latitude").is_nan());
    assert_eq!(field::<u64>(&lost, "FixTime"), 0);
    assert!(rig.daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_u_blox_modem_gnss_reports_the_rmc_and_gga_fix_and_its_loss() {
    a_modem_gnss_reports_the_fix_and_its_loss("ublox", "u-blox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telit_modem_gnss_reports_the_gpsacp_fix_and_its_loss() {
    a_modem_gnss_reports_the_fix_and_its_loss("telit", "Telit").await;
}
