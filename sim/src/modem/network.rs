//! The radio side of the simulated modem: registration, access technology, signal, operator,
//! and how `+CREG`/`+CGREG`/`+CEREG`, `+CSQ` and `+CESQ` report them.

/// Location area / tracking area code reported with `<n>`=2.
const AREA_CODE: &str = "1A2B";
/// Cell id reported with `<n>`=2 (28-bit E-UTRAN cell identity).
const CELL_ID: &str = "01A2B3C4";
/// The `+CESQ` `<rsrq>` index of an E-UTRAN cell: -10 dB (TS 36.133 §9.1.7: dB = index / 2 - 20).
const RSRQ_INDEX: u16 = 20;

/// Registration status `<stat>` of 3GPP TS 27.007 §7.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    /// 0: not registered, not searching.
    Idle,
    /// 1: registered, home network.
    Home,
    /// 2: not registered, searching.
    Searching,
    /// 3: registration denied.
    Denied,
    /// 4: unknown.
    Unknown,
    /// 5: registered, roaming.
    Roaming,
}

impl RegistrationStatus {
    /// The `<stat>` number.
    pub fn code(self) -> u8 {
        match self {
            Self::Idle => 0,
            Self::Home => 1,
            Self::Searching => 2,
            Self::Denied => 3,
            Self::Unknown => 4,
            Self::Roaming => 5,
        }
    }

    /// Whether the modem is registered (home or roaming).
    pub fn is_registered(self) -> bool {
        matches!(self, Self::Home | Self::Roaming)
    }

    /// The control-command word for this status (`home`, `roaming`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Home => "home",
            Self::Searching => "searching",
            Self::Denied => "denied",
            Self::Unknown => "unknown",
            Self::Roaming => "roaming",
        }
    }

    /// The status named by a control-command word.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Idle,
            Self::Home,
            Self::Searching,
            Self::Denied,
            Self::Unknown,
            Self::Roaming,
        ]
        .into_iter()
        .find(|status| status.name() == name)
    }
}

/// Access technology `<AcT>` of 3GPP TS 27.007 §7.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessTech {
    /// 0: GSM.
    Gsm,
    /// 2: UTRAN.
    Umts,
    /// 7: E-UTRAN.
    Lte,
    /// 8: LTE Cat-M1, numbered as Quectel BG95/BG96 report it.
    LteM,
    /// 9: E-UTRAN (NB-S1 mode), NB-IoT.
    NbIot,
}

impl AccessTech {
    /// The `<AcT>` number.
    pub fn code(self) -> u8 {
        match self {
            Self::Gsm => 0,
            Self::Umts => 2,
            Self::Lte => 7,
            Self::LteM => 8,
            Self::NbIot => 9,
        }
    }

    /// The control-command word for this technology (`lte`, `gsm`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Gsm => "gsm",
            Self::Umts => "umts",
            Self::Lte => "lte",
            Self::LteM => "lte-m",
            Self::NbIot => "nb-iot",
        }
    }

    /// The technology named by a control-command word.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Gsm, Self::Umts, Self::Lte, Self::LteM, Self::NbIot]
            .into_iter()
            .find(|tech| tech.name() == name)
    }

    /// Whether this is one of the E-UTRAN technologies that `+CEREG` reports.
    pub fn is_eutran(self) -> bool {
        matches!(self, Self::Lte | Self::LteM | Self::NbIot)
    }
}

/// Which registration report: circuit switched, GPRS or EPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// `+CREG`.
    Circuit,
    /// `+CGREG`.
    Gprs,
    /// `+CEREG`.
    Eps,
}

impl Domain {
    /// All domains, in the order their URCs are emitted.
    pub const ALL: [Self; 3] = [Self::Circuit, Self::Gprs, Self::Eps];

    /// The response prefix, for example `+CREG`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Circuit => "+CREG",
            Self::Gprs => "+CGREG",
            Self::Eps => "+CEREG",
        }
    }

    fn position(self) -> usize {
        match self {
            Self::Circuit => 0,
            Self::Gprs => 1,
            Self::Eps => 2,
        }
    }
}

/// Signal quality as the control plane sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    /// `+CSQ` `<rssi>`: 0..=31, or 99 for unknown.
    pub csq: u8,
    /// RSRP in dBm for E-UTRAN; derived from `csq` when `None`.
    pub rsrp_dbm: Option<i16>,
}

impl Signal {
    /// Received signal strength in dBm, `None` when unknown.
    fn rssi_dbm(self) -> Option<i16> {
        (self.csq <= 31).then(|| -113 + 2 * i16::from(self.csq))
    }

    /// RSRP in dBm, `None` when unknown.
    pub fn rsrp(self) -> Option<i16> {
        self.rsrp_dbm
            .or_else(|| self.rssi_dbm().map(|rssi| (rssi - 20).clamp(-140, -44)))
    }
}

/// The state of the simulated radio network and how the modem reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// What the network offers (set by the control plane).
    pub status: RegistrationStatus,
    /// Technology of the serving cell.
    pub tech: AccessTech,
    /// Operator name.
    pub operator: String,
    /// Signal quality.
    pub signal: Signal,
    /// Whether the radio is on (`AT+CFUN=1`); off means not registered.
    pub radio_on: bool,
    /// Whether the SIM is unlocked; without it the modem does not register.
    pub sim_ready: bool,
    /// The `<n>` of `+CREG`, `+CGREG`, `+CEREG`.
    report_levels: [u8; 3],
}

impl Default for Network {
    fn default() -> Self {
        Self {
            status: RegistrationStatus::Home,
            tech: AccessTech::Lte,
            operator: "SIMNET".to_owned(),
            signal: Signal {
                csq: 20,
                rsrp_dbm: None,
            },
            radio_on: true,
            sim_ready: true,
            report_levels: [0; 3],
        }
    }
}

/// What one domain reports: status and technology.
type DomainView = (RegistrationStatus, AccessTech);

impl Network {
    /// Sets `<n>` of a domain's registration report (0, 1 or 2).
    pub fn set_report_level(&mut self, domain: Domain, level: u8) {
        self.report_levels[domain.position()] = level;
    }

    /// `<n>` of a domain's registration report.
    pub fn report_level(&self, domain: Domain) -> u8 {
        self.report_levels[domain.position()]
    }

    /// The status as the modem sees it: not registered while the radio is off or the SIM locked.
    pub fn effective_status(&self) -> RegistrationStatus {
        if self.radio_on && self.sim_ready {
            self.status
        } else {
            RegistrationStatus::Idle
        }
    }

    /// Whether the modem is registered and can send SMS.
    pub fn is_registered(&self) -> bool {
        self.effective_status().is_registered()
    }

    fn view(&self, domain: Domain) -> DomainView {
        let status = self.effective_status();
        if domain == Domain::Eps && !self.tech.is_eutran() && status.is_registered() {
            // Registered on GSM/UMTS: not registered in EPS.
            return (RegistrationStatus::Idle, self.tech);
        }
        (status, self.tech)
    }

    /// The `+CREG?`-style answer for a domain, for example `+CREG: 2,1,"1A2B","01A2B3C4",7`.
    pub fn query_line(&self, domain: Domain) -> String {
        let level = self.report_level(domain);
        format!(
            "{}: {level},{}",
            domain.prefix(),
            self.report_fields(domain, level)
        )
    }

    /// The `<stat>[,<lac>,<ci>,<AcT>]` part of a report for `<n>`=`level`.
    fn report_fields(&self, domain: Domain, level: u8) -> String {
        let (status, tech) = self.view(domain);
        if level >= 2 && status.is_registered() {
            format!(
                "{},\"{AREA_CODE}\",\"{CELL_ID}\",{}",
                status.code(),
                tech.code()
            )
        } else {
            status.code().to_string()
        }
    }

    /// Applies `change` and returns the registration URCs it causes (lines without line ends).
    pub fn change(&mut self, change: impl FnOnce(&mut Self)) -> Vec<String> {
        let before = Domain::ALL.map(|domain| self.view(domain));
        change(self);
        Domain::ALL
            .into_iter()
            .zip(before)
            .filter_map(|(domain, old)| {
                let new = self.view(domain);
                let level = self.report_level(domain);
                let changed = match level {
                    0 => false,
                    1 => new.0 != old.0,
                    _ => new != old,
                };
                changed
                    .then(|| format!("{}: {}", domain.prefix(), self.report_fields(domain, level)))
            })
            .collect()
    }

    /// The unsolicited form of a domain's report, for example `+CREG: 1` (used by quirks).
    pub fn unsolicited_line(&self, domain: Domain) -> String {
        let level = self.report_level(domain).max(1);
        format!("{}: {}", domain.prefix(), self.report_fields(domain, level))
    }

    /// The `+CSQ` answer (unknown while the radio is off).
    pub fn csq_line(&self) -> String {
        let csq = if self.radio_on { self.signal.csq } else { 99 };
        format!("+CSQ: {csq},99")
    }

    /// RSRQ in dB as `+CESQ` reports it on an E-UTRAN cell.
    pub fn rsrq_db() -> f64 {
        f64::from(RSRQ_INDEX) / 2.0 - 20.0
    }

    /// The `+CESQ` answer: `<rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>`.
    pub fn cesq_line(&self) -> String {
        let rssi = self.signal.rssi_dbm().filter(|_| self.radio_on);
        let fields = match (rssi, self.tech) {
            (None, _) => [99, 99, 255, 255, 255, 255],
            (Some(rssi), AccessTech::Gsm) => [to_index(rssi + 111, 63), 0, 255, 255, 255, 255],
            (Some(rssi), AccessTech::Umts) => [99, 99, to_index(rssi + 121, 96), 40, 255, 255],
            (Some(_), _) => {
                let rsrp = self
                    .signal
                    .rsrp()
                    .map_or(255, |dbm| to_index(dbm + 141, 97));
                [99, 99, 255, 255, RSRQ_INDEX, rsrp]
            }
        };
        let [rxlev, ber, rscp, ecno, rsrq, rsrp] = fields;
        format!("+CESQ: {rxlev},{ber},{rscp},{ecno},{rsrq},{rsrp}")
    }
}

/// A measurement clamped to the index range `0..=max`.
fn to_index(value: i16, max: u16) -> u16 {
    u16::try_from(value.max(0)).unwrap_or(0).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lines_follow_report_level() {
        let mut network = Network::default();
        assert_eq!(network.query_line(Domain::Circuit), "+CREG: 0,1");
        network.set_report_level(Domain::Eps, 2);
        assert_eq!(
            network.query_line(Domain::Eps),
            "+CEREG: 2,1,\"1A2B\",\"01A2B3C4\",7"
        );
        network.status = RegistrationStatus::Searching;
        assert_eq!(network.query_line(Domain::Eps), "+CEREG: 2,2");
    }

    #[test]
    fn changes_produce_urcs_per_level() {
        let mut network = Network::default();
        network.set_report_level(Domain::Circuit, 1);
        network.set_report_level(Domain::Eps, 2);
        let urcs = network.change(|network| network.status = RegistrationStatus::Roaming);
        assert_eq!(urcs, ["+CREG: 5", "+CEREG: 5,\"1A2B\",\"01A2B3C4\",7"]);
        // A technology change alone is reported only at level 2; GSM leaves EPS.
        let urcs = network.change(|network| network.tech = AccessTech::Gsm);
        assert_eq!(urcs, ["+CEREG: 0"]);
        assert!(
            network
                .change(|network| network.operator = "X".into())
                .is_empty()
        );
    }

    #[test]
    fn radio_off_deregisters() {
        let mut network = Network::default();
        network.set_report_level(Domain::Gprs, 1);
        assert_eq!(
            network.change(|network| network.radio_on = false),
            ["+CGREG: 0"]
        );
        assert_eq!(network.csq_line(), "+CSQ: 99,99");
    }

    #[test]
    fn signal_reports() {
        let mut network = Network {
            signal: Signal {
                csq: 20,
                rsrp_dbm: Some(-95),
            },
            ..Network::default()
        };
        assert_eq!(network.csq_line(), "+CSQ: 20,99");
        // RSRP -95 dBm is index 46 (TS 36.133 §9.1.4: index = dBm + 141).
        assert_eq!(network.cesq_line(), "+CESQ: 99,99,255,255,20,46");
        network.tech = AccessTech::Gsm;
        // RSSI -73 dBm is RXLEV 38 (TS 45.008 §8.1.4: index = dBm + 111).
        assert_eq!(network.cesq_line(), "+CESQ: 38,0,255,255,255,255");
        network.signal.csq = 99;
        assert_eq!(network.cesq_line(), "+CESQ: 99,99,255,255,255,255");
    }
}
