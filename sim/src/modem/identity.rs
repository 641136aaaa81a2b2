//! The numbers that identify a simulated modem and its SIM: IMEI, IMSI, ICCID.

/// The IMEI of modem 0 unless `--imei` says otherwise.
pub const DEFAULT_IMEI: &str = "356938035643809";
/// Home network of the simulated SIMs (MCC 262, MNC 01).
pub const HOME_PLMN: &str = "26201";

/// The identity numbers of one simulated modem and its SIM card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// 15-digit IMEI with Luhn check digit.
    pub imei: String,
    /// 15-digit IMSI in the home network.
    pub imsi: String,
    /// 20-digit ICCID with Luhn check digit.
    pub iccid: String,
}

impl Identity {
    /// The identity of the modem with this index. Modem 0 gets `first_imei` (a valid IMEI),
    /// modem `i` the IMEI whose 14-digit body is `i` more, so every modem's numbers differ.
    pub fn for_index(first_imei: &str, index: usize) -> Self {
        let body: u64 = first_imei
            .get(..14)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0);
        let imei_body = (body + index as u64) % 100_000_000_000_000;
        Self {
            imei: with_luhn_digit(&format!("{imei_body:014}")),
            imsi: format!("{HOME_PLMN}{:010}", 1_234_500_000 + index as u64),
            iccid: with_luhn_digit(&format!("8949010000{:09}", 123_450_000 + index as u64)),
        }
    }
}

/// `payload` followed by its Luhn check digit. `payload` must be ASCII digits.
pub fn with_luhn_digit(payload: &str) -> String {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte.wrapping_sub(b'0'));
            if position % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    format!("{payload}{}", (10 - sum % 10) % 10)
}

/// Whether `text` is a 15-digit IMEI whose last digit is its Luhn check digit.
pub fn is_valid_imei(text: &str) -> bool {
    text.len() == 15
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && with_luhn_digit(&text[..14]) == text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modem_zero_has_the_documented_imei() {
        assert_eq!(Identity::for_index(DEFAULT_IMEI, 0).imei, "356938035643809");
    }

    #[test]
    fn luhn_digit_matches_known_numbers() {
        // The IMEI example of GSMA TS.06 / Wikipedia: 49015420323751-8.
        assert_eq!(with_luhn_digit("49015420323751"), "490154203237518");
        assert!(is_valid_imei("490154203237518"));
        assert!(!is_valid_imei("490154203237519"));
        assert!(!is_valid_imei("49015420323751"));
    }

    #[test]
    fn identities_are_distinct_and_valid() {
        let first = Identity::for_index(DEFAULT_IMEI, 0);
        let second = Identity::for_index(DEFAULT_IMEI, 1);
        assert_ne!(first.imei, second.imei);
        assert_ne!(first.imsi, second.imsi);
        assert_eq!(second.imei, "356938035643817");
        assert!(is_valid_imei(&second.imei));
        assert_eq!(first.imsi, "262011234500000");
        assert_eq!(first.iccid.len(), 20);
    }
}
