//! Link loss: offline, reconnection with backoff, everything re-armed.

use m2mhal_plugin_api::ble::GattAction;
use m2mhal_plugin_api::{CallReply, Request};

use crate::support::{
    BleTranscript, Peripheral, VENDOR, answer_link_up_reads, connected_sensor, ess_advertisement,
    ess_services, opened_peripheral,
};

/// Timer id of the reconnection.
const RECONNECT: u32 = 1;

/// The link goes down; the next attempt is due after `delay_ms`, and not before.
#[track_caller]
fn fails_then_waits(sensor: &mut Peripheral, reason: &str, delay_ms: u64) {
    sensor.link_down(reason);
    assert_eq!(
        sensor.timer_due(RECONNECT),
        Some(sensor.now_ms() + delay_ms),
        "reconnection delay after {reason:?}"
    );
    sensor.advance(delay_ms - 1);
    sensor.expect_no_link_request();
    sensor.advance(1);
    sensor.expect_connect();
}

#[test]
fn link_loss_goes_offline_reconnects_with_backoff_and_resubscribes() {
    let mut sensor = connected_sensor();
    let subscribe = sensor.call(Request::GattSubscribe {
        characteristic: VENDOR.into(),
    });
    let op = sensor.expect_gatt(VENDOR, GattAction::Subscribe);
    sensor.done(op, Ok(Vec::new()));
    assert_eq!(sensor.reply(subscribe), Ok(CallReply::Done));

    fails_then_waits(&mut sensor, "supervision timeout", 1_000);
    assert_eq!(sensor.device().connected, Some(false));
    assert_eq!(sensor.state(), ("offline", "link-lost"));
    // Advertisements do not cut the backoff short.
    fails_then_waits(&mut sensor, "connection failed", 2_000);
    sensor.advertise(ess_advertisement(-90));
    sensor.expect_no_link_request();
    fails_then_waits(&mut sensor, "connection failed", 4_000);
    assert_eq!(sensor.state(), ("offline", "link-lost"));

    sensor.link_up(ess_services());
    assert_eq!(sensor.state(), ("ready", ""));
    assert_eq!(sensor.device().connected, Some(true));
    answer_link_up_reads(&mut sensor);
    // Sensor values first, then the application's subscription.
    sensor.subscribe("2a19");
    sensor.subscribe("2a6e");
    sensor.subscribe("2a6f");
    sensor.subscribe(VENDOR);
    sensor.expect_no_gatt();
    sensor.notify(VENDOR, b"\x01\x02");
    assert_eq!(sensor.notifications, [(VENDOR.to_owned(), vec![1, 2])]);

    // The backoff starts over after a successful link.
    fails_then_waits(&mut sensor, "supervision timeout", 1_000);
}

#[test]
fn backoff_doubles_up_to_a_minute() {
    let mut sensor = connected_sensor();
    sensor.link_down("supervision timeout");
    let mut delays = Vec::new();
    for _ in 0..8 {
        let due = sensor.timer_due(RECONNECT).unwrap();
        delays.push(due - sensor.now_ms());
        sensor.advance(due - sensor.now_ms());
        sensor.expect_connect();
        sensor.link_down("connection failed");
    }
    assert_eq!(
        delays,
        [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
    );
}

#[test]
fn a_sensor_that_never_connects_is_offline() {
    let mut sensor = opened_peripheral();
    sensor.advertise(ess_advertisement(-95));
    sensor.expect_connect();
    assert_eq!(sensor.state(), ("ready", ""));
    fails_then_waits(&mut sensor, "le-connection-abort-by-local", 1_000);
    assert_eq!(sensor.state(), ("offline", "connect-failed"));
    sensor.link_up(ess_services());
    assert_eq!(sensor.state(), ("ready", ""));
}

#[test]
fn calls_in_flight_fail_when_the_link_drops() {
    let mut sensor = connected_sensor();
    let read = sensor.call(Request::GattRead {
        characteristic: VENDOR.into(),
    });
    let refresh = sensor.call(Request::Refresh);
    let op = sensor.expect_gatt(VENDOR, GattAction::Read);
    sensor.link_down("supervision timeout");
    let error = sensor.reply(read).unwrap_err();
    assert_eq!(error.kind, m2mhal_plugin_api::CallErrorKind::NotReady);
    assert_eq!(error.message, "the link went down: supervision timeout");
    assert!(sensor.reply(refresh).is_err());
    // A late answer to the abandoned operation is ignored.
    sensor.done(op, Ok(b"late".to_vec()));
    assert_eq!(sensor.replies.len(), 2);
}
