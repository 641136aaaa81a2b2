//! The GNSS commands of a u-blox modem (`--vendor ublox --gnss`), as the u-blox SARA-R5 series AT
//! Commands Manual (UBX-19047455) describes them: `AT+UGPS?` / `AT+UGPS=<mode>[,<aid_mode>
//! [,<GNSS_systems>]]` switch the receiver; `AT+UGRMC=1` keeps its last RMC sentence, which
//! `AT+UGRMC?` returns (`Not available` while the receiver is off or nothing is kept).

use m2mhal_driver_gnss::nmea::{angle, with_checksum};

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
            ("+UGRMC", Form::Set(_)) => match command.number(0) {
                Some(mode @ (0 | 1)) => {
                    gnss.rmc_kept = mode == 1;
                    ok()
                }
                _ => Err(CommandError::Syntax),
            },
            ("+UGRMC", Form::Read) => {
                let mode = u8::from(gnss.rmc_kept);
                if gnss.on && gnss.rmc_kept {
                    self.events.push(read(gnss.fix.is_some()));
                    lines([format!("+UGRMC: {mode},{}", rmc(gnss.fix.as_ref()))])
                } else {
                    lines([format!("+UGRMC: {mode},Not available")])
                }
            }
            ("+UGRMC", Form::Test) => lines(["+UGRMC: (0-1)".to_owned()]),
            ("+UGPS" | "+UGRMC", _) => Err(CommandError::Syntax),
            _ => return None,
        };
        Some(result)
    }
}
