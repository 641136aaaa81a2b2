//! `Sensor.Readings` for people: the unit each reading key is measured in.
//!
//! The keys and units are the ones the BLE driver documents (BTHome objects and the standard GATT
//! characteristics). A second sensor of the same kind is numbered (`temperature_2`) and has the
//! unit of the first.

use zbus::Variant;

use crate::format::value::render;

/// Reading keys and their units; keys not listed here are shown without a unit.
const UNITS: [(&str, &str); 31] = [
    ("temperature", "°C"),
    ("dew_point", "°C"),
    ("humidity", "%"),
    ("battery", "%"),
    ("moisture", "%"),
    ("pressure", "hPa"),
    ("illuminance", "lx"),
    ("voltage", "V"),
    ("current", "A"),
    ("power", "W"),
    ("energy", "kWh"),
    ("co2", "ppm"),
    ("pm25", "µg/m³"),
    ("pm10", "µg/m³"),
    ("tvoc", "µg/m³"),
    ("mass", "kg"),
    ("distance", "m"),
    ("volume", "L"),
    ("water", "L"),
    ("volume_storage", "L"),
    ("gas", "m³"),
    ("flow_rate", "m³/h"),
    ("speed", "m/s"),
    ("acceleration", "m/s²"),
    ("gyroscope", "°/s"),
    ("rotation", "°"),
    ("direction", "°"),
    ("duration", "s"),
    ("precipitation", "mm"),
    ("conductivity", "µS/cm"),
    ("rotational_speed", "rpm"),
];

/// The unit of the reading `key` (`°C` for `temperature` and `temperature_2`), if it has one.
pub fn unit(key: &str) -> Option<&'static str> {
    let kind = match key.rsplit_once('_') {
        Some((kind, number))
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            kind
        }
        _ => key,
    };
    UNITS
        .iter()
        .find(|(known, _)| *known == kind)
        .map(|(_, unit)| *unit)
}

/// A reading with its unit: `21.5 °C`, `87 %`, or just `3` for a key without a unit.
pub fn reading_text(key: &str, value: &Variant<'_>) -> String {
    let value = render(value);
    match unit(key) {
        Some(unit) => format!("{value} {unit}"),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_keys_have_their_units() {
        assert_eq!(unit("temperature"), Some("°C"));
        assert_eq!(unit("humidity"), Some("%"));
        assert_eq!(unit("battery"), Some("%"));
        assert_eq!(unit("pressure"), Some("hPa"));
        assert_eq!(unit("illuminance"), Some("lx"));
        assert_eq!(unit("voltage"), Some("V"));
        assert_eq!(unit("co2"), Some("ppm"));
        assert_eq!(unit("volume_storage"), Some("L"));
        assert_eq!(unit("rotational_speed"), Some("rpm"));
    }

    #[test]
    fn numbered_keys_share_the_unit_of_their_kind() {
        assert_eq!(unit("temperature_2"), Some("°C"));
        assert_eq!(unit("humidity_12"), Some("%"));
        assert_eq!(unit("temperature_"), None);
        assert_eq!(unit("temperature_x"), None);
    }

    #[test]
    fn unknown_and_unitless_keys_have_none() {
        for key in ["count", "motion", "button", "uv_index", "mystery", ""] {
            assert_eq!(unit(key), None, "{key}");
        }
    }

    #[test]
    fn readings_as_text() {
        assert_eq!(
            reading_text("temperature", &Variant::from(21.5f64)),
            "21.5 °C"
        );
        assert_eq!(reading_text("battery", &Variant::from(87.0f64)), "87 %");
        assert_eq!(reading_text("count", &Variant::from(3.0f64)), "3");
        assert_eq!(
            reading_text("pressure", &Variant::new(Variant::from(1013.25f64))),
            "1013.25 hPa"
        );
    }
}
