//! The v1 wire schema as `include/m2mhal_plugin.h` states it: each example of the header, in CBOR
//! diagnostic notation, is what the Rust types encode (and decode back). A change here is a change
//! of the frozen v1 schema: the header and docs/plugin-abi.md change with it, additively only.

use std::collections::BTreeMap;

use ciborium::Value;
use m2mhal_plugin_api::ble::{
    Advertisement, BleRule, GattAction, GattCharacteristic, GattOp, GattService,
};
use m2mhal_plugin_api::codec;
use m2mhal_plugin_api::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

/// RFC 8949 diagnostic notation of `value`, the way the header writes it.
fn diag(value: &Value) -> String {
    match value {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Bytes(b) => format!(
            "h'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        Value::Float(f) if f.is_nan() => "NaN".into(),
        Value::Float(f) => format!("{f:?}"),
        Value::Text(t) => format!("{t:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Tag(tag, inner) => format!("{tag}({})", diag(inner)),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(diag).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", diag(k), diag(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// Encodes `value`, checks its diagnostic notation is `expected`, and that it decodes back.
#[track_caller]
fn assert_wire<T>(value: &T, expected: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = codec::encode(value).expect("encodes");
    let decoded: Value = codec::decode(&bytes).expect("is CBOR");
    assert_eq!(diag(&decoded), expected);
    assert_eq!(&codec::decode::<T>(&bytes).expect("decodes back"), value);
}

/// Decodes the CBOR `value` as a `T`, for the rules about what a decoder accepts.
fn decode_value<T: DeserializeOwned>(value: Value) -> Result<T, codec::CodecError> {
    let bytes = codec::encode(&value).expect("encodes");
    codec::decode(&bytes)
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn entry(key: &str, value: Value) -> Value {
    Value::Map(vec![(text(key), value)])
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn input(event: Event) -> Input {
    Input {
        now_ms: 1500,
        unix_time: 1_700_000_000,
        event,
    }
}

#[test]
fn describe_examples() {
    let description = DriverDescription {
        name: "thermo".into(),
        version: "1.0.0".into(),
        kinds: vec![DeviceKind::CellularModem],
        ..Default::default()
    };
    assert_wire(
        &description,
        r#"{"name": "thermo", "version": "1.0.0", "kinds": ["cellular-modem"], "udev": [], "at": [], "default_baud": null, "ble": []}"#,
    );
    // The header's example leaves optional keys out.
    let header_example = Value::Map(vec![
        (text("name"), text("thermo")),
        (text("version"), text("1.0.0")),
        (text("kinds"), Value::Array(vec![text("cellular-modem")])),
        (
            text("udev"),
            Value::Array(vec![entry(
                "properties",
                entry("ID_VENDOR_ID", text("0403")),
            )]),
        ),
        (
            text("at"),
            Value::Array(vec![Value::Map(vec![
                (text("manufacturer"), text("Acme")),
                (text("priority"), Value::Integer(10.into())),
            ])]),
        ),
        (text("default_baud"), Value::Integer(9600.into())),
    ]);
    let decoded: DriverDescription = decode_value(header_example).unwrap();
    assert_eq!(
        decoded,
        DriverDescription {
            udev: vec![UdevRule {
                properties: map(&[("ID_VENDOR_ID", "0403")]),
            }],
            at: vec![AtRule {
                manufacturer: Some("Acme".into()),
                model: None,
                priority: 10,
            }],
            default_baud: Some(9600),
            ..description
        }
    );
    // ABI v1.1: the panic strategy, left out when unknown (above), else spelled in snake_case.
    let rust_plugin = DriverDescription {
        panic_strategy: Some(PanicStrategy::Abort),
        ..DriverDescription::default()
    };
    assert_wire(
        &rust_plugin,
        r#"{"name": "", "version": "", "kinds": [], "udev": [], "at": [], "default_baud": null, "ble": [], "panic_strategy": "abort"}"#,
    );
    assert_wire(&PanicStrategy::Unwind, r#""unwind""#);
    // What export_driver! adds for a plugin of ABI v1.1.
    let declared = DriverDescription {
        abi_minor: Some(1),
        ..DriverDescription::default()
    };
    assert_wire(
        &declared,
        r#"{"name": "", "version": "", "kinds": [], "udev": [], "at": [], "default_baud": null, "ble": [], "abi_minor": 1}"#,
    );
    for kind in [
        DeviceKind::CellularModem,
        DeviceKind::SatelliteTerminal,
        DeviceKind::BleDevice,
        DeviceKind::Sensor,
        DeviceKind::GnssReceiver,
        DeviceKind::Generic,
    ] {
        assert_wire(&kind, &format!("{:?}", kind.as_str()));
    }
    let rule = BleRule {
        service_uuids: vec!["181a".into()],
        manufacturer_ids: vec![76],
        name_patterns: vec!["ATC_*".into()],
        priority: 5,
        ..Default::default()
    };
    assert_wire(
        &rule,
        r#"{"service_uuids": ["181a"], "service_data_uuids": [], "manufacturer_ids": [76], "name_patterns": ["ATC_*"], "priority": 5}"#,
    );
}

#[test]
fn open_config_example() {
    assert_wire(
        &OpenConfig {
            port: "/dev/ttyUSB0".into(),
            options: map(&[("poll", "10")]),
            host_abi_minor: 1,
            ..Default::default()
        },
        r#"{"port": "/dev/ttyUSB0", "properties": {}, "identity": null, "options": {"poll": "10"}, "host_abi_minor": 1}"#,
    );
    assert_wire(
        &OpenConfig {
            port: "/dev/ttyUSB0".into(),
            identity: Some(AtIdentity {
                manufacturer: "Quectel".into(),
                model: "EG25".into(),
            }),
            ..Default::default()
        },
        r#"{"port": "/dev/ttyUSB0", "properties": {}, "identity": {"manufacturer": "Quectel", "model": "EG25"}, "options": {}, "host_abi_minor": 0}"#,
    );
}

#[test]
fn input_and_event_examples() {
    let head = r#"{"now_ms": 1500, "unix_time": 1700000000, "event": "#;
    let cases = [
        (Event::Opened, r#""opened""#),
        (
            Event::Rx(b"T=21.5\r\n".to_vec()),
            r#"{"rx": h'543d32312e350d0a'}"#,
        ),
        (Event::Hangup, r#""hangup""#),
        (Event::Timer(3), r#"{"timer": 3}"#),
        (
            Event::Call {
                call: 7,
                request: Request::Refresh,
            },
            r#"{"call": {"call": 7, "request": "refresh"}}"#,
        ),
        (
            Event::MessageCommitted { key: "k1".into() },
            r#"{"message_committed": {"key": "k1"}}"#,
        ),
        (
            Event::LinkUp {
                services: vec![GattService {
                    uuid: "u".into(),
                    characteristics: vec![GattCharacteristic {
                        uuid: "c".into(),
                        flags: vec!["read".into()],
                    }],
                }],
            },
            r#"{"link_up": {"services": [{"uuid": "u", "characteristics": [{"uuid": "c", "flags": ["read"]}]}]}}"#,
        ),
        (
            Event::LinkDown {
                reason: "gone".into(),
            },
            r#"{"link_down": {"reason": "gone"}}"#,
        ),
        (
            Event::GattDone {
                op: 3,
                result: Ok(ByteBuf::from(vec![0x64])),
            },
            r#"{"gatt_done": {"op": 3, "result": {"Ok": h'64'}}}"#,
        ),
        (
            Event::GattDone {
                op: 3,
                result: Err("failed".into()),
            },
            r#"{"gatt_done": {"op": 3, "result": {"Err": "failed"}}}"#,
        ),
        (
            Event::Notification {
                characteristic: "c".into(),
                value: vec![1],
            },
            r#"{"notification": {"characteristic": "c", "value": h'01'}}"#,
        ),
        (
            Event::Advertisement(Advertisement {
                address: "A4:C1:38:00:11:22".into(),
                name: Some("ATC".into()),
                rssi: Some(-60),
                manufacturer_data: [(76, ByteBuf::from(vec![1, 2]))].into(),
                ..Default::default()
            }),
            r#"{"advertisement": {"address": "A4:C1:38:00:11:22", "name": "ATC", "rssi": -60, "tx_power": null, "manufacturer_data": {76: h'0102'}, "service_data": {}, "services": []}}"#,
        ),
    ];
    for (event, expected) in cases {
        assert_wire(&input(event), &format!("{head}{expected}}}"));
    }
}

#[test]
fn request_examples() {
    let message = OutgoingMessage {
        id: "m1".into(),
        destination: "+491".into(),
        payload: b"hi".to_vec(),
        encoding: Encoding::Binary,
        progress: map(&[("momsn", "3")]),
    };
    let message_diag = r#"{"id": "m1", "destination": "+491", "payload": h'6869', "encoding": "binary", "progress": {"momsn": "3"}}"#;
    let c = || "c".to_owned();
    let cases = [
        (Request::Refresh, r#""refresh""#.to_owned()),
        (Request::Reset, r#""reset""#.to_owned()),
        (Request::Poll, r#""poll""#.to_owned()),
        (Request::Connect, r#""connect""#.to_owned()),
        (Request::Disconnect, r#""disconnect""#.to_owned()),
        (
            Request::Command {
                line: "READ?".into(),
                timeout_ms: 2000,
            },
            r#"{"command": {"line": "READ?", "timeout_ms": 2000}}"#.to_owned(),
        ),
        (
            Request::CheckMessage(message.clone()),
            format!(r#"{{"check_message": {message_diag}}}"#),
        ),
        (
            Request::Send(message),
            format!(r#"{{"send": {message_diag}}}"#),
        ),
        (
            Request::GattRead {
                characteristic: c(),
            },
            r#"{"gatt_read": {"characteristic": "c"}}"#.to_owned(),
        ),
        (
            Request::GattWrite {
                characteristic: c(),
                value: vec![1],
                with_response: true,
            },
            r#"{"gatt_write": {"characteristic": "c", "value": h'01', "with_response": true}}"#
                .to_owned(),
        ),
        (
            Request::GattSubscribe {
                characteristic: c(),
            },
            r#"{"gatt_subscribe": {"characteristic": "c"}}"#.to_owned(),
        ),
        (
            Request::GattUnsubscribe {
                characteristic: c(),
            },
            r#"{"gatt_unsubscribe": {"characteristic": "c"}}"#.to_owned(),
        ),
        (
            Request::SetLocationEnabled(true),
            r#"{"set_location_enabled": true}"#.to_owned(),
        ),
    ];
    for (request, expected) in cases {
        assert_wire(&request, &expected);
    }
    assert_wire(&Encoding::Text, r#""text""#);
}

#[test]
fn effect_examples() {
    let reply = |result| Effect::Reply { call: 7, result };
    let c = || "c".to_owned();
    let gatt = |action| {
        Effect::Gatt(GattOp {
            op: 3,
            characteristic: c(),
            action,
        })
    };
    let cases = [
        (
            Effect::Tx(b"READ?\r\n".to_vec()),
            r#"{"tx": h'524541443f0d0a'}"#,
        ),
        (
            Effect::SetTimer {
                id: 1,
                after_ms: 10_000,
            },
            r#"{"set_timer": {"id": 1, "after_ms": 10000}}"#,
        ),
        (Effect::CancelTimer(1), r#"{"cancel_timer": 1}"#),
        (
            reply(Ok(CallReply::Done)),
            r#"{"reply": {"call": 7, "result": {"Ok": "done"}}}"#,
        ),
        (
            reply(Ok(CallReply::Text("T=21.5".into()))),
            r#"{"reply": {"call": 7, "result": {"Ok": {"text": "T=21.5"}}}}"#,
        ),
        (
            reply(Ok(CallReply::Sent(map(&[("momsn", "4")])))),
            r#"{"reply": {"call": 7, "result": {"Ok": {"sent": {"momsn": "4"}}}}}"#,
        ),
        (
            reply(Ok(CallReply::Bytes(vec![1]))),
            r#"{"reply": {"call": 7, "result": {"Ok": {"bytes": h'01'}}}}"#,
        ),
        (
            reply(Err(CallError::new(CallErrorKind::NotSupported, "no"))),
            r#"{"reply": {"call": 7, "result": {"Err": {"kind": "NotSupported", "message": "no"}}}}"#,
        ),
        (
            Effect::Sensor(SensorUpdate {
                readings: [("temperature".to_owned(), 21.5)].into(),
                updated_at: Some(1_700_000_000),
            }),
            r#"{"sensor": {"readings": {"temperature": 21.5}, "updated_at": 1700000000}}"#,
        ),
        (
            Effect::Log {
                level: LogLevel::Warn,
                message: "checksum error".into(),
            },
            r#"{"log": {"level": "warn", "message": "checksum error"}}"#,
        ),
        (
            Effect::MessageState {
                id: "m1".into(),
                state: MessageState::Sending,
                error: String::new(),
                info: BTreeMap::new(),
            },
            r#"{"message_state": {"id": "m1", "state": "sending", "error": "", "info": {}}}"#,
        ),
        (
            Effect::MessageReceived(IncomingMessage {
                key: "k".into(),
                peer: String::new(),
                payload: b"hi".to_vec(),
                text: Some("hi".into()),
                timestamp: 1_700_000_000,
                info: map(&[("mtmsn", "5")]),
            }),
            r#"{"message_received": {"key": "k", "peer": "", "payload": h'6869', "text": "hi", "timestamp": 1700000000, "info": {"mtmsn": "5"}}}"#,
        ),
        (Effect::Connect, r#""connect""#),
        (Effect::Disconnect, r#""disconnect""#),
        (
            gatt(GattAction::Read),
            r#"{"gatt": {"op": 3, "characteristic": "c", "action": "read"}}"#,
        ),
        (
            gatt(GattAction::Subscribe),
            r#"{"gatt": {"op": 3, "characteristic": "c", "action": "subscribe"}}"#,
        ),
        (
            gatt(GattAction::Unsubscribe),
            r#"{"gatt": {"op": 3, "characteristic": "c", "action": "unsubscribe"}}"#,
        ),
        (
            gatt(GattAction::Write {
                value: vec![1],
                with_response: false,
            }),
            r#"{"gatt": {"op": 3, "characteristic": "c", "action": {"write": {"value": h'01', "with_response": false}}}}"#,
        ),
        (
            Effect::Notify {
                characteristic: c(),
                value: vec![1],
            },
            r#"{"notify": {"characteristic": "c", "value": h'01'}}"#,
        ),
    ];
    for (effect, expected) in cases {
        assert_wire(&effect, expected);
    }
    for (kind, spelling) in [
        (CallErrorKind::NotSupported, "NotSupported"),
        (CallErrorKind::InvalidArgument, "InvalidArgument"),
        (CallErrorKind::NotReady, "NotReady"),
        (CallErrorKind::Timeout, "Timeout"),
        (CallErrorKind::PayloadTooLarge, "PayloadTooLarge"),
        (CallErrorKind::Failed, "Failed"),
    ] {
        assert_wire(&kind, &format!("{spelling:?}"));
    }
    for (state, spelling) in [
        (MessageState::Queued, "queued"),
        (MessageState::Sending, "sending"),
        (MessageState::Sent, "sent"),
        (MessageState::Failed, "failed"),
    ] {
        assert_wire(&state, &format!("{spelling:?}"));
    }
    for (level, spelling) in [
        (LogLevel::Trace, "trace"),
        (LogLevel::Debug, "debug"),
        (LogLevel::Info, "info"),
        (LogLevel::Warn, "warn"),
        (LogLevel::Error, "error"),
    ] {
        assert_wire(&level, &format!("{spelling:?}"));
    }
}

#[test]
fn updates_leave_out_what_did_not_change() {
    // The header's device example: only the keys that changed.
    let device = entry(
        "device",
        Value::Map(vec![
            (text("id"), text("thermo:1")),
            (text("state"), text("ready")),
            (text("capabilities"), Value::Array(vec![text("sensor")])),
        ]),
    );
    assert_eq!(
        decode_value::<Effect>(device).unwrap(),
        Effect::Device(DeviceUpdate {
            id: Some("thermo:1".into()),
            state: Some("ready".into()),
            capabilities: Some(vec!["sensor".into()]),
            ..Default::default()
        })
    );
    // A v1.1 kind in a device effect of its own, as the header advises.
    assert_eq!(
        decode_value::<Effect>(entry("device", entry("kind", text("gnss-receiver")))).unwrap(),
        Effect::Device(DeviceUpdate {
            kind: Some(DeviceKind::GnssReceiver),
            ..Default::default()
        })
    );
    let signal = entry("signal", entry("quality", Value::Integer(60.into())));
    assert_eq!(
        decode_value::<Effect>(signal).unwrap(),
        Effect::Signal(SignalUpdate {
            quality: Some(60),
            ..Default::default()
        })
    );
}

/// The header's Location effect (v1.1): every field of a fix, and a fix that leaves out what the
/// receiver does not know.
#[test]
fn location_effect_examples() {
    let fix = Fix {
        mode: FixMode::ThreeD,
        latitude: 52.52,
        longitude: 13.405,
        altitude: 34.5,
        hdop: 0.9,
        vdop: 1.25,
        pdop: 1.5,
        speed: 0.25,
        course: f64::NAN,
        satellites_used: 8,
        satellites_in_view: 12,
        time: 1_700_000_000,
        source: Some(LocationSource::Gnss),
    };
    let effect = Effect::Location(LocationUpdate {
        enabled: Some(true),
        fix: Some(fix.clone()),
    });
    let bytes = codec::encode(&effect).unwrap();
    assert_eq!(
        diag(&codec::decode::<Value>(&bytes).unwrap()),
        r#"{"location": {"enabled": true, "fix": {"mode": "3d", "latitude": 52.52, "longitude": 13.405, "altitude": 34.5, "hdop": 0.9, "vdop": 1.25, "pdop": 1.5, "speed": 0.25, "course": NaN, "satellites_used": 8, "satellites_in_view": 12, "time": 1700000000, "source": "gnss"}}}"#
    );
    // NaN != NaN: compare the decoded fix with `same_as`.
    let Effect::Location(decoded) = codec::decode::<Effect>(&bytes).unwrap() else {
        panic!("not a location effect");
    };
    assert_eq!(decoded.enabled, Some(true));
    assert!(decoded.fix.is_some_and(|decoded| decoded.same_as(&fix)));
    for (mode, spelling) in [
        (FixMode::None, "none"),
        (FixMode::TwoD, "2d"),
        (FixMode::ThreeD, "3d"),
    ] {
        assert_wire(&mode, &format!("{spelling:?}"));
    }
    for (source, spelling) in [
        (LocationSource::Gnss, "gnss"),
        (LocationSource::Cell, "cell"),
        (LocationSource::Fixed, "fixed"),
    ] {
        assert_wire(&source, &format!("{spelling:?}"));
    }
    // The header's short examples: a 2D fix with only what the receiver knows (the rest NaN
    // and 0), and the receiver switched off (the fix unchanged).
    let two_d = entry(
        "location",
        entry(
            "fix",
            Value::Map(vec![
                (text("mode"), text("2d")),
                (text("latitude"), Value::Float(52.52)),
                (text("longitude"), Value::Float(13.405)),
                (text("time"), Value::Integer(1_700_000_000.into())),
                (text("source"), text("gnss")),
            ]),
        ),
    );
    let Effect::Location(update) = decode_value::<Effect>(two_d).unwrap() else {
        panic!("not a location effect");
    };
    let expected = Fix {
        mode: FixMode::TwoD,
        latitude: 52.52,
        longitude: 13.405,
        time: 1_700_000_000,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    };
    assert_eq!(update.enabled, None);
    assert!(update.fix.is_some_and(|fix| fix.same_as(&expected)));
    let off = entry("location", entry("enabled", Value::Bool(false)));
    assert_eq!(
        decode_value::<Effect>(off).unwrap(),
        Effect::Location(LocationUpdate {
            enabled: Some(false),
            fix: None,
        })
    );
    // Positions are floats, as every float of the schema; an unknown one is left out or NaN,
    // never null (the exception to the general rule).
    let integer_latitude = entry(
        "location",
        entry("fix", entry("latitude", Value::Integer(52.into()))),
    );
    assert!(decode_value::<Effect>(integer_latitude).is_err());
    let null_latitude = entry("location", entry("fix", entry("latitude", Value::Null)));
    assert!(decode_value::<Effect>(null_latitude).is_err());
}

/// The rules of the header's "General rules" that trip C authors.
#[test]
fn the_decoder_is_strict_where_the_header_says_so() {
    let reply = |result: Value| {
        entry(
            "reply",
            Value::Map(vec![
                (text("call"), Value::Integer(1.into())),
                (text("result"), result),
            ]),
        )
    };
    // Results and error kinds are spelled as in Rust.
    let lower_ok = decode_value::<Effect>(reply(entry("ok", text("done"))));
    assert!(
        lower_ok
            .unwrap_err()
            .to_string()
            .contains("unknown variant `ok`")
    );
    let snake_kind = reply(entry(
        "Err",
        Value::Map(vec![
            (text("kind"), text("not_supported")),
            (text("message"), text("no")),
        ]),
    ));
    assert!(decode_value::<Effect>(snake_kind).is_err());
    // Bytes are byte strings; floats are floats (a half float is fine).
    assert!(decode_value::<Effect>(entry("tx", text("READ?"))).is_err());
    let integer_reading = entry(
        "sensor",
        entry("readings", entry("temperature", Value::Integer(21.into()))),
    );
    assert!(decode_value::<Effect>(integer_reading).is_err());
    // {"sensor": {"readings": {"t": 21.5}}} with 21.5 as a half float (f9 4d60).
    let half_float = [
        0xa1, 0x66, b's', b'e', b'n', b's', b'o', b'r', 0xa1, 0x68, b'r', b'e', b'a', b'd', b'i',
        b'n', b'g', b's', 0xa1, 0x61, b't', 0xf9, 0x4d, 0x60,
    ];
    let Effect::Sensor(update) = codec::decode::<Effect>(&half_float).unwrap() else {
        panic!("not a sensor effect");
    };
    assert_eq!(update.readings["t"], 21.5);
    // Required fields of message_state.
    let partial = entry(
        "message_state",
        Value::Map(vec![
            (text("id"), text("m1")),
            (text("state"), text("sent")),
        ]),
    );
    assert!(decode_value::<Effect>(partial).is_err());
    // Required fields of the description.
    let no_kinds = Value::Map(vec![
        (text("name"), text("n")),
        (text("version"), text("1")),
    ]);
    assert!(decode_value::<DriverDescription>(no_kinds).is_err());
}
