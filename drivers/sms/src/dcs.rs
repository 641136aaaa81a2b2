//! TP-DCS, the data coding scheme (3GPP TS 23.038 section 4), reduced to the alphabet.

use crate::SmsError;

/// The character set of the user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// GSM 7-bit default alphabet with its extension table.
    Gsm7,
    /// UCS-2, read and written as UTF-16 (surrogate pairs kept).
    Ucs2,
    /// 8-bit data.
    Eight,
}

impl Alphabet {
    /// The alphabet TP-DCS announces. Every coding group is understood: general data coding
    /// (with or without class, also marked for automatic deletion), message waiting indication
    /// (0xC0-0xEF) and data coding/message class (0xF0). Reserved values read as GSM 7-bit, as
    /// TS 23.038 asks; compressed user data is an error.
    pub(crate) fn from_dcs(dcs: u8) -> Result<Self, SmsError> {
        match dcs >> 4 {
            // General data coding (0x0_-0x3_) and automatic deletion (0x4_-0x7_) groups.
            0x0..=0x7 if dcs & 0x20 != 0 => Err(SmsError::CompressedUserData { dcs }),
            0x0..=0x7 => Ok(match (dcs >> 2) & 0x03 {
                0b01 => Self::Eight,
                0b10 => Self::Ucs2,
                _ => Self::Gsm7,
            }),
            // Message waiting indication, store message, UCS-2.
            0xE => Ok(Self::Ucs2),
            // Data coding/message class.
            0xF if dcs & 0x04 != 0 => Ok(Self::Eight),
            // Reserved groups 0x8_-0xB_ and message waiting 0xC_/0xD_.
            _ => Ok(Self::Gsm7),
        }
    }

    /// TP-DCS for this alphabet in the general data coding group, no message class.
    pub(crate) fn dcs(self) -> u8 {
        match self {
            Self::Gsm7 => 0x00,
            Self::Eight => 0x04,
            Self::Ucs2 => 0x08,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_coding_group() {
        let cases = [
            (0x00, Alphabet::Gsm7),
            (0x04, Alphabet::Eight),
            (0x08, Alphabet::Ucs2),
            (0x0C, Alphabet::Gsm7), // reserved alphabet
            (0x10, Alphabet::Gsm7), // class 0 (flash)
            (0x16, Alphabet::Eight),
            (0x19, Alphabet::Ucs2),
            (0x48, Alphabet::Ucs2), // marked for automatic deletion
            (0x80, Alphabet::Gsm7), // reserved group
            (0xC8, Alphabet::Gsm7), // message waiting, discard
            (0xD1, Alphabet::Gsm7), // message waiting, store
            (0xE0, Alphabet::Ucs2), // message waiting, store, UCS-2
            (0xF1, Alphabet::Gsm7),
            (0xF4, Alphabet::Eight),
            (0xF6, Alphabet::Eight),
        ];
        for (dcs, alphabet) in cases {
            assert_eq!(Alphabet::from_dcs(dcs), Ok(alphabet), "DCS 0x{dcs:02X}");
        }
    }

    #[test]
    fn compressed_is_an_error() {
        for dcs in [0x20, 0x28, 0x31, 0x60] {
            let error = Alphabet::from_dcs(dcs).unwrap_err();
            assert_eq!(error, SmsError::CompressedUserData { dcs });
        }
        assert_eq!(
            SmsError::CompressedUserData { dcs: 0x20 }.to_string(),
            "TP-DCS 0x20 announces compressed user data, which is not supported"
        );
    }

    #[test]
    fn encodes_general_data_coding() {
        for alphabet in [Alphabet::Gsm7, Alphabet::Ucs2, Alphabet::Eight] {
            assert_eq!(Alphabet::from_dcs(alphabet.dcs()), Ok(alphabet));
        }
    }
}
