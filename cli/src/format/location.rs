//! `org.m2mhal.Hal1.Location` for people: positions in degrees with their hemisphere, units for
//! altitude, speed and course, "unknown" for NaN, the serving cell as 3GPP tools show it.

use zbus::Variant;

use super::value::{dict_entries, string, unsigned};
use crate::device::unwrap_variant;

/// A Location property with its unit (`52.520000° N`, `34.0 m`, `1.5 m/s`, `unknown` for NaN)
/// and `Cell` as [`cell_text`]; `None` for a property that is not a number with a unit.
pub fn location_text(property: &str, value: &Variant<'_>) -> Option<String> {
    if property == "Cell" {
        return Some(cell_text(value));
    }
    let Variant::F64(number) = unwrap_variant(value) else {
        return None;
    };
    if number.is_nan() {
        return Some("unknown".to_owned());
    }
    let hemisphere = |positive: char, negative: char| {
        let letter = if *number < 0.0 { negative } else { positive };
        format!("{:.6}° {letter}", number.abs())
    };
    Some(match property {
        "Latitude" => hemisphere('N', 'S'),
        "Longitude" => hemisphere('E', 'W'),
        "Altitude" => format!("{number:.1} m"),
        "Speed" => format!("{number:.2} m/s"),
        "Course" => format!("{number:.1}°"),
        "Hdop" => format!("{number:.1}"),
        _ => return None,
    })
}

/// `Cell` as `262-01 lac 1A2B tac 2F1A cell 01A2B3C4` (the codes in hex), the parts known;
/// `unknown` without any.
fn cell_text(value: &Variant<'_>) -> String {
    let entries = dict_entries(value);
    let text = |key: &str| entries.get(key).and_then(|v| string(v)).unwrap_or_default();
    let mut parts = Vec::new();
    if !text("mcc").is_empty() {
        parts.push(format!("{}-{}", text("mcc"), text("mnc")));
    }
    for (key, label, digits) in [("lac", "lac", 4), ("tac", "tac", 4), ("cell_id", "cell", 8)] {
        if let Some(code) = entries.get(key).and_then(|v| unsigned(v)) {
            parts.push(format!("{label} {code:0digits$X}"));
        }
    }
    if parts.is_empty() {
        "unknown".to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_hemispheres_and_unknowns() {
        let text = |property, value: f64| location_text(property, &Variant::from(value));
        assert_eq!(text("Latitude", -33.8568).as_deref(), Some("33.856800° S"));
        assert_eq!(
            text("Longitude", 151.2153).as_deref(),
            Some("151.215300° E")
        );
        assert_eq!(text("Altitude", 58.04).as_deref(), Some("58.0 m"));
        assert_eq!(text("Speed", 12.5).as_deref(), Some("12.50 m/s"));
        assert_eq!(text("Course", f64::NAN).as_deref(), Some("unknown"));
        assert_eq!(text("Satellites", 3.0), None);
        assert_eq!(location_text("Mode", &Variant::from("3d")), None);
    }

    #[test]
    fn the_serving_cell_in_hex_with_what_is_known() {
        let cell = |entries: Vec<(&str, Variant<'static>)>| {
            let dict: std::collections::HashMap<String, Variant<'static>> = entries
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect();
            location_text("Cell", &Variant::from(dict))
        };
        let known = cell(vec![
            ("mcc", Variant::from("262")),
            ("mnc", Variant::from("01")),
            ("lac", Variant::from(0x1A2Bu32)),
            ("cell_id", Variant::from(0x01A2_B3C4u32)),
        ]);
        assert_eq!(known.as_deref(), Some("262-01 lac 1A2B cell 01A2B3C4"));
        let lte = cell(vec![("tac", Variant::from(0x2Fu32))]);
        assert_eq!(lte.as_deref(), Some("tac 002F"));
        assert_eq!(cell(vec![]).as_deref(), Some("unknown"));
    }
}
