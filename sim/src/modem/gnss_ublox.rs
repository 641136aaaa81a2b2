//! The GNSS commands of a u-blox modem (`--vendor ublox --gnss`), as the u-blox SARA-R5 series AT
//! Commands Manual (UBX-19047455) describes them: `AT+UGPS?` / `AT+UGPS=<mode>[,<aid_mode>
//! [,<GNSS_systems>]]` switch the receiver; `AT+UGRMC=1` / `AT+UGGGA=1` keep its last RMC / GGA
//! sentence, which `AT+UGRMC?` / `AT+UGGGA?` return (`Not available` while the receiver is off
//! or nothing is kept). A read of RMC is the position read the `gnss-location` event reports.

use m2mhal_nmea::{angle, with_checksum};

use super::command_line::{Command, Form};
use super::commands::{lines, ok};
use super::error::CommandError;
use super::gnss_commands::{ModemFix, read, switched};
use super::state::{ModemState, Reply};

/// `<GNSS_systems>` when `AT+UGPS=1` names none: GPS and SBAS.
const DEFAULT_SYSTEMS: usize = 3;

/// The RMC sentence of `fix`, or the one of a receiver that has none.
fn rmc(fix: Option<&ModemFix>) -> String {
    match fix {
        Some(fix) => {
            let (time, date) = fix.time_and_date();
            with_checksum(&format!(
                "GPRMC,{time},A,{},{},0.000,,{date},,,A",
                angle(fix.latitude, 2, 'N', 'S'),
                angle(fix.longitude, 3, 'E', 'W')
            ))
        }
        None => with_checksum("GPRMC,,V,,,,,,,,,,N"),
    }
}

/// The GGA sentence of `fix` (no altitude: a 2D fix), or the one of a receiver that has none.
fn gga(fix: Option<&ModemFix>) -> String {
    match fix {
        Some(fix) => {
            let (time, _) = fix.time_and_date();
            let altitude = fix
                .altitude
                .map_or(String::new(), |altitude| format!("{altitude:.1}"));
            with_checksum(&format!(
                "GPGGA,{time},{},{},1,08,1.1,{altitude},M,0.0,M,,",
                angle(fix.latitude, 2, 'N', 'S'),
                angle(fix.longitude, 3, 'E', 'W')
            ))
        }
        None => with_checksum("GPGGA,,,,,,0,00,99.99,,,,,,"),
    }
}

/// `<prefix> <mode>,<sentence>` of a kept sentence, `<prefix> <mode>,Not available` when the
/// receiver is off or does not keep it.
fn kept_sentence(prefix: &str, kept: bool, on: bool, sentence: impl FnOnce() -> String) -> String {
    let mode = u8::from(kept);
    if kept && on {
        format!("{prefix} {mode},{}", sentence())
    } else {
        format!("{prefix} {mode},Not available")
    }
}

impl ModemState {
    /// `AT+UGPS` and `AT+UGRMC`; `None` for another command (or a modem without GNSS).
    pub(super) fn execute_ublox_gnss(
        &mut self,
        command: &Command,
    ) -> Option<Result<Reply, CommandError>> {
        let gnss = self.gnss.as_mut()?;
        let result = match (command.name.as_str(), &command.form) {
            ("+UGPS", Form::Read) => lines([if gnss.on {
                format!("+UGPS: 1,0,{}", gnss.systems)
            } else {
                "+UGPS: 0".to_owned()
            }]),
            ("+UGPS", Form::Test) => lines(["+UGPS: (0-1),(0-15),(1-127)".to_owned()]),
            ("+UGPS", Form::Set(_)) => match command.number(0) {
                Some(mode @ (0 | 1)) => {
                    let on = mode == 1;
                    if on {
                        gnss.systems = command.number(2).unwrap_or(DEFAULT_SYSTEMS);
                    }
                    if gnss.on != on {
                        gnss.on = on;
                        self.events.push(switched(on));
                    }
                    ok()
                }
                _ => Err(CommandError::Syntax),
            },
            (name @ ("+UGRMC" | "+UGGGA"), Form::Set(_)) => match command.number(0) {
                Some(mode @ (0 | 1)) => {
                    let kept = if name == "+UGRMC" {
                        &mut gnss.rmc_kept
                    } else {
                        &mut gnss.gga_kept
                    };
                    *kept = mode == 1;
                    ok()
                }
                _ => Err(CommandError::Syntax),
            },
            ("+UGRMC", Form::Read) => {
                if gnss.on && gnss.rmc_kept {
                    self.events.push(read(gnss.fix.is_some()));
                }
                let fix = gnss.fix;
                lines([kept_sentence("+UGRMC:", gnss.rmc_kept, gnss.on, || {
                    rmc(fix.as_ref())
                })])
            }
            ("+UGGGA", Form::Read) => {
                let fix = gnss.fix;
                lines([kept_sentence("+UGGGA:", gnss.gga_kept, gnss.on, || {
                    gga(fix.as_ref())
                })])
            }
            ("+UGRMC", Form::Test) => lines(["+UGRMC: (0-1)".to_owned()]),
            ("+UGGGA", Form::Test) => lines(["+UGGGA: (0-1)".to_owned()]),
            ("+UGPS" | "+UGRMC" | "+UGGGA", _) => Err(CommandError::Syntax),
            _ => return None,
        };
        Some(result)
    }
}
