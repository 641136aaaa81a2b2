//! One NMEA 0183 sentence: `$` address `,` fields `*` checksum, verified before anything in it is
//! believed.

use super::NmeaError;

/// Longest sentence accepted, `$` to the checksum. NMEA 0183 allows 82 characters with the line
/// end; receivers' proprietary sentences run longer, so there is slack, but a line that never
/// ends is not collected forever.
pub const MAX_SENTENCE: usize = 160;

/// A sentence whose checksum matched, split into its address and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// The address field: talker and sentence type (`GPGGA`, `GNRMC`), or a proprietary
    /// address (`PMTK001`, `PUBX`).
    pub address: String,
    /// The data fields after the address (empty strings for empty fields).
    pub fields: Vec<String>,
}

impl Sentence {
    /// Parses one line (without its line end). The checksum is required and must match.
    pub fn parse(line: &[u8]) -> Result<Sentence, NmeaError> {
        if line.len() > MAX_SENTENCE {
            return Err(NmeaError::TooLong);
        }
        let body = line.strip_prefix(b"$").ok_or(NmeaError::NoStart)?;
        let star = body
            .iter()
            .rposition(|&b| b == b'*')
            .ok_or(NmeaError::NoChecksum)?;
        let (data, checksum) = (&body[..star], &body[star + 1..]);
        let expected = parse_checksum(checksum).ok_or(NmeaError::NoChecksum)?;
        let actual = data.iter().fold(0u8, |sum, &b| sum ^ b);
        if actual != expected {
            return Err(NmeaError::Checksum { expected, actual });
        }
        if !data.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'$') {
            return Err(NmeaError::NotText);
        }
        // Checked to be printable ASCII above: UTF-8 by construction.
        let text = String::from_utf8_lossy(data);
        let mut parts = text.split(',').map(str::to_owned);
        let address = parts.next().unwrap_or_default();
        if address.is_empty() || !address.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(NmeaError::BadAddress);
        }
        Ok(Sentence {
            address,
            fields: parts.collect(),
        })
    }

    /// The talker (`GP`, `GN`, `GL`, `GA`, `GB`, ...) and sentence type (`GGA`) of a standard
    /// sentence; `None` for a proprietary one (`$P...`) or an address of another shape.
    pub fn talker_and_type(&self) -> Option<(&str, &str)> {
        let address = self.address.as_str();
        if address.starts_with('P') || address.len() != 5 {
            return None;
        }
        Some(address.split_at(2))
    }

    /// Field `index` (0 = the first after the address), "" when absent.
    pub fn field(&self, index: usize) -> &str {
        self.fields
            .get(index)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// Two hexadecimal digits (either case).
fn parse_checksum(digits: &[u8]) -> Option<u8> {
    if digits.len() != 2 {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// `$<body>*<checksum>`: the sentence as a receiver would send it (without the line end).
pub fn with_checksum(body: &str) -> String {
    format!("${body}*{:02X}", super::checksum(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_u_blox_gga_splits_into_address_and_fields() {
        let line = b"$GPGGA,083723.00,5155.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70";
        let sentence = Sentence::parse(line).unwrap();
        assert_eq!(sentence.talker_and_type(), Some(("GP", "GGA")));
        assert_eq!(sentence.fields.len(), 14);
        assert_eq!(sentence.field(1), "5155.55442");
        assert_eq!(sentence.field(12), "");
        assert_eq!(sentence.field(40), "");
    }

    #[test]
    fn checksums_are_required_and_verified() {
        let good = b"$GNVTG,286.35,T,,M,0.00,N,0.00,K,A*29";
        assert!(Sentence::parse(good).is_ok());
        assert_eq!(
            Sentence::parse(b"$GNVTG,286.35,T,,M,0.00,N,0.00,K,A*28"),
            Err(NmeaError::Checksum {
                expected: 0x28,
                actual: 0x29
            })
        );
        assert_eq!(
            Sentence::parse(b"$GNVTG,286.35,T,,M,0.00,N,0.00,K,A"),
            Err(NmeaError::NoChecksum)
        );
        assert_eq!(
            Sentence::parse(b"$GNVTG,286.35,T,,M,0.00,N,0.00,K,A*2"),
            Err(NmeaError::NoChecksum)
        );
        assert_eq!(
            Sentence::parse(b",0.00,K,A*29"),
            Err(NmeaError::NoStart),
            "the tail of a sentence cut at the start"
        );
        let lower = b"$GPTXT,01,01,02,ANTSTATUS=OK*3b";
        assert!(Sentence::parse(lower).is_ok(), "lower-case hex is accepted");
    }

    #[test]
    fn proprietary_sentences_have_no_talker() {
        let sentence = Sentence::parse(b"$PMTK001,320,2*30").unwrap();
        assert_eq!(sentence.address, "PMTK001");
        assert_eq!(sentence.talker_and_type(), None);
    }

    #[test]
    fn with_checksum_builds_what_parse_accepts() {
        assert_eq!(
            with_checksum("GPGLL,5155.55442,N,00434.65873,E,083723.00,A,A"),
            "$GPGLL,5155.55442,N,00434.65873,E,083723.00,A,A*6E"
        );
    }
}
