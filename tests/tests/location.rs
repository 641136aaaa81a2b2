//! `org.m2mhal.Hal1.Location` end to end: a simulated NMEA receiver (`m2msim gnss`) and the GNSS
//! of a simulated modem (`m2msim modem --gnss`) through the real daemon and its plugins.

use m2mhal_contract::{action, iface::LOCATION};
use m2mhal_tests::*;

/// uid of `nobody`.
const NOBODY: u32 = 65534;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A `[[port]]` table for a receiver at `path`, claimed by the `gnss` driver.
fn receiver_config(path: &str) -> String {
    format!("{}driver = \"gnss\"\nbaud = 9600\n", port_config(path))
}

/// Whether `value` is within a millionth of a degree of `expected`.
fn near(value: f64, expected: f64) -> bool {
    (value - expected).abs() < 1e-6
}

async fn location<T>(conn: &zbus::Connection, path: &str, name: &str) -> T
where
    T: TryFrom<zbus::zvariant::OwnedVariant>,
    T::Error: std::fmt::Debug,
{
    property(conn, path, LOCATION, name).await
}

/// Waits until the sim has reported `count` epochs sent with bad checksums.
async fn bad_epochs(sim: &mut Sim, count: usize) {
    let mut seen = 0;
    while seen < count {
        let epoch = sim.expect_event("epoch").await;
        if epoch["bad_checksums"] == true {
            seen += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_reports_its_fix_movement_loss_and_unplug_and_drops_damaged_sentences() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["gnss", "--interval", "200"], 1).await;
    let port = sim.path(0);
    let mut daemon = Daemon::start(&bus, &receiver_config(&port)).await;
    let conn = daemon.conn.clone();
    let path = wait_for_device(&conn, &port, "ready").await;

    let device = properties(&conn, &path, DEVICE).await;
    assert_eq!(field::<String>(&device, "Kind"), "gnss-receiver");
    assert_eq!(field::<String>(&device, "Driver"), "gnss");
    let name = port.rsplit('/').next().unwrap();
    assert_eq!(field::<String>(&device, "Id"), format!("gnss:{name}"));
    assert_eq!(field::<Vec<String>>(&device, "Capabilities"), ["location"]);
    sim.ok("identify").await;
    wait_for_property(&conn, &path, DEVICE, "Model", |model: &String| {
        model == "NEO-M8N-0"
    })
    .await;
    assert_eq!(
        property::<String>(&conn, &path, DEVICE, "Manufacturer").await,
        "u-blox"
    );

    // The default solution: a 3D fix in Berlin.
    wait_for_property(&conn, &path, LOCATION, "Latitude", |l: &f64| {
        near(*l, 52.52)
    })
    .await;
    let fix = properties(&conn, &path, LOCATION).await;
    assert!(near(field(&fix, "Longitude"), 13.405));
    assert_eq!(field::<f64>(&fix, "Altitude"), 34.0);
    assert_eq!(field::<String>(&fix, "Mode"), "3d");
    assert_eq!(field::<u32>(&fix, "Satellites"), 8);
    assert_eq!(field::<f64>(&fix, "Hdop"), 0.9);
    assert_eq!(field::<String>(&fix, "Source"), "gnss");
    assert!(field::<bool>(&fix, "Enabled"));
    assert!(field::<u64>(&fix, "FixTime").abs_diff(unix_now()) < 60);

    // Moving east at 10 m/s: each fix comes whole, position and time in one signal.
    let mut changes = properties_changed(&conn, &path).await;
    sim.ok("position -33.8568 151.2153 58").await;
    sim.ok("course 90").await;
    sim.ok("speed 10").await;
    let moved = next_property_change(&mut changes, LOCATION, "Longitude", |l: &f64| {
        *l > 151.2153 + 1e-6
    })
    .await;
    assert!(moved < 151.3, "{moved}");
    let speed = wait_for_property(&conn, &path, LOCATION, "Speed", |s: &f64| {
        (s - 10.0).abs() < 0.01
    })
    .await;
    assert!(speed > 9.99);
    assert_eq!(location::<f64>(&conn, &path, "Course").await, 90.0);
    assert!(near(location(&conn, &path, "Latitude").await, -33.8568));
    assert_eq!(location::<f64>(&conn, &path, "Altitude").await, 58.0);

    // The fix is lost.
    sim.ok("speed 0").await;
    sim.ok("fix none").await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "none").await;
    let lost = properties(&conn, &path, LOCATION).await;
    assert!(field::<f64>(&lost, "Latitude").is_nan());
    assert!(field::<f64>(&lost, "Longitude").is_nan());
    assert!(field::<f64>(&lost, "Altitude").is_nan());
    assert_eq!(field::<u64>(&lost, "FixTime"), 0);
    assert_eq!(field::<String>(&lost, "Source"), "");
    sim.ok("fix 3d").await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "3d").await;
    let here: f64 = location(&conn, &path, "Latitude").await;

    // Sentences damaged on the line (another position under the old checksum) are dropped:
    // the position stays until the line is clean again.
    sim.ok("bad-checksums on").await;
    sim.ok("position 10 20 100").await;
    bad_epochs(&mut sim, 5).await;
    daemon.expect_log("dropped a sentence: checksum").await;
    assert_eq!(location::<f64>(&conn, &path, "Latitude").await, here);
    sim.ok("bad-checksums off").await;
    wait_for_property(&conn, &path, LOCATION, "Latitude", |l: &f64| near(*l, 10.0)).await;
    assert!(near(location(&conn, &path, "Longitude").await, 20.0));

    // Unplugged: offline, and no fix.
    sim.hangup(0).await;
    wait_for_property(&conn, &path, DEVICE, "State", |s: &String| s == "offline").await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "none").await;
    assert!(daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_gnss_is_off_until_switched_on_reports_no_fix_then_a_fix_and_switches_off() {
    let mut rig = ModemRig::start(
        &["modem", "--gnss"],
        "[drivers.cellular]\ngnss_interval = 1\n",
    )
    .await;
    let (conn, path) = (rig.conn().clone(), rig.path.clone());
    let mut capabilities: Vec<String> = property(&conn, &path, DEVICE, "Capabilities").await;
    capabilities.sort();
    assert_eq!(capabilities, ["location", "messaging", "signal"]);
    assert!(!location::<bool>(&conn, &path, "Enabled").await);
    assert_eq!(location::<String>(&conn, &path, "Mode").await, "none");

    call::<_, ()>(&conn, &path, LOCATION, "SetEnabled", &(true,))
        .await
        .unwrap();
    assert_eq!(rig.sim.expect_event("gnss").await["on"], true);
    assert!(location::<bool>(&conn, &path, "Enabled").await);
    // Polled, but no fix yet (+CME ERROR: 516): still none.
    let poll = rig.sim.expect_event("gnss-location").await;
    assert_eq!(poll["fix"], false);
    assert_eq!(location::<String>(&conn, &path, "Mode").await, "none");
    // Switching on again is no error.
    call::<_, ()>(&conn, &path, LOCATION, "SetEnabled", &(true,))
        .await
        .unwrap();

    rig.sim.ok("gnss 48.1173 11.5167 545.4").await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "3d").await;
    let fix = properties(&conn, &path, LOCATION).await;
    assert!(near(field(&fix, "Latitude"), 48.1173));
    assert!(near(field(&fix, "Longitude"), 11.5167));
    assert_eq!(field::<f64>(&fix, "Altitude"), 545.4);
    assert_eq!(field::<u32>(&fix, "Satellites"), 8);
    assert!(field::<u64>(&fix, "FixTime").abs_diff(unix_now()) < 60);

    rig.sim.ok("gnss none").await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "none").await;

    let off = m2mctl(&rig.bus.address, &["location", &rig.port, "--off"]).await;
    assert_eq!(off.code, Some(0), "{off:?}");
    assert!(off.stdout.contains("Enabled     false"), "{off:?}");
    assert_eq!(rig.sim.expect_event("gnss").await["on"], false);
    assert_eq!(rig.sim.status(0).await["gnss"]["on"], false);
    assert!(rig.daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gnss_option_switches_a_modem_gnss_on_at_start() {
    let mut rig = ModemRig::start(
        &["modem", "--gnss"],
        "[drivers.cellular]\ngnss = true\ngnss_interval = 1\n",
    )
    .await;
    assert_eq!(rig.sim.expect_event("gnss").await["on"], true);
    let (conn, path) = (rig.conn().clone(), rig.path.clone());
    wait_for_property(&conn, &path, LOCATION, "Enabled", |on: &bool| *on).await;
    rig.sim.ok("gnss -33.8568 151.2153").await;
    wait_for_property(&conn, &path, LOCATION, "Mode", |m: &String| m == "2d").await;
    assert!(location::<f64>(&conn, &path, "Altitude").await.is_nan());
    let shown = m2mctl(&rig.bus.address, &["show", &rig.port]).await;
    assert!(shown.stdout.contains("  Location\n"), "{shown:?}");
    assert!(shown.stdout.contains("33.856800° S"), "{shown:?}");
    assert!(rig.daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_enabled_needs_the_control_action() {
    let Some((bus, polkit)) = bus_with_mock_polkit().await else {
        return;
    };
    let mut sim = Sim::start(&["modem", "--gnss"], 1).await;
    let port = sim.path(0);
    let daemon = Daemon::start(&bus, &port_config(&port)).await;
    wait_for_device(&daemon.conn, &port, "ready").await;

    let refused = m2mctl_as_user(&bus.address, NOBODY, &["location", &port, "--on"]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    for needle in ["NotAuthorized", action::CONTROL] {
        assert!(refused.stderr.contains(needle), "{refused:?}");
    }
    assert_eq!(
        sim.status(0).await["gnss"]["on"],
        false,
        "nothing reached the modem"
    );
    // Reading the position is open to everyone.
    let read = m2mctl_as_user(&bus.address, NOBODY, &["location", &port]).await;
    assert_eq!(read.code, Some(0), "{read:?}");
    assert!(read.stdout.contains("Mode"), "{read:?}");

    polkit.set_allowed(&[action::CONTROL]).await;
    let allowed = m2mctl_as_user(&bus.address, NOBODY, &["location", &port, "--on"]).await;
    assert_eq!(allowed.code, Some(0), "{allowed:?}");
    assert_eq!(sim.expect_event("gnss").await["on"], true);
}
