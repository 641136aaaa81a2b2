//! Signal bars and service availability: `+CSQ:<bars>` answers and the `+CIEV` indications
//! enabled by `AT+CIER=1,1,1` (`+CIEV:0,<bars>` signal, `+CIEV:1,<0|1>` service).

use m2mhal_plugin_api::SignalUpdate;

use crate::parse::{first_numbers, numbers};

/// Bars range from 0 to 5; `Quality` is bars x 20 percent.
const MAX_BARS: u8 = 5;
const PERCENT_PER_BAR: u32 = 20;

/// One `+CIEV` indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Indication {
    /// `+CIEV:0,<bars>`: the signal strength changed.
    Signal(u8),
    /// `+CIEV:1,<0|1>`: network service became unavailable or available.
    Service(bool),
}

/// Reads a `+CIEV` line; `None` for other indicators (antenna, SBD service) and garbage.
pub(crate) fn parse_indication(line: &str) -> Option<Indication> {
    match numbers(line, "+CIEV:")?[..] {
        [0, bars] => bars_of(bars).map(Indication::Signal),
        [1, 0] => Some(Indication::Service(false)),
        [1, 1] => Some(Indication::Service(true)),
        _ => None,
    }
}

/// Reads the bars of an `AT+CSQ` answer (`+CSQ:4`).
pub(crate) fn parse_bars(lines: &[String]) -> Option<u8> {
    match first_numbers(lines, "+CSQ:")?[..] {
        [bars] => bars_of(bars),
        _ => None,
    }
}

fn bars_of(value: i64) -> Option<u8> {
    u8::try_from(value).ok().filter(|bars| *bars <= MAX_BARS)
}

/// What is known of the satellite link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SignalTracker {
    /// Whether the terminal has network service; `None` until a reading says.
    service: Option<bool>,
    /// The terminal itself said there is no service (`+CIEV:1,0`): only its `+CIEV:1,1` says
    /// otherwise, not a bars reading.
    lost_by_indication: bool,
}

impl SignalTracker {
    /// Forgets every reading (the terminal is being re-initialised).
    pub fn forget(&mut self) {
        *self = SignalTracker::default();
    }

    /// Whether a reading said there is no service. Unknown service does not block a session:
    /// the session result tells.
    pub fn service_unavailable(&self) -> bool {
        self.service == Some(false)
    }

    /// Takes a bars reading (service is available with 1 bar or more, as the manual defines it)
    /// and returns the update to publish.
    pub fn set_bars(&mut self, bars: u8, unix_time: u64) -> SignalUpdate {
        if !self.lost_by_indication {
            self.service = Some(bars > 0);
        }
        SignalUpdate {
            quality: Some(u32::from(bars) * PERCENT_PER_BAR),
            rssi: Some(0),
            technology: Some("iridium".to_owned()),
            registration: Some(String::new()),
            updated_at: Some(unix_time),
            ..SignalUpdate::default()
        }
    }

    /// Takes a service indication (`+CIEV:1,<0|1>`).
    pub fn set_service(&mut self, available: bool) {
        self.service = Some(available);
        self.lost_by_indication = !available;
    }

    /// A session failed for want of network service (MO status 32): no session until a reading
    /// or an indication shows service again.
    pub fn session_found_no_service(&mut self) {
        self.service = Some(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn csq_bars() {
        assert_eq!(parse_bars(&lines(&["+CSQ:4"])), Some(4));
        assert_eq!(parse_bars(&lines(&["+CSQ: 0"])), Some(0));
        assert_eq!(parse_bars(&lines(&["+CSQ:6"])), None);
        assert_eq!(parse_bars(&lines(&["+CSQ:20,99"])), None);
        assert_eq!(parse_bars(&lines(&[])), None);
    }

    #[test]
    fn indications() {
        assert_eq!(parse_indication("+CIEV:0,3"), Some(Indication::Signal(3)));
        assert_eq!(
            parse_indication("+CIEV:1,0"),
            Some(Indication::Service(false))
        );
        assert_eq!(
            parse_indication("+CIEV: 1, 1"),
            Some(Indication::Service(true))
        );
        assert_eq!(parse_indication("+CIEV:2,1"), None, "antenna indicator");
        assert_eq!(parse_indication("+CIEV:0,9"), None);
        assert_eq!(parse_indication("+CIEV:1,2"), None);
    }

    #[test]
    fn bars_give_quality_and_service() {
        let mut tracker = SignalTracker::default();
        assert!(!tracker.service_unavailable(), "unknown is not unavailable");
        let update = tracker.set_bars(3, 1_700_000_000);
        assert_eq!(update.quality, Some(60));
        assert_eq!(update.technology.as_deref(), Some("iridium"));
        assert_eq!(update.rssi, Some(0));
        assert_eq!(update.updated_at, Some(1_700_000_000));
        tracker.set_bars(0, 1_700_000_001);
        assert!(tracker.service_unavailable());
        tracker.set_service(true);
        assert!(!tracker.service_unavailable());
    }
}
