//! TP-UDL and TP-UD: the message body with its optional user data header, in any alphabet.

use crate::dcs::Alphabet;
use crate::pdu_reader::PduReader;
use crate::udh::{self, Concat};
use crate::{SmsError, gsm7, ucs2};

/// Most septets of GSM 7-bit user data (header included).
pub(crate) const MAX_SEPTETS: usize = 160;
/// Most octets of 8-bit or UCS-2 user data (header included).
pub(crate) const MAX_OCTETS: usize = 140;

/// A message body to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// Text: sent in GSM 7-bit if every character fits, else in UCS-2.
    Text(&'a str),
    /// Text sent in UCS-2 even where GSM 7-bit would do (as some phones and gateways send it).
    Ucs2Text(&'a str),
    /// Binary data: sent as 8-bit data.
    Binary(&'a [u8]),
}

/// A decoded message body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Content {
    /// Text from GSM 7-bit or UCS-2 user data.
    Text(String),
    /// 8-bit user data.
    Binary(Vec<u8>),
}

/// The user data of a received PDU.
pub(crate) struct UserData {
    pub(crate) alphabet: Alphabet,
    pub(crate) concat: Option<Concat>,
    pub(crate) content: Content,
}

/// Reads TP-UDL and TP-UD, the last fields of DELIVER and SUBMIT. `dcs` is TP-DCS, `has_header`
/// is TP-UDHI. Octets after the user data are ignored.
pub(crate) fn decode(
    dcs: u8,
    has_header: bool,
    reader: &mut PduReader<'_>,
) -> Result<UserData, SmsError> {
    let alphabet = Alphabet::from_dcs(dcs)?;
    let length = reader.octet("TP-UDL")?;
    let (max, unit, octet_count) = match alphabet {
        Alphabet::Gsm7 => (
            MAX_SEPTETS,
            "septets",
            gsm7::packed_len(usize::from(length)),
        ),
        Alphabet::Ucs2 | Alphabet::Eight => (MAX_OCTETS, "octets", usize::from(length)),
    };
    if usize::from(length) > max {
        return Err(SmsError::UserDataTooLong {
            length,
            max: max as u8,
            unit,
        }); // 160 or 140
    }
    let octets = reader.octets(octet_count, "TP-UD")?;
    let (concat, header_len) = if has_header {
        read_header(octets)?
    } else {
        (None, 0)
    };
    let content = match alphabet {
        Alphabet::Gsm7 => {
            let header_septets = (header_len * 8).div_ceil(7);
            let text_septets = usize::from(length).checked_sub(header_septets).ok_or(
                SmsError::MalformedHeader {
                    reason: "it is longer than TP-UDL",
                },
            )?;
            Content::Text(gsm7::decode(&gsm7::unpack(
                octets,
                header_septets,
                text_septets,
            )))
        }
        Alphabet::Ucs2 => Content::Text(ucs2::decode(octets.get(header_len..).unwrap_or(&[]))),
        Alphabet::Eight => Content::Binary(octets.get(header_len..).unwrap_or(&[]).to_vec()),
    };
    Ok(UserData {
        alphabet,
        concat,
        content,
    })
}

/// The concatenation information in the header at the start of `octets`, and the header's
/// length with its length octet.
fn read_header(octets: &[u8]) -> Result<(Option<Concat>, usize), SmsError> {
    let (&header_len, rest) = octets.split_first().ok_or(SmsError::MalformedHeader {
        reason: "TP-UDHI is set but TP-UD is empty",
    })?;
    let header = rest
        .get(..usize::from(header_len))
        .ok_or(SmsError::MalformedHeader {
            reason: "it is longer than TP-UD",
        })?;
    Ok((udh::parse_concat(header)?, 1 + header.len()))
}

/// TP-UDL and TP-UD of one part, ready to append to a PDU.
pub(crate) struct EncodedUserData {
    /// Whether TP-UDHI must be set.
    pub(crate) has_header: bool,
    length: u8,
    octets: Vec<u8>,
}

impl EncodedUserData {
    /// Appends TP-UDL and TP-UD.
    pub(crate) fn write_to(&self, pdu: &mut Vec<u8>) {
        pdu.push(self.length);
        pdu.extend_from_slice(&self.octets);
    }

    /// Octets of TP-UD.
    #[cfg(test)]
    pub(crate) fn octet_len(&self) -> usize {
        self.octets.len()
    }
}

/// Builds the user data of one part from its `payload` (septets for GSM 7-bit, octets otherwise)
/// and an optional whole user data header. The caller keeps the part within 160 septets or 140
/// octets, header included.
pub(crate) fn encode(alphabet: Alphabet, payload: &[u8], header: &[u8]) -> EncodedUserData {
    let (length, octets) = match alphabet {
        Alphabet::Gsm7 => {
            let header_septets = (header.len() * 8).div_ceil(7);
            let mut octets = gsm7::pack(payload, header_septets);
            for (octet, header_octet) in octets.iter_mut().zip(header) {
                *octet = *header_octet;
            }
            (header_septets + payload.len(), octets)
        }
        Alphabet::Ucs2 | Alphabet::Eight => {
            let octets = [header, payload].concat();
            (octets.len(), octets)
        }
    };
    let length = u8::try_from(length).expect("parts are split to at most 160 septets / 140 octets");
    EncodedUserData {
        has_header: !header.is_empty(),
        length,
        octets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::{from_hex, to_hex};

    fn decoded(dcs: u8, has_header: bool, hex: &str) -> Result<UserData, SmsError> {
        decode(
            dcs,
            has_header,
            &mut PduReader::new(&from_hex(hex).unwrap()),
        )
    }

    #[test]
    fn decodes_7bit_after_a_header_with_fill_bits() {
        // Part 2 of a real concatenated message (ModemManager's test-sms-part-3gpp.c).
        let data = decoded(
            0x00,
            true,
            "320500034C0202E9E8301D44479741F0B09C3E0785E56590BCCC0ED3CB6410FD0D7ABBCBA0B0FB4D4797E52E10",
        )
        .unwrap();
        assert_eq!(data.alphabet, Alphabet::Gsm7);
        assert_eq!(
            data.concat,
            Some(Concat {
                reference: 0x4C,
                total: 2,
                sequence: 2
            })
        );
        assert_eq!(
            data.content,
            Content::Text("that the parts are related to one another. ".into())
        );
    }

    #[test]
    fn reports_truncation_and_bad_lengths() {
        let error = |hex| decoded(0x00, false, hex).err();
        // 11 septets need 10 octets.
        assert_eq!(
            error("0BE8329BFD4697D9EC37"),
            Some(SmsError::Truncated { field: "TP-UD" })
        );
        assert_eq!(error(""), Some(SmsError::Truncated { field: "TP-UDL" }));
        assert_eq!(
            error("A1").map(|e| e.to_string()),
            Some("TP-UDL 161 exceeds the maximum of 160 septets".into())
        );
        assert_eq!(
            decoded(0x04, false, "8D").err().map(|e| e.to_string()),
            Some("TP-UDL 141 exceeds the maximum of 140 octets".into())
        );
        // The header claims 6 octets but only 3 follow.
        assert_eq!(
            decoded(0x04, true, "0406000301").err(),
            Some(SmsError::MalformedHeader {
                reason: "it is longer than TP-UD"
            })
        );
        assert_eq!(
            decoded(0x04, true, "00").err(),
            Some(SmsError::MalformedHeader {
                reason: "TP-UDHI is set but TP-UD is empty"
            })
        );
        // A 7-octet header is 8 septets, more than TP-UDL 7.
        assert_eq!(
            decoded(0x00, true, "07060504000102030405").err(),
            Some(SmsError::MalformedHeader {
                reason: "it is longer than TP-UDL"
            })
        );
    }

    #[test]
    fn encodes_each_alphabet_with_header() {
        let header = udh::concat_header(0x4C, 2, 2);
        let septets = gsm7::encode("hi").unwrap();
        let gsm = encode(Alphabet::Gsm7, &septets, &header);
        let mut pdu = Vec::new();
        gsm.write_to(&mut pdu);
        assert_eq!(to_hex(&pdu), "090500034C0202D069");
        assert!(gsm.has_header);

        let ucs = encode(Alphabet::Ucs2, &[0x04, 0x42], &header);
        let mut pdu = Vec::new();
        ucs.write_to(&mut pdu);
        assert_eq!(to_hex(&pdu), "080500034C02020442");

        let plain = encode(Alphabet::Eight, &[0xDE, 0xAD], &[]);
        let mut pdu = Vec::new();
        plain.write_to(&mut pdu);
        assert_eq!(to_hex(&pdu), "02DEAD");
        assert!(!plain.has_header);
    }
}
