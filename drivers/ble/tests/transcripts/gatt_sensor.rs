//! GATT sensors: connect, Device Information, reads, subscriptions, notifications, refresh.

use m2mhal_plugin_api::ble::GattAction;
use m2mhal_plugin_api::{CallReply, LogLevel, Request};

use crate::support::{
    BleTranscript, EPOCH, answer_link_up_reads, connected_sensor, ess_advertisement, ess_services,
    hex, opened_peripheral, peripheral_with, service,
};

#[test]
fn connect_read_subscribe_and_notifications() {
    let mut sensor = opened_peripheral();
    sensor.advertise(ess_advertisement(-70));
    assert_eq!(sensor.device().model.as_deref(), Some("ESS-Sensor"));
    sensor.expect_connect();
    // Further advertisements while connecting do not connect again.
    sensor.advertise(ess_advertisement(-71));
    sensor.expect_no_link_request();

    sensor.advance(1_000);
    sensor.link_up(ess_services());
    let device = sensor.device();
    assert_eq!(device.connected, Some(true));
    let services = device.services.unwrap();
    assert_eq!(services.len(), 5);
    assert_eq!(services[2], "0000180f-0000-1000-8000-00805f9b34fb");

    answer_link_up_reads(&mut sensor);
    let device = sensor.device();
    assert_eq!(device.manufacturer.as_deref(), Some("Acme Sensors"));
    assert_eq!(
        device.model.as_deref(),
        Some("ESS-1"),
        "the device's model wins over its name"
    );
    assert_eq!(device.revision.as_deref(), Some("2.1.0"));
    assert_eq!(device.serial_number.as_deref(), Some("SN0042"));
    assert_eq!(
        sensor.readings(),
        [
            ("battery".into(), 90.0),
            ("humidity".into(), 50.0),
            ("pressure".into(), 1013.25),
            ("temperature".into(), 25.14),
        ]
        .into()
    );
    assert!(
        sensor
            .sensors
            .iter()
            .all(|s| s.updated_at == Some(EPOCH + 1))
    );

    // Battery and temperature notify, humidity indicates, pressure does neither.
    sensor.subscribe("2a19");
    sensor.subscribe("2a6e");
    sensor.subscribe("2a6f");
    sensor.expect_no_gatt();

    // -10.5 C, then humidity 66.67 %: Sensor updates, not application notifications.
    sensor.advance(60_000);
    sensor.notify("2a6e", &hex("E6FB"));
    sensor.notify("2a6f", &hex("0B1A"));
    let readings = sensor.readings();
    assert_eq!(
        (readings["temperature"], readings["humidity"]),
        (-10.5, 66.67)
    );
    assert_eq!(sensor.sensors.last().unwrap().updated_at, Some(EPOCH + 61));
    assert!(sensor.notifications.is_empty());

    // A later name does not replace the device's model.
    let mut renamed = ess_advertisement(-70);
    renamed.name = Some("Other".into());
    sensor.advertise(renamed);
    assert_eq!(sensor.device().model.as_deref(), Some("ESS-1"));
}

#[test]
fn unknown_and_malformed_values() {
    let mut sensor = connected_sensor();
    let before = sensor.sensors.len();
    // 0x8000: temperature "value is not known" -> no update.
    sensor.notify("2a6e", &hex("0080"));
    assert_eq!(sensor.sensors.len(), before);
    // A 3-byte temperature is malformed: warned once, no update.
    sensor.notify("2a6e", &hex("D20900"));
    sensor.notify("2a6e", &hex("D20900"));
    assert_eq!(sensor.sensors.len(), before);
    assert_eq!(
        sensor.log_count(LogLevel::Warn, "Temperature: 3 bytes, expected 2"),
        1
    );
}

#[test]
fn a_read_answered_after_a_notification_does_not_undo_it() {
    // After a reconnect the reads and the subscriptions go out together; the sensor notifies
    // 18.50 C before the read of the older 25.14 C is answered.
    let mut sensor = opened_peripheral();
    sensor.advertise(ess_advertisement(-70));
    sensor.expect_connect();
    sensor.link_up(vec![service("181a", &[("2a6e", &["read", "notify"])])]);
    let read = sensor.expect_gatt("2a6e", GattAction::Read);
    sensor.subscribe("2a6e");
    sensor.notify("2a6e", &hex("3A07"));
    sensor.done(read, Ok(hex("D209")));
    assert_eq!(sensor.readings()["temperature"], 18.5);

    // A read with no notification in between is taken as usual.
    let refresh = sensor.call(Request::Refresh);
    sensor.read("2a6e", &hex("D209"));
    assert_eq!(sensor.reply(refresh), Ok(CallReply::Done));
    assert_eq!(sensor.readings()["temperature"], 25.14);
}

#[test]
fn refresh_reads_the_values_again() {
    let mut sensor = connected_sensor();
    let refresh = sensor.call(Request::Refresh);
    sensor.read("2a19", &[89]);
    sensor.read("2a6e", &hex("DC09"));
    sensor.read("2a6f", &hex("8813"));
    assert!(!sensor.answered(refresh), "one read is still out");
    let op = sensor.expect_gatt("2a6d", GattAction::Read);
    sensor.done(op, Err("ATT error 0x0e: unlikely error"));
    assert_eq!(sensor.reply(refresh), Ok(CallReply::Done));
    assert_eq!(sensor.readings()["battery"], 89.0);
    assert_eq!(sensor.readings()["temperature"], 25.24);
    assert_eq!(sensor.log_count(LogLevel::Warn, "unlikely error"), 1);
}

#[test]
fn a_sensor_without_device_information_or_notifications() {
    let mut sensor = opened_peripheral();
    sensor.advertise(ess_advertisement(-70));
    sensor.expect_connect();
    sensor.link_up(vec![service("181a", &[("2a6e", &["read"])])]);
    sensor.read("2a6e", &hex("D209"));
    sensor.expect_no_gatt();
    assert_eq!(sensor.device().model.as_deref(), Some("ESS-Sensor"));
    assert_eq!(sensor.readings()["temperature"], 25.14);
    // A notification of something not subscribed is ignored.
    sensor.notify("2a6e", &hex("DC09"));
    assert_eq!(sensor.readings()["temperature"], 25.14);
}

#[test]
fn connect_always_and_never() {
    let mut always = peripheral_with(&[("connect", "always")]);
    always.input(m2mhal_plugin_api::Event::Opened);
    always.expect_connect();

    let mut never = peripheral_with(&[("connect", "never")]);
    never.input(m2mhal_plugin_api::Event::Opened);
    never.advertise(ess_advertisement(-70));
    never.expect_no_link_request();
    let refresh = never.call(Request::Refresh);
    assert_eq!(never.reply(refresh), Ok(CallReply::Done));
}

#[test]
fn a_failed_subscription_is_logged_and_values_still_read() {
    let mut sensor = opened_peripheral();
    sensor.advertise(ess_advertisement(-70));
    sensor.expect_connect();
    sensor.link_up(vec![service("180f", &[("2a19", &["read", "notify"])])]);
    sensor.read("2a19", &[50]);
    let op = sensor.expect_gatt("2a19", GattAction::Subscribe);
    sensor.done(op, Err("not permitted"));
    assert_eq!(sensor.log_count(LogLevel::Warn, "subscribing to"), 1);
    // Notifications that come anyway are not taken as readings.
    sensor.notify("2a19", &[40]);
    assert_eq!(sensor.readings()["battery"], 50.0);
}
