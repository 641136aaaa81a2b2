//! The daemon against a BlueZ fake that is not the project's own: python-dbusmock's bluez5
//! template, written by others from BlueZ's documented D-Bus API. It has no GATT, so these tests
//! use BTHome advertisements (service data), and check discovery, claiming, readings and a
//! bluetoothd restart.

use m2mhal_tests::*;

/// A BTHome thermometer.
const BTHOME: &str = "A4:C1:38:00:11:22";
/// A phone that walks by.
const PHONE: &str = "5E:11:22:33:44:55";
/// BTHome's service data UUID (0xFCD2), as BlueZ writes it.
const BTHOME_UUID: &str = "0000fcd2-0000-1000-8000-00805f9b34fb";

/// A BTHome v2 advertisement, unencrypted: packet id, battery %, temperature in 0.01 °C.
fn bthome(packet_id: u8, battery: u8, centi_celsius: i16) -> Vec<u8> {
    let [low, high] = centi_celsius.to_le_bytes();
    vec![0x40, 0x00, packet_id, 0x01, battery, 0x02, low, high]
}

/// The mock with a BTHome thermometer (21.50 °C, 100 %) and a phone.
async fn mock_with_devices(bus: &TestBus) -> MockBluez {
    let bluez = MockBluez::start(bus).await;
    bluez.add_device(BTHOME, "BTHome-T").await;
    bluez.add_device(PHONE, "Phone").await;
    bluez
        .set_service_data(BTHOME, BTHOME_UUID, &bthome(1, 100, 2150))
        .await;
    bluez
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bthome_readings_through_dbusmock_bluez() {
    if !dbusmock_available() {
        eprintln!("skipped: python3-dbusmock is not installed");
        return;
    }
    let bus = TestBus::start_with_bluez().await;
    let bluez = mock_with_devices(&bus).await;
    let daemon = Daemon::start(&bus, &ble_config("")).await;
    let conn = &daemon.conn;

    let path = wait_for_device_id(conn, &format!("ble:{BTHOME}"), "ready").await;
    let readings = wait_for_readings(conn, &path, |r| r.get("temperature") == Some(&21.5)).await;
    assert_eq!(readings.get("battery"), Some(&100.0));
    assert_eq!(
        property::<String>(conn, &path, DEVICE, "Model").await,
        "BTHome-T"
    );

    // A new advertisement is a PropertiesChanged of ServiceData.
    bluez
        .set_service_data(BTHOME, BTHOME_UUID, &bthome(2, 99, -525))
        .await;
    wait_for_readings(conn, &path, |r| {
        r.get("temperature") == Some(&-5.25) && r.get("battery") == Some(&99.0)
    })
    .await;
    // The phone never became a device.
    assert_eq!(devices(conn).await.len(), 1);
    // One scan: starting it sets Powered, which this fake reports as a change every time, and
    // that must not start another (real BlueZ would answer InProgress).
    assert_eq!(bluez.adapter_calls("StartDiscovery").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dbusmock_bluez_that_restarts_is_followed() {
    if !dbusmock_available() {
        eprintln!("skipped: python3-dbusmock is not installed");
        return;
    }
    let bus = TestBus::start_with_bluez().await;
    let bluez = mock_with_devices(&bus).await;
    let mut daemon = Daemon::start(&bus, &ble_config("")).await;
    let path = wait_for_device_id(&daemon.conn, &format!("ble:{BTHOME}"), "ready").await;
    wait_for_readings(&daemon.conn, &path, |r| r.get("temperature") == Some(&21.5)).await;

    // bluetoothd goes away, then a new one (a new unique name) starts with the same devices.
    bluez.stop().await;
    daemon.expect_log("bluetoothd").await;
    let bluez = mock_with_devices(&bus).await;
    bluez
        .set_service_data(BTHOME, BTHOME_UUID, &bthome(7, 80, 1875))
        .await;
    wait_for_readings(&daemon.conn, &path, |r| {
        r.get("temperature") == Some(&18.75)
    })
    .await;
    // Still the one device, on its old object.
    assert_eq!(devices(&daemon.conn).await.len(), 1);
    assert_eq!(
        wait_for_device_id(&daemon.conn, &format!("ble:{BTHOME}"), "ready").await,
        path
    );
}
