//! Hotplug through udev, faked by umockdev: the daemon runs in a testbed where a USB modem (its
//! node served by `m2msim modem`) and an untagged Arduino come and go, and sees them only
//! through its udev monitor.

use m2mhal_tests::*;

/// The modem's node in the testbed, as udev names it.
const MODEM_NODE: &str = "/dev/ttyUSB2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usb_modem_comes_goes_and_comes_back_on_the_same_object() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let mut usb = FakeUsb::start().await;
    let mut arduino = OpenWatch::new(&[&usb.arduino_pty]);
    let daemon = Daemon::start_with_env(&bus, "", &usb.env()).await;
    let conn = daemon.conn.clone();

    usb.ok("add-arduino").await;
    usb.ok(&format!("add-modem {}", sim.path(0))).await;
    let path = wait_for_device(&conn, MODEM_NODE, "ready").await;
    let id: String = property(&conn, &path, DEVICE, "Id").await;
    assert_eq!(id, "imei:356938035643809");

    let mut changes = properties_changed(&conn, &path).await;
    usb.ok("remove-modem").await;
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "offline").await;
    let reason: String = property(&conn, &path, DEVICE, "StateReason").await;
    assert_eq!(reason, "unplugged");
    let command: Result<String, _> = call(&conn, &path, DEVICE, "Command", &("AT", 0u32)).await;
    assert_hal_error(command, "DeviceGone");

    usb.ok(&format!("add-modem {}", sim.path(0))).await;
    let back = wait_for_device(&conn, MODEM_NODE, "ready").await;
    assert_eq!(back, path, "the modem is back on its object");
    let listed: Vec<String> = devices(&conn).await.iter().map(|p| p.to_string()).collect();
    assert_eq!(listed, [path], "the Arduino got no object");

    assert!(arduino.opened().is_empty(), "the Arduino's port was opened");
    // The watch does see an open of the Arduino's pty.
    drop(std::fs::File::open(&usb.arduino_pty).unwrap());
    assert_eq!(arduino.opened().len(), 1);
}
