//! TP-VPF and TP-VP, the validity period of an SMS-SUBMIT (TS 23.040 9.2.3.3 and 9.2.3.12).

use crate::SmsError;
use crate::pdu_reader::PduReader;

/// TP-VPF bits of the SMS-SUBMIT first octet.
const FORMAT_MASK: u8 = 0x18;
/// TP-VPF: relative format, one octet.
pub(crate) const RELATIVE_FORMAT: u8 = 0x10;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// The relative TP-VP for a period of `minutes`, rounded up to the next period TP-VP can express
/// (5-minute steps up to 12 hours, 30-minute steps up to a day, days up to 30, weeks up to 63;
/// longer periods are capped at 63 weeks).
pub(crate) fn relative(minutes: u32) -> u8 {
    let value = match minutes {
        0..=720 => minutes.div_ceil(5).saturating_sub(1),
        721..=1440 => 143 + (minutes - 720).div_ceil(30),
        1441..=43_200 => 166 + minutes.div_ceil(MINUTES_PER_DAY),
        _ => 192 + minutes.div_ceil(MINUTES_PER_WEEK),
    };
    value.min(255) as u8 // capped
}

/// Skips the TP-VP field whose format the first octet announces (absent, relative, enhanced or
/// absolute).
pub(crate) fn skip(reader: &mut PduReader<'_>, first_octet: u8) -> Result<(), SmsError> {
    let length = match first_octet & FORMAT_MASK {
        0 => 0,
        RELATIVE_FORMAT => 1,
        _ => 7,
    };
    reader.octets(length, "TP-VP").map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_the_next_expressible_period() {
        let cases = [
            (0, 0),
            (5, 0),
            (6, 1),
            (60, 11),
            (720, 143),    // 12 hours
            (721, 144),    // 12 h 30 min
            (1440, 167),   // 24 hours
            (1441, 168),   // 2 days
            (5760, 170),   // 4 days, 0xAA as in the classic SUBMIT example
            (43_200, 196), // 30 days
            (43_201, 197), // 5 weeks
            (63 * MINUTES_PER_WEEK, 255),
            (u32::MAX, 255),
        ];
        for (minutes, expected) in cases {
            assert_eq!(relative(minutes), expected, "{minutes} minutes");
        }
    }

    #[test]
    fn skips_each_format() {
        for (first_octet, length) in [(0x01, 0), (0x11, 1), (0x09, 7), (0x19, 7)] {
            let octets = [0u8; 8];
            let mut reader = PduReader::new(&octets);
            skip(&mut reader, first_octet).unwrap();
            assert!(reader.octets(9 - length, "rest").is_err());
            assert_eq!(
                reader.octets(8 - length, "rest").map(<[u8]>::len),
                Ok(8 - length)
            );
        }
        let mut reader = PduReader::new(&[0u8; 6]);
        assert_eq!(
            skip(&mut reader, 0x19),
            Err(SmsError::Truncated { field: "TP-VP" })
        );
    }
}
