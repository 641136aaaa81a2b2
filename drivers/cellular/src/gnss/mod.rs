//! The GNSS receiver inside a modem: which command family drives it, and what its answers say.
//!
//! One module per vendor, each citing the manual it follows: [`quectel`] (`AT+QGPS`,
//! `AT+QGPSLOC=2`, `AT+QGPSEND`), [`simcom`] (`AT+CGPS`, `AT+CGPSINFO`), [`ublox`] (`AT+UGPS`,
//! `AT+UGRMC`, `AT+UGGGA`: NMEA sentences, read by the `m2mhal-nmea` crate) and [`telit`]
//! (`AT$GPSP`, `AT$GPSACP`); [`acp`] is the position layout Telit and Quectel share, [`units`] the
//! number formats of the answers that are not NMEA. The family follows from the manufacturer (`AT+CGMI`); the receiver is probed
//! during initialisation (`AT+QGPS?`, `AT+CGPS?`, `AT+UGPS?`, `AT$GPSP?`), and a modem that
//! answers has a GNSS and lists `location` whether it is on or not. It is off unless the `gnss`
//! option or `SetEnabled` switches it on, and polled every `gnss_interval` while it is on.

mod acp;
mod quectel;
mod simcom;
mod telit;
mod ublox;
mod units;

use std::collections::BTreeMap;

use m2mhal_at::{AtError, Command, Response};
use m2mhal_plugin_api::Fix;

use crate::parse::first_fields;

/// Timeout of the GNSS commands (switching on may take a moment).
const GNSS_TIMEOUT_MS: u64 = 10_000;
/// Default period of the position poll while the GNSS is on, in seconds (`gnss_interval`).
const DEFAULT_INTERVAL_S: u64 = 5;

/// The GNSS command family of a modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GnssFamily {
    /// `AT+QGPS...`.
    Quectel,
    /// `AT+CGPS...`.
    Simcom,
    /// `AT+UGPS`, `AT+UGRMC`.
    Ublox,
    /// `AT$GPSP`, `AT$GPSACP`.
    Telit,
}

impl GnssFamily {
    /// The family of a modem by its `AT+CGMI` answer, if it has a known one.
    pub fn of_manufacturer(manufacturer: &str) -> Option<Self> {
        let manufacturer = manufacturer.to_ascii_lowercase();
        [
            ("quectel", GnssFamily::Quectel),
            ("simcom", GnssFamily::Simcom),
            ("u-blox", GnssFamily::Ublox),
            ("telit", GnssFamily::Telit),
        ]
        .into_iter()
        .find_map(|(name, family)| manufacturer.contains(name).then_some(family))
    }

    /// Asks whether the modem has a GNSS and whether it is on.
    pub fn probe(self) -> Command {
        let line = match self {
            GnssFamily::Quectel => "AT+QGPS?",
            GnssFamily::Simcom => "AT+CGPS?",
            GnssFamily::Ublox => "AT+UGPS?",
            GnssFamily::Telit => "AT$GPSP?",
        };
        Command::new(line, GNSS_TIMEOUT_MS)
    }

    /// The answer to [`GnssFamily::probe`]: `Some(on)` when the modem has a GNSS.
    pub fn probed(self, result: &Result<Response, AtError>) -> Option<bool> {
        let prefix = match self {
            GnssFamily::Quectel => "+QGPS:",
            GnssFamily::Simcom => "+CGPS:",
            GnssFamily::Ublox => "+UGPS:",
            GnssFamily::Telit => "$GPSP:",
        };
        let lines = result.as_ref().ok()?;
        let on = first_fields(&lines.lines, prefix)?
            .first()?
            .number::<u8>()?;
        Some(on == 1)
    }

    /// Switches the GNSS on or off.
    pub fn power(self, on: bool) -> Command {
        let line = match (self, on) {
            (GnssFamily::Quectel, true) => "AT+QGPS=1",
            (GnssFamily::Quectel, false) => "AT+QGPSEND",
            (GnssFamily::Simcom, true) => "AT+CGPS=1",
            (GnssFamily::Simcom, false) => "AT+CGPS=0",
            (GnssFamily::Ublox, true) => ublox::POWER_ON,
            (GnssFamily::Ublox, false) => "AT+UGPS=0",
            (GnssFamily::Telit, true) => "AT$GPSP=1",
            (GnssFamily::Telit, false) => "AT$GPSP=0",
        };
        Command::new(line, GNSS_TIMEOUT_MS)
    }

    /// Whether switching `on` worked: done, or it was so already.
    pub fn powered(self, on: bool, result: &Result<Response, AtError>) -> bool {
        match result {
            Ok(_) => true,
            Err(AtError::Cme(error)) => {
                self == GnssFamily::Quectel
                    && error.code
                        == Some(if on {
                            quectel::SESSION_ONGOING
                        } else {
                            quectel::SESSION_INACTIVE
                        })
            }
            Err(_) => false,
        }
    }

    /// What a running receiver needs before it can be polled: u-blox keeps the sentences for
    /// `AT+UGRMC?` and `AT+UGGGA?` only after `AT+UGRMC=1` and `AT+UGGGA=1`.
    pub fn setup(self) -> Option<Command> {
        (self == GnssFamily::Ublox).then(|| Command::new(ublox::KEEP_SENTENCES, GNSS_TIMEOUT_MS))
    }

    /// Reads the position.
    pub fn poll(self) -> Command {
        let line = match self {
            GnssFamily::Quectel => "AT+QGPSLOC=2",
            GnssFamily::Simcom => "AT+CGPSINFO",
            GnssFamily::Ublox => ublox::READ_SENTENCES,
            GnssFamily::Telit => "AT$GPSACP",
        };
        Command::new(line, GNSS_TIMEOUT_MS)
    }

    /// The fix in the answer to [`GnssFamily::poll`]: [`Fix::none`] when the receiver has none;
    /// `None` when the answer is an error or cannot be read (the last fix stands).
    pub fn fix(self, result: &Result<Response, AtError>) -> Option<Fix> {
        let response = match (self, result) {
            (GnssFamily::Quectel, Err(AtError::Cme(error)))
                if error.code == Some(quectel::NO_FIX) =>
            {
                return Some(Fix::none());
            }
            (_, Err(_)) => return None,
            (_, Ok(response)) => response,
        };
        let lines = &response.lines;
        match self {
            GnssFamily::Quectel => quectel::fix(&first_fields(lines, "+QGPSLOC:")?),
            GnssFamily::Simcom => simcom::fix(&first_fields(lines, "+CGPSINFO:")?),
            GnssFamily::Ublox => ublox::fix(lines),
            GnssFamily::Telit => telit::fix(&first_fields(lines, "$GPSACP:")?),
        }
    }
}

/// The GNSS options of the driver configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GnssOptions {
    /// `gnss`: switch the GNSS on at start (default false: it costs power).
    pub enabled: bool,
    /// `gnss_interval`: seconds between position polls while on (default 5), in milliseconds.
    pub interval_ms: u64,
}

impl GnssOptions {
    /// Reads `gnss` and `gnss_interval`; a value that does not parse is an error naming it.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<Self, String> {
        let enabled = match options.get("gnss").map(|text| text.trim()) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(format!("option gnss: {other:?} is not true or false")),
        };
        let interval_s = match options.get("gnss_interval") {
            None => DEFAULT_INTERVAL_S,
            Some(text) => text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|seconds| *seconds > 0)
                .ok_or_else(|| {
                    format!("option gnss_interval: {text:?} is not a number of seconds (1 or more)")
                })?,
        };
        Ok(GnssOptions {
            enabled,
            interval_ms: interval_s.saturating_mul(1000),
        })
    }
}

/// Answers as the AT layer hands them over, for the vendor modules' tests.
#[cfg(test)]
mod answers {
    use m2mhal_at::{AtError, CmeError, Response};

    /// `OK` after this one information line.
    pub fn answer(line: &str) -> Result<Response, AtError> {
        answer_lines(&[line])
    }

    /// `OK` after these information lines.
    pub fn answer_lines(lines: &[&str]) -> Result<Response, AtError> {
        Ok(Response {
            lines: lines.iter().map(|line| (*line).to_owned()).collect(),
            binary: None,
        })
    }

    /// `+CME ERROR: <code>`.
    pub fn cme(code: &str) -> Result<Response, AtError> {
        Err(AtError::Cme(CmeError::from_text(code)))
    }
}

#[cfg(test)]
mod tests {
    use super::answers::{answer, cme};
    use super::*;

    #[test]
    fn probes_and_power() {
        assert_eq!(
            GnssFamily::of_manufacturer("Quectel"),
            Some(GnssFamily::Quectel)
        );
        assert_eq!(
            GnssFamily::of_manufacturer("SIMCOM INCORPORATED"),
            Some(GnssFamily::Simcom)
        );
        assert_eq!(
            GnssFamily::of_manufacturer("u-blox"),
            Some(GnssFamily::Ublox)
        );
        assert_eq!(
            GnssFamily::of_manufacturer("Telit"),
            Some(GnssFamily::Telit)
        );
        assert_eq!(GnssFamily::of_manufacturer("Sierra Wireless"), None);
        assert_eq!(
            GnssFamily::Ublox.probed(&answer("+UGPS: 1,0,67")),
            Some(true)
        );
        assert_eq!(GnssFamily::Telit.probed(&answer("$GPSP: 0")), Some(false));
        assert_eq!(GnssFamily::Telit.probed(&answer("+UGPS: 1")), None);
        assert!(GnssFamily::Ublox.setup().is_some());
        assert!(GnssFamily::Telit.setup().is_none());
        assert_eq!(GnssFamily::Quectel.probed(&answer("+QGPS: 0")), Some(false));
        assert_eq!(GnssFamily::Simcom.probed(&answer("+CGPS: 1,1")), Some(true));
        assert_eq!(GnssFamily::Quectel.probed(&Err(AtError::Error)), None);
        assert!(GnssFamily::Quectel.powered(true, &cme("504")));
        assert!(GnssFamily::Quectel.powered(false, &cme("505")));
        assert!(!GnssFamily::Quectel.powered(true, &cme("505")));
        assert!(!GnssFamily::Simcom.powered(true, &Err(AtError::Error)));
    }

    #[test]
    fn options() {
        let parse = |pairs: &[(&str, &str)]| {
            GnssOptions::parse(
                &pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        assert_eq!(
            parse(&[]),
            Ok(GnssOptions {
                enabled: false,
                interval_ms: 5_000
            })
        );
        assert_eq!(
            parse(&[("gnss", "true"), ("gnss_interval", "2")]),
            Ok(GnssOptions {
                enabled: true,
                interval_ms: 2_000
            })
        );
        assert!(parse(&[("gnss", "yes")]).unwrap_err().contains("gnss"));
        assert!(
            parse(&[("gnss_interval", "0")])
                .unwrap_err()
                .contains("gnss_interval")
        );
    }
}
