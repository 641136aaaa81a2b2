//! Location (API 1.1): what a driver reports about a GNSS receiver and its fixes.
//!
//! A driver reports through [`crate::Effect::Location`]; the host shows it as
//! `org.m2mhal.Hal1.Location` on every device whose capabilities list `location`. A fix is always
//! reported whole ([`Fix`]), never field by field, so an application never sees the latitude of one
//! fix with the longitude of another.

use serde::{Deserialize, Serialize};

/// Changes to `org.m2mhal.Hal1.Location`; `None` = unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationUpdate {
    /// `Enabled`: the receiver is on.
    pub enabled: Option<bool>,
    /// The current fix, replacing the previous one ([`Fix::none`] when the fix is lost).
    pub fix: Option<Fix>,
}

/// One position solution, as the receiver reported it. Unknown numbers are NaN, unknown counts 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fix {
    /// `Mode`: no fix, 2D or 3D.
    pub mode: FixMode,
    /// WGS84 degrees, north positive; NaN without a fix.
    pub latitude: f64,
    /// WGS84 degrees, east positive; NaN without a fix.
    pub longitude: f64,
    /// Metres above mean sea level; NaN without a 3D fix.
    pub altitude: f64,
    /// Horizontal dilution of precision; NaN when unknown.
    pub hdop: f64,
    /// Vertical dilution of precision; NaN when unknown.
    pub vdop: f64,
    /// Position dilution of precision; NaN when unknown.
    pub pdop: f64,
    /// Speed over ground, metres per second; NaN when unknown.
    pub speed: f64,
    /// Course over ground, degrees true; NaN when unknown.
    pub course: f64,
    /// Satellites used in the solution.
    pub satellites_used: u32,
    /// Satellites in view.
    pub satellites_in_view: u32,
    /// Unix seconds of the fix (the receiver's UTC time where it gave one), 0 without a fix.
    pub time: u64,
    /// Where the position comes from; `None` without a fix.
    pub source: Option<LocationSource>,
}

impl Fix {
    /// No fix: mode `none`, every number unknown.
    pub fn none() -> Self {
        Fix {
            mode: FixMode::None,
            latitude: f64::NAN,
            longitude: f64::NAN,
            altitude: f64::NAN,
            hdop: f64::NAN,
            vdop: f64::NAN,
            pdop: f64::NAN,
            speed: f64::NAN,
            course: f64::NAN,
            satellites_used: 0,
            satellites_in_view: 0,
            time: 0,
            source: None,
        }
    }

    /// Whether `self` and `other` say the same, NaN equal to NaN (for "did the fix change?").
    pub fn same_as(&self, other: &Fix) -> bool {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        self.mode == other.mode
            && same(self.latitude, other.latitude)
            && same(self.longitude, other.longitude)
            && same(self.altitude, other.altitude)
            && same(self.hdop, other.hdop)
            && same(self.vdop, other.vdop)
            && same(self.pdop, other.pdop)
            && same(self.speed, other.speed)
            && same(self.course, other.course)
            && self.satellites_used == other.satellites_used
            && self.satellites_in_view == other.satellites_in_view
            && self.time == other.time
            && self.source == other.source
    }
}

impl Default for Fix {
    /// [`Fix::none`].
    fn default() -> Self {
        Fix::none()
    }
}

/// `Location.Mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FixMode {
    /// No fix (`none`).
    #[default]
    #[serde(rename = "none")]
    None,
    /// Latitude and longitude only (`2d`).
    #[serde(rename = "2d")]
    TwoD,
    /// Latitude, longitude and altitude (`3d`).
    #[serde(rename = "3d")]
    ThreeD,
}

impl FixMode {
    /// The D-Bus string for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            FixMode::None => "none",
            FixMode::TwoD => "2d",
            FixMode::ThreeD => "3d",
        }
    }
}

/// `Location.Source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationSource {
    /// A satellite receiver.
    Gnss,
    /// Network-based (cell towers).
    Cell,
    /// A position from the configuration.
    Fixed,
}

impl LocationSource {
    /// The D-Bus string for this source.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationSource::Gnss => "gnss",
            LocationSource::Cell => "cell",
            LocationSource::Fixed => "fixed",
        }
    }
}

/// Unix seconds of a UTC date and time of day, for drivers of devices that report calendar
/// dates (NMEA `ddmmyy`, modem GNSS answers). `None` for a month, day or time that does not exist
/// or a time before 1970.
pub fn unix_time(year: i32, month: u32, day: u32, seconds_of_day: u32) -> Option<u64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || seconds_of_day >= 86_400 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from(days * 86_400 + i64::from(seconds_of_day)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_to_unix_seconds() {
        assert_eq!(unix_time(1970, 1, 1, 0), Some(0));
        // 2010-08-21 08:37:23 and 2024-02-29 (a leap day) 12:00:00 UTC.
        assert_eq!(
            unix_time(2010, 8, 21, 8 * 3600 + 37 * 60 + 23),
            Some(1_282_379_843)
        );
        assert_eq!(unix_time(2024, 2, 29, 43_200), Some(1_709_208_000));
        assert_eq!(unix_time(1969, 12, 31, 0), None);
        assert_eq!(unix_time(2024, 13, 1, 0), None);
        assert_eq!(unix_time(2024, 1, 1, 86_400), None);
    }

    #[test]
    fn no_fix_is_nan_and_zero_and_equal_to_itself() {
        let none = Fix::none();
        assert_eq!(none.mode.as_str(), "none");
        assert!(none.latitude.is_nan() && none.speed.is_nan());
        assert_eq!((none.time, none.satellites_used), (0, 0));
        assert!(none.same_as(&Fix::default()));
        let moved = Fix {
            latitude: 1.0,
            ..Fix::none()
        };
        assert!(!moved.same_as(&none));
    }

    #[test]
    fn modes_and_sources_use_their_d_bus_names_on_the_wire() {
        for mode in [FixMode::None, FixMode::TwoD, FixMode::ThreeD] {
            let wire = ciborium::Value::serialized(&mode).unwrap();
            assert_eq!(wire, ciborium::Value::Text(mode.as_str().into()));
        }
        for source in [
            LocationSource::Gnss,
            LocationSource::Cell,
            LocationSource::Fixed,
        ] {
            let wire = ciborium::Value::serialized(&source).unwrap();
            assert_eq!(wire, ciborium::Value::Text(source.as_str().into()));
        }
    }
}
