//! Writing NMEA 0183: checksums, angles, times. For the simulators and for `m2mctl nmea`, which
//! write what receivers write.

/// Knots per metre per second.
pub const KNOTS_PER_M_S: f64 = 3600.0 / 1852.0;

/// The XOR checksum of a sentence body (between `$` and `*`).
pub fn checksum(body: &str) -> u8 {
    body.bytes().fold(0, |sum, byte| sum ^ byte)
}

/// `$<body>*<checksum>` with CR LF.
pub fn sentence(body: &str) -> String {
    format!("{}\r\n", super::with_checksum(body))
}

/// `ddmm.mmmmm,H` (or `dddmm.mmmmm,H` with `degree_digits` 3) of a signed angle.
pub fn angle(value: f64, degree_digits: usize, positive: char, negative: char) -> String {
    let hemisphere = if value < 0.0 { negative } else { positive };
    let (degrees, minutes) = degrees_and_minutes(value.abs());
    format!("{degrees:0degree_digits$}{minutes:08.5},{hemisphere}")
}

/// Whole degrees and minutes (rounded to 5 decimals, carried into the degrees at 60).
fn degrees_and_minutes(magnitude: f64) -> (u32, f64) {
    let mut degrees = magnitude.trunc() as u32;
    let mut minutes = ((magnitude - magnitude.trunc()) * 60.0 * 100_000.0).round() / 100_000.0;
    if minutes >= 60.0 {
        degrees += 1;
        minutes -= 60.0;
    }
    (degrees, minutes)
}

/// UTC `hhmmss.ss` and `ddmmyy` of unix milliseconds.
pub fn time_and_date(unix_ms: u64) -> (String, String) {
    let seconds = unix_ms / 1000;
    let of_day = seconds % 86_400;
    let time = format!(
        "{:02}{:02}{:02}.{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        unix_ms % 1000 / 10
    );
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let date = format!("{day:02}{month:02}{:02}", year.rem_euclid(100));
    (time, date)
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_angles_and_times() {
        assert_eq!(
            sentence("GPGLL,5155.55442,N,00434.65873,E,083723.00,A,A"),
            "$GPGLL,5155.55442,N,00434.65873,E,083723.00,A,A*6E\r\n"
        );
        assert_eq!(angle(51.925907, 2, 'N', 'S'), "5155.55442,N");
        assert_eq!(angle(-122.326393667, 3, 'E', 'W'), "12219.58362,W");
        assert_eq!(angle(0.9999999999, 2, 'N', 'S'), "0100.00000,N");
        // 2010-08-21 08:37:23.50 UTC
        assert_eq!(
            time_and_date(1_282_379_843_500),
            ("083723.50".to_owned(), "210810".to_owned())
        );
    }
}
