//! Advertisement-only BTHome sensors: identity, signal, readings, repeats, encryption.

use m2mhal_plugin_api::ble::Advertisement;
use m2mhal_plugin_api::{CallReply, DeviceKind, LogLevel, Request};
use proptest::prelude::*;
use serde_bytes::ByteBuf;

use crate::support::{
    ADDRESS, BleTranscript, EPOCH, EXAMPLE_KEY, bthome_advertisement, opened_peripheral,
    peripheral_with, uuid,
};

#[test]
fn advertisement_only_sensor() {
    let mut sensor = opened_peripheral();
    let identity = sensor.device();
    assert_eq!(identity.id.as_deref(), Some("ble:54:48:E6:8F:80:A5"));
    assert_eq!(identity.kind, Some(DeviceKind::BleDevice));
    assert_eq!(
        identity.capabilities,
        Some(vec!["gatt".into(), "sensor".into(), "signal".into()])
    );
    assert_eq!(identity.connected, Some(false));
    assert_eq!(sensor.state(), ("initializing", ""));
    assert_eq!(sensor.signal().technology.as_deref(), Some("ble"));

    // bthome.io/format's example: "DIY-sensor", 25.00 C, 50.55 %.
    sensor.advance(2_000);
    sensor.advertise(bthome_advertisement("40 02C409 03BF13", -70));
    assert_eq!(sensor.state(), ("ready", ""));
    assert_eq!(sensor.device().model.as_deref(), Some("DIY-sensor"));
    let signal = sensor.signal();
    assert_eq!(
        (signal.rssi, signal.quality, signal.updated_at),
        (Some(-70), Some(60), Some(EPOCH + 2))
    );
    assert_eq!(sensor.sensors.len(), 1);
    assert_eq!(sensor.sensors[0].updated_at, Some(EPOCH + 2));
    assert_eq!(
        sensor.readings(),
        [("humidity".into(), 50.55), ("temperature".into(), 25.0)].into()
    );
    // An advertisement-only device is never connected.
    sensor.expect_no_link_request();
    sensor.expect_no_gatt();

    // Refresh has nothing to read: the readings come by themselves.
    let refresh = sensor.call(Request::Refresh);
    assert_eq!(sensor.reply(refresh), Ok(CallReply::Done));

    // The same RSSI is not published again; a new one is.
    sensor.advertise(bthome_advertisement("40 02CA09", -70));
    assert_eq!(sensor.signals.len(), 2);
    sensor.advertise(bthome_advertisement("40 02CA09", -85));
    assert_eq!(sensor.signal().quality, Some(30));
    assert_eq!(sensor.readings()["temperature"], 25.06);
}

#[test]
fn a_repeated_packet_id_is_not_counted_twice() {
    let mut button = opened_peripheral();
    // Trigger-based device (0x44): packet id 7, button press.
    button.advertise(bthome_advertisement("44 0007 3A01", -60));
    button.advertise(bthome_advertisement("44 0007 3A01", -61));
    button.advertise(bthome_advertisement("44 0007 3A01", -60));
    assert_eq!(
        button.sensors.len(),
        1,
        "the same press advertised three times"
    );
    button.advertise(bthome_advertisement("44 0008 3A02", -60));
    assert_eq!(button.sensors.len(), 2);
    assert_eq!(button.readings()["button"], 2.0);
    // A packet id seen before, but not in the previous packet, is new again.
    button.advertise(bthome_advertisement("44 0007 3A01", -60));
    assert_eq!(button.sensors.len(), 3);
}

#[test]
fn a_repeated_measurement_confirms_the_readings_once_a_second() {
    let mut sensor = opened_peripheral();
    // Packet id 9, 25.00 C: a sensor that advertises its unchanged measurement ten times a second.
    sensor.advertise(bthome_advertisement("40 0009 02C409", -70));
    for _ in 0..25 {
        sensor.advance(100);
        sensor.advertise(bthome_advertisement("40 0009 02C409", -70));
    }
    let stamps: Vec<Option<u64>> = sensor.sensors.iter().map(|u| u.updated_at).collect();
    assert_eq!(
        stamps,
        [Some(EPOCH), Some(EPOCH + 1), Some(EPOCH + 2)],
        "UpdatedAt follows the repeats, once per second"
    );
    assert!(
        sensor.sensors[1..].iter().all(|u| u.readings.is_empty()),
        "a repeat is not a new reading"
    );
    assert_eq!(sensor.readings()["temperature"], 25.0);
}

#[test]
fn encrypted_advertisements_with_the_key() {
    let mut sensor = peripheral_with(&[("bthome_key", EXAMPLE_KEY)]);
    sensor.input(m2mhal_plugin_api::Event::Opened);
    // bthome.io/encryption's example, sent by 54:48:E6:8F:80:A5.
    sensor.advertise(bthome_advertisement(
        "41 A47266C95F73 00112233 78237214",
        -70,
    ));
    assert_eq!(
        sensor.readings(),
        [("humidity".into(), 50.55), ("temperature".into(), 25.06)].into()
    );
}

#[test]
fn encrypted_advertisements_without_the_right_key_warn_once() {
    let example = "41 A47266C95F73 00112233 78237214";
    let mut without_key = opened_peripheral();
    without_key.advertise(bthome_advertisement(example, -70));
    without_key.advertise(bthome_advertisement(example, -70));
    assert!(without_key.sensors.is_empty());
    assert_eq!(without_key.log_count(LogLevel::Warn, "no bthome_key"), 1);
    assert_eq!(without_key.state(), ("ready", ""));

    let mut wrong_key = peripheral_with(&[("bthome_key", "00112233445566778899aabbccddeeff")]);
    wrong_key.input(m2mhal_plugin_api::Event::Opened);
    wrong_key.advertise(bthome_advertisement(example, -70));
    wrong_key.advertise(bthome_advertisement(example, -70));
    assert!(wrong_key.sensors.is_empty());
    assert_eq!(wrong_key.log_count(LogLevel::Warn, "does not decrypt"), 1);
}

#[test]
fn an_unknown_object_ends_the_packet_with_one_warning() {
    let mut sensor = opened_peripheral();
    sensor.advertise(bthome_advertisement("40 0161 EE0102 02CA09", -70));
    sensor.advertise(bthome_advertisement("40 0160 EE0102 02CA09", -70));
    assert_eq!(sensor.readings(), [("battery".into(), 96.0)].into());
    assert_eq!(sensor.log_count(LogLevel::Warn, "0xee is unknown"), 1);
}

#[test]
fn names_and_unsupported_calls() {
    let mut sensor = opened_peripheral();
    let mut advertisement = bthome_advertisement("40 0161", -70);
    advertisement.name = Some("  ".into());
    sensor.advertise(advertisement);
    assert_eq!(sensor.device().model, None, "a blank name is no model");

    let reset = sensor.call(Request::Reset);
    let error = sensor.reply(reset).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (
            m2mhal_plugin_api::CallErrorKind::NotSupported,
            "Reset is not supported by BLE devices"
        )
    );
}

proptest! {
    #[test]
    fn arbitrary_advertisements_never_panic_the_driver(
        data in proptest::collection::vec(any::<u8>(), 0..40),
        encrypted_key in any::<bool>(),
        rssi in any::<i16>(),
    ) {
        let options: &[(&str, &str)] = if encrypted_key { &[("bthome_key", EXAMPLE_KEY)] } else { &[] };
        let mut sensor = peripheral_with(options);
        sensor.input(m2mhal_plugin_api::Event::Opened);
        sensor.advertise(Advertisement {
            address: ADDRESS.into(),
            rssi: Some(rssi),
            service_data: [(uuid("fcd2"), ByteBuf::from(data))].into(),
            ..Advertisement::default()
        });
        prop_assert!(sensor.readings().values().all(|value| value.is_finite()));
        let quality = sensor.signal().quality.unwrap_or_default();
        prop_assert!(quality <= 100);
    }
}

#[test]
fn a_sensor_that_stops_advertising_goes_offline_and_comes_back() {
    let mut sensor = peripheral_with(&[("absent_after", "60")]);
    sensor.input(m2mhal_plugin_api::Event::Opened);
    sensor.advertise(bthome_advertisement("40 00 01 02C409", -70));
    assert_eq!(sensor.state(), ("ready", ""));
    sensor.advance(59_000);
    assert_eq!(sensor.state(), ("ready", ""), "still within absent_after");
    sensor.advance(1_000);
    assert_eq!(sensor.state(), ("offline", "out-of-range"));
    sensor.advertise(bthome_advertisement("40 00 02 02C409", -75));
    assert_eq!(sensor.state(), ("ready", ""));
    // Every advertisement restarts the wait.
    sensor.advance(45_000);
    sensor.advertise(bthome_advertisement("40 00 03 02C409", -75));
    sensor.advance(45_000);
    assert_eq!(sensor.state(), ("ready", ""));
}
