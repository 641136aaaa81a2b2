//! Choosing the alphabet for a body and cutting it into concatenated parts.

use crate::dcs::Alphabet;
use crate::user_data::{self, Body, EncodedUserData};
use crate::{SmsError, gsm7, ucs2, udh};

/// Septets in a single GSM 7-bit message / in a part after the 6-octet header (7 septets).
const GSM7_SINGLE: usize = 160;
const GSM7_PART: usize = 153;
/// UTF-16 units in a single UCS-2 message / in a part after the 6-octet header.
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;
/// Octets in a single 8-bit message / in a part after the 6-octet header.
const EIGHT_BIT_SINGLE: usize = 140;
const EIGHT_BIT_PART: usize = 134;

/// A body encoded as the user data of each part, in sequence.
pub(crate) struct EncodedBody {
    pub(crate) alphabet: Alphabet,
    pub(crate) parts: Vec<EncodedUserData>,
}

/// Encodes `body` in the alphabet it needs (GSM 7-bit if every character fits, else UCS-2;
/// binary as 8-bit) and, if it does not fit one PDU, splits it into parts carrying an 8-bit
/// reference concatenation header with `reference`. A part never ends inside an escape pair
/// or a surrogate pair.
pub(crate) fn encode_body(body: Body<'_>, reference: u8) -> Result<EncodedBody, SmsError> {
    let (alphabet, payloads): (Alphabet, Vec<Vec<u8>>) = match body {
        Body::Text(text) => match gsm7::encode(text) {
            Some(septets) => {
                let parts = cut(&septets, GSM7_SINGLE, GSM7_PART, |&septet| {
                    septet != gsm7::ESCAPE
                });
                (
                    Alphabet::Gsm7,
                    parts.into_iter().map(<[u8]>::to_vec).collect(),
                )
            }
            None => ucs2_payloads(text),
        },
        Body::Ucs2Text(text) => ucs2_payloads(text),
        Body::Binary(octets) => {
            let parts = cut(octets, EIGHT_BIT_SINGLE, EIGHT_BIT_PART, |_| true);
            (
                Alphabet::Eight,
                parts.into_iter().map(<[u8]>::to_vec).collect(),
            )
        }
    };
    // MAX_PARTS is u8::MAX: the part counters are single octets.
    let total = u8::try_from(payloads.len()).map_err(|_| SmsError::TooManyParts {
        parts: payloads.len(),
    })?;
    let parts = if total == 1 {
        payloads
            .iter()
            .map(|payload| user_data::encode(alphabet, payload, &[]))
            .collect()
    } else {
        (1..=total)
            .zip(&payloads)
            .map(|(sequence, payload)| {
                let header = udh::concat_header(reference, total, sequence);
                user_data::encode(alphabet, payload, &header)
            })
            .collect()
    };
    Ok(EncodedBody { alphabet, parts })
}

/// `text` as UCS-2 payloads, never ending a part inside a surrogate pair.
fn ucs2_payloads(text: &str) -> (Alphabet, Vec<Vec<u8>>) {
    let units: Vec<u16> = text.encode_utf16().collect();
    let parts = cut(&units, UCS2_SINGLE, UCS2_PART, |&unit| {
        !ucs2::is_high_surrogate(unit)
    });
    (
        Alphabet::Ucs2,
        parts.into_iter().map(ucs2::to_octets).collect(),
    )
}

/// Cuts `units` into one slice if it fits `single`, else into slices of at most `per_part`,
/// ending a slice early where `may_end_after` forbids ending after a unit.
fn cut<T>(
    units: &[T],
    single: usize,
    per_part: usize,
    may_end_after: impl Fn(&T) -> bool,
) -> Vec<&[T]> {
    if units.len() <= single {
        return vec![units];
    }
    let mut parts = Vec::new();
    let mut rest = units;
    while !rest.is_empty() {
        let mut end = per_part.min(rest.len());
        if end < rest.len() && !may_end_after(&rest[end - 1]) {
            end -= 1;
        }
        let (part, tail) = rest.split_at(end);
        parts.push(part);
        rest = tail;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part_sizes(body: Body<'_>) -> (Alphabet, Vec<usize>) {
        let encoded = encode_body(body, 7).unwrap();
        (
            encoded.alphabet,
            encoded
                .parts
                .iter()
                .map(EncodedUserData::octet_len)
                .collect(),
        )
    }

    #[test]
    fn fills_a_single_part_to_the_brim() {
        assert_eq!(
            part_sizes(Body::Text(&"a".repeat(160))),
            (Alphabet::Gsm7, vec![140])
        );
        assert_eq!(
            part_sizes(Body::Text(&"ж".repeat(70))),
            (Alphabet::Ucs2, vec![140])
        );
        assert_eq!(
            part_sizes(Body::Binary(&[0; 140])),
            (Alphabet::Eight, vec![140])
        );
        assert_eq!(part_sizes(Body::Text("")), (Alphabet::Gsm7, vec![0]));
    }

    #[test]
    fn splits_at_153_septets_67_units_134_octets() {
        // 161 septets: 153 + 8, each behind a 6-octet header (7 septets with the fill bit).
        assert_eq!(
            part_sizes(Body::Text(&"a".repeat(161))),
            (Alphabet::Gsm7, vec![140, 14])
        );
        assert_eq!(
            part_sizes(Body::Text(&"ж".repeat(71))),
            (Alphabet::Ucs2, vec![140, 14])
        );
        assert_eq!(
            part_sizes(Body::Binary(&[0; 141])),
            (Alphabet::Eight, vec![140, 13])
        );
    }

    #[test]
    fn never_ends_a_part_inside_an_escape_or_surrogate_pair() {
        // "€" is two septets; after 152 "a" it would straddle the 153-septet boundary.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        let septets = gsm7::encode(&text).unwrap();
        let parts = cut(&septets, GSM7_SINGLE, GSM7_PART, |&s| s != gsm7::ESCAPE);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [152, 12]);

        let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(10));
        let units: Vec<u16> = text.encode_utf16().collect();
        let parts = cut(&units, UCS2_SINGLE, UCS2_PART, |&u| {
            !ucs2::is_high_surrogate(u)
        });
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [66, 12]);
    }

    #[test]
    fn refuses_more_than_255_parts() {
        assert_eq!(part_sizes(Body::Binary(&[0; 134 * 255])).1.len(), 255);
        assert_eq!(
            encode_body(Body::Binary(&[0; 134 * 255 + 1]), 0).err(),
            Some(SmsError::TooManyParts { parts: 256 })
        );
    }
}
