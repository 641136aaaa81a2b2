//! Decoding of the NMEA field formats: numbers, `ddmm.mmmm` angles, `hhmmss.ss` times and
//! `ddmmyy` dates. An empty field is "not given" (`None`); a field that is not empty but does not
//! parse is an error, so a damaged sentence is dropped whole.

use super::NmeaError;

/// UTC time of day of a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    /// Whole seconds since midnight, 0..86400 (a leap second counts as 59).
    pub seconds: u32,
    /// Milliseconds within the second.
    pub millis: u32,
}

/// A UTC calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Full year (`ddmmyy` years 80..99 are 1980..1999, the others 2000..2079).
    pub year: i32,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
}

impl Date {
    /// Unix seconds of `time` on this date; `None` for a date that does not exist.
    pub fn at(self, time: TimeOfDay) -> Option<u64> {
        m2mhal_plugin_api::unix_time(self.year, self.month, self.day, time.seconds)
    }
}

/// The field, or `None` when it is empty.
fn given(field: &str) -> Option<&str> {
    let field = field.trim();
    (!field.is_empty()).then_some(field)
}

fn invalid(field: &'static str, value: &str) -> NmeaError {
    NmeaError::Field {
        field,
        value: value.to_owned(),
    }
}

/// A decimal number (finite).
pub fn number(field: &'static str, value: &str) -> Result<Option<f64>, NmeaError> {
    let Some(text) = given(value) else {
        return Ok(None);
    };
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
    match text.parse::<f64>() {
        Ok(number) if plain && number.is_finite() => Ok(Some(number)),
        _ => Err(invalid(field, value)),
    }
}

/// A whole number.
pub fn count(field: &'static str, value: &str) -> Result<Option<u32>, NmeaError> {
    let Some(text) = given(value) else {
        return Ok(None);
    };
    text.parse::<u32>()
        .map(Some)
        .map_err(|_| invalid(field, value))
}

/// A latitude or longitude: `ddmm.mmmm` (or `dddmm.mmmm`) with its hemisphere field (`N`/`S`,
/// `E`/`W`), in signed degrees. Both empty: `None`.
pub fn angle(
    field: &'static str,
    value: &str,
    hemisphere: &str,
    max_degrees: f64,
) -> Result<Option<f64>, NmeaError> {
    let (Some(text), Some(hemisphere)) = (given(value), given(hemisphere)) else {
        if given(value).is_none() && given(hemisphere).is_none() {
            return Ok(None);
        }
        return Err(invalid(field, value));
    };
    let raw = number(field, text)?.ok_or_else(|| invalid(field, value))?;
    if raw < 0.0 {
        return Err(invalid(field, value));
    }
    let degrees = (raw / 100.0).trunc();
    let minutes = raw - degrees * 100.0;
    let magnitude = degrees + minutes / 60.0;
    if minutes >= 60.0 || magnitude > max_degrees {
        return Err(invalid(field, value));
    }
    let sign = match hemisphere {
        "N" | "E" => 1.0,
        "S" | "W" => -1.0,
        _ => return Err(invalid(field, hemisphere)),
    };
    Ok(Some(sign * magnitude))
}

/// `hhmmss` with optional fraction.
pub fn time_of_day(value: &str) -> Result<Option<TimeOfDay>, NmeaError> {
    let Some(text) = given(value) else {
        return Ok(None);
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() != 6 || !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return Err(invalid("time", value));
    }
    let part = |range: std::ops::Range<usize>| whole[range].parse::<u32>().unwrap_or(99);
    let (hours, minutes, seconds) = (part(0..2), part(2..4), part(4..6));
    if hours > 23 || minutes > 59 || seconds > 60 {
        return Err(invalid("time", value));
    }
    let millis = format!("{fraction:0<3}")[..3].parse::<u32>().unwrap_or(0);
    Ok(Some(TimeOfDay {
        seconds: hours * 3600 + minutes * 60 + seconds.min(59),
        millis,
    }))
}

/// `ddmmyy`.
pub fn date(value: &str) -> Result<Option<Date>, NmeaError> {
    let Some(text) = given(value) else {
        return Ok(None);
    };
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("date", value));
    }
    let part = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
    let (day, month, yy) = (part(0..2), part(2..4), part(4..6));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(invalid("date", value));
    }
    let century = if yy >= 80 { 1900 } else { 2000 };
    Ok(Some(Date {
        year: century + i32::try_from(yy).unwrap_or(0),
        month,
        day,
    }))
}

/// A one-letter status or mode field (`A`, `V`, `N`, ...), `None` when empty.
pub fn letter(value: &str) -> Option<char> {
    given(value).and_then(|text| text.chars().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_in_degrees_and_minutes_with_hemispheres() {
        let latitude = angle("latitude", "4739.71890", "N", 90.0).unwrap().unwrap();
        assert!((latitude - 47.661_981_667).abs() < 1e-9, "{latitude}");
        let longitude = angle("longitude", "12219.58362", "W", 180.0)
            .unwrap()
            .unwrap();
        assert!((longitude + 122.326_393_667).abs() < 1e-9, "{longitude}");
        assert_eq!(angle("latitude", "", "", 90.0), Ok(None));
        assert!(angle("latitude", "4739.7", "", 90.0).is_err());
        assert!(
            angle("latitude", "4760.0", "N", 90.0).is_err(),
            "60 minutes"
        );
        assert!(
            angle("latitude", "8960.000000", "N", 90.0).is_err(),
            "a MediaTek's placeholder position before its first fix"
        );
        assert!(angle("latitude", "4739.7", "X", 90.0).is_err());
        assert!(angle("latitude", "47a9.7", "N", 90.0).is_err());
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(
            time_of_day("055234.200"),
            Ok(Some(TimeOfDay {
                seconds: 5 * 3600 + 52 * 60 + 34,
                millis: 200
            }))
        );
        assert_eq!(
            time_of_day("125106"),
            Ok(Some(TimeOfDay {
                seconds: 12 * 3600 + 51 * 60 + 6,
                millis: 0
            }))
        );
        assert!(time_of_day("256000").is_err());
        assert!(time_of_day("12:00").is_err());
        let date = date("050826").unwrap().unwrap();
        assert_eq!(
            date,
            Date {
                year: 2026,
                month: 8,
                day: 5
            }
        );
        assert_eq!(super::date("050180").unwrap().unwrap().year, 1980);
        assert!(super::date("321399").is_err());
    }

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(number("speed", "0.040"), Ok(Some(0.04)));
        assert_eq!(number("altitude", "-4.0"), Ok(Some(-4.0)));
        assert_eq!(number("speed", ""), Ok(None));
        assert!(number("speed", "inf").is_err());
        assert!(number("speed", "1e3").is_err());
        assert_eq!(count("satellites", "08"), Ok(Some(8)));
        assert!(count("satellites", "-1").is_err());
    }
}
