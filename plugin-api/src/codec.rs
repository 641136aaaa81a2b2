//! CBOR encoding of the messages that cross the plugin boundary.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::messages::Effect;

/// A message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Serialization failed (should not happen for the ABI's own types).
    #[error("CBOR encoding failed: {0}")]
    Encode(String),
    /// The bytes are not valid CBOR of the expected shape.
    #[error("malformed CBOR message: {0}")]
    Decode(String),
}

/// Encodes `value` as CBOR.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes a CBOR value of type `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    ciborium::from_reader(bytes).map_err(|e| CodecError::Decode(e.to_string()))
}

/// Effects decoded from a plugin's answer, with those this host does not understand set aside.
#[derive(Debug, Default)]
pub struct DecodedEffects {
    /// Effects the host understood, in order.
    pub effects: Vec<Effect>,
    /// One description per effect that could not be decoded (a newer plugin's effect, or garbage).
    pub rejected: Vec<String>,
}

/// Decodes a CBOR array of effects one element at a time, so that one effect this host does not
/// know (from a newer plugin) does not take the others with it.
pub fn decode_effects(bytes: &[u8]) -> Result<DecodedEffects, CodecError> {
    let items: Vec<ciborium::Value> = decode(bytes)?;
    let mut decoded = DecodedEffects::default();
    for item in items {
        match item.deserialized::<Effect>() {
            Ok(effect) => decoded.effects.push(effect),
            Err(e) => decoded.rejected.push(format!("{e}: {item:?}")),
        }
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::{Fix, FixMode, LocationSource, LocationUpdate};
    use crate::messages::{Event, Input, SignalUpdate};

    #[test]
    fn input_round_trips() {
        let input = Input {
            now_ms: 12,
            unix_time: 1_700_000_000,
            event: Event::Rx(b"\r\nOK\r\n".to_vec()),
        };
        let bytes = encode(&input).unwrap();
        assert_eq!(decode::<Input>(&bytes).unwrap(), input);
    }

    #[test]
    fn unknown_effect_is_set_aside_and_the_rest_kept() {
        let known = ciborium::Value::serialized(&Effect::Tx(b"AT\r".to_vec())).unwrap();
        let unknown = ciborium::Value::Map(vec![(
            ciborium::Value::Text("teleport".into()),
            ciborium::Value::Integer(1.into()),
        )]);
        let signal = ciborium::Value::serialized(&Effect::Signal(SignalUpdate {
            quality: Some(60),
            ..Default::default()
        }))
        .unwrap();
        let bytes = encode(&vec![known, unknown, signal]).unwrap();
        let decoded = decode_effects(&bytes).unwrap();
        assert_eq!(decoded.effects.len(), 2);
        assert_eq!(decoded.rejected.len(), 1);
        assert!(decoded.rejected[0].contains("teleport"));
    }

    #[test]
    fn missing_optional_fields_default_and_unknown_fields_are_ignored() {
        let value = ciborium::Value::Map(vec![(
            ciborium::Value::Text("signal".into()),
            ciborium::Value::Map(vec![
                (
                    ciborium::Value::Text("quality".into()),
                    ciborium::Value::Integer(40.into()),
                ),
                (
                    ciborium::Value::Text("future_field".into()),
                    ciborium::Value::Bool(true),
                ),
            ]),
        )]);
        let effect: Effect = value.deserialized().unwrap();
        assert_eq!(
            effect,
            Effect::Signal(SignalUpdate {
                quality: Some(40),
                ..Default::default()
            })
        );
    }

    #[test]
    fn signal_quality_fields_of_api_1_1_round_trip_and_default_to_unchanged() {
        let update = SignalUpdate {
            rssi: Some(-73),
            rsrp: Some(-93),
            rsrq: Some(-10.5),
            sinr: Some(f64::NAN),
            ..Default::default()
        };
        let bytes = encode(&Effect::Signal(update)).unwrap();
        let Effect::Signal(decoded) = decode::<Effect>(&bytes).unwrap() else {
            panic!("not a signal effect");
        };
        assert_eq!(
            (decoded.rssi, decoded.rsrp, decoded.rsrq),
            (Some(-73), Some(-93), Some(-10.5))
        );
        assert!(decoded.sinr.is_some_and(f64::is_nan));
        // A plugin built against API 1.0 sends none of them: unchanged, not zero.
        let old = ciborium::Value::Map(vec![(
            ciborium::Value::Text("signal".into()),
            ciborium::Value::Map(vec![(
                ciborium::Value::Text("rssi".into()),
                ciborium::Value::Integer((-73).into()),
            )]),
        )]);
        let Effect::Signal(decoded) = old.deserialized().unwrap() else {
            panic!("not a signal effect");
        };
        assert_eq!(
            (decoded.rsrp, decoded.rsrq, decoded.sinr),
            (None, None, None)
        );
    }

    /// Hex of CBOR as a host and a plugin of API 1.0 (before Location) wrote it.
    fn old_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn bytes_of_api_1_0_still_decode_after_the_location_additions() {
        // [Device{id, kind cellular-modem, capabilities [signal, location]}, Signal{quality 60}]
        let effects = old_bytes(concat!(
            "82a166646576696365ae62696466696d65693a31646b696e646e63656c6c756c61722d6d6f64656d",
            "6c6d616e756661637475726572f6656d6f64656cf6687265766973696f6ef66d73657269616c5f6e",
            "756d626572f6657374617465f66c73746174655f726561736f6ef66c6361706162696c6974696573",
            "82667369676e616c686c6f636174696f6e6b6d61785f7061796c6f6164f6656578747261f669636f",
            "6e6e6563746564f6687365727669636573f66d676174745f7365727669636573f6a1667369676e61",
            "6ca9677175616c697479183c6472737369f66472737270f66472737271f66473696e72f66a746563",
            "686e6f6c6f6779f66c726567697374726174696f6ef6686f70657261746f72f66a75706461746564",
            "5f6174f6",
        ));
        let decoded = decode_effects(&effects).unwrap();
        assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        let [Effect::Device(device), Effect::Signal(signal)] = &decoded.effects[..] else {
            panic!("unexpected effects {:?}", decoded.effects);
        };
        assert_eq!(device.kind, Some(crate::DeviceKind::CellularModem));
        assert_eq!(
            device.capabilities.as_deref(),
            Some(&["signal".to_owned(), "location".to_owned()][..])
        );
        assert_eq!(signal.quality, Some(60));
        // describe() of an API 1.0 iridium-like plugin: {name old, kinds [satellite-terminal]}
        let description = old_bytes(concat!(
            "a7646e616d65636f6c646776657273696f6e6131656b696e64738172736174656c6c6974652d7465",
            "726d696e616c647564657680626174806c64656661756c745f62617564f663626c6580",
        ));
        let description: crate::DriverDescription = decode(&description).unwrap();
        assert_eq!(description.kinds, [crate::DeviceKind::SatelliteTerminal]);
        // An input as the host writes it for an old plugin: still the same bytes.
        let input = Input {
            now_ms: 5,
            unix_time: 7,
            event: Event::Call {
                call: 3,
                request: crate::Request::Refresh,
            },
        };
        assert_eq!(
            encode(&input).unwrap(),
            old_bytes(concat!(
                "a3666e6f775f6d730569756e69785f74696d6507656576656e74a16463616c6ca26463616c6c03",
                "67726571756573746772656672657368"
            ))
        );
    }

    #[test]
    fn the_minor_version_exchange_is_compatible_both_ways() {
        // describe() of an API 1.0 plugin (as above): it declares no minor version, v1.0, and
        // encodes back to the same bytes.
        let old_description = old_bytes(concat!(
            "a7646e616d65636f6c646776657273696f6e6131656b696e64738172736174656c6c6974652d7465",
            "726d696e616c647564657680626174806c64656661756c745f62617564f663626c6580",
        ));
        let description: crate::DriverDescription = decode(&old_description).unwrap();
        assert_eq!(description.abi_minor, None);
        assert_eq!(description.abi(), "v1.0");
        assert_eq!(encode(&description).unwrap(), old_description);
        let declared = crate::DriverDescription {
            abi_minor: Some(crate::ABI_MINOR),
            ..description
        };
        assert_eq!(declared.abi(), "v1.1");
        let bytes = encode(&declared).unwrap();
        assert_eq!(
            decode::<crate::DriverDescription>(&bytes).unwrap(),
            declared
        );
        // OpenConfig as an API 1.0 host wrote it: {"port": "/dev/ttyUSB0", "properties": {},
        // "identity": null, "options": {}}: the host speaks v1.0.
        let old_config = old_bytes(concat!(
            "a464706f72746c2f6465762f74747955534230",
            "6a70726f70657274696573a0",
            "686964656e74697479f6",
            "676f7074696f6e73a0",
        ));
        let config: crate::OpenConfig = decode(&old_config).unwrap();
        assert_eq!(config.port, "/dev/ttyUSB0");
        assert_eq!(config.host_abi_minor, 0);
        // A v1.1 host's config decodes in a plugin built before the field (its OpenConfig had
        // only the four fields): the new key is ignored.
        #[derive(Debug, serde::Deserialize)]
        struct OpenConfigOfApi10 {
            port: String,
            properties: std::collections::BTreeMap<String, String>,
            identity: Option<crate::AtIdentity>,
            options: std::collections::BTreeMap<String, String>,
        }
        let new_config = crate::OpenConfig {
            port: "/dev/ttyUSB0".into(),
            options: [("poll_ms".to_owned(), "5".to_owned())].into(),
            host_abi_minor: crate::ABI_MINOR,
            ..Default::default()
        };
        let old_plugin: OpenConfigOfApi10 = decode(&encode(&new_config).unwrap()).unwrap();
        assert_eq!(old_plugin.port, "/dev/ttyUSB0");
        assert_eq!(old_plugin.options["poll_ms"], "5");
        assert!(old_plugin.properties.is_empty() && old_plugin.identity.is_none());
    }

    #[test]
    fn the_abi_minor_version_is_the_crate_minor_version() {
        assert_eq!(
            crate::ABI_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
    }

    #[test]
    fn location_update_round_trips_and_a_partial_one_defaults_to_unchanged() {
        let fix = Fix {
            mode: FixMode::ThreeD,
            latitude: 48.1173,
            longitude: 11.516_666,
            altitude: 545.4,
            hdop: 0.9,
            satellites_used: 8,
            time: 1_700_000_000,
            source: Some(LocationSource::Gnss),
            ..Fix::none()
        };
        let update = LocationUpdate {
            enabled: Some(true),
            fix: Some(fix.clone()),
        };
        let bytes = encode(&Effect::Location(update)).unwrap();
        let Effect::Location(decoded) = decode::<Effect>(&bytes).unwrap() else {
            panic!("not a location effect");
        };
        assert_eq!(decoded.enabled, Some(true));
        assert!(decoded.fix.unwrap().same_as(&fix));
        let only_enabled = ciborium::Value::Map(vec![(
            ciborium::Value::Text("location".into()),
            ciborium::Value::Map(vec![(
                ciborium::Value::Text("enabled".into()),
                ciborium::Value::Bool(false),
            )]),
        )]);
        assert_eq!(
            only_enabled.deserialized::<Effect>().unwrap(),
            Effect::Location(LocationUpdate {
                enabled: Some(false),
                fix: None
            })
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_effects(&[0xff, 0x00, 0x13]).is_err());
        assert!(decode::<Input>(b"").is_err());
    }
}
