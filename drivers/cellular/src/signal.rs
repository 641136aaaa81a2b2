//! Signal strength, registration and operator: parsing of `+CSQ`, `+CESQ`, `+CREG`/`+CGREG`/
//! `+CEREG` and `+COPS` (3GPP TS 27.007), and the tracker that turns readings into the `Signal`
//! properties.
//!
//! Mappings:
//! - `Rssi` is the RSSI from `+CSQ` (0..31 -> -113 + 2n dBm, 99 unknown -> 0), never the RSRP.
//! - `Quality` is linear in that RSSI: -113 dBm = 0 % .. -51 dBm = 100 % (as ModemManager maps
//!   `+CSQ` 0..31).
//! - `Rsrp` and `Rsrq` come from the E-UTRAN fields of `+CESQ` (TS 27.007 8.69, the lower bound of
//!   each step): `<rsrp>` n means -141 + n <= RSRP < -140 + n dBm (255 unknown -> 0), `<rsrq>` n
//!   means -20 + n/2 <= RSRQ < -19.5 + n/2 dB (255 unknown -> NaN).
//! - `Sinr` is not read: TS 27.007 has no command for it and this driver sends no vendor commands,
//!   so it stays NaN.
//! - `Registration` is the best of the CS, PS and EPS domains (home > roaming > searching >
//!   denied > unknown > idle); the SMS-only and CSFB-not-preferred states count as home/roaming,
//!   "emergency bearer services only" as denied.
//! - `Technology` comes from the `<AcT>` of `+COPS`, else from the winning registration.

use std::collections::BTreeSet;

use m2mhal_at::{Command, Response};
use m2mhal_plugin_api::SignalUpdate;

use crate::parse::{Field, fields};

/// Timeout of the signal and registration queries.
const QUERY_TIMEOUT_MS: u64 = 5_000;
/// `AT+COPS?` may take a while on some modems while they search.
const OPERATOR_TIMEOUT_MS: u64 = 15_000;

/// One read-only query of the signal refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SignalQuery {
    /// `AT+CSQ`: RSSI.
    Csq,
    /// `AT+CESQ`: extended quality (RSRP and RSRQ for LTE).
    Cesq,
    /// `AT+CREG?`: circuit-switched registration.
    Creg,
    /// `AT+CGREG?`: GPRS (packet-switched) registration.
    Cgreg,
    /// `AT+CEREG?`: EPS (LTE) registration.
    Cereg,
    /// `AT+COPS?`: operator and access technology.
    Cops,
}

impl SignalQuery {
    /// The queries of a full refresh, in the order they are sent.
    pub const ALL: [SignalQuery; 6] = [
        SignalQuery::Csq,
        SignalQuery::Cesq,
        SignalQuery::Creg,
        SignalQuery::Cgreg,
        SignalQuery::Cereg,
        SignalQuery::Cops,
    ];

    /// The AT command for this query.
    pub fn command(self) -> Command {
        match self {
            SignalQuery::Csq => Command::new("AT+CSQ", QUERY_TIMEOUT_MS),
            SignalQuery::Cesq => Command::new("AT+CESQ", QUERY_TIMEOUT_MS),
            SignalQuery::Creg => Command::new("AT+CREG?", QUERY_TIMEOUT_MS),
            SignalQuery::Cgreg => Command::new("AT+CGREG?", QUERY_TIMEOUT_MS),
            SignalQuery::Cereg => Command::new("AT+CEREG?", QUERY_TIMEOUT_MS),
            SignalQuery::Cops => Command::new("AT+COPS?", OPERATOR_TIMEOUT_MS),
        }
    }

    /// Whether a modem may lack this command; such a query is dropped after it answers an error.
    fn optional(self) -> bool {
        matches!(
            self,
            SignalQuery::Cesq | SignalQuery::Cgreg | SignalQuery::Cereg
        )
    }
}

/// A registration domain, each reported by its own command and URC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// Circuit switched (`+CREG`).
    Cs = 0,
    /// GPRS packet switched (`+CGREG`).
    Ps = 1,
    /// EPS / LTE (`+CEREG`).
    Eps = 2,
}

impl Domain {
    /// The response and URC prefix of this domain.
    pub fn prefix(self) -> &'static str {
        match self {
            Domain::Cs => "+CREG:",
            Domain::Ps => "+CGREG:",
            Domain::Eps => "+CEREG:",
        }
    }

    /// The domain whose URC `line` is, if any.
    pub fn of_urc(line: &str) -> Option<Domain> {
        [Domain::Cs, Domain::Ps, Domain::Eps]
            .into_iter()
            .find(|domain| fields(line, domain.prefix()).is_some())
    }
}

/// Registration state as published in the `Registration` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegState {
    /// Not registered and not searching.
    Idle,
    /// Registered on the home network.
    Home,
    /// Not registered, searching.
    Searching,
    /// Registration denied.
    Denied,
    /// Unknown (out of coverage, or the modem says so).
    Unknown,
    /// Registered, roaming.
    Roaming,
}

impl RegState {
    /// From `<stat>` of TS 27.007 `+CREG`/`+CGREG`/`+CEREG`.
    pub fn from_stat(stat: u8) -> RegState {
        match stat {
            0 => RegState::Idle,
            1 | 6 | 9 => RegState::Home,
            2 => RegState::Searching,
            3 | 8 => RegState::Denied,
            5 | 7 | 10 => RegState::Roaming,
            _ => RegState::Unknown,
        }
    }

    /// The property value.
    pub fn as_str(self) -> &'static str {
        match self {
            RegState::Idle => "idle",
            RegState::Home => "home",
            RegState::Searching => "searching",
            RegState::Denied => "denied",
            RegState::Unknown => "unknown",
            RegState::Roaming => "roaming",
        }
    }

    /// Higher is better when the domains disagree.
    fn rank(self) -> u8 {
        match self {
            RegState::Idle => 0,
            RegState::Unknown => 1,
            RegState::Denied => 2,
            RegState::Searching => 3,
            RegState::Roaming => 4,
            RegState::Home => 5,
        }
    }

    /// Registered (home or roaming).
    pub fn is_registered(self) -> bool {
        matches!(self, RegState::Home | RegState::Roaming)
    }
}

/// One domain's registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Registration {
    /// The state.
    pub state: RegState,
    /// `<AcT>` when given.
    pub act: Option<u8>,
}

/// The operator from `+COPS?`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Operator {
    /// Name as the modem reports it ("" when not registered).
    pub name: String,
    /// `<AcT>` when given.
    pub act: Option<u8>,
}

/// RSSI in dBm from `+CSQ: <rssi>,<ber>`; `None` for 99 (unknown) or a malformed line.
pub(crate) fn parse_csq(line: &str) -> Option<i32> {
    let rssi: i32 = fields(line, "+CSQ:")?.first()?.number()?;
    (0..=31).contains(&rssi).then_some(-113 + 2 * rssi)
}

/// The E-UTRAN quality of `+CESQ`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct LteQuality {
    /// RSRP in dBm, `None` when unknown.
    pub rsrp: Option<i32>,
    /// RSRQ in dB, `None` when unknown.
    pub rsrq: Option<f64>,
}

/// RSRP and RSRQ from `+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>[,...]`; each `None` when
/// the modem is not on LTE (255); `None` for a malformed line.
pub(crate) fn parse_cesq(line: &str) -> Option<LteQuality> {
    let fields = fields(line, "+CESQ:")?;
    let index = |at: usize, max: u8| fields.get(at)?.number::<u8>().filter(|index| *index <= max);
    if fields.len() < 6 {
        return None;
    }
    Some(LteQuality {
        rsrp: index(5, 97).map(|n| -141 + i32::from(n)),
        rsrq: index(4, 34).map(|n| -20.0 + f64::from(n) / 2.0),
    })
}

/// A registration answer or URC of `domain`. Both shapes are accepted: the response to the read
/// command `<n>,<stat>[,<lac>,<ci>[,<AcT>]]` and the URC `<stat>[,<lac>,<ci>[,<AcT>]]`. They are
/// told apart by the second field: a response has an unquoted number there, a URC a quoted area
/// code or nothing.
pub(crate) fn parse_registration(line: &str, domain: Domain) -> Option<Registration> {
    let fields = fields(line, domain.prefix())?;
    let is_response = fields
        .get(1)
        .is_some_and(|second| !second.quoted && second.number::<u8>().is_some());
    let stat_at = usize::from(is_response);
    let stat: u8 = fields.get(stat_at)?.number()?;
    Some(Registration {
        state: RegState::from_stat(stat),
        act: fields.get(stat_at + 3).and_then(Field::number),
    })
}

/// `+COPS: <mode>[,<format>,<oper>[,<AcT>]]`.
pub(crate) fn parse_cops(line: &str) -> Option<Operator> {
    let fields = fields(line, "+COPS:")?;
    fields.first()?.number::<u8>()?;
    Some(Operator {
        name: fields.get(2).map(|f| f.text.to_owned()).unwrap_or_default(),
        act: fields.get(3).and_then(Field::number),
    })
}

/// The `Technology` of a TS 27.007 (release 15+) `<AcT>`.
pub(crate) fn technology(act: u8) -> Option<&'static str> {
    Some(match act {
        0 | 1 | 3 => "gsm",
        2 | 4..=6 => "umts",
        7 | 10 => "lte",
        8 => "lte-m",
        9 => "nb-iot",
        11..=13 => "nr5g",
        _ => return None,
    })
}

/// `Quality` for an RSSI (`+CSQ`) in dBm.
pub(crate) fn quality_from_rssi(dbm: i32) -> u32 {
    linear_percent(dbm, -113, -51)
}

fn linear_percent(value: i32, zero: i32, full: i32) -> u32 {
    let percent = (value - zero) * 100 / (full - zero);
    percent.clamp(0, 100).unsigned_abs()
}

/// The published values of the `Signal` interface (`None` for unknown RSRQ, published as NaN).
#[derive(Debug, Clone, PartialEq, Default)]
struct Snapshot {
    quality: u32,
    rssi: i32,
    rsrp: i32,
    rsrq: Option<f64>,
    technology: String,
    registration: String,
    operator: String,
}

/// Collects readings and reports what changed since the last publication.
#[derive(Debug, Default)]
pub(crate) struct SignalTracker {
    csq_dbm: Option<i32>,
    lte: LteQuality,
    registrations: [Option<Registration>; 3],
    operator: Option<Operator>,
    unsupported: BTreeSet<SignalQuery>,
    published: Option<Snapshot>,
}

impl SignalTracker {
    /// The queries of a refresh, without those this modem does not support.
    pub fn queries(&self) -> Vec<SignalQuery> {
        SignalQuery::ALL
            .into_iter()
            .filter(|query| !self.unsupported.contains(query))
            .collect()
    }

    /// Takes in the answer to `query`.
    pub fn apply(&mut self, query: SignalQuery, response: &Response) {
        let lines = &response.lines;
        let first = |prefix: &str| lines.iter().find(|line| fields(line, prefix).is_some());
        match query {
            SignalQuery::Csq => self.csq_dbm = first("+CSQ:").and_then(|l| parse_csq(l)),
            SignalQuery::Cesq => {
                self.lte = first("+CESQ:")
                    .and_then(|l| parse_cesq(l))
                    .unwrap_or_default();
            }
            SignalQuery::Creg => self.apply_registration(lines, Domain::Cs),
            SignalQuery::Cgreg => self.apply_registration(lines, Domain::Ps),
            SignalQuery::Cereg => self.apply_registration(lines, Domain::Eps),
            SignalQuery::Cops => self.operator = first("+COPS:").and_then(|l| parse_cops(l)),
        }
    }

    fn apply_registration(&mut self, lines: &[String], domain: Domain) {
        if let Some(registration) = lines.iter().find_map(|l| parse_registration(l, domain)) {
            self.set_registration(domain, registration);
        }
    }

    /// Takes in a registration URC.
    pub fn set_registration(&mut self, domain: Domain, registration: Registration) {
        self.registrations[domain as usize] = Some(registration);
    }

    /// `query` answered an error: skip it from now on when the modem may simply lack it.
    pub fn query_failed(&mut self, query: SignalQuery) {
        if query.optional() {
            self.unsupported.insert(query);
        }
    }

    /// Forgets the readings and what the modem supports (a new initialisation), but not what was
    /// published.
    pub fn forget_readings(&mut self) {
        *self = SignalTracker {
            published: self.published.take(),
            ..SignalTracker::default()
        };
    }

    /// Whether the best registration is home or roaming.
    pub fn is_registered(&self) -> bool {
        self.best_registration()
            .is_some_and(|registration| registration.state.is_registered())
    }

    fn best_registration(&self) -> Option<Registration> {
        self.registrations
            .iter()
            .flatten()
            .copied()
            .max_by_key(|registration| registration.state.rank())
    }

    fn snapshot(&self) -> Snapshot {
        let (rssi, quality) = self
            .csq_dbm
            .map_or((0, 0), |rssi| (rssi, quality_from_rssi(rssi)));
        let best = self.best_registration();
        let act = self
            .operator
            .as_ref()
            .and_then(|operator| operator.act)
            .or(best.and_then(|registration| registration.act));
        Snapshot {
            quality,
            rssi,
            rsrp: self.lte.rsrp.unwrap_or(0),
            rsrq: self.lte.rsrq,
            technology: act.and_then(technology).unwrap_or_default().to_owned(),
            registration: best
                .map(|registration| registration.state.as_str())
                .unwrap_or_default()
                .to_owned(),
            operator: self
                .operator
                .as_ref()
                .map(|operator| operator.name.clone())
                .unwrap_or_default(),
        }
    }

    /// The fields that changed since the last call, stamped `unix_time`; `None` when nothing
    /// changed and `always` is false (a URC that repeats what is known).
    pub fn changes(&mut self, unix_time: u64, always: bool) -> Option<SignalUpdate> {
        let now = self.snapshot();
        let first = self.published.is_none();
        let old = self.published.clone().unwrap_or_default();
        let update = SignalUpdate {
            quality: (first || old.quality != now.quality).then_some(now.quality),
            rssi: (first || old.rssi != now.rssi).then_some(now.rssi),
            rsrp: (first || old.rsrp != now.rsrp).then_some(now.rsrp),
            rsrq: (first || old.rsrq != now.rsrq).then(|| now.rsrq.unwrap_or(f64::NAN)),
            // Never read (see the module documentation): unknown from the first publication on.
            sinr: first.then_some(f64::NAN),
            technology: (first || old.technology != now.technology).then(|| now.technology.clone()),
            registration: (first || old.registration != now.registration)
                .then(|| now.registration.clone()),
            operator: (first || old.operator != now.operator).then(|| now.operator.clone()),
            updated_at: None,
        };
        if update == SignalUpdate::default() && !always {
            return None;
        }
        self.published = Some(now);
        Some(SignalUpdate {
            updated_at: Some(unix_time),
            ..update
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csq_maps_to_dbm_and_99_is_unknown() {
        assert_eq!(parse_csq("+CSQ: 0,99"), Some(-113));
        assert_eq!(parse_csq("+CSQ: 20,99"), Some(-73));
        assert_eq!(parse_csq("+CSQ: 31,0"), Some(-51));
        assert_eq!(parse_csq("+CSQ: 99,99"), None);
        assert_eq!(parse_csq("+CSQ: x,99"), None);
        assert_eq!(parse_csq("+CESQ: 20,99"), None);
    }

    #[test]
    fn cesq_gives_rsrp_and_rsrq_only_on_lte() {
        // TS 27.007 8.69: rsrp 45 means -96 <= RSRP < -95, 97 means -44 <= RSRP; rsrq 20 means
        // -10 <= RSRQ < -9.5 dB, 0 means RSRQ < -19.5 dB, 34 means -3 dB <= RSRQ.
        let lte = |rsrp, rsrq| Some(LteQuality { rsrp, rsrq });
        assert_eq!(
            parse_cesq("+CESQ: 99,99,255,255,20,45"),
            lte(Some(-96), Some(-10.0))
        );
        assert_eq!(
            parse_cesq("+CESQ: 99,99,255,255,34,97,255,255,255"),
            lte(Some(-44), Some(-3.0))
        );
        assert_eq!(
            parse_cesq("+CESQ: 99,99,255,255,0,0"),
            lte(Some(-141), Some(-20.0))
        );
        assert_eq!(
            parse_cesq("+CESQ: 99,99,255,255,255,41"),
            lte(Some(-100), None)
        );
        assert_eq!(parse_cesq("+CESQ: 35,0,255,255,255,255"), lte(None, None));
        assert_eq!(parse_cesq("+CESQ: 99,99,255,255,35,98"), lte(None, None));
        assert_eq!(parse_cesq("+CESQ: 99,99"), None);
    }

    #[test]
    fn rssi_and_quality_come_from_csq_and_rsrp_from_cesq() {
        let mut tracker = SignalTracker::default();
        let answer = |line: &str| Response {
            lines: vec![line.to_owned()],
            ..Response::default()
        };
        tracker.apply(SignalQuery::Csq, &answer("+CSQ: 20,99"));
        tracker.apply(SignalQuery::Cesq, &answer("+CESQ: 99,99,255,255,21,48"));
        let update = tracker.changes(100, false).unwrap();
        assert_eq!(update.rssi, Some(-73));
        assert_eq!(update.quality, Some(64));
        assert_eq!(update.rsrp, Some(-93));
        assert_eq!(update.rsrq, Some(-9.5));
        assert!(update.sinr.is_some_and(f64::is_nan));
        // Off LTE: RSRP and RSRQ unknown, the RSSI stays.
        tracker.apply(SignalQuery::Cesq, &answer("+CESQ: 38,0,255,255,255,255"));
        let update = tracker.changes(101, false).unwrap();
        assert_eq!((update.rssi, update.rsrp), (None, Some(0)));
        assert!(update.rsrq.is_some_and(f64::is_nan));
        assert_eq!(update.sinr, None);
        // Nothing new, NaN included: nothing to publish.
        assert_eq!(tracker.changes(102, false), None);
    }

    #[test]
    fn registration_read_responses() {
        let home = parse_registration(r#"+CREG: 2,1,"1A2B","01A2D101",7"#, Domain::Cs).unwrap();
        assert_eq!(
            home,
            Registration {
                state: RegState::Home,
                act: Some(7)
            }
        );
        let searching = parse_registration("+CGREG: 0,2", Domain::Ps).unwrap();
        assert_eq!(
            searching,
            Registration {
                state: RegState::Searching,
                act: None
            }
        );
        let nb_iot = parse_registration(
            r#"+CEREG: 4,5,"0001","01A2D101",9,,,"00000000","00111000""#,
            Domain::Eps,
        );
        assert_eq!(
            nb_iot,
            Some(Registration {
                state: RegState::Roaming,
                act: Some(9)
            })
        );
    }

    #[test]
    fn registration_urcs() {
        assert_eq!(
            parse_registration("+CREG: 5", Domain::Cs),
            Some(Registration {
                state: RegState::Roaming,
                act: None
            })
        );
        assert_eq!(
            parse_registration(r#"+CEREG: 1,"1A2B","01A2D101",7"#, Domain::Eps),
            Some(Registration {
                state: RegState::Home,
                act: Some(7)
            })
        );
        assert_eq!(parse_registration("+CREG: ", Domain::Cs), None);
        assert_eq!(parse_registration("+CEREG: 1", Domain::Cs), None);
    }

    #[test]
    fn stat_values_of_ts_27_007() {
        let states: Vec<&str> = (0..=11)
            .map(|stat| RegState::from_stat(stat).as_str())
            .collect();
        assert_eq!(
            states,
            [
                "idle",
                "home",
                "searching",
                "denied",
                "unknown",
                "roaming",
                "home",
                "roaming",
                "denied",
                "home",
                "roaming",
                "unknown"
            ]
        );
    }

    #[test]
    fn operator_and_technology() {
        assert_eq!(
            parse_cops(r#"+COPS: 0,0,"Telekom.de",7"#),
            Some(Operator {
                name: "Telekom.de".into(),
                act: Some(7)
            })
        );
        assert_eq!(parse_cops("+COPS: 0"), Some(Operator::default()));
        assert_eq!(parse_cops("+COPS: ,"), None);
        let names: Vec<Option<&str>> = (0..=14).map(technology).collect();
        assert_eq!(
            names,
            [
                Some("gsm"),
                Some("gsm"),
                Some("umts"),
                Some("gsm"),
                Some("umts"),
                Some("umts"),
                Some("umts"),
                Some("lte"),
                Some("lte-m"),
                Some("nb-iot"),
                Some("lte"),
                Some("nr5g"),
                Some("nr5g"),
                Some("nr5g"),
                None
            ]
        );
    }

    #[test]
    fn quality_is_linear_and_clamped() {
        assert_eq!(quality_from_rssi(-113), 0);
        assert_eq!(quality_from_rssi(-120), 0);
        assert_eq!(quality_from_rssi(-82), 50);
        assert_eq!(quality_from_rssi(-51), 100);
        assert_eq!(quality_from_rssi(-40), 100);
    }

    #[test]
    fn best_domain_wins_and_only_changes_are_published() {
        let mut tracker = SignalTracker::default();
        tracker.set_registration(
            Domain::Cs,
            Registration {
                state: RegState::Searching,
                act: None,
            },
        );
        tracker.set_registration(
            Domain::Eps,
            Registration {
                state: RegState::Home,
                act: Some(7),
            },
        );
        let first = tracker.changes(100, false).unwrap();
        assert_eq!(first.registration.as_deref(), Some("home"));
        assert_eq!(first.technology.as_deref(), Some("lte"));
        assert_eq!(first.rssi, Some(0));
        assert_eq!(tracker.changes(101, false), None);
        assert_eq!(
            tracker.changes(102, true),
            Some(SignalUpdate {
                updated_at: Some(102),
                ..SignalUpdate::default()
            })
        );
        tracker.set_registration(
            Domain::Eps,
            Registration {
                state: RegState::Denied,
                act: None,
            },
        );
        let lost = tracker.changes(103, false).unwrap();
        assert_eq!(lost.registration.as_deref(), Some("searching"));
        assert_eq!(lost.technology.as_deref(), Some(""));
        assert_eq!(lost.quality, None);
    }
}
