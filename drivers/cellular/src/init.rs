//! The initialisation sequence: identity, SIM, SMS configuration and unsolicited reports.
//!
//! Each [`InitStep`] is one command; [`advance`] reads its answer into [`ModemFacts`] and says
//! what comes next. Only two answers stop the sequence: a SIM that is missing or locked, and a
//! modem that refuses PDU mode (`AT+CMGF=0`) or gives no IMEI. Every other command is optional:
//! its error is noted (or a fallback tried) and the sequence goes on. Timeouts never reach
//! [`advance`]: the driver retries the step and counts them.

use std::collections::BTreeMap;

use m2mhal_at::ident::{DeviceIdentity, find_imei, first_identity_value};
use m2mhal_at::{AtError, Command, Response};
use m2mhal_plugin_api::{DeviceKind, DeviceUpdate};

use crate::gnss::GnssFamily;
use crate::outbox::MAX_PAYLOAD;
use crate::parse::first_fields;
use crate::signal::Domain;

const STEP_TIMEOUT_MS: u64 = 5_000;
/// `AT+CPIN?` and `AT+CPMS` touch the SIM, which can be slow.
const SIM_TIMEOUT_MS: u64 = 10_000;

/// Commands that read the ICCID, tried in order until one works.
const ICCID_COMMANDS: [&str; 4] = ["AT+CCID", "AT+QCCID", "AT+CICCID", "AT^ICCID?"];
/// `AT+CNMI` settings, best first: store and indicate with `+CMTI` (status reports stored and
/// indicated with `+CDSI`, then delivered directly, then not at all).
const INDICATION_SETTINGS: [&str; 4] = ["2,1,0,2,0", "2,1,0,1,0", "2,1,0,0,0", "1,1,0,0,0"];
/// Message storages the driver knows how to use, in order of preference.
const STORAGES: [&str; 3] = ["SM", "ME", "MT"];

/// One step of the initialisation sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InitStep {
    /// `ATE0`.
    EchoOff,
    /// `AT+CMEE=1`: numeric `+CME ERROR` codes.
    ErrorCodes,
    /// `AT+CGMI`.
    Manufacturer,
    /// `AT+CGMM`.
    Model,
    /// `AT+CGMR`.
    Revision,
    /// `AT+QGPS?` / `AT+CGPS?` / `AT+UGPS?` / `AT$GPSP?`: does a Quectel, SIMCom, u-blox or
    /// Telit modem have a GNSS, and is it on?
    GnssProbe(GnssFamily),
    /// `AT+CGSN`, or `AT+GSN` when `fallback`.
    Imei {
        /// Whether this is the second try.
        fallback: bool,
    },
    /// `AT+CPIN?`.
    SimStatus,
    /// `AT+CIMI`.
    Imsi,
    /// The n-th of [`ICCID_COMMANDS`].
    Iccid(usize),
    /// `AT+CMGF=0`.
    PduMode,
    /// `AT+CSMS?`: does the modem want `AT+CNMA` for direct deliveries?
    SmsService,
    /// `AT+CPMS?`.
    StorageQuery,
    /// `AT+CPMS="X","X","X"` with the n-th storage candidate.
    StorageSet(usize),
    /// The n-th of [`INDICATION_SETTINGS`].
    Indications(usize),
    /// `AT+CREG=2` / `AT+CGREG=2` / `AT+CEREG=2`.
    RegistrationReports(Domain),
    /// `AT+COPS=3,0`: long alphanumeric operator names.
    OperatorFormat,
}

/// The first step of the sequence.
pub(crate) const FIRST_STEP: InitStep = InitStep::EchoOff;

/// What the SIM keeps the modem from doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SimProblem {
    /// No SIM (`+CME ERROR: 10`).
    Missing,
    /// `+CPIN: SIM PIN`.
    PinRequired,
    /// `+CPIN: SIM PUK`.
    PukRequired,
    /// The SIM is broken or unusable.
    Failure,
}

impl SimProblem {
    /// The published `State`: a locked SIM waits for a PIN (`initializing`), the others failed.
    pub fn state(self) -> &'static str {
        match self {
            SimProblem::PinRequired | SimProblem::PukRequired => "initializing",
            SimProblem::Missing | SimProblem::Failure => "failed",
        }
    }

    /// The published `StateReason`.
    pub fn reason(self) -> &'static str {
        match self {
            SimProblem::Missing => "sim-missing",
            SimProblem::PinRequired => "sim-pin-required",
            SimProblem::PukRequired => "sim-puk-required",
            SimProblem::Failure => "sim-failure",
        }
    }
}

/// What the initialisation learnt about the modem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModemFacts {
    /// `AT+CGMI`, `AT+CGMM`, `AT+CGMR`, `AT+CGSN`.
    pub identity: DeviceIdentity,
    /// `AT+CIMI`.
    pub imsi: Option<String>,
    /// `AT+CCID` and friends.
    pub iccid: Option<String>,
    /// `+CSMS: 1`: direct deliveries (`+CMT`, `+CDS`) must be acknowledged with `AT+CNMA`.
    pub ack_required: bool,
    /// The message storage in use for reading, writing and receiving, when known.
    pub storage: Option<String>,
    /// Storages to try with `AT+CPMS=`.
    storage_candidates: Vec<String>,
    /// Whether an `AT+CNMI` setting was accepted (otherwise the storage is polled).
    pub indications: bool,
    /// The modem's GNSS, when it has one.
    pub gnss: Option<GnssFamily>,
    /// Whether the GNSS was on when probed.
    pub gnss_on: bool,
}

/// What follows a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Run this step next.
    Next(InitStep),
    /// Publish this device update, then run the step.
    Publish(Box<DeviceUpdate>, InitStep),
    /// The SIM is ready: leave any SIM wait and run the step.
    SimReady(InitStep),
    /// The SIM is busy: ask again shortly.
    SimBusy,
    /// The SIM is missing or locked: wait.
    SimBlocked(SimProblem),
    /// A required command failed; the reason to publish.
    Failed(&'static str),
    /// Configuration is done: read signal and storage, then the modem is ready.
    Configured,
}

impl InitStep {
    /// The command of this step.
    pub fn command(self, facts: &ModemFacts) -> Command {
        let (line, timeout_ms) = match self {
            InitStep::GnssProbe(family) => return family.probe(),
            InitStep::EchoOff => ("ATE0".to_owned(), STEP_TIMEOUT_MS),
            InitStep::ErrorCodes => ("AT+CMEE=1".to_owned(), STEP_TIMEOUT_MS),
            InitStep::Manufacturer => ("AT+CGMI".to_owned(), STEP_TIMEOUT_MS),
            InitStep::Model => ("AT+CGMM".to_owned(), STEP_TIMEOUT_MS),
            InitStep::Revision => ("AT+CGMR".to_owned(), STEP_TIMEOUT_MS),
            InitStep::Imei { fallback: false } => ("AT+CGSN".to_owned(), STEP_TIMEOUT_MS),
            InitStep::Imei { fallback: true } => ("AT+GSN".to_owned(), STEP_TIMEOUT_MS),
            InitStep::SimStatus => ("AT+CPIN?".to_owned(), SIM_TIMEOUT_MS),
            InitStep::Imsi => ("AT+CIMI".to_owned(), SIM_TIMEOUT_MS),
            InitStep::Iccid(n) => (ICCID_COMMANDS[n].to_owned(), SIM_TIMEOUT_MS),
            InitStep::PduMode => ("AT+CMGF=0".to_owned(), STEP_TIMEOUT_MS),
            InitStep::SmsService => ("AT+CSMS?".to_owned(), STEP_TIMEOUT_MS),
            InitStep::StorageQuery => ("AT+CPMS?".to_owned(), SIM_TIMEOUT_MS),
            InitStep::StorageSet(n) => {
                let storage = facts.storage_candidates.get(n).map_or("SM", String::as_str);
                (
                    format!(r#"AT+CPMS="{storage}","{storage}","{storage}""#),
                    SIM_TIMEOUT_MS,
                )
            }
            InitStep::Indications(n) => (
                format!("AT+CNMI={}", INDICATION_SETTINGS[n]),
                STEP_TIMEOUT_MS,
            ),
            InitStep::RegistrationReports(domain) => {
                let name = domain.prefix().trim_end_matches(':');
                (format!("AT{name}=2"), STEP_TIMEOUT_MS)
            }
            InitStep::OperatorFormat => ("AT+COPS=3,0".to_owned(), STEP_TIMEOUT_MS),
        };
        Command::new(line, timeout_ms)
    }
}

/// Reads the answer to `step` (never a timeout) and says what follows.
pub(crate) fn advance(
    step: InitStep,
    result: Result<Response, AtError>,
    facts: &mut ModemFacts,
) -> Outcome {
    let lines = Response::lines_of(&result);
    let first_value = || first_identity_value(lines);
    match step {
        InitStep::EchoOff => Outcome::Next(InitStep::ErrorCodes),
        InitStep::ErrorCodes => Outcome::Next(InitStep::Manufacturer),
        InitStep::Manufacturer => {
            facts.identity.manufacturer = first_value().unwrap_or_default();
            Outcome::Next(InitStep::Model)
        }
        InitStep::Model => {
            facts.identity.model = first_value().unwrap_or_default();
            Outcome::Next(InitStep::Revision)
        }
        InitStep::Revision => {
            facts.identity.revision = first_value().unwrap_or_default();
            match GnssFamily::of_manufacturer(&facts.identity.manufacturer) {
                Some(family) => Outcome::Next(InitStep::GnssProbe(family)),
                None => Outcome::Next(InitStep::Imei { fallback: false }),
            }
        }
        InitStep::GnssProbe(family) => {
            let probed = family.probed(&result);
            facts.gnss = probed.map(|_| family);
            facts.gnss_on = probed == Some(true);
            Outcome::Next(InitStep::Imei { fallback: false })
        }
        InitStep::Imei { fallback } => match find_imei(lines) {
            Some(imei) => {
                facts.identity.imei = imei;
                let mut update = facts
                    .identity
                    .device_update(DeviceKind::CellularModem, MAX_PAYLOAD);
                if facts.gnss.is_some()
                    && let Some(capabilities) = update.capabilities.as_mut()
                {
                    // Whether the receiver is on or not (`Location.Enabled` says which).
                    capabilities.push("location".to_owned());
                }
                Outcome::Publish(Box::new(update), InitStep::SimStatus)
            }
            None if !fallback => Outcome::Next(InitStep::Imei { fallback: true }),
            None => Outcome::Failed("imei-unavailable"),
        },
        InitStep::SimStatus => sim_outcome(&result),
        InitStep::Imsi => {
            facts.imsi = first_value().filter(|imsi| is_digits(imsi, 6..=15));
            Outcome::Next(InitStep::Iccid(0))
        }
        InitStep::Iccid(n) => {
            facts.iccid = first_value().filter(|iccid| is_iccid(iccid));
            if facts.iccid.is_none() && n + 1 < ICCID_COMMANDS.len() {
                Outcome::Next(InitStep::Iccid(n + 1))
            } else {
                match extra_update(facts) {
                    Some(update) => Outcome::Publish(Box::new(update), InitStep::PduMode),
                    None => Outcome::Next(InitStep::PduMode),
                }
            }
        }
        InitStep::PduMode => match result {
            Ok(_) => Outcome::Next(InitStep::SmsService),
            Err(_) => Outcome::Failed("pdu-mode-unsupported"),
        },
        InitStep::SmsService => {
            facts.ack_required = first_fields(lines, "+CSMS:")
                .and_then(|fields| fields.first()?.number::<u8>())
                == Some(1);
            Outcome::Next(InitStep::StorageQuery)
        }
        InitStep::StorageQuery => choose_storage(lines, facts),
        InitStep::StorageSet(n) => {
            if result.is_ok() {
                facts.storage = facts.storage_candidates.get(n).cloned();
                Outcome::Next(InitStep::Indications(0))
            } else if n + 1 < facts.storage_candidates.len() {
                Outcome::Next(InitStep::StorageSet(n + 1))
            } else {
                Outcome::Next(InitStep::Indications(0))
            }
        }
        InitStep::Indications(n) => {
            facts.indications = result.is_ok();
            if result.is_err() && n + 1 < INDICATION_SETTINGS.len() {
                Outcome::Next(InitStep::Indications(n + 1))
            } else {
                Outcome::Next(InitStep::RegistrationReports(Domain::Cs))
            }
        }
        InitStep::RegistrationReports(Domain::Cs) => {
            Outcome::Next(InitStep::RegistrationReports(Domain::Ps))
        }
        InitStep::RegistrationReports(Domain::Ps) => {
            Outcome::Next(InitStep::RegistrationReports(Domain::Eps))
        }
        InitStep::RegistrationReports(Domain::Eps) => Outcome::Next(InitStep::OperatorFormat),
        InitStep::OperatorFormat => Outcome::Configured,
    }
}

fn is_digits(text: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// ICCIDs are 18 to 22 digits; some modems print a trailing `F` filler.
fn is_iccid(text: &str) -> bool {
    (18..=22).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sim_outcome(result: &Result<Response, AtError>) -> Outcome {
    match result {
        Ok(response) => {
            let status = first_fields(&response.lines, "+CPIN:")
                .and_then(|fields| fields.first().map(|field| field.text.to_ascii_uppercase()))
                .or_else(|| {
                    response
                        .lines
                        .first()
                        .map(|line| line.trim().to_ascii_uppercase())
                })
                .unwrap_or_default();
            match status.as_str() {
                "READY" | "SIM PIN2" | "SIM PUK2" => Outcome::SimReady(InitStep::Imsi),
                "NOT INSERTED" => Outcome::SimBlocked(SimProblem::Missing),
                "" | "NOT READY" => Outcome::SimBusy,
                other if other.contains("PUK") => Outcome::SimBlocked(SimProblem::PukRequired),
                other if other.contains("PIN") => Outcome::SimBlocked(SimProblem::PinRequired),
                _ => Outcome::SimBlocked(SimProblem::Failure),
            }
        }
        Err(AtError::Cme(error)) => match error.code {
            Some(10) => Outcome::SimBlocked(SimProblem::Missing),
            Some(5 | 11) => Outcome::SimBlocked(SimProblem::PinRequired),
            Some(12) => Outcome::SimBlocked(SimProblem::PukRequired),
            Some(14) => Outcome::SimBusy,
            _ => Outcome::SimBlocked(SimProblem::Failure),
        },
        Err(_) => Outcome::SimBlocked(SimProblem::Failure),
    }
}

/// Picks the message storage: keep what the modem uses when all three memories agree on one the
/// driver knows, otherwise try to set all three, the current reading storage first.
fn choose_storage(lines: &[String], facts: &mut ModemFacts) -> Outcome {
    let memories: Vec<String> = first_fields(lines, "+CPMS:")
        .map(|fields| {
            [0, 3, 6]
                .iter()
                .filter_map(|&at| fields.get(at).map(|field| field.text.to_ascii_uppercase()))
                .collect()
        })
        .unwrap_or_default();
    let known = |memory: &String| STORAGES.contains(&memory.as_str());
    if memories.len() == 3 && memories.iter().all(|m| *m == memories[0]) && known(&memories[0]) {
        facts.storage = Some(memories[0].clone());
        return Outcome::Next(InitStep::Indications(0));
    }
    let mut candidates: Vec<String> = memories
        .first()
        .filter(|m| known(m))
        .cloned()
        .into_iter()
        .collect();
    for storage in STORAGES {
        if !candidates.iter().any(|c| c == storage) {
            candidates.push(storage.to_owned());
        }
    }
    facts.storage_candidates = candidates;
    Outcome::Next(InitStep::StorageSet(0))
}

/// `extra` with the IMSI and ICCID, when either is known.
fn extra_update(facts: &ModemFacts) -> Option<DeviceUpdate> {
    let extra: BTreeMap<String, String> = [("imsi", &facts.imsi), ("iccid", &facts.iccid)]
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value.clone()?)))
        .collect();
    (!extra.is_empty()).then(|| DeviceUpdate {
        extra: Some(extra),
        ..DeviceUpdate::default()
    })
}

/// The storage named by a `+CMTI`/`+CDSI` indication matches the one in use (or none is known).
pub(crate) fn storage_matches(facts: &ModemFacts, storage: &str) -> bool {
    facts
        .storage
        .as_deref()
        .is_none_or(|ours| ours.eq_ignore_ascii_case(storage))
}

#[cfg(test)]
mod tests {
    use m2mhal_at::CmeError;

    use super::*;

    fn answer(lines: &[&str]) -> Result<Response, AtError> {
        Ok(Response {
            lines: lines.iter().map(|line| (*line).to_owned()).collect(),
            binary: None,
        })
    }

    fn cme(code: &str) -> Result<Response, AtError> {
        Err(AtError::Cme(CmeError::from_text(code)))
    }

    #[test]
    fn imei_from_cgsn_or_else_from_gsn() {
        let mut facts = ModemFacts::default();
        let outcome = advance(
            InitStep::Imei { fallback: false },
            answer(&[r#"+CGSN: "867698041234567""#]),
            &mut facts,
        );
        assert!(
            matches!(outcome, Outcome::Publish(_, InitStep::SimStatus)),
            "{outcome:?}"
        );
        assert_eq!(facts.identity.imei, "867698041234567");
        assert_eq!(
            advance(
                InitStep::Imei { fallback: false },
                answer(&["86769804123456"]),
                &mut facts
            ),
            Outcome::Next(InitStep::Imei { fallback: true }),
            "14 digits are no IMEI"
        );
    }

    #[test]
    fn sim_answers() {
        assert_eq!(
            sim_outcome(&answer(&["+CPIN: READY"])),
            Outcome::SimReady(InitStep::Imsi)
        );
        assert_eq!(
            sim_outcome(&answer(&["+CPIN: SIM PIN2"])),
            Outcome::SimReady(InitStep::Imsi)
        );
        assert_eq!(
            sim_outcome(&answer(&["+CPIN: SIM PIN"])),
            Outcome::SimBlocked(SimProblem::PinRequired)
        );
        assert_eq!(
            sim_outcome(&answer(&["+CPIN: PH-SIM PIN"])),
            Outcome::SimBlocked(SimProblem::PinRequired)
        );
        assert_eq!(
            sim_outcome(&answer(&["+CPIN: SIM PUK"])),
            Outcome::SimBlocked(SimProblem::PukRequired)
        );
        assert_eq!(
            sim_outcome(&answer(&["+CPIN: NOT INSERTED"])),
            Outcome::SimBlocked(SimProblem::Missing)
        );
        assert_eq!(
            sim_outcome(&answer(&["+CPIN: NOT READY"])),
            Outcome::SimBusy
        );
        assert_eq!(
            sim_outcome(&cme("10")),
            Outcome::SimBlocked(SimProblem::Missing)
        );
        assert_eq!(
            sim_outcome(&cme("SIM not inserted")),
            Outcome::SimBlocked(SimProblem::Missing)
        );
        assert_eq!(sim_outcome(&cme("14")), Outcome::SimBusy);
        assert_eq!(
            sim_outcome(&cme("13")),
            Outcome::SimBlocked(SimProblem::Failure)
        );
        assert_eq!(
            sim_outcome(&Err(AtError::Error)),
            Outcome::SimBlocked(SimProblem::Failure)
        );
    }

    #[test]
    fn storage_kept_when_all_memories_agree() {
        let mut facts = ModemFacts::default();
        let outcome = choose_storage(
            &[r#"+CPMS: "ME",1,255,"ME",1,255,"ME",1,255"#.into()],
            &mut facts,
        );
        assert_eq!(outcome, Outcome::Next(InitStep::Indications(0)));
        assert_eq!(facts.storage.as_deref(), Some("ME"));
    }

    #[test]
    fn storage_set_when_memories_differ_current_reading_storage_first() {
        let mut facts = ModemFacts::default();
        let outcome = choose_storage(
            &[r#"+CPMS: "ME",0,255,"SM",0,50,"SM",0,50"#.into()],
            &mut facts,
        );
        assert_eq!(outcome, Outcome::Next(InitStep::StorageSet(0)));
        assert_eq!(
            InitStep::StorageSet(0).command(&facts).line,
            r#"AT+CPMS="ME","ME","ME""#
        );
        assert_eq!(
            InitStep::StorageSet(1).command(&facts).line,
            r#"AT+CPMS="SM","SM","SM""#
        );
        // All refused: go on with whatever the modem uses.
        assert_eq!(
            advance(InitStep::StorageSet(2), Err(AtError::Error), &mut facts),
            Outcome::Next(InitStep::Indications(0))
        );
        assert_eq!(facts.storage, None);
    }

    #[test]
    fn required_and_optional_steps() {
        let mut facts = ModemFacts::default();
        assert_eq!(
            advance(InitStep::PduMode, Err(AtError::Error), &mut facts),
            Outcome::Failed("pdu-mode-unsupported")
        );
        assert_eq!(
            advance(InitStep::Imsi, cme("4"), &mut facts),
            Outcome::Next(InitStep::Iccid(0))
        );
        assert_eq!(
            advance(
                InitStep::Imei { fallback: true },
                answer(&["ERROR?"]),
                &mut facts
            ),
            Outcome::Failed("imei-unavailable")
        );
        assert_eq!(
            advance(
                InitStep::SmsService,
                answer(&["+CSMS: 1,1,1,1"]),
                &mut facts
            ),
            Outcome::Next(InitStep::StorageQuery)
        );
        assert!(facts.ack_required);
        assert_eq!(
            InitStep::RegistrationReports(Domain::Eps)
                .command(&facts)
                .line,
            "AT+CEREG=2"
        );
    }
}
