//! The number formats the vendors' position answers share: `dddmm.mmmm` angles with a hemisphere
//! letter, `ddd.mm` courses, `ddmmyy` dates with `hhmmss[.sss]` times.

use m2mhal_plugin_api::unix_time;

/// Knots to metres per second.
pub(super) const KNOT_M_S: f64 = 1852.0 / 3600.0;

/// `dddmm.mmmm` and its hemisphere letter as signed degrees; `None` out of range or with another
/// letter.
pub(super) fn degrees(
    value: f64,
    hemisphere: &str,
    letters: (char, char),
    max: f64,
) -> Option<f64> {
    let whole = (value / 100.0).trunc();
    let minutes = value - whole * 100.0;
    let magnitude = whole + minutes / 60.0;
    if !value.is_finite() || value < 0.0 || minutes >= 60.0 || magnitude > max {
        return None;
    }
    match hemisphere.chars().next()? {
        letter if letter == letters.0 => Some(magnitude),
        letter if letter == letters.1 => Some(-magnitude),
        _ => None,
    }
}

/// A course written as degrees and minutes (`ddd.mm`, Telit's `<cog>` and Quectel's copy of
/// it) in degrees.
pub(super) fn course_of_degrees_minutes(cog: f64) -> f64 {
    cog.trunc() + (cog.fract() * 100.0) / 60.0
}

/// Unix seconds of a `ddmmyy` date and an `hhmmss[.s]` time.
pub(super) fn time_of(date: &str, time: &str) -> Option<u64> {
    let digits = |text: &str, range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let (day, month, year) = (
        digits(date, 0..2)?,
        digits(date, 2..4)?,
        digits(date, 4..6)?,
    );
    let seconds = digits(time, 0..2)? * 3600 + digits(time, 2..4)? * 60 + digits(time, 4..6)?;
    unix_time(2000 + i32::try_from(year).ok()?, month, day, seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_courses_and_times() {
        let north = degrees(4542.8106, "N", ('N', 'S'), 90.0).unwrap();
        assert!((north - (45.0 + 42.8106 / 60.0)).abs() < 1e-9);
        assert_eq!(degrees(130.0, "W", ('E', 'W'), 180.0), Some(-1.5));
        assert_eq!(degrees(9100.0, "N", ('N', 'S'), 90.0), None);
        assert_eq!(degrees(4560.0, "N", ('N', 'S'), 90.0), None);
        assert_eq!(degrees(4500.0, "E", ('N', 'S'), 90.0), None);
        assert_eq!(degrees(f64::NAN, "N", ('N', 'S'), 90.0), None);
        assert!((course_of_degrees_minutes(150.30) - 150.5).abs() < 1e-9);
        // 2013-05-11 06:19:51 UTC.
        assert_eq!(time_of("110513", "061951.000"), Some(1_368_253_191));
        assert_eq!(time_of("110513", "0619"), None);
        assert_eq!(time_of("321313", "061951"), None);
    }
}
