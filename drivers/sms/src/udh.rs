//! The user data header (TS 23.040 9.2.3.24): concatenation information elements are read,
//! every other element is skipped.

use crate::SmsError;

/// Concatenated short message, 8-bit reference (TS 23.040 9.2.3.24.1).
const CONCAT_8BIT: u8 = 0x00;
/// Concatenated short message, 16-bit reference (TS 23.040 9.2.3.24.8).
const CONCAT_16BIT: u8 = 0x08;

/// Where a part belongs in a concatenated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    /// Reference shared by all parts of one message (8- or 16-bit on the air).
    pub reference: u16,
    /// Number of parts, 1..=255.
    pub total: u8,
    /// This part's number, 1..=total.
    pub sequence: u8,
}

/// The concatenation element of a header (without its length octet), if there is a valid one.
/// Elements with a total of 0 or a sequence outside 1..=total are ignored, as TS 23.040 asks;
/// when several are present the last one counts.
pub(crate) fn parse_concat(header: &[u8]) -> Result<Option<Concat>, SmsError> {
    let mut concat = None;
    let mut rest = header;
    while let [identifier, length, after @ ..] = rest {
        let (data, tail) =
            after
                .split_at_checked(usize::from(*length))
                .ok_or(SmsError::MalformedHeader {
                    reason: "an element runs past the header",
                })?;
        let found = match (*identifier, data) {
            (CONCAT_8BIT, &[reference, total, sequence]) => Some(Concat {
                reference: u16::from(reference),
                total,
                sequence,
            }),
            (CONCAT_16BIT, &[high, low, total, sequence]) => Some(Concat {
                reference: u16::from_be_bytes([high, low]),
                total,
                sequence,
            }),
            _ => None,
        };
        if let Some(found) = found.filter(|c| (1..=c.total).contains(&c.sequence)) {
            concat = Some(found);
        }
        rest = tail;
    }
    if rest.is_empty() {
        Ok(concat)
    } else {
        Err(SmsError::MalformedHeader {
            reason: "an element runs past the header",
        })
    }
}

/// A whole user data header (length octet included) holding one 8-bit-reference concatenation
/// element: `05 00 03 reference total sequence`.
pub(crate) fn concat_header(reference: u8, total: u8, sequence: u8) -> [u8; 6] {
    [5, CONCAT_8BIT, 3, reference, total, sequence]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_concatenation_elements() {
        assert_eq!(
            parse_concat(&[0x00, 0x03, 0x4C, 0x02, 0x01]),
            Ok(Some(Concat {
                reference: 0x4C,
                total: 2,
                sequence: 1
            }))
        );
        assert_eq!(
            parse_concat(&[0x08, 0x04, 0x4A, 0xC0, 0x04, 0x03]),
            Ok(Some(Concat {
                reference: 0x4AC0,
                total: 4,
                sequence: 3
            }))
        );
    }

    #[test]
    fn skips_other_elements() {
        // Application port addressing (0x05) before the concatenation element.
        let header = [
            0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x07, 0x03, 0x02,
        ];
        assert_eq!(
            parse_concat(&header),
            Ok(Some(Concat {
                reference: 7,
                total: 3,
                sequence: 2
            }))
        );
        assert_eq!(
            parse_concat(&[0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]),
            Ok(None)
        );
        assert_eq!(parse_concat(&[]), Ok(None));
    }

    #[test]
    fn ignores_invalid_concatenation_numbers() {
        assert_eq!(parse_concat(&[0x00, 0x03, 0x01, 0x00, 0x00]), Ok(None));
        assert_eq!(parse_concat(&[0x00, 0x03, 0x01, 0x02, 0x03]), Ok(None));
        assert_eq!(parse_concat(&[0x00, 0x02, 0x01, 0x02]), Ok(None)); // wrong length
    }

    #[test]
    fn rejects_an_element_running_past_the_header() {
        let error = parse_concat(&[0x00, 0x03, 0x01, 0x02]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "user data header is malformed: an element runs past the header"
        );
        assert!(parse_concat(&[0x00]).is_err());
    }

    #[test]
    fn writes_the_8bit_reference_header() {
        assert_eq!(
            concat_header(0x4C, 2, 1),
            [0x05, 0x00, 0x03, 0x4C, 0x02, 0x01]
        );
    }
}
