//! The GNSS of a modem simulated with `--gnss`, and the Quectel commands that drive it:
//! `AT+QGPS?`, `AT+QGPS=1`, `AT+QGPSLOC=2`, `AT+QGPSEND`, `AT+QGPSCFG=...` and `AT+QGPSXTRA=...`
//! (Quectel GNSS AT Commands Manual). The u-blox and Telit commands are in `gnss_ublox` and
//! `gnss_telit`; the `gnss` control command gives the receiver a fix or takes it away, whoever
//! made it. Switching reports a `gnss` event (`on`), every position read of a running GNSS a
//! `gnss-location` event (`fix`).

use serde_json::{Value, json};

use super::command_line::{Command, Form};
use super::commands::{lines, ok};
use super::error::{CmeError, CommandError};
use super::state::{ModemState, Reply};
use super::vendor::Vendor;
use m2mhal_nmea::time_and_date;

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

impl ModemFix {
    /// The UTC time (`hhmmss.ss`) and date (`ddmmyy`) of the fix.
    pub(super) fn time_and_date(&self) -> (String, String) {
        time_and_date(u64::try_from(self.time).unwrap_or(0) * 1000)
    }
}

/// The modem's GNSS receiver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModemGnss {
    /// Switched on (`AT+QGPS=1`, `AT+UGPS=1`, `AT$GPSP=1`).
    pub on: bool,
    /// The fix, while there is one.
    pub fix: Option<ModemFix>,
    /// u-blox: the last RMC sentence is kept for `AT+UGRMC?` (`AT+UGRMC=1`).
    pub rmc_kept: bool,
    /// u-blox: the last GGA sentence is kept for `AT+UGGGA?` (`AT+UGGGA=1`).
    pub gga_kept: bool,
    /// u-blox: the `<GNSS_systems>` of the last `AT+UGPS=1`.
    pub systems: usize,
}

impl ModemGnss {
    /// `+QGPSLOC: ...` in mode 2.
    fn location(fix: &ModemFix) -> String {
        let (time, date) = fix.time_and_date();
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

/// The event of a switch of the GNSS.
pub(super) fn switched(on: bool) -> Value {
    json!({"event": "gnss", "on": on})
}

/// The event of a position read of a running GNSS, with or without a fix.
pub(super) fn read(fix: bool) -> Value {
    json!({"event": "gnss-location", "fix": fix})
}

impl ModemState {
    /// The GNSS commands of the modem's vendor, for a modem that has a GNSS; `None` for another
    /// command.
    pub(super) fn execute_gnss(
        &mut self,
        command: &Command,
    ) -> Option<Result<Reply, CommandError>> {
        match self.vendor {
            Vendor::Quectel => self.execute_quectel_gnss(command),
            Vendor::Ublox => self.execute_ublox_gnss(command),
            Vendor::Telit => self.execute_telit_gnss(command),
        }
    }

    fn execute_quectel_gnss(&mut self, command: &Command) -> Option<Result<Reply, CommandError>> {
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
                    self.events.push(switched(true));
                    ok()
                }
            }
            ("+QGPSEND", Form::Execute) => {
                if gnss.on {
                    gnss.on = false;
                    self.events.push(switched(false));
                    ok()
                } else {
                    Err(CommandError::Cme(CmeError::GnssSessionInactive))
                }
            }
            ("+QGPSLOC", Form::Set(_)) if command.number(0) == Some(2) => {
                if gnss.on {
                    self.events.push(read(gnss.fix.is_some()));
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
