//! The plugin SDK as a vendor uses it: a C plugin written from the header alone is understood by
//! the daemon byte for byte.

use m2mhal_tests::plugin_files::build_c_plugin;
use m2mhal_tests::scripted_pty::ScriptedPty;
use m2mhal_tests::*;

/// A `[[port]]` table handing `path` to `driver` without probing.
fn port_with_driver(path: &str, driver: &str) -> String {
    format!("[[port]]\npath = \"{path}\"\ndriver = \"{driver}\"\n")
}

/// tests/plugins/wire_echo.c answers with CBOR encoded by hand from the header's schema; every
/// answer must arrive on D-Bus as the header says it does. A wrong spelling in the header (as
/// `"ok"` for `"Ok"` once was) makes the daemon drop the reply and the call time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c_plugin_written_from_the_header_is_understood() {
    let bus = TestBus::start().await;
    let device = ScriptedPty::start(&[]);
    let dir = daemon_dir();
    build_c_plugin(&dir.path().join("plugins"), "wire_echo.c", "wireecho");
    let config = port_with_driver(device.path(), "wireecho");
    let mut daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let conn = daemon.conn.clone();

    // [{"device": ...}, {"signal": ...}, {"sensor": ...}, {"teleport": ...}, {"log": ...}, ...]
    let path = wait_for_device(&conn, device.path(), "ready").await;
    let text =
        async |iface: &str, name: &str| -> String { property(&conn, &path, iface, name).await };
    assert_eq!(text(DEVICE, "Id").await, "wireecho:1");
    assert_eq!(text(DEVICE, "Kind").await, "cellular-modem");
    assert_eq!(text(DEVICE, "Driver").await, "wireecho");
    assert_eq!(text(DEVICE, "Manufacturer").await, "Acme");
    assert_eq!(text(DEVICE, "Model").await, "W-1");
    assert_eq!(text(SIGNAL, "Technology").await, "lte");
    let capabilities: Vec<String> = property(&conn, &path, DEVICE, "Capabilities").await;
    assert_eq!(capabilities, ["signal", "sensor"]);
    let quality: u32 = property(&conn, &path, SIGNAL, "Quality").await;
    let rsrq: f64 = property(&conn, &path, SIGNAL, "Rsrq").await;
    assert_eq!((quality, rsrq), (60, -10.5));
    let readings = wait_for_readings(&conn, &path, |r| r.len() == 2).await;
    assert_eq!(readings["temperature"], 21.5);
    assert_eq!(readings["humidity"], 40.25);
    let updated_at: u64 = property(&conn, &path, SENSOR, "UpdatedAt").await;
    assert_eq!(updated_at, 1_700_000_000);
    // The unknown effect is set aside with a warning; the log effect after it still applies.
    let lines = daemon.log_until("wireecho: hello from C").await;
    assert!(
        lines.iter().any(
            |l| l.contains("ignoring an effect this daemon does not know")
                && l.contains("teleport")
        ),
        "{lines:?}"
    );

    // {"Ok": {"text": "T=21.5"}}, {"Ok": "done"} and {"Err": {"kind": "NotSupported", ...}}.
    let answer: String = call(&conn, &path, DEVICE, "Command", &("READ?", 0u32))
        .await
        .unwrap();
    assert_eq!(answer, "T=21.5");
    let refreshed: Result<(), _> = call(&conn, &path, SIGNAL, "Refresh", &()).await;
    assert_eq!(refreshed, Ok(()));
    let reset: Result<(), _> = call(&conn, &path, DEVICE, "Reset", &()).await;
    let message = assert_hal_error(reset, "NotSupported");
    assert!(message.contains("wireecho cannot do that"), "{message}");
    assert!(daemon.stop().await.success());
}
