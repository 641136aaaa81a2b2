//! `Gatt.Connect` and `Gatt.Disconnect`.

use m2mhal_plugin_api::{CallErrorKind, CallReply, Request};

use crate::support::{
    BleTranscript, LinkRequest, VENDOR, answer_link_up_reads, bthome_advertisement,
    connected_sensor, ess_advertisement, ess_services, opened_peripheral, service,
};

#[test]
fn disconnect_keeps_the_link_down_until_connect() {
    let mut sensor = connected_sensor();
    let disconnect = sensor.call(Request::Disconnect);
    assert_eq!(sensor.reply(disconnect), Ok(CallReply::Done));
    sensor.expect_link_request(LinkRequest::Disconnect);
    assert_eq!(sensor.device().connected, Some(false));
    sensor.link_down("local host terminated connection");
    assert_eq!(sensor.state(), ("ready", ""), "disconnected on purpose");

    // No reconnection, whatever happens.
    sensor.advance(300_000);
    sensor.advertise(ess_advertisement(-60));
    sensor.expect_no_link_request();
    let read = sensor.call(Request::GattRead {
        characteristic: VENDOR.into(),
    });
    let error = sensor.reply(read).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (
            CallErrorKind::NotReady,
            "the link is disconnected on request: call Connect first"
        )
    );
    let refresh = sensor.call(Request::Refresh);
    assert_eq!(
        sensor.reply(refresh).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    sensor.expect_no_link_request();

    // Connect answers once the link is up.
    let connect = sensor.call(Request::Connect);
    sensor.expect_connect();
    assert!(!sensor.answered(connect));
    sensor.link_up(ess_services());
    assert_eq!(sensor.reply(connect), Ok(CallReply::Done));
    answer_link_up_reads(&mut sensor);
    sensor.subscribe("2a19");
    sensor.subscribe("2a6e");
    sensor.subscribe("2a6f");

    // Connecting again is done at once; a lost link is reconnected again.
    let again = sensor.call(Request::Connect);
    assert_eq!(sensor.reply(again), Ok(CallReply::Done));
    sensor.link_down("supervision timeout");
    assert_eq!(sensor.state(), ("offline", "link-lost"));
    sensor.advance(1_000);
    sensor.expect_connect();
}

#[test]
fn disconnect_fails_waiting_calls_and_refuses_a_late_link() {
    let mut device = opened_peripheral();
    device.advertise(bthome_advertisement("40 0161", -70));
    let read = device.call(Request::GattRead {
        characteristic: VENDOR.into(),
    });
    device.expect_connect();
    let disconnect = device.call(Request::Disconnect);
    assert_eq!(device.reply(disconnect), Ok(CallReply::Done));
    device.expect_link_request(LinkRequest::Disconnect);
    let error = device.reply(read).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (
            CallErrorKind::NotReady,
            "the link was disconnected on request"
        )
    );
    // The attempt completes anyway: the driver takes the link down again.
    device.link_up(vec![service(
        "12345678-1234-5678-1234-56789abcdef1",
        &[(VENDOR, &["read"])],
    )]);
    device.expect_link_request(LinkRequest::Disconnect);
    device.expect_no_gatt();
    assert!(
        device
            .devices
            .iter()
            .all(|update| update.connected != Some(true)),
        "never published as connected"
    );
}

#[test]
fn connect_keeps_an_advertisement_only_device_linked() {
    let mut device = opened_peripheral();
    device.advertise(bthome_advertisement("40 0161", -70));
    let connect = device.call(Request::Connect);
    device.expect_connect();
    device.link_down("page timeout");
    assert_eq!(device.state(), ("offline", "connect-failed"));
    device.advance(1_000);
    device.expect_connect();
    device.link_up(vec![service(
        "12345678-1234-5678-1234-56789abcdef1",
        &[(VENDOR, &["read"])],
    )]);
    assert_eq!(device.reply(connect), Ok(CallReply::Done));
    assert_eq!(device.state(), ("ready", ""));
    // Its readings still come from the advertisements; Refresh has nothing to read over GATT.
    let refresh = device.call(Request::Refresh);
    assert_eq!(device.reply(refresh), Ok(CallReply::Done));
    device.expect_no_gatt();
}

#[test]
fn connect_after_disconnect_starts_afresh() {
    let mut sensor = connected_sensor();
    sensor.link_down("supervision timeout");
    assert_eq!(sensor.state(), ("offline", "link-lost"));
    let disconnect = sensor.call(Request::Disconnect);
    assert_eq!(sensor.reply(disconnect), Ok(CallReply::Done));
    sensor.expect_no_link_request();
    assert_eq!(sensor.timer_due(1), None, "the reconnection is cancelled");
    assert_eq!(sensor.state(), ("ready", ""));

    sensor.advance(5_000);
    let connect = sensor.call(Request::Connect);
    sensor.expect_connect();
    assert_eq!(sensor.state(), ("ready", ""));
    sensor.link_down("page timeout");
    assert_eq!(sensor.state(), ("offline", "connect-failed"));
    assert_eq!(sensor.timer_due(1), Some(6_000), "the backoff starts over");
    assert!(!sensor.answered(connect));
}

#[test]
fn reopening_starts_from_scratch() {
    let mut sensor = connected_sensor();
    let read = sensor.call(Request::GattRead {
        characteristic: VENDOR.into(),
    });
    sensor.input(m2mhal_plugin_api::Event::Opened);
    let error = sensor.reply(read).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (CallErrorKind::Failed, "the device was reopened")
    );
    assert_eq!(sensor.state(), ("initializing", ""));
    assert_eq!(sensor.device().connected, Some(false));
    // Still known as a GATT sensor: it connects again at once.
    sensor.expect_connect();
    sensor.advertise(ess_advertisement(-70));
    assert_eq!(sensor.state(), ("ready", ""));
    sensor.expect_no_link_request();
}
