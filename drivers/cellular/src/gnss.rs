//! The GNSS receiver inside a modem: which command family drives it, and what its answers say.
//!
//! Quectel (`AT+QGPS`, `AT+QGPSLOC=2`, `AT+QGPSEND`; Quectel GNSS AT Commands Manual) and SIMCom
//! (`AT+CGPS`, `AT+CGPSINFO`; SIMCom SIM7500/SIM7600 AT Command Manual). The receiver is probed
//! during initialisation (`AT+QGPS?` / `AT+CGPS?`); a modem that answers has a GNSS and lists
//! `location` whether it is on or not. It is off unless the `gnss` option or `SetEnabled`
//! switches it on, and polled every `gnss_interval` while it is on.

use std::collections::BTreeMap;

use m2mhal_at::{AtError, Command, Response};
use m2mhal_plugin_api::{Fix, FixMode, LocationSource, unix_time};

use crate::parse::{Field, first_fields};

/// Timeout of the GNSS commands (switching on may take a moment).
const GNSS_TIMEOUT_MS: u64 = 10_000;
/// Default period of the position poll while the GNSS is on, in seconds (`gnss_interval`).
const DEFAULT_INTERVAL_S: u64 = 5;
/// Knots to metres per second.
const KNOT_M_S: f64 = 1852.0 / 3600.0;

/// Quectel: `+CME ERROR: 504`, the session is already running (switching on twice).
const QUECTEL_SESSION_ONGOING: u16 = 504;
/// Quectel: `+CME ERROR: 505`, no session is running (switching off twice).
const QUECTEL_SESSION_INACTIVE: u16 = 505;
/// Quectel: `+CME ERROR: 516`, no fix yet.
const QUECTEL_NO_FIX: u16 = 516;

/// The GNSS command family of a modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GnssFamily {
    /// `AT+QGPS...`.
    Quectel,
    /// `AT+CGPS...`.
    Simcom,
}

impl GnssFamily {
    /// The family of a modem by its `AT+CGMI` answer, if it has a known one.
    pub fn of_manufacturer(manufacturer: &str) -> Option<Self> {
        let manufacturer = manufacturer.to_ascii_lowercase();
        if manufacturer.contains("quectel") {
            Some(GnssFamily::Quectel)
        } else if manufacturer.contains("simcom") {
            Some(GnssFamily::Simcom)
        } else {
            None
        }
    }

    /// Asks whether the modem has a GNSS and whether it is on.
    pub fn probe(self) -> Command {
        match self {
            GnssFamily::Quectel => Command::new("AT+QGPS?", GNSS_TIMEOUT_MS),
            GnssFamily::Simcom => Command::new("AT+CGPS?", GNSS_TIMEOUT_MS),
        }
    }

    /// The answer to [`GnssFamily::probe`]: `Some(on)` when the modem has a GNSS.
    pub fn probed(self, result: &Result<Response, AtError>) -> Option<bool> {
        let prefix = match self {
            GnssFamily::Quectel => "+QGPS:",
            GnssFamily::Simcom => "+CGPS:",
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
                            QUECTEL_SESSION_ONGOING
                        } else {
                            QUECTEL_SESSION_INACTIVE
                        })
            }
            Err(_) => false,
        }
    }

    /// Reads the position.
    pub fn poll(self) -> Command {
        match self {
            GnssFamily::Quectel => Command::new("AT+QGPSLOC=2", GNSS_TIMEOUT_MS),
            GnssFamily::Simcom => Command::new("AT+CGPSINFO", GNSS_TIMEOUT_MS),
        }
    }

    /// The fix in the answer to [`GnssFamily::poll`]: [`Fix::none`] when the receiver has none;
    /// `None` when the answer is an error or cannot be read (the last fix stands).
    pub fn fix(self, result: &Result<Response, AtError>) -> Option<Fix> {
        match (self, result) {
            (GnssFamily::Quectel, Err(AtError::Cme(error)))
                if error.code == Some(QUECTEL_NO_FIX) =>
            {
                Some(Fix::none())
            }
            (_, Err(_)) => None,
            (GnssFamily::Quectel, Ok(response)) => {
                quectel_fix(&first_fields(&response.lines, "+QGPSLOC:")?)
            }
            (GnssFamily::Simcom, Ok(response)) => {
                simcom_fix(&first_fields(&response.lines, "+CGPSINFO:")?)
            }
        }
    }
}

/// `+QGPSLOC: <UTC hhmmss.sss>,<lat (-)dd.ddddd>,<lon (-)ddd.ddddd>,<HDOP>,<altitude>,<fix 2|3>,
/// <COG ddd.mm>,<km/h>,<knots>,<date ddmmyy>,<satellites>`.
fn quectel_fix(fields: &[Field<'_>]) -> Option<Fix> {
    let number = |index: usize| fields.get(index)?.number::<f64>().filter(|n| n.is_finite());
    let latitude = number(1).filter(|l| l.abs() <= 90.0)?;
    let longitude = number(2).filter(|l| l.abs() <= 180.0)?;
    let three_d = fields.get(5)?.number::<u8>()? == 3;
    // Course as degrees and minutes.
    let course = number(6).map(|cog| cog.trunc() + (cog.fract() * 100.0) / 60.0);
    Some(Fix {
        mode: if three_d {
            FixMode::ThreeD
        } else {
            FixMode::TwoD
        },
        latitude,
        longitude,
        altitude: if three_d {
            number(4).unwrap_or(f64::NAN)
        } else {
            f64::NAN
        },
        hdop: number(3).unwrap_or(f64::NAN),
        speed: number(7).map_or(f64::NAN, |kmh| kmh / 3.6),
        course: course.unwrap_or(f64::NAN),
        satellites_used: fields.get(10).and_then(|f| f.number()).unwrap_or(0),
        time: time_of(fields.get(9)?.text, fields.first()?.text)?,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    })
}

/// `+CGPSINFO: <lat ddmm.mmmmmm>,<N/S>,<lon dddmm.mmmmmm>,<E/W>,<date ddmmyy>,<UTC hhmmss.s>,
/// <altitude>,<knots>,<course>`; all empty without a fix.
fn simcom_fix(fields: &[Field<'_>]) -> Option<Fix> {
    if fields.iter().all(|field| field.text.is_empty()) {
        return Some(Fix::none());
    }
    let number = |index: usize| fields.get(index)?.number::<f64>().filter(|n| n.is_finite());
    let latitude = degrees(number(0)?, fields.get(1)?.text, ('N', 'S'), 90.0)?;
    let longitude = degrees(number(2)?, fields.get(3)?.text, ('E', 'W'), 180.0)?;
    let altitude = number(6);
    Some(Fix {
        mode: if altitude.is_some() {
            FixMode::ThreeD
        } else {
            FixMode::TwoD
        },
        latitude,
        longitude,
        altitude: altitude.unwrap_or(f64::NAN),
        speed: number(7).map_or(f64::NAN, |knots| knots * KNOT_M_S),
        course: number(8).unwrap_or(f64::NAN),
        time: time_of(fields.get(4)?.text, fields.get(5)?.text)?,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    })
}

/// `dddmm.mmmm` and its hemisphere letter as signed degrees.
fn degrees(value: f64, hemisphere: &str, letters: (char, char), max: f64) -> Option<f64> {
    let whole = (value / 100.0).trunc();
    let minutes = value - whole * 100.0;
    let magnitude = whole + minutes / 60.0;
    if value < 0.0 || minutes >= 60.0 || magnitude > max {
        return None;
    }
    match hemisphere.chars().next()? {
        letter if letter == letters.0 => Some(magnitude),
        letter if letter == letters.1 => Some(-magnitude),
        _ => None,
    }
}

/// Unix seconds of a `ddmmyy` date and an `hhmmss[.s]` time.
fn time_of(date: &str, time: &str) -> Option<u64> {
    let digits = |text: &str, range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let (day, month, year) = (
        digits(date, 0..2)?,
        digits(date, 2..4)?,
        digits(date, 4..6)?,
    );
    let seconds = digits(time, 0..2)? * 3600 + digits(time, 2..4)? * 60 + digits(time, 4..6)?;
    unix_time(2000 + i32::try_from(year).ok()?, month, day, seconds)
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

#[cfg(test)]
mod tests {
    use m2mhal_at::CmeError;

    use super::*;

    fn answer(line: &str) -> Result<Response, AtError> {
        Ok(Response {
            lines: vec![line.to_owned()],
            binary: None,
        })
    }

    fn cme(code: &str) -> Result<Response, AtError> {
        Err(AtError::Cme(CmeError::from_text(code)))
    }

    #[test]
    fn quectel_location_in_mode_2() {
        // The Quectel GNSS AT Commands Manual's example, in mode 2.
        let fix = GnssFamily::Quectel
            .fix(&answer(
                "+QGPSLOC: 061951.000,31.84537,117.19882,0.7,62.2,3,150.30,36.0,19.4,110513,09",
            ))
            .unwrap();
        assert_eq!(fix.mode, FixMode::ThreeD);
        assert_eq!((fix.latitude, fix.longitude), (31.84537, 117.19882));
        assert_eq!(
            (fix.hdop, fix.altitude, fix.satellites_used),
            (0.7, 62.2, 9)
        );
        assert!((fix.course - 150.5).abs() < 1e-9, "150 degrees 30 minutes");
        assert!((fix.speed - 10.0).abs() < 1e-9, "36 km/h");
        // 2013-05-11 06:19:51 UTC.
        assert_eq!(fix.time, 1_368_253_191);
        assert!(
            GnssFamily::Quectel
                .fix(&cme("516"))
                .unwrap()
                .same_as(&Fix::none())
        );
        assert_eq!(GnssFamily::Quectel.fix(&Err(AtError::Error)), None);
        let two_d = GnssFamily::Quectel
            .fix(&answer(
                "+QGPSLOC: 061951.000,-31.5,-117.25,1.2,62.2,2,0.00,0.0,0.0,110513,04",
            ))
            .unwrap();
        assert_eq!((two_d.mode, two_d.latitude), (FixMode::TwoD, -31.5));
        assert!(two_d.altitude.is_nan());
    }

    #[test]
    fn simcom_gps_info() {
        // The SIMCom SIM7600 AT Command Manual's example.
        let fix = GnssFamily::Simcom
            .fix(&answer(
                "+CGPSINFO: 3113.343286,N,12121.234064,E,250311,072809.3,44.1,0.0,0",
            ))
            .unwrap();
        assert!((fix.latitude - (31.0 + 13.343286 / 60.0)).abs() < 1e-9);
        assert!((fix.longitude - (121.0 + 21.234064 / 60.0)).abs() < 1e-9);
        assert_eq!(
            (fix.mode, fix.altitude, fix.speed),
            (FixMode::ThreeD, 44.1, 0.0)
        );
        // 2011-03-25 07:28:09 UTC.
        assert_eq!(fix.time, 1_301_038_089);
        let none = GnssFamily::Simcom
            .fix(&answer("+CGPSINFO: ,,,,,,,,"))
            .unwrap();
        assert!(none.same_as(&Fix::none()));
        assert_eq!(
            GnssFamily::Simcom.fix(&answer("+CGPSINFO: 3113.3,X,12121.2,E,250311,072809.3,,,")),
            None
        );
    }

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
        assert_eq!(GnssFamily::of_manufacturer("u-blox"), None);
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
