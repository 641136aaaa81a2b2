//! The sky as the transceiver sees it (signal bars, network service) and the `+CIEV` indications
//! that `AT+CIER` turns on.

/// Signal and service, as the control plane sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Signal strength in bars, 0 to 5 (what `AT+CSQ` reports).
    pub bars: u8,
    /// Whether the network offers service at all (`service on|off`).
    pub service: bool,
}

impl Coverage {
    /// The most bars a 9603 shows.
    pub const MAX_BARS: u8 = 5;

    /// Whether an SBD session can start: service on and at least one bar (the manual's "service
    /// availability").
    pub fn available(self) -> bool {
        self.service && self.bars > 0
    }
}

impl Default for Coverage {
    /// A clear view of the sky: 5 bars, service on.
    fn default() -> Self {
        Self {
            bars: Self::MAX_BARS,
            service: true,
        }
    }
}

/// The `AT+CIER=<mode>,<sigind>,<svcind>,<antind>` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Indications {
    /// `<mode>` 1: indications are sent at all.
    pub enabled: bool,
    /// `<sigind>` 1: `+CIEV:0,<bars>` on signal changes.
    pub signal: bool,
    /// `<svcind>` 1: `+CIEV:1,<0|1>` on service availability changes.
    pub service: bool,
    /// `<antind>` 1: antenna fault indications (accepted; the simulated antenna never fails).
    pub antenna: bool,
}

impl Indications {
    /// Parses the arguments of `AT+CIER=`: up to five flags of 0 or 1 (the fifth, satellite beam
    /// reporting, is accepted and ignored); missing ones are 0.
    pub fn parse(arguments: &str) -> Option<Self> {
        let mut flags = [false; 5];
        let fields: Vec<&str> = arguments.split(',').collect();
        if fields.len() > flags.len() {
            return None;
        }
        for (flag, field) in flags.iter_mut().zip(&fields) {
            *flag = match field.trim() {
                "0" | "" => false,
                "1" => true,
                _ => return None,
            };
        }
        let [enabled, signal, service, antenna, _beam] = flags;
        Some(Self {
            enabled,
            signal,
            service,
            antenna,
        })
    }

    /// The `+CIER:` answer to `AT+CIER?`.
    pub fn read_line(self) -> String {
        let flag = |on: bool| u8::from(on);
        format!(
            "+CIER:{},{},{},{}",
            flag(self.enabled),
            flag(self.signal),
            flag(self.service),
            flag(self.antenna)
        )
    }

    /// The indications for a move from `before` to `after`: only what changed and is enabled.
    pub fn changes(self, before: Coverage, after: Coverage) -> Vec<String> {
        let mut urcs = Vec::new();
        if self.enabled && self.signal && before.bars != after.bars {
            urcs.push(signal_line(after));
        }
        if self.enabled && self.service && before.available() != after.available() {
            urcs.push(service_line(after));
        }
        urcs
    }

    /// The current value of each indicator this setting turns on that `previous` had off: a
    /// 9603 reports them right after enabling, so the host starts from a known state.
    pub fn newly_enabled(self, previous: Self, coverage: Coverage) -> Vec<String> {
        let signal_before = previous.enabled && previous.signal;
        let service_before = previous.enabled && previous.service;
        let mut urcs = Vec::new();
        if self.enabled && self.signal && !signal_before {
            urcs.push(signal_line(coverage));
        }
        if self.enabled && self.service && !service_before {
            urcs.push(service_line(coverage));
        }
        urcs
    }
}

fn signal_line(coverage: Coverage) -> String {
    format!("+CIEV:0,{}", coverage.bars)
}

fn service_line(coverage: Coverage) -> String {
    format!("+CIEV:1,{}", u8::from(coverage.available()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cier_arguments() {
        let all = Indications::parse("1,1,1").unwrap();
        assert!(all.enabled && all.signal && all.service && !all.antenna);
        assert_eq!(all.read_line(), "+CIER:1,1,1,0");
        assert_eq!(Indications::parse("0"), Some(Indications::default()));
        assert!(Indications::parse("1,1,1,1,0").is_some());
        assert_eq!(Indications::parse("1,2"), None);
        assert_eq!(Indications::parse("1,1,1,1,1,1"), None);
        assert_eq!(Indications::parse("x"), None);
    }

    #[test]
    fn only_enabled_changes_are_indicated() {
        let all = Indications::parse("1,1,1").unwrap();
        let clear = Coverage::default();
        let two_bars = Coverage { bars: 2, ..clear };
        let no_signal = Coverage { bars: 0, ..clear };
        assert_eq!(all.changes(clear, two_bars), ["+CIEV:0,2"]);
        assert_eq!(all.changes(two_bars, no_signal), ["+CIEV:0,0", "+CIEV:1,0"]);
        assert!(all.changes(clear, clear).is_empty());
        let service_only = Indications::parse("1,0,1").unwrap();
        assert_eq!(service_only.changes(two_bars, no_signal), ["+CIEV:1,0"]);
        let off = Indications::parse("0,1,1").unwrap();
        assert!(off.changes(two_bars, no_signal).is_empty());
    }
}
