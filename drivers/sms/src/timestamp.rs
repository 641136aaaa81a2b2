//! TP-SCTS and TP-DT (TS 23.040 9.2.3.11): local date and time in swapped BCD plus the offset to
//! UTC in quarter hours, converted to and from Unix seconds.

use crate::SmsError;

const SECONDS_PER_DAY: i64 = 86_400;
const SECONDS_PER_QUARTER_HOUR: i64 = 900;
/// Two-digit years below this are 20xx, the rest 19xx (SMS started in the 1990s).
const CENTURY_PIVOT: u8 = 90;
/// Largest UTC offset the time zone octet can hold (7 tens and 9 units of quarter hours).
const MAX_OFFSET_QUARTERS: i8 = 79;
/// Sign bit of the time zone octet (bit 3: the high bit of its first, low-nibble digit).
const NEGATIVE_OFFSET: u8 = 0x08;
/// Octets of a time stamp field.
pub(crate) const LENGTH: usize = 7;

/// Unix seconds of a 7-octet time stamp, its time zone applied. `field` names it in errors.
pub(crate) fn decode(octets: &[u8], field: &'static str) -> Result<i64, SmsError> {
    let invalid = |reason| SmsError::InvalidTimestamp { field, reason };
    let &[year, month, day, hour, minute, second, zone] = octets else {
        return Err(SmsError::Truncated { field });
    };
    let [year, month, day, hour, minute, second] = [year, month, day, hour, minute, second]
        .map(swapped_bcd)
        .map(|value| value.ok_or(invalid("a digit is not decimal")));
    let (year, month, day) = (year?, month?, day?);
    let (hour, minute, second) = (hour?, minute?, second?);
    let offset_value =
        swapped_bcd(zone & !NEGATIVE_OFFSET).ok_or(invalid("the time zone is not decimal"))?;
    let offset_quarters = if zone & NEGATIVE_OFFSET == 0 {
        i64::from(offset_value)
    } else {
        -i64::from(offset_value)
    };
    let full_year = if year < CENTURY_PIVOT { 2000 } else { 1900 } + i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(full_year, month) {
        return Err(invalid("the date does not exist"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(invalid("the time of day does not exist"));
    }
    let local = days_from_civil(full_year, month, day) * SECONDS_PER_DAY
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    Ok(local - offset_quarters * SECONDS_PER_QUARTER_HOUR)
}

/// The 7 octets for `timestamp` (Unix seconds) shown in the time zone `utc_offset_quarters`.
pub(crate) fn encode(timestamp: i64, utc_offset_quarters: i8) -> Result<[u8; LENGTH], SmsError> {
    if utc_offset_quarters.unsigned_abs() > MAX_OFFSET_QUARTERS.unsigned_abs() {
        return Err(SmsError::UtcOffsetOutOfRange {
            quarters: utc_offset_quarters,
        });
    }
    let out_of_range = SmsError::TimestampOutOfRange {
        timestamp,
        utc_offset_quarters,
    };
    let local = timestamp
        .checked_add(i64::from(utc_offset_quarters) * SECONDS_PER_QUARTER_HOUR)
        .ok_or(out_of_range.clone())?;
    let (year, month, day) = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
    if !(1990..=2089).contains(&year) {
        return Err(out_of_range);
    }
    let second_of_day = local.rem_euclid(SECONDS_PER_DAY);
    let fields = [
        year % 100,
        i64::from(month),
        i64::from(day),
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    ]
    .map(|value| to_swapped_bcd(value as u8)); // each below 100
    let zone = to_swapped_bcd(utc_offset_quarters.unsigned_abs())
        | if utc_offset_quarters < 0 {
            NEGATIVE_OFFSET
        } else {
            0
        };
    let [a, b, c, d, e, f] = fields;
    Ok([a, b, c, d, e, f, zone])
}

/// Two decimal digits, the first in the low nibble; `None` if a nibble is not decimal.
fn swapped_bcd(octet: u8) -> Option<u8> {
    let (tens, units) = (octet & 0x0F, octet >> 4);
    (tens <= 9 && units <= 9).then_some(tens * 10 + units)
}

fn to_swapped_bcd(value: u8) -> u8 {
    ((value % 10) << 4) | (value / 10)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u8; // 1..=31
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u8; // 1..=12
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::from_hex;

    fn decoded(hex: &str) -> Result<i64, SmsError> {
        decode(&from_hex(hex).unwrap(), "TP-SCTS")
    }

    #[test]
    fn applies_positive_and_negative_time_zones() {
        // 2011-06-24 13:08:15 +02:00 = 11:08:15Z
        assert_eq!(decoded("11604231805180"), Ok(1_308_913_695));
        // 2011-02-28 11:50:50 -05:00 = 16:50:50Z
        assert_eq!(decoded("1120821105050A"), Ok(1_298_911_850));
        // 2012-04-25 19:56:50 -04:00 = 23:56:50Z
        assert_eq!(decoded("21405291650569"), Ok(1_335_398_210));
        // 2017-08-24 18:14:43 +03:00 = 15:14:43Z
        assert_eq!(decoded("71804281413421"), Ok(1_503_587_683));
    }

    #[test]
    fn reads_two_digit_years_around_the_pivot() {
        // 1999-03-29 15:16:59 +02:00
        assert_eq!(decoded("99309251619580"), Ok(922_713_419));
        // 2089-12-31 23:59:59 +00:00
        assert_eq!(decoded("98211332959500"), Ok(3_786_911_999));
    }

    #[test]
    fn rejects_impossible_dates_and_digits() {
        let error = |reason| {
            Err(SmsError::InvalidTimestamp {
                field: "TP-SCTS",
                reason,
            })
        };
        assert_eq!(decoded("11209211505000"), error("the date does not exist")); // 2011-02-29
        assert_eq!(decoded("11000011050500"), error("the date does not exist"));
        assert_eq!(
            decoded("11101142050500"),
            error("the time of day does not exist")
        );
        assert_eq!(decoded("1A101111050500"), error("a digit is not decimal"));
        assert_eq!(
            decoded("111011110505F0"),
            error("the time zone is not decimal")
        );
        assert_eq!(decoded("00209211000000").map(|_| ()), Ok(())); // 2000-02-29 exists
        assert_eq!(
            decoded("111011"),
            Err(SmsError::Truncated { field: "TP-SCTS" })
        );
    }

    #[test]
    fn encodes_local_time_and_zone() {
        assert_eq!(
            encode(1_308_913_695, 8),
            Ok(from_hex("11604231805180").unwrap().try_into().unwrap())
        );
        assert_eq!(
            encode(1_298_911_850, -20),
            Ok(from_hex("1120821105050A").unwrap().try_into().unwrap())
        );
        assert_eq!(
            encode(0, 0),
            Err(SmsError::TimestampOutOfRange {
                timestamp: 0,
                utc_offset_quarters: 0
            })
        );
        assert_eq!(
            encode(1_308_913_695, 80),
            Err(SmsError::UtcOffsetOutOfRange { quarters: 80 })
        );
        assert!(encode(i64::MAX, 4).is_err());
    }

    #[test]
    fn civil_conversions_agree_over_the_whole_range() {
        let first = days_from_civil(1990, 1, 1);
        let last = days_from_civil(2089, 12, 31);
        for days in first..=last {
            let (year, month, day) = civil_from_days(days);
            assert!(day <= days_in_month(year, month));
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
