//! `org.m2mhal.Hal1.Location` for people: positions in degrees with their hemisphere, units for
//! altitude, speed and course, "unknown" for NaN.

use zbus::Variant;

use crate::device::unwrap_variant;

/// A Location property with its unit (`52.520000° N`, `34.0 m`, `1.5 m/s`, `unknown` for NaN);
/// `None` for a property that is not a number with a unit.
pub fn location_text(property: &str, value: &Variant<'_>) -> Option<String> {
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
}
