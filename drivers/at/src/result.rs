//! Final result codes: the line that ends a command's response (`OK`, `ERROR`, `+CME ERROR: 10`, ...).

use std::fmt;

use crate::codes::{CME_CODES, CMS_CODES, code_of, meaning_of};

/// The final result code that ends the response to a command (ITU-T V.250 §5.7, TS 27.007 §9.2,
/// TS 27.005 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    /// `OK`: the command succeeded.
    Ok,
    /// `ERROR`: the command failed, no reason given.
    Error,
    /// `+CME ERROR: <err>`: a mobile equipment error.
    CmeError(CmeError),
    /// `+CMS ERROR: <err>`: a message service error.
    CmsError(CmsError),
    /// `NO CARRIER`: a call or data connection could not be set up or was dropped.
    NoCarrier,
    /// `BUSY`: the called party is busy.
    Busy,
    /// `NO ANSWER`: the called party did not answer.
    NoAnswer,
    /// `NO DIALTONE`: no dial tone.
    NoDialtone,
}

impl FinalResult {
    /// Parses a line (without its line ending) as a final result code; `None` if it is not one.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        if let Some(text) = line.strip_prefix("+CME ERROR:") {
            return Some(Self::CmeError(CmeError::from_text(text)));
        }
        if let Some(text) = line.strip_prefix("+CMS ERROR:") {
            return Some(Self::CmsError(CmsError::from_text(text)));
        }
        match line {
            "OK" => Some(Self::Ok),
            "ERROR" => Some(Self::Error),
            "NO CARRIER" => Some(Self::NoCarrier),
            "BUSY" => Some(Self::Busy),
            "NO ANSWER" => Some(Self::NoAnswer),
            "NO DIALTONE" | "NO DIAL TONE" => Some(Self::NoDialtone),
            _ => None,
        }
    }
}

/// Writes the result code as a modem sends it, e.g. `OK` or `+CME ERROR: 10`.
impl fmt::Display for FinalResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok => f.write_str("OK"),
            Self::Error => f.write_str("ERROR"),
            Self::CmeError(error) => write!(f, "+CME ERROR: {}", error.text),
            Self::CmsError(error) => write!(f, "+CMS ERROR: {}", error.text),
            Self::NoCarrier => f.write_str("NO CARRIER"),
            Self::Busy => f.write_str("BUSY"),
            Self::NoAnswer => f.write_str("NO ANSWER"),
            Self::NoDialtone => f.write_str("NO DIALTONE"),
        }
    }
}

/// A mobile equipment error, `+CME ERROR: 10` (numeric, `AT+CMEE=1`) or
/// `+CME ERROR: SIM not inserted` (verbose, `AT+CMEE=2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmeError {
    /// The numeric code (TS 27.007 §9.2); for a verbose error, the code whose meaning matches the
    /// text. `None` for a text the table does not know (vendor specific).
    pub code: Option<u16>,
    /// The text after `+CME ERROR:` as the modem sent it, e.g. `10` or `SIM not inserted`.
    pub text: String,
}

impl CmeError {
    /// Parses the text after `+CME ERROR:`.
    pub fn from_text(text: &str) -> Self {
        let (code, text) = parse_error_text(CME_CODES, text);
        Self { code, text }
    }

    /// What the error means, from TS 27.007 §9.2 (e.g. 10 -> "SIM not inserted"); the modem's own
    /// text for a code the table does not know.
    pub fn meaning(&self) -> &str {
        meaning(CME_CODES, self.code, &self.text)
    }
}

/// Writes `CME error 10: SIM not inserted`.
impl fmt::Display for CmeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_error(f, "CME", self.code, self.meaning())
    }
}

impl std::error::Error for CmeError {}

/// A message service error, `+CMS ERROR: 500` or `+CMS ERROR: SIM not inserted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmsError {
    /// The numeric code (TS 27.005 §3.2.5; below 300 the network's cause, TS 24.011 and
    /// TS 23.040); for a verbose error, the code whose meaning matches the text.
    pub code: Option<u16>,
    /// The text after `+CMS ERROR:` as the modem sent it, e.g. `500`.
    pub text: String,
}

impl CmsError {
    /// Parses the text after `+CMS ERROR:`.
    pub fn from_text(text: &str) -> Self {
        let (code, text) = parse_error_text(CMS_CODES, text);
        Self { code, text }
    }

    /// What the error means (e.g. 500 -> "unknown error", 304 -> "invalid PDU mode parameter");
    /// the modem's own text for a code the table does not know.
    pub fn meaning(&self) -> &str {
        meaning(CMS_CODES, self.code, &self.text)
    }
}

/// Writes `CMS error 500: unknown error`.
impl fmt::Display for CmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_error(f, "CMS", self.code, self.meaning())
    }
}

impl std::error::Error for CmsError {}

/// Splits the text of an error result into its code (numeric, or looked up from verbose text) and
/// the trimmed text.
fn parse_error_text(table: &[(u16, &str)], text: &str) -> (Option<u16>, String) {
    let text = text.trim();
    let code = text.parse::<u16>().ok().or_else(|| code_of(table, text));
    (code, text.to_owned())
}

fn meaning<'a>(table: &[(u16, &'static str)], code: Option<u16>, text: &'a str) -> &'a str {
    match code.and_then(|code| meaning_of(table, code)) {
        Some(known) => known,
        None if text.is_empty() => "unknown error",
        None => text,
    }
}

fn write_error(
    f: &mut fmt::Formatter<'_>,
    kind: &str,
    code: Option<u16>,
    meaning: &str,
) -> fmt::Result {
    match code {
        Some(code) => write!(f, "{kind} error {code}: {meaning}"),
        None => write!(f, "{kind} error: {meaning}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_result_codes() {
        assert_eq!(FinalResult::parse("OK"), Some(FinalResult::Ok));
        assert_eq!(FinalResult::parse("ERROR"), Some(FinalResult::Error));
        assert_eq!(
            FinalResult::parse("NO CARRIER"),
            Some(FinalResult::NoCarrier)
        );
        assert_eq!(FinalResult::parse("BUSY"), Some(FinalResult::Busy));
        assert_eq!(FinalResult::parse("NO ANSWER"), Some(FinalResult::NoAnswer));
        assert_eq!(
            FinalResult::parse("NO DIALTONE"),
            Some(FinalResult::NoDialtone)
        );
        assert_eq!(FinalResult::parse("OKAY"), None);
        assert_eq!(FinalResult::parse("+CSQ: 20,99"), None);
    }

    #[test]
    fn numeric_cme_error_has_its_meaning() {
        let Some(FinalResult::CmeError(error)) = FinalResult::parse("+CME ERROR: 10") else {
            panic!("not a CME error");
        };
        assert_eq!(error.code, Some(10));
        assert_eq!(error.meaning(), "SIM not inserted");
        assert_eq!(error.to_string(), "CME error 10: SIM not inserted");
    }

    #[test]
    fn verbose_cme_error_maps_back_to_its_code() {
        let error = CmeError::from_text(" SIM not inserted");
        assert_eq!(error.code, Some(10));
        assert_eq!(error.text, "SIM not inserted");
        assert_eq!(error.to_string(), "CME error 10: SIM not inserted");
    }

    #[test]
    fn unknown_cme_errors_keep_the_modem_text() {
        let vendor = CmeError::from_text("Unknown PDP context state");
        assert_eq!(vendor.code, None);
        assert_eq!(vendor.meaning(), "Unknown PDP context state");
        assert_eq!(vendor.to_string(), "CME error: Unknown PDP context state");
        let unlisted = CmeError::from_text("9999");
        assert_eq!(unlisted.to_string(), "CME error 9999: 9999");
        assert_eq!(CmeError::from_text("").meaning(), "unknown error");
    }

    #[test]
    fn cms_errors_from_ts_27_005_and_the_network() {
        assert_eq!(
            CmsError::from_text("500").to_string(),
            "CMS error 500: unknown error"
        );
        assert_eq!(
            CmsError::from_text("304").meaning(),
            "invalid PDU mode parameter"
        );
        assert_eq!(CmsError::from_text("330").meaning(), "SMSC address unknown");
        assert_eq!(
            CmsError::from_text("21").meaning(),
            "short message transfer rejected"
        );
        assert_eq!(CmsError::from_text("SIM PIN required").code, Some(311));
    }

    #[test]
    fn display_gives_the_line_back() {
        for line in [
            "OK",
            "+CME ERROR: SIM busy",
            "+CMS ERROR: 500",
            "NO DIALTONE",
        ] {
            let result = FinalResult::parse(line).unwrap();
            assert_eq!(result.to_string(), line);
        }
    }
}
