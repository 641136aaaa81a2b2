//! The Quectel GNSS commands of a modem simulated with `--gnss`: `AT+QGPS?`, `AT+QGPS=1`,
//! `AT+QGPSLOC=2`, `AT+QGPSEND`, `AT+QGPSCFG=...` and `AT+QGPSXTRA=...` (Quectel GNSS AT
//! Commands Manual), and the `gnss` control command that gives the receiver a fix or takes it
//! away. Switching reports a `gnss` event (`on`), every position read of a running GNSS a
//! `gnss-location` event (`fix`).

use serde_json::{Value, json};

use super::command_line::{Command, Form};
use super::commands::{lines, ok};
use super::error::{CmeError, CommandError};
use super::state::{ModemState, Reply};
use m2mhal_driver_gnss::nmea::time_and_date;

/// A fix of the modem's receiver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModemFix {
    /// Degrees, north positive.
    pub latitude: f64,
    /// Degrees, east positive.
    pub longitude: f64,
    /// Metres; `None`: a 2D fix.
    pub altitude: Option<f64>,
    /// Unix seconds when the fix was set.
    pub time: i64,
}

/// The modem's GNSS receiver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModemGnss {
    /// Switched on (`AT+QGPS=1`).
    pub on: bool,
    /// The fix, while there is one.
    pub fix: Option<ModemFix>,
}

impl ModemGnss {
    /// `+QGPSLOC: ...` in mode 2.
    fn location(fix: &ModemFix) -> String {
        let (time, date) = time_and_date(u64::try_from(fix.time).unwrap_or(0) * 1000);
        let time = format!("{}0", &time[..9]);
        let (mode, altitude) = match fix.altitude {
            Some(altitude) => (3, altitude),
            None => (2, 0.0),
        };
        format!(
            "+QGPSLOC: {time},{:.5},{:.5},1.1,{altitude:.1},{mode},0.00,0.0,0.0,{date},08",
            fix.latitude, fix.longitude
        )
    }

    /// The `gnss` part of the modem's `status`.
    pub fn status(&self) -> Value {
        json!({
            "on": self.on,
            "fix": self.fix.map(|fix| json!({
                "latitude": fix.latitude,
                "longitude": fix.longitude,
                "altitude": fix.altitude,
            })),
        })
    }
}

impl ModemState {
    /// The GNSS commands, for a modem that has a GNSS; `None` for another command.
    pub(super) fn execute_gnss(
        &mut self,
        command: &Command,
    ) -> Option<Result<Reply, CommandError>> {
        let gnss = self.gnss.as_mut()?;
        let result = match (command.name.as_str(), &command.form) {
            ("+QGPS", Form::Read) => lines([format!("+QGPS: {}", u8::from(gnss.on))]),
            ("+QGPS", Form::Test) => {
                lines(["+QGPS: (0,1),(1-3),(1-1000),(1-65535),(1-65535)".to_owned()])
            }
            ("+QGPS", Form::Set(_)) if command.number(0) == Some(1) => {
                if gnss.on {
                    Err(CommandError::Cme(CmeError::GnssSessionOngoing))
                } else {
                    gnss.on = true;
                    self.events.push(json!({"event": "gnss", "on": true}));
                    ok()
                }
            }
            ("+QGPSEND", Form::Execute) => {
                if gnss.on {
                    gnss.on = false;
                    self.events.push(json!({"event": "gnss", "on": false}));
                    ok()
                } else {
                    Err(CommandError::Cme(CmeError::GnssSessionInactive))
                }
            }
            ("+QGPSLOC", Form::Set(_)) if command.number(0) == Some(2) => {
                if gnss.on {
                    let fix = gnss.fix.is_some();
                    self.events
                        .push(json!({"event": "gnss-location", "fix": fix}));
                }
                match (gnss.on, &gnss.fix) {
                    (false, _) => Err(CommandError::Cme(CmeError::GnssSessionInactive)),
                    (true, None) => Err(CommandError::Cme(CmeError::GnssNoFix)),
                    (true, Some(fix)) => lines([ModemGnss::location(fix)]),
                }
            }
            // Receiver settings (`"outport"`, where the NMEA goes) and XTRA assistance, which
            // ModemManager sets before `AT+QGPS=1`: accepted, nothing simulated behind them.
            ("+QGPSCFG" | "+QGPSXTRA", Form::Set(_)) => ok(),
            ("+QGPS" | "+QGPSEND" | "+QGPSLOC" | "+QGPSCFG" | "+QGPSXTRA", _) => {
                Err(CommandError::Syntax)
            }
            _ => return None,
        };
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_in_mode_2() {
        let fix = ModemFix {
            latitude: 31.84537,
            longitude: -117.19882,
            altitude: Some(62.2),
            // 2013-05-11 06:19:51 UTC
            time: 1_368_253_191,
        };
        assert_eq!(
            ModemGnss::location(&fix),
            "+QGPSLOC: 061951.000,31.84537,-117.19882,1.1,62.2,3,0.00,0.0,0.0,110513,08"
        );
    }
}
