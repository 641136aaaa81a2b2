//! The initialisation sequence: identity, serial settings, ring alerts, indications and the state
//! of the terminal's message buffers.
//!
//! Each [`InitStep`] is one command; [`advance`] reads its answer into [`TerminalFacts`] and says
//! what comes next. Only a missing IMEI stops the sequence; every other command is optional. The
//! signal reading that ends initialisation is the driver's (it is the same as a `Refresh`).
//! Timeouts never reach [`advance`]: the driver retries the step and counts them.

use std::collections::BTreeMap;

use m2mhal_at::ident::{DeviceIdentity, find_imei, first_identity_value};
use m2mhal_at::{AtError, Command, Response};
use m2mhal_plugin_api::{DeviceKind, DeviceUpdate};

use crate::parse::{first_numbers, result_code};
use crate::resume;
use crate::sbd::MAX_PAYLOAD;

const STEP_TIMEOUT_MS: u64 = 5_000;

/// One step of the initialisation sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InitStep {
    /// `ATE0`.
    EchoOff,
    /// `AT&K0`: no flow control (3-wire boards such as the RockBLOCK have no RTS/CTS).
    FlowControlOff,
    /// `AT+CGMI`.
    Manufacturer,
    /// `AT+CGMM`.
    Model,
    /// `AT+CGMR` (several lines).
    Revision,
    /// `AT+CGSN`.
    Imei,
    /// `AT+SBDMTA=1`: `SBDRING` when the gateway has a message.
    RingAlerts,
    /// `AT+CIER=0`: indications off first, so that switching them on below reports the current
    /// signal and service even when they were left on before a restart.
    IndicationsOff,
    /// `AT+CIER=1,1,1`: `+CIEV` indications of signal and service.
    Indications,
    /// `AT+SBDD0`: clear the MO buffer (the host sends again what it still has).
    ClearMo,
    /// `AT+SBDS`: is there a message in the MT buffer that was never cleared?
    BufferStatus,
}

/// The first step of the sequence.
pub(crate) const FIRST_STEP: InitStep = InitStep::EchoOff;

/// What the initialisation learnt about the terminal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TerminalFacts {
    /// `AT+CGMI`, `AT+CGMM`, `AT+CGSN` and, as the revision, the call processor version from
    /// `AT+CGMR`.
    pub identity: DeviceIdentity,
    /// The hardware version from `AT+CGMR` (it tells a 9602 from a 9603).
    pub hardware: Option<String>,
    /// Whether `AT+CIER=1,1,1` was accepted (otherwise the signal is polled).
    pub indications: bool,
    /// Whether `AT+SBDD0` emptied the MO buffer.
    pub mo_cleared: bool,
    /// The MTMSN of a message left in the MT buffer (read before the last restart, maybe never
    /// committed by the host).
    pub mt_left: Option<u16>,
    /// The MOMSN the next session uses, as `AT+SBDS` reported it at initialisation (before any
    /// session of this driver instance): a message recorded with another one was sent.
    pub momsn: Option<u16>,
}

/// What follows a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Run this step next.
    Next(InitStep),
    /// Publish this device update, then run the step.
    Publish(Box<DeviceUpdate>, InitStep),
    /// Log this warning, then run the step.
    Warn(String, InitStep),
    /// A required command failed; the reason to publish.
    Failed(&'static str),
    /// Configuration is done: read the signal, then the terminal is ready.
    Configured,
}

impl InitStep {
    /// The command of this step.
    pub fn command(self) -> Command {
        let line = match self {
            InitStep::EchoOff => "ATE0",
            InitStep::FlowControlOff => "AT&K0",
            InitStep::Manufacturer => "AT+CGMI",
            InitStep::Model => "AT+CGMM",
            InitStep::Revision => "AT+CGMR",
            InitStep::Imei => "AT+CGSN",
            InitStep::RingAlerts => "AT+SBDMTA=1",
            InitStep::IndicationsOff => "AT+CIER=0",
            InitStep::Indications => "AT+CIER=1,1,1",
            InitStep::ClearMo => "AT+SBDD0",
            InitStep::BufferStatus => "AT+SBDS",
        };
        Command::new(line, STEP_TIMEOUT_MS)
    }
}

/// Reads the answer to `step` (never a timeout) and says what follows.
pub(crate) fn advance(
    step: InitStep,
    result: Result<Response, AtError>,
    facts: &mut TerminalFacts,
) -> Outcome {
    let lines = Response::lines_of(&result);
    match step {
        InitStep::EchoOff => Outcome::Next(InitStep::FlowControlOff),
        InitStep::FlowControlOff => Outcome::Next(InitStep::Manufacturer),
        InitStep::Manufacturer => {
            facts.identity.manufacturer = first_identity_value(lines).unwrap_or_default();
            Outcome::Next(InitStep::Model)
        }
        InitStep::Model => {
            facts.identity.model = first_identity_value(lines).unwrap_or_default();
            Outcome::Next(InitStep::Revision)
        }
        InitStep::Revision => {
            facts.identity.revision = labelled(lines, "Call Processor Version")
                .or_else(|| first_identity_value(lines))
                .unwrap_or_default();
            facts.hardware = labelled(lines, "Hardware Version");
            Outcome::Next(InitStep::Imei)
        }
        InitStep::Imei => match find_imei(lines) {
            Some(imei) => {
                facts.identity.imei = imei;
                Outcome::Publish(Box::new(identity_update(facts)), InitStep::RingAlerts)
            }
            None => Outcome::Failed("imei-unavailable"),
        },
        InitStep::RingAlerts => match result {
            Ok(_) => Outcome::Next(InitStep::IndicationsOff),
            Err(error) => Outcome::Warn(
                format!("AT+SBDMTA=1 failed ({error}): no ring alerts, messages wait for a Poll"),
                InitStep::IndicationsOff,
            ),
        },
        // Its answer does not matter: the next step tells whether indications work.
        InitStep::IndicationsOff => Outcome::Next(InitStep::Indications),
        InitStep::Indications => {
            facts.indications = result.is_ok();
            match result {
                Ok(_) => Outcome::Next(InitStep::ClearMo),
                Err(error) => Outcome::Warn(
                    format!("AT+CIER=1,1,1 failed ({error}): the signal is polled with AT+CSQ"),
                    InitStep::ClearMo,
                ),
            }
        }
        InitStep::ClearMo => {
            facts.mo_cleared = result.is_ok() && result_code(lines) == Some(0);
            Outcome::Next(InitStep::BufferStatus)
        }
        InitStep::BufferStatus => {
            // +SBDS: <MO flag>, <MOMSN>, <MT flag>, <MTMSN>
            facts.mt_left = match first_numbers(lines, "+SBDS:").as_deref() {
                Some([_, _, 1, mtmsn]) => u16::try_from(*mtmsn).ok(),
                _ => None,
            };
            facts.momsn = resume::next_momsn(lines);
            Outcome::Configured
        }
    }
}

/// The identity published once the IMEI is known.
fn identity_update(facts: &TerminalFacts) -> DeviceUpdate {
    DeviceUpdate {
        extra: facts
            .hardware
            .clone()
            .map(|hardware| BTreeMap::from([("hardware_version".to_owned(), hardware)])),
        ..facts
            .identity
            .device_update(DeviceKind::SatelliteTerminal, MAX_PAYLOAD)
    }
}

/// The value of the `label: value` line among `lines` (`Hardware Version: BOOT07d2/...`).
fn labelled(lines: &[String], label: &str) -> Option<String> {
    lines.iter().find_map(|line| {
        let (head, value) = line.split_once(':')?;
        let value = value.trim();
        (head.trim().eq_ignore_ascii_case(label) && !value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(items: &[&str]) -> Result<Response, AtError> {
        Ok(Response {
            lines: items.iter().map(|s| (*s).to_owned()).collect(),
            binary: None,
        })
    }

    #[test]
    fn revision_is_the_call_processor_version() {
        let mut facts = TerminalFacts::default();
        // Three of the seven lines of a 9603's answer (the transcript tests have them all).
        let answer = ok(&[
            "Call Processor Version: TA19002",
            "Modem DSP Version: 1.7 svn: 2358",
            "Hardware Version: BOOT07d2/9603NrvA-D/04/RAW0d",
        ]);
        assert_eq!(
            advance(InitStep::Revision, answer, &mut facts),
            Outcome::Next(InitStep::Imei)
        );
        assert_eq!(facts.identity.revision, "TA19002");
        assert_eq!(
            facts.hardware.as_deref(),
            Some("BOOT07d2/9603NrvA-D/04/RAW0d")
        );
        advance(InitStep::Revision, ok(&["TA16005"]), &mut facts);
        assert_eq!(facts.identity.revision, "TA16005");
        assert_eq!(facts.hardware, None);
    }

    #[test]
    fn imei_must_have_15_digits() {
        let mut facts = TerminalFacts::default();
        let outcome = advance(
            InitStep::Imei,
            ok(&["+CGSN: \"300434063963620\""]),
            &mut facts,
        );
        assert!(
            matches!(outcome, Outcome::Publish(_, InitStep::RingAlerts)),
            "{outcome:?}"
        );
        assert_eq!(facts.identity.imei, "300434063963620");
        for answer in [
            ok(&["30043406396362"]),
            ok(&["30043406396362X"]),
            Err(AtError::Error),
        ] {
            assert_eq!(
                advance(InitStep::Imei, answer, &mut facts),
                Outcome::Failed("imei-unavailable")
            );
        }
    }

    #[test]
    fn buffer_status_finds_a_message_left_in_the_mt_buffer() {
        let mut facts = TerminalFacts::default();
        advance(
            InitStep::BufferStatus,
            ok(&["+SBDS: 0, 12, 1, 1093"]),
            &mut facts,
        );
        assert_eq!(facts.mt_left, Some(1093));
        assert_eq!(facts.momsn, Some(12));
        advance(
            InitStep::BufferStatus,
            ok(&["+SBDS: 1, 12, 0, -1"]),
            &mut facts,
        );
        assert_eq!(facts.mt_left, None);
    }
}
