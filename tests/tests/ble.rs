//! BLE end to end: `m2msim ble` serves a fake BlueZ with simulated peripherals on a private
//! system bus, and the real m2mhald scans it through btleplug, claims what its BLE driver
//! knows, and exposes those as `ble-device` objects with Sensor, Signal and Gatt interfaces.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use m2mhal_tests::*;
use zbus::{OwnedVariant, Variant};

/// A BTHome v2 advertiser, unencrypted.
const BTHOME: &str = "A4:C1:38:00:00:01";
/// A BTHome v2 advertiser whose key is in the config.
const BTHOME_ENCRYPTED: &str = "A4:C1:38:00:00:02";
/// The key of the bthome.io encryption example.
const KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";
/// A GATT Environmental Sensing sensor.
const ESS: &str = "C0:FF:EE:00:00:01";
/// A phone walking by.
const PHONE: &str = "5E:11:22:33:44:55";
/// A phone whose address the config allows.
const ALLOWED_PHONE: &str = "5E:AA:BB:CC:DD:EE";

/// The vendor characteristic of the simulated ESS sensor (128-bit; read, write, notify).
const LABEL: &str = "6d326d73-696d-4000-8000-000000000002";
/// Battery Level, canonical.
const BATTERY_LEVEL: &str = "00002a19-0000-1000-8000-00805f9b34fb";

/// The body of `PropertiesChanged`.
type PropertiesChanged = (String, HashMap<String, OwnedVariant>, Vec<String>);
/// The body of `Gatt.Notification`.
type NotificationBody = (String, Vec<u8>);

fn id(address: &str) -> String {
    format!("ble:{address}")
}

/// `Gatt.Read`.
async fn read(
    conn: &zbus::Connection,
    path: &str,
    characteristic: &str,
) -> Result<Vec<u8>, (String, String)> {
    call(conn, path, GATT, "Read", &(characteristic,)).await
}

/// `Gatt.Write` with `with_response`.
async fn write(
    conn: &zbus::Connection,
    path: &str,
    characteristic: &str,
    value: &[u8],
    with_response: bool,
) -> Result<(), (String, String)> {
    let options = HashMap::from([("with_response", Variant::from(with_response))]);
    call(conn, path, GATT, "Write", &(characteristic, value, options)).await
}

/// `Gatt.Subscribe`.
async fn subscribe_to(
    conn: &zbus::Connection,
    path: &str,
    characteristic: &str,
) -> Result<(), (String, String)> {
    call(conn, path, GATT, "Subscribe", &(characteristic,)).await
}

/// Waits for a `Notification` of `characteristic` with `value`.
async fn expect_notification(stream: &mut zbus::MessageStream, characteristic: &str, value: &[u8]) {
    next_signal(stream, |(uuid, data): &NotificationBody| {
        uuid == characteristic && data == value
    })
    .await;
}

/// Sends `measure <ESS> <values>` until `count` characteristics notified it (the daemon
/// subscribes to them after each connection, in the background); returns the reply.
async fn measure_ess_until_notified(
    sim: &mut Sim,
    values: &str,
    count: usize,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let reply = sim.ok(&format!("measure {ESS} {values}")).await;
        if reply["notified"].as_array().map(Vec::len) == Some(count) {
            return reply;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the daemon never subscribed to the sensor values: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the fake BlueZ logged so far (`events` of the simulator).
async fn bluez_events(sim: &mut Sim) -> Vec<serde_json::Value> {
    let reply = sim.ok("events").await;
    reply["events"].as_array().expect("events").clone()
}

/// A second plain BTHome advertiser, the witness of [`advertise_for`].
const WITNESS: &str = "A4:C1:38:00:00:03";

/// Has the BTHome sensor `witness` (its object at `witness_path`) advertise a new temperature and
/// waits for the daemon to show it, again and again until `window` has passed. Every peripheral
/// in range advertises every 200 ms, and the daemon hears them in order on one bus connection, so
/// by then it has handled every advertisement of the window. Returns the `State` changes of the
/// device at `watched` seen meanwhile (in the order the daemon signalled them).
async fn advertise_for(
    sim: &mut Sim,
    conn: &zbus::Connection,
    (witness, witness_path): (&str, &str),
    watched: &str,
    window: Duration,
) -> Vec<String> {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .build()
        .expect("match rule");
    let mut changes = zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .unwrap();
    let mut states = Vec::new();
    let started = tokio::time::Instant::now();
    let mut temperature = 30.0;
    while started.elapsed() < window {
        // 31 °C to 60 °C and round again: each value differs from the one before.
        temperature = if temperature >= 60.0 {
            31.0
        } else {
            temperature + 1.0
        };
        sim.ok(&format!("measure {witness} temperature={temperature}"))
            .await;
        let shown = tokio::time::timeout(WAIT, async {
            while let Some(Ok(message)) = changes.next().await {
                let header = message.header();
                let Some(path) = header.path() else { continue };
                let Ok((iface, changed, _)) = message.body().deserialize::<PropertiesChanged>()
                else {
                    continue;
                };
                if path.as_str() == watched
                    && iface == DEVICE
                    && let Some(state) = changed.get("State")
                {
                    states.push(state.to_string());
                }
                if path.as_str() == witness_path
                    && iface == SENSOR
                    && temperature_of(&changed).is_some_and(|t| (t - temperature).abs() < 0.01)
                {
                    return;
                }
            }
        })
        .await;
        assert!(
            shown.is_ok(),
            "the daemon never showed {witness} at {temperature} °C"
        );
    }
    states
}

/// The temperature in the `Readings` of a `Sensor` property change, if there.
fn temperature_of(changed: &HashMap<String, OwnedVariant>) -> Option<f64> {
    let readings = changed.get("Readings")?.try_clone().ok()?;
    let readings = HashMap::<String, OwnedVariant>::try_from(readings).ok()?;
    f64::try_from(readings.get("temperature")?.try_clone().ok()?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensors_and_allowed_addresses_become_devices_and_phones_never_do() {
    let config = ble_config(&format!("allow = [\"{}\"]", ALLOWED_PHONE.to_lowercase()));
    let mut rig = BleRig::start(
        &[
            &format!("add-phone {PHONE}"),
            &format!("add-bthome {BTHOME} Garden"),
            &format!("add-ess {ESS} Kitchen"),
            &format!("add-phone {ALLOWED_PHONE}"),
        ],
        &config,
    )
    .await;
    let conn = &rig.daemon.conn.clone();
    for (address, model) in [(BTHOME, "Garden"), (ESS, "Kitchen")] {
        let path = wait_for_device_id(conn, &id(address), "ready").await;
        let device = properties(conn, &path, DEVICE).await;
        assert_eq!(field::<String>(&device, "Kind"), "ble-device");
        assert_eq!(field::<String>(&device, "Driver"), "ble");
        assert_eq!(field::<String>(&device, "Port"), address);
        assert_eq!(field::<String>(&device, "Model"), model);
        let capabilities: Vec<String> = field(&device, "Capabilities");
        for capability in ["gatt", "sensor", "signal"] {
            assert!(
                capabilities.iter().any(|c| c == capability),
                "{capabilities:?}"
            );
        }
    }
    // An address the config allows becomes a device whatever it advertises.
    let allowed = wait_for_device_id(conn, &id(ALLOWED_PHONE), "ready").await;
    assert_eq!(
        property::<String>(conn, &allowed, DEVICE, "Driver").await,
        "ble"
    );

    // The BTHome sensor's signal: the advertisement's RSSI.
    let bthome = wait_for_device_id(conn, &id(BTHOME), "ready").await;
    let rssi = wait_for_property(conn, &bthome, SIGNAL, "Rssi", |rssi: &i32| *rssi != 0).await;
    assert_eq!(rssi, -67);
    assert_eq!(
        property::<String>(conn, &bthome, SIGNAL, "Technology").await,
        "ble"
    );
    // -67 dBm on the linear scale from -100 dBm (0 %) to -50 dBm (100 %).
    assert_eq!(property::<u32>(conn, &bthome, SIGNAL, "Quality").await, 66);

    // The phone advertises every 200 ms all along; once the daemon has handled 2 s of that, it
    // still is no device.
    advertise_for(
        &mut rig.sim,
        conn,
        (BTHOME, &bthome),
        &bthome,
        Duration::from_secs(2),
    )
    .await;
    let ids: Vec<String> = device_ids(conn)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut expected = [BTHOME, ESS, ALLOWED_PHONE].map(id).to_vec();
    expected.sort();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "devices: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bthome_readings_plain_and_encrypted_with_the_configured_key() {
    let config = ble_config(&format!(
        "[ble.bthome_keys]\n\"{BTHOME_ENCRYPTED}\" = \"{KEY}\""
    ));
    let mut rig = BleRig::start(
        &[
            &format!("add-bthome {BTHOME}"),
            &format!("add-bthome {BTHOME_ENCRYPTED} --key {KEY}"),
        ],
        &config,
    )
    .await;
    let plain = wait_for_device_id(rig.conn(), &id(BTHOME), "ready").await;
    let encrypted = wait_for_device_id(rig.conn(), &id(BTHOME_ENCRYPTED), "ready").await;
    // What a new simulated BTHome sensor advertises.
    let initial = HashMap::from([
        ("temperature".to_owned(), 21.0),
        ("humidity".to_owned(), 45.0),
        ("battery".to_owned(), 100.0),
    ]);
    for path in [&plain, &encrypted] {
        let readings = wait_for_readings(rig.conn(), path, |r| !r.is_empty()).await;
        assert_eq!(readings, initial, "{path}");
    }

    rig.sim
        .ok(&format!(
            "measure {BTHOME} temperature=21.5 humidity=40 battery=90"
        ))
        .await;
    rig.sim
        .ok(&format!(
            "measure {BTHOME_ENCRYPTED} temperature=-7.25 humidity=83.5 battery=12"
        ))
        .await;
    let readings = wait_for_readings(rig.conn(), &plain, |r| r.get("battery") == Some(&90.0)).await;
    assert_eq!(
        readings,
        HashMap::from([
            ("temperature".to_owned(), 21.5),
            ("humidity".to_owned(), 40.0),
            ("battery".to_owned(), 90.0),
        ])
    );
    let readings =
        wait_for_readings(rig.conn(), &encrypted, |r| r.get("battery") == Some(&12.0)).await;
    assert_eq!(
        readings,
        HashMap::from([
            ("temperature".to_owned(), -7.25),
            ("humidity".to_owned(), 83.5),
            ("battery".to_owned(), 12.0),
        ])
    );
    let updated_at: u64 = property(rig.conn(), &encrypted, SENSOR, "UpdatedAt").await;
    assert!(updated_at > 1_600_000_000, "UpdatedAt {updated_at}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ess_readings_come_from_gatt_reads_then_notifications() {
    let mut rig = BleRig::start(&[&format!("add-ess {ESS} Kitchen")], &ble_config("")).await;
    let conn = rig.daemon.conn.clone();
    let path = wait_for_device_id(&conn, &id(ESS), "ready").await;
    assert!(wait_for_property(&conn, &path, GATT, "Connected", |c: &bool| *c).await);
    // Read after connecting: what a new simulated ESS sensor measures.
    let readings = wait_for_readings(&conn, &path, |r| r.len() == 4).await;
    assert_eq!(
        readings,
        HashMap::from([
            ("temperature".to_owned(), 21.0),
            ("humidity".to_owned(), 45.0),
            ("battery".to_owned(), 100.0),
            ("pressure".to_owned(), 1013.25),
        ])
    );
    // Device Information.
    let device = properties(&conn, &path, DEVICE).await;
    assert_eq!(field::<String>(&device, "Manufacturer"), "m2msim");
    assert_eq!(field::<String>(&device, "Model"), "Kitchen");
    assert_eq!(field::<String>(&device, "SerialNumber"), "C0FFEE000001");
    let services: Vec<String> = property(&conn, &path, GATT, "Services").await;
    for uuid in [
        "0000180a-0000-1000-8000-00805f9b34fb",
        "0000180f-0000-1000-8000-00805f9b34fb",
        "0000181a-0000-1000-8000-00805f9b34fb",
        "6d326d73-696d-4000-8000-000000000001",
    ] {
        assert!(
            services.iter().any(|s| s == uuid),
            "{uuid} not in {services:?}"
        );
    }

    // New values arrive as notifications, without the daemon reading again.
    let reads_before = count_reads(&bluez_events(&mut rig.sim).await);
    measure_ess_until_notified(
        &mut rig.sim,
        "temperature=23.45 humidity=38.5 battery=87 pressure=1002.5",
        4,
    )
    .await;
    let readings = wait_for_readings(&conn, &path, |r| r.get("pressure") == Some(&1002.5)).await;
    assert_eq!(
        readings,
        HashMap::from([
            ("temperature".to_owned(), 23.45),
            ("humidity".to_owned(), 38.5),
            ("battery".to_owned(), 87.0),
            ("pressure".to_owned(), 1002.5),
        ])
    );
    assert_eq!(count_reads(&bluez_events(&mut rig.sim).await), reads_before);
}

/// How many characteristic reads the fake BlueZ served.
fn count_reads(events: &[serde_json::Value]) -> usize {
    events.iter().filter(|e| e["event"] == "read").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatt_read_write_subscribe_with_16_and_128_bit_uuids() {
    let mut rig = BleRig::start(&[&format!("add-ess {ESS}")], &ble_config("")).await;
    let conn = rig.daemon.conn.clone();
    let path = wait_for_device_id(&conn, &id(ESS), "ready").await;
    let mut notifications = subscribe(&conn, GATT, "Notification").await;

    // Reads by 16-bit short form, upper case, and 128-bit form.
    assert_eq!(read(&conn, &path, "2a19").await.unwrap(), [100]);
    assert_eq!(read(&conn, &path, "2A29").await.unwrap(), b"m2msim");
    assert_eq!(read(&conn, &path, LABEL).await.unwrap(), b"m2msim");

    // Writes, with and without response, reach the peripheral and read back.
    write(&conn, &path, LABEL, b"porch", true).await.unwrap();
    assert_eq!(read(&conn, &path, LABEL).await.unwrap(), b"porch");
    write(&conn, &path, &LABEL.to_uppercase(), b"shed", false)
        .await
        .unwrap();
    let writes: Vec<(String, String)> = bluez_events(&mut rig.sim)
        .await
        .iter()
        .filter(|e| e["event"] == "write" && e["characteristic"] == LABEL)
        .map(|e| (e["value"].to_string(), e["write_type"].to_string()))
        .collect();
    assert_eq!(
        writes,
        [
            ("\"706f726368\"".to_owned(), "\"request\"".to_owned()),
            ("\"73686564\"".to_owned(), "\"command\"".to_owned())
        ]
    );

    // Notifications of a 128-bit characteristic the application subscribed to.
    subscribe_to(&conn, &path, LABEL).await.unwrap();
    let reply = rig.sim.ok(&format!("value {ESS} {LABEL} 0102ff")).await;
    assert_eq!(reply["notified"], true, "{reply}");
    expect_notification(&mut notifications, LABEL, &[0x01, 0x02, 0xff]).await;

    // And of a 16-bit one the driver already follows for its readings.
    subscribe_to(&conn, &path, "2a19").await.unwrap();
    measure_ess_until_notified(&mut rig.sim, "battery=64", 1).await;
    expect_notification(&mut notifications, BATTERY_LEVEL, &[64]).await;

    // After Unsubscribe the label's notifications stop reaching the application (the battery's
    // still do).
    call::<_, ()>(&conn, &path, GATT, "Unsubscribe", &(LABEL,))
        .await
        .unwrap();
    rig.sim.ok(&format!("value {ESS} {LABEL} 09")).await;
    rig.sim.ok(&format!("measure {ESS} battery=63")).await;
    let (uuid, value): NotificationBody =
        next_signal(&mut notifications, |_: &NotificationBody| true).await;
    assert_eq!(
        (uuid.as_str(), value.as_slice()),
        (BATTERY_LEVEL, &[63u8][..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_and_absent_characteristics_are_invalid_arguments() {
    let rig = BleRig::start(&[&format!("add-ess {ESS}")], &ble_config("")).await;
    let conn = rig.conn();
    let path = wait_for_device_id(conn, &id(ESS), "ready").await;
    for bad in [
        "battery",
        "2a1",
        "2a19x",
        "",
        "6d326d73-696d-4000-8000-00000000000z",
    ] {
        let message = assert_hal_error(read(conn, &path, bad).await, "InvalidArgument");
        assert!(message.contains(bad), "{bad:?}: {message}");
        assert_hal_error(write(conn, &path, bad, &[1], true).await, "InvalidArgument");
        assert_hal_error(subscribe_to(conn, &path, bad).await, "InvalidArgument");
    }
    // A well-formed UUID the device does not have: the error names it.
    let message = assert_hal_error(read(conn, &path, "2a00").await, "InvalidArgument");
    assert!(
        message.contains("00002a00-0000-1000-8000-00805f9b34fb"),
        "{message}"
    );
    let message = assert_hal_error(
        subscribe_to(conn, &path, "0000beef-0000-1000-8000-00805f9b34fb").await,
        "InvalidArgument",
    );
    assert!(message.contains("0000beef"), "{message}");
    // Write options are checked too.
    let options = HashMap::from([("with_response", Variant::from("yes"))]);
    let result: Result<(), _> =
        call(conn, &path, GATT, "Write", &(LABEL, &[1u8][..], options)).await;
    assert_hal_error(result, "InvalidArgument");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_loss_recovers_and_notifications_keep_flowing() {
    let mut rig = BleRig::start(&[&format!("add-ess {ESS}")], &ble_config("")).await;
    let conn = rig.daemon.conn.clone();
    let path = wait_for_device_id(&conn, &id(ESS), "ready").await;
    wait_for_property(&conn, &path, GATT, "Connected", |c: &bool| *c).await;
    subscribe_to(&conn, &path, LABEL).await.unwrap();
    let mut changes = properties_changed(&conn, &path).await;
    let mut notifications = subscribe(&conn, GATT, "Notification").await;

    let reply = rig.sim.ok(&format!("drop {ESS}")).await;
    assert_eq!(reply["dropped"], true, "{reply}");
    next_property_change(&mut changes, GATT, "Connected", |c: &bool| !*c).await;
    let (_, offline, _): PropertiesChanged =
        next_signal(&mut changes, |(iface, changed, _): &PropertiesChanged| {
            iface == DEVICE
                && changed
                    .get("State")
                    .is_some_and(|s| s.to_string() == "\"offline\"")
        })
        .await;
    let reason = String::try_from(offline["StateReason"].try_clone().unwrap()).unwrap();
    assert_eq!(reason, "link-lost");
    next_property_change(&mut changes, DEVICE, "State", |s: &String| s == "ready").await;
    wait_for_property(&conn, &path, GATT, "Connected", |c: &bool| *c).await;

    // The subscription was re-armed on the new link, and the sensor's own notifications too.
    let deadline = tokio::time::Instant::now() + WAIT;
    while rig.sim.ok(&format!("value {ESS} {LABEL} 2a")).await["notified"] != true {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the label subscription was not re-armed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    expect_notification(&mut notifications, LABEL, &[0x2a]).await;
    measure_ess_until_notified(&mut rig.sim, "humidity=61.25", 1).await;
    wait_for_readings(&conn, &path, |r| r.get("humidity") == Some(&61.25)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_object_bluez_removes_is_a_lost_link() {
    // BlueZ expires the device object (disconnecting it first): the link is lost all the same,
    // though the object can no longer be asked, and the sensor, still advertising, comes back.
    let mut rig = BleRig::start(&[&format!("add-ess {ESS}")], &ble_config("")).await;
    let conn = rig.daemon.conn.clone();
    let path = wait_for_device_id(&conn, &id(ESS), "ready").await;
    wait_for_property(&conn, &path, GATT, "Connected", |c: &bool| *c).await;
    let mut changes = properties_changed(&conn, &path).await;

    rig.sim.ok(&format!("expire {ESS}")).await;
    next_property_change(&mut changes, GATT, "Connected", |c: &bool| !*c).await;
    next_property_change(&mut changes, GATT, "Connected", |c: &bool| *c).await;
    measure_ess_until_notified(&mut rig.sim, "humidity=33.5", 1).await;
    wait_for_readings(&conn, &path, |r| r.get("humidity") == Some(&33.5)).await;
    assert_eq!(wait_for_device_id(&conn, &id(ESS), "ready").await, path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_out_of_range_goes_offline_and_comes_back() {
    let config = format!("{}\n[drivers.ble]\nabsent_after = 2\n", ble_config(""));
    let mut rig = BleRig::start(
        &[
            &format!("add-bthome {BTHOME}"),
            &format!("add-bthome {WITNESS}"),
        ],
        &config,
    )
    .await;
    let conn = rig.daemon.conn.clone();
    let path = wait_for_device_id(&conn, &id(BTHOME), "ready").await;
    let witness = wait_for_device_id(&conn, &id(WITNESS), "ready").await;
    // Advertising every 200 ms, it stays ready past absent_after, without a blip.
    let states = advertise_for(
        &mut rig.sim,
        &conn,
        (WITNESS, &witness),
        &path,
        Duration::from_millis(2500),
    )
    .await;
    assert_eq!(states, Vec::<String>::new());
    assert_eq!(
        property::<String>(&conn, &path, DEVICE, "State").await,
        "ready"
    );

    rig.sim.ok(&format!("range {BTHOME} off")).await;
    wait_for_property(&conn, &path, DEVICE, "State", |s: &String| s == "offline").await;
    assert_eq!(
        property::<String>(&conn, &path, DEVICE, "StateReason").await,
        "out-of-range"
    );
    rig.sim
        .ok(&format!("measure {BTHOME} temperature=30"))
        .await;
    rig.sim.ok(&format!("range {BTHOME} on")).await;
    wait_for_property(&conn, &path, DEVICE, "State", |s: &String| s == "ready").await;
    wait_for_readings(&conn, &path, |r| r.get("temperature") == Some(&30.0)).await;
    // Still the same object.
    assert_eq!(wait_for_device_id(&conn, &id(BTHOME), "ready").await, path);
}

/// A BTHome sensor and a connected ESS sensor, both ready.
struct TwoSensors {
    rig: BleRig,
    bthome: String,
    ess: String,
}

impl TwoSensors {
    async fn start() -> TwoSensors {
        let rig = BleRig::start(
            &[&format!("add-bthome {BTHOME}"), &format!("add-ess {ESS}")],
            &ble_config(""),
        )
        .await;
        let bthome = wait_for_device_id(rig.conn(), &id(BTHOME), "ready").await;
        let ess = wait_for_device_id(rig.conn(), &id(ESS), "ready").await;
        wait_for_property(rig.conn(), &ess, GATT, "Connected", |c: &bool| *c).await;
        TwoSensors { rig, bthome, ess }
    }

    /// Both sensors deliver new temperatures, on their old objects.
    async fn deliver(&mut self, ess: f64, bthome: f64) {
        let conn = self.rig.daemon.conn.clone();
        measure_ess_until_notified(&mut self.rig.sim, &format!("temperature={ess}"), 1).await;
        self.rig
            .sim
            .ok(&format!("measure {BTHOME} temperature={bthome}"))
            .await;
        wait_for_readings(&conn, &self.ess, |r| r.get("temperature") == Some(&ess)).await;
        wait_for_readings(&conn, &self.bthome, |r| {
            r.get("temperature") == Some(&bthome)
        })
        .await;
        assert_eq!(devices(&conn).await.len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_recover_when_bluez_restarts() {
    let mut sensors = TwoSensors::start().await;
    let conn = sensors.rig.daemon.conn.clone();
    let ess = sensors.ess.clone();
    let mut changes = properties_changed(&conn, &ess).await;

    sensors.rig.sim.ok("restart").await;
    next_property_change(&mut changes, GATT, "Connected", |c: &bool| !*c).await;
    next_property_change(&mut changes, GATT, "Connected", |c: &bool| *c).await;
    wait_for_property(&conn, &ess, DEVICE, "State", |s: &String| s == "ready").await;
    // Both deliver through the new BlueZ.
    sensors.deliver(18.5, 19.5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_recover_when_the_adapter_powers_off_and_on() {
    let mut sensors = TwoSensors::start().await;
    let conn = sensors.rig.daemon.conn.clone();
    let ess = sensors.ess.clone();

    // Off: the link goes, and reconnecting cannot succeed while the adapter is off.
    sensors.rig.sim.ok("power off").await;
    wait_for_property(&conn, &ess, GATT, "Connected", |c: &bool| !*c).await;
    wait_for_property(&conn, &ess, DEVICE, "State", |s: &String| s == "offline").await;
    sensors
        .rig
        .daemon
        .expect_log("connection attempt failed")
        .await;
    assert_eq!(
        property::<String>(&conn, &ess, DEVICE, "State").await,
        "offline"
    );

    // On: discovery starts again (BlueZ ended it), the sensor reconnects, values flow.
    sensors.rig.sim.ok("power on").await;
    wait_for_property(&conn, &ess, GATT, "Connected", |c: &bool| *c).await;
    wait_for_property(&conn, &ess, DEVICE, "State", |s: &String| s == "ready").await;
    sensors.deliver(17.25, 16.5).await;
    let discoveries = bluez_events(&mut sensors.rig.sim)
        .await
        .iter()
        .filter(|event| event["event"] == "discovery_started")
        .count();
    assert_eq!(discoveries, 2, "one scan before the power cycle, one after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_that_is_off_at_start_is_waited_for() {
    let mut rig = BleRig::start(
        &[&format!("add-bthome {BTHOME}"), "power off"],
        &ble_config(""),
    )
    .await;
    rig.daemon
        .expect_log("hci0 is powered off; waiting for it")
        .await;
    assert!(devices(rig.conn()).await.is_empty());

    // Power on starts the scan in the same session: no failure, no retry.
    rig.sim.ok("power on").await;
    let log = rig.daemon.log_until("scanning on hci0").await;
    assert!(
        !log.iter().any(|line| line.contains("BLE unavailable")),
        "{log:#?}"
    );
    let path = wait_for_device_id(rig.conn(), &id(BTHOME), "ready").await;
    wait_for_readings(rig.conn(), &path, |r| r.get("temperature").is_some()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bluetoothd_that_starts_later_is_taken_at_once() {
    let bus = TestBus::start_with_bluez().await;
    let mut daemon = Daemon::start(&bus, &ble_config("")).await;
    // Nobody owns org.bluez: the daemon waits for bluetoothd rather than polling for it.
    daemon
        .expect_log("BLE unavailable until bluetoothd starts")
        .await;

    let mut sim = Sim::start(&["ble", "--bus", &bus.address, "--adv-interval", "200"], 1).await;
    sim.ok(&format!("add-bthome {BTHOME}")).await;
    let log = daemon.log_until("scanning on hci0").await;
    assert!(
        log.iter()
            .any(|line| line.contains("bluetoothd appeared on the bus")),
        "{log:#?}"
    );
    let path = wait_for_device_id(&daemon.conn, &id(BTHOME), "ready").await;
    wait_for_readings(&daemon.conn, &path, |r| r.get("temperature").is_some()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bluez_at_all_never_disturbs_a_cellular_modem() {
    // A plain bus: nobody owns org.bluez.
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    sim.ok("register home gsm").await;
    sim.ok("signal 20").await;
    let port = sim.path(0);
    let config = format!("{}\n{}", port_config(&port), ble_config(""));
    let mut daemon = Daemon::start(&bus, &config).await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    // With nobody owning org.bluez, BLE waits for the name to appear: nothing more happens
    // until then.
    daemon
        .expect_log("BLE unavailable until bluetoothd starts")
        .await;

    // +CSQ 20 is -73 dBm.
    assert_eq!(
        property::<i32>(&daemon.conn, &path, SIGNAL, "Rssi").await,
        -73
    );

    // The modem works while BLE is unavailable: +CSQ 25 is -63 dBm.
    sim.ok("signal 25").await;
    call::<_, ()>(&daemon.conn, &path, SIGNAL, "Refresh", &())
        .await
        .unwrap();
    wait_for_property(&daemon.conn, &path, SIGNAL, "Rssi", |rssi: &i32| {
        *rssi == -63
    })
    .await;
    let id = send_text(&daemon.conn, &path, "+491701234567", "still here")
        .await
        .unwrap();
    assert!(!id.is_empty());
    sim.expect_event("sms-sent").await;
    assert_eq!(
        property::<String>(&daemon.conn, &path, DEVICE, "State").await,
        "ready"
    );
    assert_eq!(devices(&daemon.conn).await.len(), 1);
    assert!(daemon.pid().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2mctl_shows_sensor_readings() {
    let rig = BleRig::start(&[&format!("add-bthome {BTHOME} Garden")], &ble_config("")).await;
    let path = wait_for_device_id(rig.conn(), &id(BTHOME), "ready").await;
    wait_for_readings(rig.conn(), &path, |r| !r.is_empty()).await;

    let output = m2mctl(&rig.bus.address, &["show", &id(BTHOME)]).await;
    assert_eq!(output.code, Some(0), "{output:?}");
    for line in [
        "Readings   battery=100 %",
        "humidity=45 %",
        "temperature=21 °C",
        "Technology    ble",
    ] {
        assert!(
            output.stdout.contains(line),
            "{line:?} not in {}",
            output.stdout
        );
    }
    let output = m2mctl(&rig.bus.address, &["--json", "show", &id(BTHOME)]).await;
    assert_eq!(output.code, Some(0), "{output:?}");
    let shown: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON");
    let readings = find_key(&shown, "Readings").expect("Readings in the JSON");
    assert_eq!(readings["temperature"], 21.0, "{readings}");
    assert_eq!(readings["humidity"], 45.0, "{readings}");
    assert_eq!(readings["battery"], 100.0, "{readings}");
}

/// The first value under `key`, at any depth.
fn find_key<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    match value {
        serde_json::Value::Object(fields) => fields
            .get(key)
            .or_else(|| fields.values().find_map(|v| find_key(v, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2mctl_reads_writes_and_subscribes_gatt() {
    let mut rig = BleRig::start(&[&format!("add-ess {ESS}")], &ble_config("")).await;
    let path = wait_for_device_id(rig.conn(), &id(ESS), "ready").await;
    wait_for_property(rig.conn(), &path, GATT, "Connected", |c: &bool| *c).await;
    let device = id(ESS);
    let bus = rig.bus.address.clone();

    let output = m2mctl(&bus, &["gatt", &device, "read", "2a19"]).await;
    assert_eq!(
        (output.code, output.stdout.as_str()),
        (Some(0), "64\n"),
        "{output:?}"
    );
    let output = m2mctl(&bus, &["gatt", &device, "write", LABEL, "--text", "porch"]).await;
    assert_eq!(output.code, Some(0), "{output:?}");
    let output = m2mctl(&bus, &["gatt", &device, "read", LABEL, "--text"]).await;
    assert_eq!(
        (output.code, output.stdout.as_str()),
        (Some(0), "porch\n"),
        "{output:?}"
    );
    let output = m2mctl(&bus, &["gatt", &device, "read", "battery"]).await;
    assert_eq!(output.code, Some(1), "{output:?}");
    assert!(
        output.stderr.contains("InvalidArgument") || output.stderr.contains("not a UUID"),
        "{output:?}"
    );

    // `subscribe --count 1` prints the first notification and exits.
    let subscribe = ["gatt", &device, "subscribe", LABEL, "--count", "1"];
    let subscriber = m2mctl(&bus, &subscribe);
    let notifier = async {
        let deadline = tokio::time::Instant::now() + WAIT;
        while rig.sim.ok(&format!("value {ESS} {LABEL} c0ffee")).await["notified"] != true {
            assert!(
                tokio::time::Instant::now() < deadline,
                "m2mctl never subscribed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let (output, ()) = tokio::join!(subscriber, notifier);
    assert_eq!(
        (output.code, output.stdout.as_str()),
        (Some(0), "c0ffee\n"),
        "{output:?}"
    );
}
