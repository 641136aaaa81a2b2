//! D-Bus values as JSON: what the bridge publishes is the daemon's properties, names and values
//! as on D-Bus.

use serde_json::{Map, Number, Value as Json};
use zbus::Variant;

/// `value` as JSON: numbers and booleans as such (a double that is not finite, such as the NaN of
/// "no fix", as `null`), strings, object paths and signatures as strings, arrays as arrays,
/// dictionaries as objects (keys as their text), structures as arrays, variants unwrapped.
pub fn to_json(value: &Variant<'_>) -> Json {
    match value {
        Variant::U8(n) => Json::from(*n),
        Variant::Bool(b) => Json::Bool(*b),
        Variant::I16(n) => Json::from(*n),
        Variant::U16(n) => Json::from(*n),
        Variant::I32(n) => Json::from(*n),
        Variant::U32(n) => Json::from(*n),
        Variant::I64(n) => Json::from(*n),
        Variant::U64(n) => Json::from(*n),
        Variant::F64(n) => Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Variant::Str(s) => Json::String(s.to_string()),
        Variant::Signature(s) => Json::String(s.to_string()),
        Variant::ObjectPath(p) => Json::String(p.as_str().to_owned()),
        Variant::Variant(inner) => to_json(inner),
        Variant::Array(array) => Json::Array(array.inner().iter().map(to_json).collect()),
        Variant::Dict(dict) => Json::Object(
            dict.iter()
                .map(|(key, value)| (key_text(key), to_json(value)))
                .collect::<Map<_, _>>(),
        ),
        Variant::Structure(structure) => {
            Json::Array(structure.fields().iter().map(to_json).collect())
        }
        #[cfg(unix)]
        Variant::Fd(_) => Json::Null,
    }
}

/// A dictionary key as an object key: strings as they are, anything else as its JSON text.
fn key_text(key: &Variant<'_>) -> String {
    match to_json(key) {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;
    use zbus::{ObjectPath, Variant};

    use super::*;

    #[test]
    fn basic_values() {
        assert_eq!(to_json(&Variant::from(42u32)), json!(42));
        assert_eq!(to_json(&Variant::from(-3i32)), json!(-3));
        assert_eq!(to_json(&Variant::from(u64::MAX)), json!(u64::MAX));
        assert_eq!(to_json(&Variant::from(true)), json!(true));
        assert_eq!(to_json(&Variant::from(21.5f64)), json!(21.5));
        assert_eq!(to_json(&Variant::from(f64::NAN)), json!(null));
        assert_eq!(to_json(&Variant::from("lte")), json!("lte"));
        let path = ObjectPath::try_from("/org/m2mhal/Hal1/Devices/0").unwrap();
        assert_eq!(
            to_json(&Variant::from(path)),
            json!("/org/m2mhal/Hal1/Devices/0")
        );
    }

    #[test]
    fn containers() {
        let list = Variant::from(vec!["signal", "messaging"]);
        assert_eq!(to_json(&list), json!(["signal", "messaging"]));
        let readings: HashMap<&str, Variant<'_>> = HashMap::from([
            ("temperature", Variant::from(21.5f64)),
            ("battery", Variant::from(87.0f64)),
        ]);
        assert_eq!(
            to_json(&Variant::from(readings)),
            json!({"temperature": 21.5, "battery": 87.0})
        );
        let nested = Variant::Variant(Box::new(Variant::from(7u8)));
        assert_eq!(to_json(&nested), json!(7));
        let numbered: HashMap<u32, &str> = HashMap::from([(1, "one")]);
        assert_eq!(to_json(&Variant::from(numbered)), json!({"1": "one"}));
        let pair = Variant::from((1u32, "a"));
        assert_eq!(to_json(&pair), json!([1, "a"]));
    }
}
