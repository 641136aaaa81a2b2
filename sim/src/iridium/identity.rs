//! What a simulated 9603 says about itself: manufacturer, model, firmware versions and IMEI.

/// The IMEI of transceiver 0 unless `--imei` says otherwise.
pub const DEFAULT_IMEI: &str = "300234063904190";
/// What `AT+CGMI` (and `ATI`) answers.
pub const MANUFACTURER: &str = "Iridium";
/// What `AT+CGMM` answers.
pub const MODEL: &str = "IRIDIUM 9600 Family SBD Transceiver";
/// What `ATI4` answers.
pub const PRODUCT: &str = "IRIDIUM 9600 Family";
/// The call processor firmware version (`ATI3`, first line of `AT+CGMR`).
pub const FIRMWARE: &str = "TA19002";
/// What `AT+CGMR` answers, one line per component, as a 9603 does.
pub const REVISION_LINES: [&str; 7] = [
    "Call Processor Version: TA19002",
    "Modem DSP Version: 1.7 svn: 2358",
    "DBB Version: 0x0001 (ASIC)",
    "RFA Version: 0x0007 (SRFA2)",
    "NVM Version: KVS",
    "Hardware Version: BOOT07d2/9603NrvA-D/04/RAW0d",
    "BOOT Version: TA19002 (rev exported)",
];

/// Whether `text` looks like an IMEI as a 9603 reports it: 15 digits. (Iridium IMEIs do not
/// always carry a valid Luhn digit, so none is required.)
pub fn is_imei(text: &str) -> bool {
    text.len() == 15 && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// The IMEI of transceiver `index`: `first` plus `index`, kept to 15 digits.
pub fn imei_for_index(first: &str, index: usize) -> String {
    const LIMIT: u64 = 1_000_000_000_000_000;
    let first: u64 = first.parse().unwrap_or(0);
    format!("{:015}", (first + index as u64) % LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imeis_count_up_from_the_first() {
        assert_eq!(imei_for_index(DEFAULT_IMEI, 0), DEFAULT_IMEI);
        assert_eq!(imei_for_index(DEFAULT_IMEI, 1), "300234063904191");
        assert_eq!(imei_for_index("999999999999999", 1), "000000000000000");
        assert!(is_imei(DEFAULT_IMEI));
        assert!(!is_imei("30023406390419"));
        assert!(!is_imei("30023406390419x"));
    }
}
