//! `org.m2mhal.Hal1.Location` as the NMEA 0183 sentences a receiver would send (RMC, GGA, GSA),
//! for `m2mctl nmea` and the NMEA consumers behind it (gpsd).

use m2mhal_nmea::{KNOTS_PER_M_S, angle, sentence, time_and_date};
use zbus::Variant;

use crate::device::{Properties, unwrap_variant};

/// A number property, NaN when absent or not a number.
fn number(location: &Properties, name: &str) -> f64 {
    match location.get(name).map(|value| unwrap_variant(value)) {
        Some(Variant::F64(number)) => *number,
        _ => f64::NAN,
    }
}

fn text<'a>(location: &'a Properties, name: &str) -> &'a str {
    match location.get(name).map(|value| unwrap_variant(value)) {
        Some(Variant::Str(text)) => text.as_str(),
        _ => "",
    }
}

fn unsigned(location: &Properties, name: &str) -> u64 {
    match location.get(name).map(|value| unwrap_variant(value)) {
        Some(Variant::U32(number)) => u64::from(*number),
        Some(Variant::U64(number)) => *number,
        _ => 0,
    }
}

/// `value` with `decimals`, or an empty field for NaN.
fn optional(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        String::new()
    } else {
        format!("{value:.decimals$}")
    }
}

/// The RMC, GGA and GSA sentences of the Location properties. Without a fix they say so
/// (status V, quality 0, mode 1) and are stamped `now_ms` (unix milliseconds), so that the
/// consumer sees the receiver alive.
pub fn location_sentences(location: &Properties, now_ms: u64) -> String {
    let mode = text(location, "Mode");
    let (latitude, longitude) = (number(location, "Latitude"), number(location, "Longitude"));
    let fix = matches!(mode, "2d" | "3d") && !latitude.is_nan() && !longitude.is_nan();
    let fix_time = unsigned(location, "FixTime");
    let stamp = if fix && fix_time > 0 {
        fix_time.saturating_mul(1000)
    } else {
        now_ms
    };
    let (time, date) = time_and_date(stamp);
    let (position, status, quality, gsa_mode) = if fix {
        let position = format!(
            "{},{}",
            angle(latitude, 2, 'N', 'S'),
            angle(longitude, 3, 'E', 'W')
        );
        let gsa_mode = if mode == "3d" { 3 } else { 2 };
        (position, "A", 1, gsa_mode)
    } else {
        (",,,".to_owned(), "V", 0, 1)
    };
    let knots = optional(number(location, "Speed") * KNOTS_PER_M_S, 3);
    let course = optional(number(location, "Course"), 2);
    let hdop = optional(number(location, "Hdop"), 2);
    let altitude = if fix && mode == "3d" {
        optional(number(location, "Altitude"), 1)
    } else {
        String::new()
    };
    let satellites = unsigned(location, "Satellites");
    let faa = if fix { "A" } else { "N" };
    [
        format!("GNRMC,{time},{status},{position},{knots},{course},{date},,,{faa}"),
        format!("GNGGA,{time},{position},{quality},{satellites:02},{hdop},{altitude},M,,M,,"),
        format!("GNGSA,A,{gsa_mode},,,,,,,,,,,,,,{hdop},"),
    ]
    .iter()
    .map(|body| sentence(body))
    .collect()
}

#[cfg(test)]
mod tests {
    use m2mhal_nmea::{Nmea, parse_line};
    use zbus::zvariant::OwnedVariant;

    use super::*;

    fn location(pairs: Vec<(&str, Variant<'static>)>) -> Properties {
        pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), OwnedVariant::try_from(value).unwrap()))
            .collect()
    }

    #[test]
    fn a_3d_fix_reads_back_through_the_nmea_parser() {
        let properties = location(vec![
            ("Mode", Variant::from("3d")),
            ("Latitude", Variant::from(-33.8568)),
            ("Longitude", Variant::from(151.2153)),
            ("Altitude", Variant::from(58.0)),
            ("Speed", Variant::from(10.0)),
            ("Course", Variant::from(90.0)),
            ("Hdop", Variant::from(0.9)),
            ("Satellites", Variant::from(8u32)),
            // 2010-08-21 08:37:23 UTC
            ("FixTime", Variant::from(1_282_379_843u64)),
        ]);
        let text = location_sentences(&properties, 0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0]
                .starts_with("$GNRMC,083723.00,A,3351.40800,S,15112.91800,E,19.438,90.00,210810,")
        );
        let Ok(Nmea::Gga(gga)) = parse_line(lines[1].as_bytes()) else {
            panic!("{}", lines[1]);
        };
        let position = gga.position.unwrap();
        assert!((position.latitude + 33.8568).abs() < 1e-6);
        assert_eq!(
            (gga.quality, gga.satellites, gga.altitude),
            (1, Some(8), Some(58.0))
        );
        let Ok(Nmea::Gsa(gsa)) = parse_line(lines[2].as_bytes()) else {
            panic!("{}", lines[2]);
        };
        assert_eq!((gsa.fix_type, gsa.hdop), (3, Some(0.9)));
    }

    #[test]
    fn no_fix_says_so_and_is_stamped_now() {
        let properties = location(vec![
            ("Mode", Variant::from("none")),
            ("Latitude", Variant::from(f64::NAN)),
            ("Longitude", Variant::from(f64::NAN)),
            ("FixTime", Variant::from(0u64)),
        ]);
        let text = location_sentences(&properties, 1_282_379_843_000);
        let Ok(Nmea::Rmc(rmc)) = parse_line(text.lines().next().unwrap().as_bytes()) else {
            panic!("{text}");
        };
        assert!(!rmc.valid);
        assert_eq!(rmc.position, None);
        assert_eq!(rmc.time.unwrap().seconds, 8 * 3600 + 37 * 60 + 23);
        assert!(text.contains("$GNGGA,083723.00,,,,,0,00,"), "{text}");
    }
}
