//! Phone numbers and the address fields: TP-OA, TP-DA, TP-RA (TS 23.040 9.1.2.5) and the
//! service centre address in front of the TPDU (TS 24.011 8.2.5.1).

use std::fmt;

use crate::SmsError;
use crate::gsm7;
use crate::pdu_reader::PduReader;

/// Type of address for an international number, ISDN/telephony numbering plan.
const INTERNATIONAL: u8 = 0x91;
/// Type of address for an unknown (national or subscriber) number, ISDN/telephony numbering plan.
const UNKNOWN: u8 = 0x81;
/// Type-of-number bits of a type-of-address octet.
const TYPE_OF_NUMBER: u8 = 0x70;
const TYPE_INTERNATIONAL: u8 = 0x10;
const TYPE_ALPHANUMERIC: u8 = 0x50;
/// The semi-octet that pads an odd number of digits.
const FILLER: u8 = 0x0F;
/// Most digits an address field holds.
const MAX_DIGITS: usize = 20;
/// The digits an international (E.164) destination may have, country code included: at most 15
/// (ITU-T E.164), at least a 3-digit country code and a 4-digit subscriber number (Niue, Tokelau).
const E164_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;
/// The digits a national destination may have: from a 3-digit short code (`112`, `22777`) to the
/// longest international prefix (`011`) in front of a 15-digit E.164 number.
const NATIONAL_DIGITS: std::ops::RangeInclusive<usize> = 3..=18;

/// A destination or originator number: international (written with a leading `+`, type of
/// address 0x91) or unknown/national (0x81). 1 to 20 digits, each a decimal digit or one of
/// `*`, `#`, `a`, `b`, `c` (the other semi-octet values), at least one of them decimal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    international: bool,
    /// Digits without the `+`, letters in lower case.
    digits: String,
}

impl PhoneNumber {
    /// Parses `+4915112345678` (international) or `015112345678` (unknown/national). No
    /// separators are accepted: white space, `-` or `/` are an error naming the text.
    pub fn parse(text: &str) -> Result<Self, SmsError> {
        let invalid = |reason| SmsError::InvalidPhoneNumber {
            text: text.to_owned(),
            reason,
        };
        let (international, digits) = match text.strip_prefix('+') {
            Some(digits) => (true, digits),
            None => (false, text),
        };
        if digits.is_empty() {
            return Err(invalid("it has no digits"));
        }
        if digits.chars().any(|c| semi_octet(c).is_none()) {
            return Err(invalid(
                "only digits, *, #, a, b and c may follow an optional leading +",
            ));
        }
        if digits.len() > MAX_DIGITS {
            return Err(invalid("it has more than 20 digits"));
        }
        if !digits.chars().any(|c| c.is_ascii_digit()) {
            return Err(invalid("it has no decimal digit"));
        }
        Ok(Self {
            international,
            digits: digits.to_ascii_lowercase(),
        })
    }

    /// Parses a number someone may send a message to: `+` and 7 to 15 decimal digits (E.164),
    /// or 3 to 18 decimal digits (a national number or short code). Stricter than [`parse`]
    /// (which takes whatever an address field can hold, `*#abc` included): `+1555abc` is an
    /// error naming the text.
    ///
    /// [`parse`]: PhoneNumber::parse
    pub fn destination(text: &str) -> Result<Self, SmsError> {
        let invalid = |reason| SmsError::InvalidPhoneNumber {
            text: text.to_owned(),
            reason,
        };
        let (digits, allowed, reason) = match text.strip_prefix('+') {
            Some(digits) => (
                digits,
                E164_DIGITS,
                "an international number is + and 7 to 15 digits (E.164)",
            ),
            None => (
                text,
                NATIONAL_DIGITS,
                "a national number is 3 to 18 digits, without separators",
            ),
        };
        if !digits.bytes().all(|byte| byte.is_ascii_digit()) || !allowed.contains(&digits.len()) {
            return Err(invalid(reason));
        }
        Self::parse(text)
    }

    /// The number as text: `+4915112345678` for an international number, the bare digits
    /// otherwise.
    pub fn as_str(&self) -> String {
        self.to_string()
    }

    fn type_of_address(&self) -> u8 {
        if self.international {
            INTERNATIONAL
        } else {
            UNKNOWN
        }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.international {
            f.write_str("+")?;
        }
        f.write_str(&self.digits)
    }
}

/// Semi-octet value of a digit (TS 23.040 9.1.2.3).
fn semi_octet(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => digit.to_digit(10).map(|value| value as u8), // below 10
        '*' => Some(0x0A),
        '#' => Some(0x0B),
        'a' | 'A' => Some(0x0C),
        'b' | 'B' => Some(0x0D),
        'c' | 'C' => Some(0x0E),
        _ => None,
    }
}

/// Digit of a semi-octet; `None` for the filler.
fn digit(semi_octet: u8) -> Option<char> {
    match semi_octet {
        0..=9 => Some(char::from(b'0' + semi_octet)),
        0x0A => Some('*'),
        0x0B => Some('#'),
        0x0C => Some('a'),
        0x0D => Some('b'),
        0x0E => Some('c'),
        _ => None,
    }
}

/// Digits as semi-octets, first digit in the low nibble, an odd count padded with the filler.
fn pack_digits(digits: &str) -> Vec<u8> {
    let semi_octets: Vec<u8> = digits.chars().filter_map(semi_octet).collect();
    semi_octets
        .chunks(2)
        .map(|pair| pair[0] | (pair.get(1).copied().unwrap_or(FILLER) << 4))
        .collect()
}

/// Up to `count` digits from semi-octets, skipping fillers.
fn unpack_digits(octets: &[u8], count: usize) -> String {
    octets
        .iter()
        .flat_map(|octet| [octet & 0x0F, octet >> 4])
        .take(count)
        .filter_map(digit)
        .collect()
}

/// A TP-DA/TP-OA field: number of digits, type of address, digits.
pub(crate) fn encode_address(number: &PhoneNumber) -> Vec<u8> {
    let digit_count = number.digits.len() as u8; // at most MAX_DIGITS
    let mut field = vec![digit_count, number.type_of_address()];
    field.extend(pack_digits(&number.digits));
    field
}

/// The service centre address in front of a TPDU: length 0 means "the SIM's SMSC".
pub(crate) fn encode_sca(number: Option<&PhoneNumber>) -> Vec<u8> {
    let Some(number) = number else {
        return vec![0];
    };
    let digits = pack_digits(&number.digits);
    let length = 1 + digits.len() as u8; // at most 11
    let mut field = vec![length, number.type_of_address()];
    field.extend(digits);
    field
}

/// Reads a TP-OA/TP-DA/TP-RA field: `+` and digits for an international number, the bare
/// digits for any other numeric type, the text for an alphanumeric address (GSM 7-bit packed).
pub(crate) fn decode_address(
    reader: &mut PduReader<'_>,
    field: &'static str,
) -> Result<String, SmsError> {
    let digit_count = usize::from(reader.octet(field)?);
    let type_of_address = reader.octet(field)?;
    let octets = reader.octets(digit_count.div_ceil(2), field)?;
    Ok(match type_of_address & TYPE_OF_NUMBER {
        TYPE_ALPHANUMERIC => gsm7::decode(&gsm7::unpack(octets, 0, digit_count * 4 / 7)),
        TYPE_INTERNATIONAL => format!("+{}", unpack_digits(octets, digit_count)),
        _ => unpack_digits(octets, digit_count),
    })
}

/// Reads the service centre address; `None` when it is absent (length 0) or holds no digits.
pub(crate) fn decode_sca(reader: &mut PduReader<'_>) -> Result<Option<String>, SmsError> {
    let length = usize::from(reader.octet("SCA")?);
    let Some((&type_of_address, octets)) = reader.octets(length, "SCA")?.split_first() else {
        return Ok(None);
    };
    let digits = unpack_digits(octets, octets.len() * 2);
    Ok(
        match (digits.is_empty(), type_of_address & TYPE_OF_NUMBER) {
            (true, _) => None,
            (false, TYPE_INTERNATIONAL) => Some(format!("+{digits}")),
            (false, _) => Some(digits),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::{from_hex, to_hex};

    fn decoded(hex: &str) -> Result<String, SmsError> {
        decode_address(&mut PduReader::new(&from_hex(hex).unwrap()), "TP-OA")
    }

    #[test]
    fn parses_and_prints_numbers() {
        let number = PhoneNumber::parse("+4915112345678").unwrap();
        assert_eq!(number.as_str(), "+4915112345678");
        assert_eq!(PhoneNumber::parse("*100#").unwrap().as_str(), "*100#");
        assert_eq!(PhoneNumber::parse("12AB").unwrap().as_str(), "12ab");
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        let error = PhoneNumber::parse("abc").unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"abc\" is not a phone number: it has no decimal digit"
        );
        for text in [
            "",
            "+",
            "+49 151",
            "49-151",
            "++49",
            "4915+1",
            "123456789012345678901",
        ] {
            assert!(
                matches!(
                    PhoneNumber::parse(text),
                    Err(SmsError::InvalidPhoneNumber { .. })
                ),
                "{text:?}"
            );
        }
        assert!(PhoneNumber::parse("12345678901234567890").is_ok());
    }

    #[test]
    fn destinations_are_e164_or_national_digits() {
        for good in [
            "+4915112345678",
            "+6834123",
            "+123456789012345",
            "015112345678",
            "112",
        ] {
            assert_eq!(
                PhoneNumber::destination(good).map(|n| n.as_str()),
                Ok(good.to_owned())
            );
        }
        assert_eq!(
            PhoneNumber::destination("+1555abc")
                .unwrap_err()
                .to_string(),
            "\"+1555abc\" is not a phone number: an international number is + and 7 to 15 digits \
             (E.164)"
        );
        assert_eq!(
            PhoneNumber::destination("0151 1234")
                .unwrap_err()
                .to_string(),
            "\"0151 1234\" is not a phone number: a national number is 3 to 18 digits, without \
             separators"
        );
        for bad in [
            "",
            "+",
            "+155512",
            "+1234567890123456",
            "++4915112345678",
            "+49151123456a8",
            "*100#",
            "12",
            "1234567890123456789",
            "0151-1234567",
            "\u{0661}\u{0662}\u{0663}",
        ] {
            assert!(
                matches!(
                    PhoneNumber::destination(bad),
                    Err(SmsError::InvalidPhoneNumber { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn encodes_address_fields_like_modemmanager() {
        let international = PhoneNumber::parse("+19037029920").unwrap();
        let unknown = PhoneNumber::parse("9037029920").unwrap();
        assert_eq!(to_hex(&encode_address(&international)), "0B919130079229F0");
        assert_eq!(to_hex(&encode_address(&unknown)), "0A810973209902");
        assert_eq!(
            to_hex(&encode_sca(Some(&international))),
            "07919130079229F0"
        );
        assert_eq!(to_hex(&encode_sca(Some(&unknown))), "06810973209902");
        assert_eq!(to_hex(&encode_sca(None)), "00");
    }

    #[test]
    fn encodes_the_other_semi_octets() {
        let number = PhoneNumber::parse("*31#abc1").unwrap();
        assert_eq!(to_hex(&encode_address(&number)), "08813AB1DC1E");
    }

    #[test]
    fn decodes_numeric_addresses() {
        assert_eq!(decoded("0B911346610089F6").unwrap(), "+31641600986");
        assert_eq!(decoded("0B811346610089F6").unwrap(), "31641600986");
        // Type 0xC8 (subscriber number, national plan) and 0x85 from real networks.
        assert_eq!(decoded("0BC87238880900F1").unwrap(), "27838890001");
        assert_eq!(decoded("04850120").unwrap(), "1002");
        assert_eq!(decoded("08813AB1DC1E").unwrap(), "*31#abc1");
    }

    #[test]
    fn decodes_alphanumeric_addresses() {
        assert_eq!(decoded("07D0CD21720A").unwrap(), "MCHS");
        assert_eq!(decoded("14D04937BD2C7797E9D3E614").unwrap(), "InternetSMS");
    }

    #[test]
    fn reports_truncated_address() {
        assert_eq!(
            decoded("0B91134661"),
            Err(SmsError::Truncated { field: "TP-OA" })
        );
        assert_eq!(decoded("0B"), Err(SmsError::Truncated { field: "TP-OA" }));
    }

    #[test]
    fn decodes_service_centre_address() {
        let sca = |hex: &str| decode_sca(&mut PduReader::new(&from_hex(hex).unwrap()));
        assert_eq!(sca("07911326040000F0"), Ok(Some("+31624000000".to_owned())));
        assert_eq!(sca("0591438967450100"), Ok(Some("+34987654".to_owned())));
        assert_eq!(sca("00"), Ok(None));
        assert_eq!(sca("0191"), Ok(None));
        assert_eq!(sca("079113"), Err(SmsError::Truncated { field: "SCA" }));
    }
}
