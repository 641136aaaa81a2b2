//! Location of a modem served through ModemManager (issues 12 and 16): with the real
//! ModemManager managing a simulated Quectel (the rig of `m2mhal_tests::modemmanager`), MM's
//! Location interface makes the m2mhal device list `location`, its 3gpp-lac-ci source gives
//! `Location.Cell` (and no invented position), and `SetEnabled` stays privileged.
//!
//! The rig's modem has no GPS data port, so MM's quectel plugin offers 3gpp-lac-ci only; the
//! gps-raw mapping is unit-tested in the daemon (`modemmanager::location`).

use std::collections::HashMap;

use m2mhal_contract::{action, iface::LOCATION};
use m2mhal_tests::modemmanager::*;
use m2mhal_tests::*;
use zbus::zvariant::OwnedVariant;

const ID: &str = "imei:356938035643809";
/// uid of `nobody`.
const NOBODY: u32 = 65534;

/// `Location.Cell`.
type Cell = HashMap<String, OwnedVariant>;

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
    // Reading stays open to everyone.
    let read = m2mctl_as_user(&rig.bus.address, NOBODY, &["location", ID]).await;
    assert_eq!(read.code, Some(0), "{read:?}");
}
