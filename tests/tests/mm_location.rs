//! Location of a modem served through ModemManager (issues 12 and 16): with the real
//! ModemManager managing a simulated Quectel (the rig of `m2mhal_tests::modemmanager`), MM's
//! Location interface makes the m2mhal device list `location`, its 3gpp-lac-ci source gives
//! `Location.Cell` (and no invented position), and `SetEnabled` stays privileged. With a GNSS
//! port on the modem (`m2mhal_tests::mm_gnss`: an `m2msim gnss` receiver), MM's gps-raw gives
//! the fixes, its gps-nmea traces their satellites, HDOP, speed and course, and `SetEnabled` /
//! `[modemmanager] gnss` switch it through MM.

use std::collections::HashMap;

use m2mhal_contract::{action, iface::LOCATION};
use m2mhal_tests::mm_gnss::MmGnssRig;
use m2mhal_tests::modemmanager::*;
use m2mhal_tests::*;
use zbus::zvariant::OwnedVariant;

const ID: &str = "imei:356938035643809";
/// uid of `nobody`.
const NOBODY: u32 = 65534;

/// `org.freedesktop.ModemManager1.Modem.Location`.
const MM_LOCATION: &str = "org.freedesktop.ModemManager1.Modem.Location";
/// `MM_MODEM_LOCATION_SOURCE_GPS_RAW`.
const GPS_RAW: u32 = 2;
/// `MM_MODEM_LOCATION_SOURCE_GPS_NMEA`.
const GPS_NMEA: u32 = 4;

/// `Location.Cell`.
type Cell = HashMap<String, OwnedVariant>;
/// The body of `PropertiesChanged`.
type Changes = (String, HashMap<String, OwnedVariant>, Vec<String>);

/// The `u` entry `key` of a cell, 0 when absent.
fn code(cell: &Cell, key: &str) -> u32 {
    cell.get(key)
        .map(|value| u32::try_from(value).expect("a u"))
        .unwrap_or(0)
}

/// The `s` entry `key` of a cell, "" when absent.
fn text(cell: &Cell, key: &str) -> String {
    cell.get(key)
        .map(|value| String::try_from(value.try_clone().expect("clone")).expect("an s"))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serving_cell_comes_through_modemmanager_without_an_invented_position() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    // Left disabled: m2mhald enables it and then asks MM for its location sources.
    rig.plug_modem().await;
    let daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "ready").await;
    let capabilities: Vec<String> = property(conn, &path, DEVICE, "Capabilities").await;
    assert!(
        capabilities.iter().any(|c| c == "location"),
        "{capabilities:?}"
    );

    // The simulator's network: SIMNET 262-01, area 1A2B, cell 01A2B3C4 (+CREG/+CGREG with n=2).
    let cell: Cell = wait_for_property(conn, &path, LOCATION, "Cell", |cell: &Cell| {
        code(cell, "cell_id") != 0
    })
    .await;
    assert_eq!(text(&cell, "mcc"), "262", "{cell:?}");
    assert_eq!(text(&cell, "mnc"), "01", "{cell:?}");
    assert_eq!(code(&cell, "cell_id"), 0x01A2_B3C4, "{cell:?}");
    // MM names the area LAC or TAC depending on which of +CREG/+CGREG/+CEREG it read last.
    assert!(
        code(&cell, "lac") == 0x1A2B || code(&cell, "tac") == 0x1A2B,
        "{cell:?}"
    );

    // A cell is no position: no fix, no source, the GNSS (which this modem lacks) off.
    let mode: String = property(conn, &path, LOCATION, "Mode").await;
    assert_eq!(mode, "none");
    let latitude: f64 = property(conn, &path, LOCATION, "Latitude").await;
    assert!(latitude.is_nan());
    let source: String = property(conn, &path, LOCATION, "Source").await;
    assert_eq!(source, "");
    let enabled: bool = property(conn, &path, LOCATION, "Enabled").await;
    assert!(!enabled);

    // Switching the GNSS is privileged; for root, this modem has none to switch.
    let refused = m2mctl_as_user(&rig.bus.address, NOBODY, &["location", ID, "--on"]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    for needle in ["NotAuthorized", action::CONTROL] {
        assert!(refused.stderr.contains(needle), "{refused:?}");
    }
    let no_gnss = call::<_, ()>(conn, &path, LOCATION, "SetEnabled", &(true,)).await;
    let message = assert_hal_error(no_gnss, "NotSupported");
    assert!(message.contains("gps-raw"), "{message}");
    // Reading stays open to everyone; m2mctl shows the cell as 3GPP tools do.
    let read = m2mctl_as_user(&rig.bus.address, NOBODY, &["location", ID]).await;
    assert_eq!(read.code, Some(0), "{read:?}");
    assert!(read.stdout.contains("262-01 "), "{read:?}");
    assert!(read.stdout.contains("cell 01A2B3C4"), "{read:?}");
}

/// Whether `value` is within a hundred-thousandth of a degree of `expected`.
fn near(value: f64, expected: f64) -> bool {
    (value - expected).abs() < 1e-5
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_modems_gnss_through_modemmanager_gives_fixes_movement_and_loss() {
    let Some(mut gnss) = MmGnssRig::start().await else {
        return;
    };
    let modem = gnss.plug_modem().await;
    let offered: u32 = mm_property(&gnss.rig.mm.conn, &modem, MM_LOCATION, "Capabilities").await;
    assert_eq!(
        offered & (GPS_RAW | GPS_NMEA),
        GPS_RAW | GPS_NMEA,
        "ModemManager offers no gps-raw and gps-nmea: {offered:#x}"
    );
    let config = "[modemmanager]\ngnss = true\n";
    let daemon = Daemon::start_with_env(&gnss.rig.bus, config, &gnss.rig.usb.env()).await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "ready").await;

    // [modemmanager] gnss: switched on through MM once the modem is enabled; the receiver's
    // first position (m2msim gnss: 52°31.2' N 13°24.3' E, 34 m).
    assert_eq!(gnss.rig.sim.expect_event("gnss").await["on"], true);
    wait_for_property(conn, &path, LOCATION, "Enabled", |on: &bool| *on).await;
    wait_for_property(conn, &path, LOCATION, "Mode", |mode: &String| mode == "3d").await;
    let fix = properties(conn, &path, LOCATION).await;
    assert!(near(field::<f64>(&fix, "Latitude"), 52.52), "{fix:?}");
    assert!(near(field::<f64>(&fix, "Longitude"), 13.405), "{fix:?}");
    assert_eq!(field::<f64>(&fix, "Altitude"), 34.0, "{fix:?}");
    assert_eq!(field::<String>(&fix, "Source"), "gnss");
    let age = field::<u64>(&fix, "FixTime").abs_diff(unix_now());
    assert!(age < 600, "FixTime {age} s off");

    // gps-nmea, enabled beside gps-raw: MM's NMEA traces give the satellites used, the HDOP,
    // speed and course (m2msim gnss: 8 used, HDOP 0.9, standing).
    let enabled: u32 = mm_property(&gnss.rig.mm.conn, &modem, MM_LOCATION, "Enabled").await;
    assert_eq!(enabled & (GPS_RAW | GPS_NMEA), GPS_RAW | GPS_NMEA);
    wait_for_property(conn, &path, LOCATION, "Satellites", |used: &u32| *used == 8).await;
    let fix = properties(conn, &path, LOCATION).await;
    assert_eq!(field::<f64>(&fix, "Hdop"), 0.9, "{fix:?}");
    assert_eq!(field::<f64>(&fix, "Speed"), 0.0, "{fix:?}");
    assert_eq!(field::<f64>(&fix, "Course"), 0.0, "{fix:?}");

    // Moving: the next update of MM's gps-raw carries the new position, announced whole in one
    // PropertiesChanged, as for a directly driven GNSS.
    let mut changes = properties_changed(conn, &path).await;
    gnss.receiver.ok("position 48.1173 11.5167 545.4").await;
    let (_, moved, _) = next_signal(&mut changes, |(iface, changed, _): &Changes| {
        let latitude = changed.get("Latitude").and_then(|l| l.try_clone().ok());
        iface == LOCATION
            && latitude
                .and_then(|l| f64::try_from(l).ok())
                .is_some_and(|l| near(l, 48.1173))
    })
    .await;
    assert!(
        near(field::<f64>(&moved, "Longitude"), 11.5167),
        "{moved:?}"
    );
    assert_eq!(field::<f64>(&moved, "Altitude"), 545.4, "{moved:?}");
    assert!(moved.contains_key("FixTime"), "{moved:?}");

    // Under way: east at 12.5 m/s with 10 satellites used, as MM's NMEA traces say.
    gnss.receiver.ok("satellites 10 14").await;
    gnss.receiver.ok("course 90").await;
    gnss.receiver.ok("speed 12.5").await;
    wait_for_property(conn, &path, LOCATION, "Speed", |speed: &f64| {
        (speed - 12.5).abs() < 0.01
    })
    .await;
    wait_for_property(conn, &path, LOCATION, "Course", |course: &f64| {
        *course == 90.0
    })
    .await;
    wait_for_property(conn, &path, LOCATION, "Satellites", |used: &u32| {
        *used == 10
    })
    .await;
    let mode: String = property(conn, &path, LOCATION, "Mode").await;
    assert_eq!(mode, "3d");

    // Fix lost: MM drops gps-raw, the device has no fix (and keeps its cell).
    gnss.receiver.ok("fix none").await;
    wait_for_property(conn, &path, LOCATION, "Mode", |mode: &String| {
        mode == "none"
    })
    .await;
    let latitude: f64 = property(conn, &path, LOCATION, "Latitude").await;
    assert!(latitude.is_nan());
    let source: String = property(conn, &path, LOCATION, "Source").await;
    assert_eq!(source, "");
    let cell: Cell = property(conn, &path, LOCATION, "Cell").await;
    assert_eq!(code(&cell, "cell_id"), 0x01A2_B3C4, "{cell:?}");

    // SetEnabled switches the modem's GNSS through MM, off and on again.
    call::<_, ()>(conn, &path, LOCATION, "SetEnabled", &(false,))
        .await
        .expect("SetEnabled(false)");
    assert_eq!(gnss.rig.sim.expect_event("gnss").await["on"], false);
    wait_for_property(conn, &path, LOCATION, "Enabled", |on: &bool| !*on).await;
    call::<_, ()>(conn, &path, LOCATION, "SetEnabled", &(true,))
        .await
        .expect("SetEnabled(true)");
    assert_eq!(gnss.rig.sim.expect_event("gnss").await["on"], true);
    wait_for_property(conn, &path, LOCATION, "Enabled", |on: &bool| *on).await;
}
