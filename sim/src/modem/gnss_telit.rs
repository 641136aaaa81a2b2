//! The GNSS commands of a Telit modem (`--vendor telit --gnss`), as the Telit LE910Cx AT Commands
//! Reference Guide (80502ST10950A) describes them: `AT$GPSP?` / `AT$GPSP=<status>` switch the
//! receiver; `AT$GPSACP` reads the last position: `$GPSACP: <UTC>,<latitude>,<longitude>,<hdop>,
//! <altitude>,<fix>,<cog>,<spkm>,<spkn>,<date>,<nsat>`, `<fix>` 1 (invalid) and the rest empty
//! while the receiver has no fix, every field empty while it is off.

use m2mhal_nmea::angle;

use super::command_line::{Command, Form};
use super::commands::{lines, ok};
use super::error::CommandError;
use super::gnss_commands::{ModemFix, read, switched};
use super::state::{ModemState, Reply};

/// `ddmm.mmmmmN` / `dddmm.mmmmmE`: an NMEA angle without the comma before its hemisphere.
fn acp_angle(value: f64, degree_digits: usize, positive: char, negative: char) -> String {
    angle(value, degree_digits, positive, negative).replace(',', "")
}

/// The `$GPSACP` answer of a running receiver with `fix`, or without one.
fn acquired_position(fix: Option<&ModemFix>) -> String {
    let Some(fix) = fix else {
        return "$GPSACP: ,,,,,1,,,,,".to_owned();
    };
    let (time, date) = fix.time_and_date();
    let (mode, altitude) = match fix.altitude {
        Some(altitude) => (3, format!("{altitude:.1}")),
        None => (2, String::new()),
    };
    format!(
        "$GPSACP: {}0,{},{},1.1,{altitude},{mode},0.00,0.0,0.0,{date},08",
        &time[..9],
        acp_angle(fix.latitude, 2, 'N', 'S'),
        acp_angle(fix.longitude, 3, 'E', 'W'),
    )
}

impl ModemState {
    /// `AT$GPSP` and `AT$GPSACP`; `None` for another command (or a modem without GNSS).
    pub(super) fn execute_telit_gnss(
        &mut self,
        command: &Command,
    ) -> Option<Result<Reply, CommandError>> {
        let gnss = self.gnss.as_mut()?;
        let result = match (command.name.as_str(), &command.form) {
            ("$GPSP", Form::Read) => lines([format!("$GPSP: {}", u8::from(gnss.on))]),
            ("$GPSP", Form::Test) => lines(["$GPSP: (0,1)".to_owned()]),
            ("$GPSP", Form::Set(_)) => match command.number(0) {
                Some(status @ (0 | 1)) => {
                    let on = status == 1;
                    if gnss.on != on {
                        gnss.on = on;
                        self.events.push(switched(on));
                    }
                    ok()
                }
                _ => Err(CommandError::Syntax),
            },
            ("$GPSACP", Form::Execute) if gnss.on => {
                self.events.push(read(gnss.fix.is_some()));
                lines([acquired_position(gnss.fix.as_ref())])
            }
            ("$GPSACP", Form::Execute) => lines(["$GPSACP: ,,,,,,,,,,".to_owned()]),
            ("$GPSP" | "$GPSACP", _) => Err(CommandError::Syntax),
            _ => return None,
        };
        Some(result)
    }
}
