//! The result of an SBD session (`+SBDIX:` after `AT+SBDIX` or `AT+SBDIXA`) and what its MO
//! status codes mean, from the Iridium ISU AT Command Reference (9602/9603).
//!
//! | MO status | meaning | class |
//! |---|---|---|
//! | 0 | MO message, if any, transferred successfully | success |
//! | 1 | transferred, but the queued MT message was too big to be transferred | success |
//! | 2 | transferred, but the requested location update was not accepted | success |
//! | 3..=4 | reserved, but indicate MO session success | success |
//! | 5..=8 | reserved, but indicate MO session failure | transient |
//! | 10 | the gateway reported that the call did not complete in the allowed time | transient |
//! | 11 | the MO message queue at the gateway is full | transient |
//! | 12 | the MO message has too many segments | message rejected |
//! | 13 | the gateway reported that the session did not complete | transient |
//! | 14 | invalid segment size | message rejected |
//! | 15 | access is denied | terminal failed (`access-denied`) |
//! | 16 | the terminal has been locked and may not make SBD calls (+CULK) | terminal failed (`locked`) |
//! | 17 | gateway not responding (local session timeout) | transient |
//! | 18 | connection lost (RF drop) | transient |
//! | 19 | link failure (a protocol error caused termination of the call) | transient |
//! | 20..=31 | reserved, but indicate failure | transient |
//! | 32 | no network service, unable to initiate call | transient |
//! | 33 | antenna fault, unable to initiate call | terminal failed (`antenna-fault`) |
//! | 34 | radio is disabled, unable to initiate call (see *Rn) | terminal failed (`radio-disabled`) |
//! | 35 | the terminal is busy, unable to initiate call | transient |
//! | 36 | try later, must wait 3 minutes since last registration | transient (waits 3 min) |
//! | 37 | SBD service is temporarily disabled | transient |
//! | 38 | try later, traffic management period (see +SBDLOE) | transient |
//! | 39..=63 | reserved, but indicate failure | transient |
//! | 64 | band violation (attempt to transmit outside permitted frequency band) | terminal failed (`band-violation`) |
//! | 65 | PLL lock failure; hardware error during attempted transmit | terminal failed (`hardware-failure`) |
//! | 9, 66.. | not defined by the manual | transient |
//!
//! "Message rejected" fails only the message (the gateway will not take it as it is); "terminal
//! failed" fails the message and the device, which needs attention (subscription, antenna,
//! hardware) and a `Reset`. Undefined codes are retried: giving up on a message for a code
//! nobody documented would lose it, and the backoff bounds the cost.

use std::fmt;

use crate::parse::first_numbers;

/// The six fields of `+SBDIX: <MO status>, <MOMSN>, <MT status>, <MTMSN>, <MT length>, <MT queued>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionResult {
    /// Disposition of the mobile-originated transfer.
    pub mo_status: MoStatus,
    /// Sequence number of the MO message (of the next one when none was sent).
    pub momsn: u16,
    /// Disposition of the mailbox check.
    pub mt_status: MtStatus,
    /// Sequence number of the received MT message (0 when none).
    pub mtmsn: u16,
    /// Length of the received MT message in bytes.
    pub mt_length: u16,
    /// MT messages still queued at the gateway.
    pub mt_queued: u16,
}

impl SessionResult {
    /// Reads the `+SBDIX:` line among `lines`; `None` when there is none or it is malformed.
    pub fn parse(lines: &[String]) -> Option<Self> {
        let fields = first_numbers(lines, "+SBDIX:")?;
        let [mo_status, momsn, mt_status, mtmsn, mt_length, mt_queued] = fields[..] else {
            return None;
        };
        let u16_of = |value: i64| u16::try_from(value).ok();
        Some(SessionResult {
            mo_status: MoStatus(u8::try_from(mo_status).ok()?),
            momsn: u16_of(momsn)?,
            mt_status: MtStatus::from_code(mt_status)?,
            mtmsn: u16_of(mtmsn)?,
            mt_length: u16_of(mt_length)?,
            mt_queued: u16_of(mt_queued)?,
        })
    }

    /// Whether the whole session worked: the MO side succeeded and the mailbox was checked.
    pub fn succeeded(&self) -> bool {
        self.mo_status.class() == MoClass::Success && self.mt_status != MtStatus::Error
    }
}

/// The MT status of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MtStatus {
    /// 0: no message was waiting at the gateway.
    NoMessage,
    /// 1: a message was received into the MT buffer.
    Received,
    /// 2: an error occurred while checking the mailbox or receiving the message.
    Error,
}

impl MtStatus {
    fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(MtStatus::NoMessage),
            1 => Some(MtStatus::Received),
            2 => Some(MtStatus::Error),
            _ => None,
        }
    }
}

/// How the driver treats an MO status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MoClass {
    /// The MO message, if any, reached the gateway.
    Success,
    /// Try the session again later.
    Transient,
    /// The gateway will not take this message; fail it, keep the terminal.
    MessageRejected,
    /// The terminal cannot make SBD calls until someone acts; the `StateReason` to publish.
    TerminalFailed(&'static str),
}

/// An MO status code of `+SBDIX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MoStatus(u8);

impl MoStatus {
    /// The code.
    pub fn code(self) -> u8 {
        self.0
    }

    /// What the code means, after the manual.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0 => "MO message, if any, transferred successfully",
            1 => {
                "MO message, if any, transferred successfully, but the MT message in the queue was too big to be transferred"
            }
            2 => {
                "MO message, if any, transferred successfully, but the requested location update was not accepted"
            }
            3..=4 => "reserved, but indicates MO session success",
            5..=8 | 20..=31 | 39..=63 => "reserved, but indicates failure",
            10 => "the gateway reported that the call did not complete in the allowed time",
            11 => "the MO message queue at the gateway is full",
            12 => "the MO message has too many segments",
            13 => "the gateway reported that the session did not complete",
            14 => "invalid segment size",
            15 => "access is denied",
            16 => "the terminal has been locked and may not make SBD calls (see +CULK)",
            17 => "gateway not responding (local session timeout)",
            18 => "connection lost (RF drop)",
            19 => "link failure (a protocol error caused termination of the call)",
            32 => "no network service, unable to initiate call",
            33 => "antenna fault, unable to initiate call",
            34 => "radio is disabled, unable to initiate call (see *Rn)",
            35 => "the terminal is busy, unable to initiate call",
            36 => "try later, must wait 3 minutes since last registration",
            37 => "SBD service is temporarily disabled",
            38 => "try later, traffic management period (see +SBDLOE)",
            64 => "band violation (attempt to transmit outside permitted frequency band)",
            65 => "PLL lock failure; hardware error during attempted transmit",
            _ => "not defined by the ISU AT Command Reference",
        }
    }

    /// How the driver treats the code (see the module table).
    pub fn class(self) -> MoClass {
        match self.0 {
            0..=4 => MoClass::Success,
            12 | 14 => MoClass::MessageRejected,
            15 => MoClass::TerminalFailed("access-denied"),
            16 => MoClass::TerminalFailed("locked"),
            33 => MoClass::TerminalFailed("antenna-fault"),
            34 => MoClass::TerminalFailed("radio-disabled"),
            64 => MoClass::TerminalFailed("band-violation"),
            65 => MoClass::TerminalFailed("hardware-failure"),
            _ => MoClass::Transient,
        }
    }

    /// Whether the terminal asks to wait 3 minutes before the next try (36).
    pub fn must_wait_for_registration(self) -> bool {
        self.0 == 36
    }
}

/// Writes `MO status 15: access is denied`.
impl fmt::Display for MoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MO status {}: {}", self.0, self.meaning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_all_six_fields() {
        let result = SessionResult::parse(&lines(&["+SBDIX: 0, 23, 1, 1093, 21, 2"])).unwrap();
        assert_eq!(
            result,
            SessionResult {
                mo_status: MoStatus(0),
                momsn: 23,
                mt_status: MtStatus::Received,
                mtmsn: 1093,
                mt_length: 21,
                mt_queued: 2,
            }
        );
        assert!(result.succeeded());
        let no_service = SessionResult::parse(&lines(&["+SBDIX:32,22,2,0,0,0"])).unwrap();
        assert_eq!(no_service.mo_status.class(), MoClass::Transient);
        assert!(!no_service.succeeded());
    }

    #[test]
    fn malformed_results_are_none() {
        for bad in [
            "+SBDIX: 0, 23, 1, 1093, 21",
            "+SBDIX: 0, 23, 3, 1093, 21, 0",
            "+SBDIX: 0, 70000, 0, 0, 0, 0",
            "+SBDIX: 300, 1, 0, 0, 0, 0",
            "+SBDIX: a, 1, 0, 0, 0, 0",
            "+SBDI: 0, 1, 0, 0, 0",
        ] {
            assert_eq!(SessionResult::parse(&lines(&[bad])), None, "{bad}");
        }
    }

    #[test]
    fn classes_follow_the_manual() {
        let class = |code| MoStatus(code).class();
        for code in [0, 1, 2, 3, 4] {
            assert_eq!(class(code), MoClass::Success, "{code}");
        }
        for code in [
            5, 8, 10, 11, 13, 17, 18, 19, 20, 31, 32, 35, 36, 37, 38, 39, 63, 66,
        ] {
            assert_eq!(class(code), MoClass::Transient, "{code}");
        }
        assert_eq!(class(12), MoClass::MessageRejected);
        assert_eq!(class(14), MoClass::MessageRejected);
        assert_eq!(class(15), MoClass::TerminalFailed("access-denied"));
        assert_eq!(class(16), MoClass::TerminalFailed("locked"));
        assert_eq!(class(33), MoClass::TerminalFailed("antenna-fault"));
        assert_eq!(class(34), MoClass::TerminalFailed("radio-disabled"));
        assert_eq!(class(64), MoClass::TerminalFailed("band-violation"));
        assert_eq!(class(65), MoClass::TerminalFailed("hardware-failure"));
    }

    #[test]
    fn display_names_code_and_meaning() {
        assert_eq!(MoStatus(15).to_string(), "MO status 15: access is denied");
        assert_eq!(
            MoStatus(32).to_string(),
            "MO status 32: no network service, unable to initiate call"
        );
        assert_eq!(
            MoStatus(25).to_string(),
            "MO status 25: reserved, but indicates failure"
        );
        assert!(MoStatus(36).must_wait_for_registration());
    }
}
