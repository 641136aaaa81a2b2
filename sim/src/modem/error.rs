//! How a failed AT command is reported: plain `ERROR`, `+CME ERROR` or `+CMS ERROR`.

/// `+CME ERROR` codes the simulated modem uses (3GPP TS 27.007 §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmeError {
    /// 3: operation not allowed.
    OperationNotAllowed,
    /// 4: operation not supported.
    OperationNotSupported,
    /// 10: SIM not inserted.
    SimNotInserted,
    /// 11: SIM PIN required.
    SimPinRequired,
    /// 16: incorrect password.
    IncorrectPassword,
    /// 504 (Quectel): the GNSS session is already running.
    GnssSessionOngoing,
    /// 505 (Quectel): no GNSS session is running.
    GnssSessionInactive,
    /// 516 (Quectel): no fix yet.
    GnssNoFix,
}

impl CmeError {
    fn code(self) -> u16 {
        match self {
            Self::OperationNotAllowed => 3,
            Self::OperationNotSupported => 4,
            Self::SimNotInserted => 10,
            Self::SimPinRequired => 11,
            Self::IncorrectPassword => 16,
            Self::GnssSessionOngoing => 504,
            Self::GnssSessionInactive => 505,
            Self::GnssNoFix => 516,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::OperationNotAllowed => "operation not allowed",
            Self::OperationNotSupported => "operation not supported",
            Self::SimNotInserted => "SIM not inserted",
            Self::SimPinRequired => "SIM PIN required",
            Self::IncorrectPassword => "incorrect password",
            Self::GnssSessionOngoing => "Session is ongoing",
            Self::GnssSessionInactive => "Session not active",
            Self::GnssNoFix => "Not fixed now",
        }
    }
}

/// `+CMS ERROR` codes the simulated modem uses (3GPP TS 27.005 §3.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmsError {
    /// 303: operation not supported (for example SMS commands in text mode).
    OperationNotSupported,
    /// 304: invalid PDU mode parameter (bad hex, wrong length, undecodable PDU).
    InvalidPduParameter,
    /// 310: SIM not inserted.
    SimNotInserted,
    /// 311: SIM PIN required.
    SimPinRequired,
    /// 321: invalid memory index.
    InvalidMemoryIndex,
    /// 331: no network service.
    NoNetworkService,
    /// 340: no +CNMA acknowledgement expected.
    NoAckExpected,
}

impl CmsError {
    fn code(self) -> u16 {
        match self {
            Self::OperationNotSupported => 303,
            Self::InvalidPduParameter => 304,
            Self::SimNotInserted => 310,
            Self::SimPinRequired => 311,
            Self::InvalidMemoryIndex => 321,
            Self::NoNetworkService => 331,
            Self::NoAckExpected => 340,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::OperationNotSupported => "operation not supported",
            Self::InvalidPduParameter => "invalid PDU mode parameter",
            Self::SimNotInserted => "SIM not inserted",
            Self::SimPinRequired => "SIM PIN required",
            Self::InvalidMemoryIndex => "invalid memory index",
            Self::NoNetworkService => "no network service",
            Self::NoAckExpected => "no +CNMA acknowledgement expected",
        }
    }
}

/// Why an AT command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandError {
    /// The command is unknown or malformed: always a plain `ERROR`.
    Syntax,
    /// A mobile equipment error, shown as `+CME ERROR` once `AT+CMEE` is 1 or 2.
    Cme(CmeError),
    /// A message service error, shown as `+CMS ERROR` once `AT+CMEE` is 1 or 2.
    Cms(CmsError),
}

/// The `AT+CMEE` setting: how errors are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorReporting {
    /// `AT+CMEE=0`: plain `ERROR`.
    #[default]
    Plain,
    /// `AT+CMEE=1`: numeric codes.
    Numeric,
    /// `AT+CMEE=2`: verbose texts.
    Verbose,
}

impl ErrorReporting {
    /// The setting for an `AT+CMEE=<n>` value, if it is one.
    pub fn from_level(level: u8) -> Option<Self> {
        match level {
            0 => Some(Self::Plain),
            1 => Some(Self::Numeric),
            2 => Some(Self::Verbose),
            _ => None,
        }
    }

    /// The `<n>` of `+CMEE: <n>`.
    pub fn level(self) -> u8 {
        match self {
            Self::Plain => 0,
            Self::Numeric => 1,
            Self::Verbose => 2,
        }
    }

    /// The final result line for `error`, without line ends.
    pub fn final_line(self, error: CommandError) -> String {
        let (prefix, code, text) = match error {
            CommandError::Syntax => return "ERROR".to_owned(),
            CommandError::Cme(cme) => ("+CME ERROR", cme.code(), cme.text()),
            CommandError::Cms(cms) => ("+CMS ERROR", cms.code(), cms.text()),
        };
        match self {
            Self::Plain => "ERROR".to_owned(),
            Self::Numeric => format!("{prefix}: {code}"),
            Self::Verbose => format!("{prefix}: {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_follow_cmee() {
        let sim_missing = CommandError::Cme(CmeError::SimNotInserted);
        assert_eq!(ErrorReporting::Plain.final_line(sim_missing), "ERROR");
        assert_eq!(
            ErrorReporting::Numeric.final_line(sim_missing),
            "+CME ERROR: 10"
        );
        assert_eq!(
            ErrorReporting::Verbose.final_line(sim_missing),
            "+CME ERROR: SIM not inserted"
        );
        let bad_index = CommandError::Cms(CmsError::InvalidMemoryIndex);
        assert_eq!(
            ErrorReporting::Numeric.final_line(bad_index),
            "+CMS ERROR: 321"
        );
        assert_eq!(
            ErrorReporting::Numeric.final_line(CommandError::Syntax),
            "ERROR"
        );
    }
}
