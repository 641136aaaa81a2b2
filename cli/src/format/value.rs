//! D-Bus values (`zbus::Variant`) as readable text and as JSON.
//!
//! Text: strings as they are, arrays as `[a, b]`, dictionaries as `{key: value}`, byte arrays
//! (`ay`) as lower-case hex, timestamps (properties named `UpdatedAt`, `FixTime`, `timestamp`)
//! as UTC dates. JSON: the natural JSON type, byte arrays as hex strings, NaN as `null`.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};
use zbus::{Signature, Variant};

use crate::device::{Properties, unwrap_variant};
use crate::format::time::format_unix_time;

/// Property and dictionary-key names whose `t` value is a unix time.
const TIMESTAMP_NAMES: [&str; 3] = ["UpdatedAt", "FixTime", "timestamp"];

/// Whether the property or key `name` holds unix seconds.
fn is_timestamp(name: &str) -> bool {
    TIMESTAMP_NAMES.contains(&name)
}

/// A value as readable text.
pub fn render(value: &Variant<'_>) -> String {
    if let Some(bytes) = bytes(value) {
        return hex(&bytes);
    }
    match value {
        Variant::U8(number) => number.to_string(),
        Variant::Bool(flag) => flag.to_string(),
        Variant::I16(number) => number.to_string(),
        Variant::U16(number) => number.to_string(),
        Variant::I32(number) => number.to_string(),
        Variant::U32(number) => number.to_string(),
        Variant::I64(number) => number.to_string(),
        Variant::U64(number) => number.to_string(),
        Variant::F64(number) => number.to_string(),
        Variant::Str(text) => text.to_string(),
        Variant::Signature(signature) => signature.to_string(),
        Variant::ObjectPath(path) => path.to_string(),
        Variant::Variant(inner) => render(inner),
        Variant::Array(array) => {
            let items: Vec<String> = array.inner().iter().map(render).collect();
            format!("[{}]", items.join(", "))
        }
        Variant::Dict(dict) => {
            let entries: Vec<String> = dict
                .iter()
                .map(|(key, value)| {
                    let key = render(key);
                    let value = render_named(&key, value);
                    format!("{key}: {value}")
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Variant::Structure(structure) => {
            let fields: Vec<String> = structure.fields().iter().map(render).collect();
            format!("({})", fields.join(", "))
        }
        Variant::Fd(fd) => fd.to_string(),
    }
}

/// A property or dictionary entry as readable text: timestamps become dates, `""` stays visible.
pub fn render_named(name: &str, value: &Variant<'_>) -> String {
    match unwrap_variant(value) {
        Variant::U64(0) if is_timestamp(name) => "never (0)".to_owned(),
        Variant::U64(seconds) if is_timestamp(name) => {
            format!("{} ({seconds})", format_unix_time(*seconds))
        }
        Variant::Str(text) if text.is_empty() => "\"\"".to_owned(),
        other => render(other),
    }
}

/// A value as JSON.
pub fn to_json(value: &Variant<'_>) -> Json {
    if let Some(bytes) = bytes(value) {
        return Json::String(hex(&bytes));
    }
    match value {
        Variant::U8(number) => Json::from(*number),
        Variant::Bool(flag) => Json::from(*flag),
        Variant::I16(number) => Json::from(*number),
        Variant::U16(number) => Json::from(*number),
        Variant::I32(number) => Json::from(*number),
        Variant::U32(number) => Json::from(*number),
        Variant::I64(number) => Json::from(*number),
        Variant::U64(number) => Json::from(*number),
        // `from` maps NaN and infinities to null.
        Variant::F64(number) => Json::from(*number),
        Variant::Str(text) => Json::from(&**text),
        Variant::Signature(signature) => Json::from(signature.to_string()),
        Variant::ObjectPath(path) => Json::from(path.as_str()),
        Variant::Variant(inner) => to_json(inner),
        Variant::Array(array) => Json::Array(array.inner().iter().map(to_json).collect()),
        Variant::Dict(dict) => Json::Object(
            dict.iter()
                .map(|(key, value)| (render(key), to_json(value)))
                .collect(),
        ),
        Variant::Structure(structure) => {
            Json::Array(structure.fields().iter().map(to_json).collect())
        }
        Variant::Fd(fd) => Json::from(fd.to_string()),
    }
}

/// A property map (or an `a{sv}` dictionary) as a JSON object.
pub fn properties_to_json(properties: &Properties) -> Json {
    let object: Map<String, Json> = properties
        .iter()
        .map(|(name, value)| (name.clone(), to_json(value)))
        .collect();
    Json::Object(object)
}

/// The bytes of an `ay` value (also inside a `v`).
pub fn bytes(value: &Variant<'_>) -> Option<Vec<u8>> {
    match unwrap_variant(value) {
        Variant::Array(array) if *array.element_signature() == Signature::U8 => array
            .inner()
            .iter()
            .map(|item| match item {
                Variant::U8(byte) => Some(*byte),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The text of an `s` value (also inside a `v`).
pub fn string<'v>(value: &'v Variant<'_>) -> Option<&'v str> {
    match unwrap_variant(value) {
        Variant::Str(text) => Some(text),
        _ => None,
    }
}

/// The number in an unsigned integer value (`y`, `q`, `u`, `t`, also inside a `v`).
pub fn unsigned(value: &Variant<'_>) -> Option<u64> {
    match unwrap_variant(value) {
        Variant::U8(number) => Some(u64::from(*number)),
        Variant::U16(number) => Some(u64::from(*number)),
        Variant::U32(number) => Some(u64::from(*number)),
        Variant::U64(number) => Some(*number),
        _ => None,
    }
}

/// The items of an `as` value as text (a plain value becomes one item).
pub fn strings(value: &Variant<'_>) -> Vec<String> {
    match unwrap_variant(value) {
        Variant::Array(array) => array.inner().iter().map(render).collect(),
        other => vec![render(other)],
    }
}

/// The strings of an `as` value joined with `, ` (a plain string stays as it is).
pub fn string_list(value: &Variant<'_>) -> String {
    strings(value).join(", ")
}

/// The entries of a dictionary value (`a{sv}`, `a{ss}`, also inside a `v`) sorted by key;
/// nothing for any other value.
pub fn dict_entries<'v, 'a>(value: &'v Variant<'a>) -> BTreeMap<String, &'v Variant<'a>> {
    match unwrap_variant(value) {
        Variant::Dict(dict) => dict
            .iter()
            .map(|(key, value)| (render(key), value))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// A string entry of a property map, "" when absent or of another type.
pub fn string_entry<'p>(properties: &'p Properties, name: &str) -> &'p str {
    properties
        .get(name)
        .and_then(|value| string(value))
        .unwrap_or("")
}

/// How a message's peer is shown: `gateway` for the API's "" (the satellite gateway).
pub fn peer_label(peer: &str) -> &str {
    if peer.is_empty() { "gateway" } else { peer }
}

/// Lower-case hex, two digits per byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Parses hex digits (whitespace and `:` between bytes allowed) into bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("\"{text}\" is not hex: odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let byte: String = pair.iter().collect();
            u8::from_str_radix(&byte, 16).map_err(|_| format!("\"{text}\" is not hex: \"{byte}\""))
        })
        .collect()
}

/// At most `max_chars` characters of `text` on one line, `…` marking a cut.
pub fn preview(text: &str, max_chars: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max_chars {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::owned;

    #[test]
    fn scalars_and_strings() {
        assert_eq!(render(&Variant::from(73u32)), "73");
        assert_eq!(render(&Variant::from(-71i32)), "-71");
        assert_eq!(render(&Variant::from(true)), "true");
        assert_eq!(render(&Variant::from(52.52f64)), "52.52");
        assert_eq!(render(&Variant::from(f64::NAN)), "NaN");
        assert_eq!(render(&Variant::from("lte-m")), "lte-m");
        assert_eq!(render(&Variant::new(Variant::from(5u8))), "5");
    }

    #[test]
    fn containers() {
        let capabilities = Variant::from(vec!["signal", "messaging"]);
        assert_eq!(render(&capabilities), "[signal, messaging]");
        let payload = Variant::from(vec![0x48u8, 0x69, 0x00, 0xff]);
        assert_eq!(render(&payload), "486900ff");
        let readings = Variant::from(BTreeMap::from([
            ("battery", Variant::from(87.0f64)),
            ("temperature", Variant::from(21.5f64)),
        ]));
        assert_eq!(render(&readings), "{battery: 87, temperature: 21.5}");
    }

    #[test]
    fn named_values_show_dates_and_empty_strings() {
        let when = Variant::from(1_714_564_800u64);
        assert_eq!(
            render_named("UpdatedAt", &when),
            "2024-05-01 12:00:00 UTC (1714564800)"
        );
        assert_eq!(render_named("FixTime", &Variant::from(0u64)), "never (0)");
        assert_eq!(render_named("Pending", &when), "1714564800");
        assert_eq!(render_named("StateReason", &Variant::from("")), "\"\"");
    }

    #[test]
    fn json_types() {
        assert_eq!(to_json(&Variant::from(73u32)), serde_json::json!(73));
        assert_eq!(to_json(&Variant::from(f64::NAN)), Json::Null);
        assert_eq!(
            to_json(&Variant::from(vec!["gatt", "sensor"])),
            serde_json::json!(["gatt", "sensor"])
        );
        assert_eq!(
            to_json(&Variant::from(vec![1u8, 2, 0xab])),
            serde_json::json!("0102ab")
        );
        let info = Properties::from([
            ("text".to_owned(), owned("hi")),
            ("timestamp".to_owned(), owned(1_714_564_800u64)),
        ]);
        assert_eq!(
            properties_to_json(&info),
            serde_json::json!({"text": "hi", "timestamp": 1714564800u64})
        );
    }

    #[test]
    fn unsigned_numbers_and_string_lists() {
        assert_eq!(unsigned(&Variant::from(73u32)), Some(73));
        assert_eq!(unsigned(&Variant::new(Variant::from(9u64))), Some(9));
        assert_eq!(unsigned(&Variant::from(-1i32)), None);
        assert_eq!(
            string_list(&Variant::from(vec!["cellular-modem", "ble-device"])),
            "cellular-modem, ble-device"
        );
        assert_eq!(string_list(&Variant::from(Vec::<String>::new())), "");
        assert_eq!(
            strings(&Variant::from(vec!["gatt", "sensor"])),
            ["gatt", "sensor"]
        );
        assert_eq!(strings(&Variant::from("gatt")), ["gatt"]);
    }

    #[test]
    fn dictionary_entries_sorted_by_key() {
        let info = Variant::from(BTreeMap::from([("momsn", "12"), ("attempts", "2")]));
        let entries: Vec<(String, String)> = dict_entries(&info)
            .into_iter()
            .map(|(key, value)| (key, render(value)))
            .collect();
        assert_eq!(
            entries,
            [
                ("attempts".to_owned(), "2".to_owned()),
                ("momsn".to_owned(), "12".to_owned())
            ]
        );
        assert!(dict_entries(&Variant::from("x")).is_empty());
    }

    #[test]
    fn byte_arrays_inside_variants() {
        let wrapped = Variant::new(Variant::from(vec![0xdeu8, 0xad]));
        assert_eq!(bytes(&wrapped), Some(vec![0xde, 0xad]));
        assert_eq!(bytes(&Variant::from(vec![1u32, 2])), None);
        assert_eq!(bytes(&Variant::from("dead")), None);
    }

    #[test]
    fn empty_peer_is_the_gateway() {
        assert_eq!(peer_label(""), "gateway");
        assert_eq!(peer_label("+4915112345678"), "+4915112345678");
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(parse_hex("48 65:6c6C"), Ok(vec![0x48, 0x65, 0x6c, 0x6c]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert!(parse_hex("abc").unwrap_err().contains("odd number"));
        assert!(parse_hex("zz").unwrap_err().contains("\"zz\""));
        assert!(parse_hex("é1").is_err());
        assert_eq!(hex(&[0, 0x7f, 0xff]), "007fff");
    }

    #[test]
    fn previews_are_one_line_and_cut() {
        assert_eq!(preview("hello\nworld", 20), "hello world");
        assert_eq!(preview("Grüße aus Köln", 6), "Grüße…");
        assert_eq!(preview("exact", 5), "exact");
    }
}
