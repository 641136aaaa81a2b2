//! `Sensor.UpdatedAt` of a BLE sensor through the fake BlueZ: it is when the readings were last
//! confirmed, so a steady sensor (the same measurement advertised again and again) can be told
//! from one that went silent.

use std::collections::HashMap;

use m2mhal_tests::*;
use zbus::OwnedVariant;

/// The body of `PropertiesChanged`.
type PropertiesChangedBody = (String, HashMap<String, OwnedVariant>, Vec<String>);

/// A BTHome v2 advertiser, unencrypted.
const BTHOME: &str = "A4:C1:38:00:00:01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_at_follows_a_steady_sensor_that_repeats_its_measurement() {
    let rig = BleRig::start(&[&format!("add-bthome {BTHOME} Garden")], &ble_config("")).await;
    let conn = rig.conn();
    let path = wait_for_device_id(conn, &format!("ble:{BTHOME}"), "ready").await;
    let first = wait_for_readings(conn, &path, |readings| !readings.is_empty()).await;
    let mut changes = properties_changed(conn, &path).await;
    let confirmed_at: u64 = property(conn, &path, SENSOR, "UpdatedAt").await;
    // The simulator advertises the same measurement (same packet id) every 200 ms and never a
    // new one: only a confirmation can move UpdatedAt.
    let later =
        next_property_change::<u64>(&mut changes, SENSOR, "UpdatedAt", |at| *at > confirmed_at)
            .await;
    assert!(later > confirmed_at);
    // A confirmation carries UpdatedAt alone: the readings did not change.
    let (_, changed, _): PropertiesChangedBody = next_signal(
        &mut changes,
        |(iface, changed, _): &PropertiesChangedBody| {
            iface == SENSOR && changed.contains_key("UpdatedAt")
        },
    )
    .await;
    assert_eq!(changed.keys().collect::<Vec<_>>(), ["UpdatedAt"]);
    assert_eq!(readings(conn, &path).await, first);
}
