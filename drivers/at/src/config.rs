//! Which lines a modem sends unsolicited (URCs).

/// What tells a URC from a response line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelConfig {
    /// A line starting with one of these is a URC, even while a command is in flight (unless it
    /// starts with that command's own response prefix).
    pub urc_prefixes: Vec<String>,
    /// URCs whose next line belongs to them (`+CMT:` header, then the PDU line).
    pub two_line_urcs: Vec<String>,
}

/// The URCs of 3GPP TS 27.007/27.005 modems and the common vendor ones.
const GSM_URC_PREFIXES: &[&str] = &[
    // SMS and cell broadcast (TS 27.005)
    "+CMTI:",
    "+CMT:",
    "+CDS:",
    "+CDSI:",
    "+CBM:",
    // registration, packet domain, time zone (TS 27.007)
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+C5GREG:",
    "+CGEV:",
    "+CTZV:",
    "+CTZE:",
    "+NITZ",
    "+CSCON:",
    // calls, USSD, indicators, SIM
    "RING",
    "+CRING:",
    "+CLIP:",
    "NO CARRIER",
    "+CUSD:",
    "+CIEV:",
    "+CPIN:",
    "+CFUN:",
    // Huawei (^BOOT:, ^RSSI:, ^MODE:, ...)
    "^",
    // Quectel
    "RDY",
    "+QIND:",
    "+QUSIM:",
    "+QIURC:",
    "POWERED DOWN",
    // SIMCom
    "SMS DONE",
    "PB DONE",
    "Call Ready",
    "NORMAL POWER DOWN",
    // Iridium SBD
    "SBDRING",
];

/// URCs that take the next line along (TS 27.005 §3.4.1: `+CMT:`, `+CDS:`, `+CBM:` in PDU mode).
const GSM_TWO_LINE_URCS: &[&str] = &["+CMT:", "+CDS:", "+CBM:"];

impl ChannelConfig {
    /// The URCs of 3GPP modems (Quectel, SIMCom, Huawei and u-blox included) and Iridium SBD.
    pub fn gsm() -> Self {
        Self {
            urc_prefixes: to_strings(GSM_URC_PREFIXES),
            two_line_urcs: to_strings(GSM_TWO_LINE_URCS),
        }
    }

    /// Whether `line` starts with a configured URC prefix.
    pub fn is_urc(&self, line: &str) -> bool {
        starts_with_any(line, &self.urc_prefixes)
    }

    /// Whether `line` starts a two-line URC.
    pub fn is_two_line_urc(&self, line: &str) -> bool {
        starts_with_any(line, &self.two_line_urcs)
    }
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn starts_with_any(line: &str, prefixes: &[String]) -> bool {
    prefixes
        .iter()
        .any(|prefix| line.starts_with(prefix.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm_urcs() {
        let config = ChannelConfig::gsm();
        assert!(config.is_urc("+CMTI: \"SM\",3"));
        assert!(config.is_urc("^RSSI:17"));
        assert!(config.is_urc("RING"));
        assert!(!config.is_urc("+CSQ: 20,99"));
        assert!(config.is_two_line_urc("+CMT: ,24"));
        assert!(!config.is_two_line_urc("+CMTI: \"SM\",3"));
        assert!(!config.is_two_line_urc("+CDSI: \"SR\",1"));
    }
}
