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

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_effects(&[0xff, 0x00, 0x13]).is_err());
        assert!(decode::<Input>(b"").is_err());
    }
}
