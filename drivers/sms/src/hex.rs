//! Hex text as AT+CMGS expects and +CMGR/+CMGL/+CMT give PDUs.

use crate::SmsError;

/// Formats bytes as upper-case hex without separators, as AT+CMGS expects.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
    }
    text
}

/// Parses hex text (either case; surrounding white space, such as a trailing CR, is ignored).
pub fn from_hex(text: &str) -> Result<Vec<u8>, SmsError> {
    let text = text.trim();
    let digits = text
        .chars()
        .enumerate()
        .map(|(position, character)| {
            character
                .to_digit(16)
                .map(|digit| digit as u8) // a hex digit is below 16
                .ok_or(SmsError::InvalidHexDigit {
                    character,
                    position,
                })
        })
        .collect::<Result<Vec<u8>, SmsError>>()?;
    if digits.len() % 2 != 0 {
        return Err(SmsError::OddHexLength {
            digits: digits.len(),
        });
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| (pair[0] << 4) | pair[1])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_upper_case() {
        assert_eq!(to_hex(&[0x00, 0x0B, 0x91, 0xF8, 0xAA]), "000B91F8AA");
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn parses_either_case_and_ignores_line_end() {
        assert_eq!(from_hex("0b91F8aa\r\n"), Ok(vec![0x0B, 0x91, 0xF8, 0xAA]));
    }

    #[test]
    fn rejects_odd_length_and_non_hex() {
        assert_eq!(from_hex("0B9"), Err(SmsError::OddHexLength { digits: 3 }));
        assert_eq!(
            from_hex("0G"),
            Err(SmsError::InvalidHexDigit {
                character: 'G',
                position: 1
            })
        );
        assert_eq!(
            from_hex("0 1"),
            Err(SmsError::InvalidHexDigit {
                character: ' ',
                position: 1
            })
        );
    }
}
