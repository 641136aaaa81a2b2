//! Applications' GATT calls: Read, Write, Subscribe, Unsubscribe, with the link up and down.

use m2mhal_plugin_api::ble::GattAction;
use m2mhal_plugin_api::{CallErrorKind, CallReply, Request};

use crate::support::{
    BleTranscript, Peripheral, VENDOR, bthome_advertisement, connected_sensor, opened_peripheral,
    service, uuid,
};

fn read(characteristic: &str) -> Request {
    Request::GattRead {
        characteristic: uuid(characteristic),
    }
}

fn subscribe(characteristic: &str) -> Request {
    Request::GattSubscribe {
        characteristic: uuid(characteristic),
    }
}

fn unsubscribe(characteristic: &str) -> Request {
    Request::GattUnsubscribe {
        characteristic: uuid(characteristic),
    }
}

#[test]
fn read_write_subscribe_with_the_link_up() {
    let mut sensor = connected_sensor();

    let call = sensor.call(read(VENDOR));
    let op = sensor.expect_gatt(VENDOR, GattAction::Read);
    sensor.done(op, Ok(b"hello".to_vec()));
    assert_eq!(sensor.reply(call), Ok(CallReply::Bytes(b"hello".to_vec())));

    for with_response in [true, false] {
        let call = sensor.call(Request::GattWrite {
            characteristic: VENDOR.into(),
            value: vec![1, 2, 3],
            with_response,
        });
        let op = sensor.expect_gatt(
            VENDOR,
            GattAction::Write {
                value: vec![1, 2, 3],
                with_response,
            },
        );
        sensor.done(op, Ok(Vec::new()));
        assert_eq!(sensor.reply(call), Ok(CallReply::Done));
    }

    let call = sensor.call(subscribe(VENDOR));
    let op = sensor.expect_gatt(VENDOR, GattAction::Subscribe);
    sensor.notify(VENDOR, b"early");
    assert!(
        sensor.notifications.is_empty(),
        "not subscribed until the device confirms"
    );
    sensor.done(op, Ok(Vec::new()));
    assert_eq!(sensor.reply(call), Ok(CallReply::Done));
    sensor.notify(VENDOR, b"tick");
    assert_eq!(
        sensor.notifications,
        [(VENDOR.to_owned(), b"tick".to_vec())]
    );

    let call = sensor.call(unsubscribe(VENDOR));
    let op = sensor.expect_gatt(VENDOR, GattAction::Unsubscribe);
    sensor.notify(VENDOR, b"tock");
    sensor.done(op, Ok(Vec::new()));
    assert_eq!(sensor.reply(call), Ok(CallReply::Done));
    assert_eq!(sensor.notifications.len(), 1);
}

#[test]
fn device_errors_fail_the_call_with_the_reason() {
    let mut sensor = connected_sensor();
    let call = sensor.call(Request::GattWrite {
        characteristic: VENDOR.into(),
        value: vec![0xff],
        with_response: true,
    });
    let op = sensor.expect_gatt(
        VENDOR,
        GattAction::Write {
            value: vec![0xff],
            with_response: true,
        },
    );
    sensor.done(op, Err("ATT error 0x03: write not permitted"));
    let error = sensor.reply(call).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::Failed);
    assert_eq!(
        error.message,
        format!("writing {VENDOR} failed: ATT error 0x03: write not permitted")
    );

    let call = sensor.call(subscribe(VENDOR));
    let op = sensor.expect_gatt(VENDOR, GattAction::Subscribe);
    sensor.done(op, Err("ATT error 0x05: insufficient authentication"));
    assert!(sensor.reply(call).is_err());
    sensor.notify(VENDOR, b"x");
    assert!(sensor.notifications.is_empty(), "the subscription failed");
}

#[test]
fn subscribing_to_a_sensor_value_shares_its_notifications() {
    let mut sensor = connected_sensor();
    let call = sensor.call(subscribe("2a6e"));
    assert_eq!(sensor.reply(call), Ok(CallReply::Done));
    sensor.expect_no_gatt();
    sensor.notify("2a6e", &[0xdc, 0x09]);
    assert_eq!(sensor.readings()["temperature"], 25.24);
    assert_eq!(sensor.notifications, [(uuid("2a6e"), vec![0xdc, 0x09])]);

    // Unsubscribing keeps the driver's own notifications on.
    let call = sensor.call(unsubscribe("2a6e"));
    assert_eq!(sensor.reply(call), Ok(CallReply::Done));
    sensor.expect_no_gatt();
    sensor.notify("2a6e", &[0xe6, 0x09]);
    assert_eq!(sensor.readings()["temperature"], 25.34);
    assert_eq!(sensor.notifications.len(), 1);
}

#[test]
fn a_characteristic_absent_from_the_device_is_an_invalid_argument() {
    let mut sensor = connected_sensor();
    let call = sensor.call(read("2a1c"));
    let error = sensor.reply(call).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::InvalidArgument);
    assert_eq!(
        error.message,
        "characteristic 00002a1c-0000-1000-8000-00805f9b34fb is not on this device"
    );
    sensor.expect_no_gatt();

    // With the link down the last known services answer, without connecting.
    sensor.link_down("supervision timeout");
    sensor.advance(1_000);
    sensor.expect_connect();
    let call = sensor.call(subscribe("2a1c"));
    assert_eq!(
        sensor.reply(call).unwrap_err().kind,
        CallErrorKind::InvalidArgument
    );
    sensor.expect_no_link_request();
}

/// An advertisement-only device that has never been connected.
fn bthome_device() -> Peripheral {
    let mut device = opened_peripheral();
    device.advertise(bthome_advertisement("40 0161", -70));
    device
}

#[test]
fn calls_connect_and_wait_for_the_link() {
    let mut device = bthome_device();
    let first = device.call(read(VENDOR));
    device.expect_connect();
    let second = device.call(Request::GattWrite {
        characteristic: VENDOR.into(),
        value: b"on".to_vec(),
        with_response: true,
    });
    device.expect_no_link_request();
    assert!(!device.answered(first) && !device.answered(second));

    device.advance(2_000);
    device.link_up(vec![service(
        "12345678-1234-5678-1234-56789abcdef1",
        &[(VENDOR, &["read", "write"])],
    )]);
    let op = device.expect_gatt(VENDOR, GattAction::Read);
    device.done(op, Ok(vec![7]));
    let op = device.expect_gatt(
        VENDOR,
        GattAction::Write {
            value: b"on".to_vec(),
            with_response: true,
        },
    );
    device.done(op, Ok(Vec::new()));
    assert_eq!(device.reply(first), Ok(CallReply::Bytes(vec![7])));
    assert_eq!(device.reply(second), Ok(CallReply::Done));
    assert_eq!(device.state(), ("ready", ""));

    // Nothing needs the link any more: when it drops it stays down, and the device is ready.
    device.link_down("remote user terminated connection");
    assert_eq!(device.timer_due(1), None);
    device.advance(120_000);
    device.expect_no_link_request();
    assert_eq!(device.state(), ("ready", ""));
}

#[test]
fn waiting_calls_fail_after_three_failed_connection_attempts() {
    let mut device = bthome_device();
    let call = device.call(read(VENDOR));
    device.expect_connect();
    device.link_down("le-connection-abort-by-local");
    device.advance(1_000);
    device.expect_connect();
    device.link_down("le-connection-abort-by-local");
    device.advance(2_000);
    device.expect_connect();
    assert!(!device.answered(call));
    device.link_down("le-connection-abort-by-local");
    let error = device.reply(call).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::NotReady);
    assert_eq!(
        error.message,
        "could not connect to the device (3 attempts failed, the last: le-connection-abort-by-local)"
    );
    // The call was the only reason to connect.
    device.advance(120_000);
    device.expect_no_link_request();
    assert_eq!(device.state(), ("ready", ""));
}

#[test]
fn waiting_calls_fail_after_thirty_seconds() {
    let mut device = bthome_device();
    let first = device.call(read(VENDOR));
    device.expect_connect();
    device.advance(10_000);
    let second = device.call(read(VENDOR));
    device.advance(19_999);
    assert!(!device.answered(first));
    device.advance(1);
    let error = device.reply(first).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (CallErrorKind::NotReady, "no link to the device within 30 s")
    );
    assert!(!device.answered(second));
    device.advance(10_000);
    assert!(device.answered(second));
}

#[test]
fn unsubscribing_with_the_link_down_needs_no_link() {
    let mut device = bthome_device();
    let call = device.call(unsubscribe(VENDOR));
    assert_eq!(device.reply(call), Ok(CallReply::Done));
    device.expect_no_link_request();
}
