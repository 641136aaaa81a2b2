//! The general AT commands: identification, settings, SIM, registration, signal, operator.

use super::command_line::{Command, Form};
use super::error::{CmeError, CommandError, ErrorReporting};
use super::identity::HOME_PLMN;
use super::network::Domain;
use super::state::{ModemState, OperatorFormat, Reply, SimState};

/// The PIN that unlocks the simulated SIM.
const SIM_PIN: &str = "1234";

/// A successful answer with these information lines.
pub(super) fn lines<I: IntoIterator<Item = String>>(lines: I) -> Result<Reply, CommandError> {
    Ok(Reply::Done(lines.into_iter().collect()))
}

/// A successful answer without information.
pub(super) fn ok() -> Result<Reply, CommandError> {
    lines([])
}

impl ModemState {
    /// Runs one command of a line (the text after `AT` or after a `;`).
    pub(super) fn execute(&mut self, text: &str) -> Result<Reply, CommandError> {
        let command = Command::parse(text);
        match command.name.as_str() {
            "" | "V1" | "Q0" => ok(),
            "E" | "E0" => self.set_echo(false),
            "E1" => self.set_echo(true),
            "I" | "I0" => lines([
                self.vendor.manufacturer().to_owned(),
                self.vendor.model().to_owned(),
                format!("Revision: {}", self.vendor.revision()),
            ]),
            "Z" | "Z0" | "&F" | "&F0" => {
                self.reset_settings();
                ok()
            }
            "+CMEE" => self.error_reporting(&command),
            "+CGMI" | "+GMI" => identification(&command, self.vendor.manufacturer()),
            "+CGMM" | "+GMM" => identification(&command, self.vendor.model()),
            "+CGMR" | "+GMR" => identification(&command, self.vendor.revision()),
            "+CGSN" | "+GSN" => identification(&command, &self.identity.imei),
            "+CIMI" => {
                self.require_sim().map_err(CommandError::Cme)?;
                identification(&command, &self.identity.imsi)
            }
            "+CCID" | "+QCCID" => self.iccid(&command),
            "+CRSM" => self.restricted_sim_access(&command),
            "+CPIN" => self.pin(&command),
            "+CSQ" => self.signal(&command, "+CSQ: (0-31,99),(0-7,99)", |state| {
                state.network.csq_line()
            }),
            "+CESQ" => self.signal(
                &command,
                "+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)",
                |state| state.network.cesq_line(),
            ),
            "+CREG" => self.registration(&command, Domain::Circuit),
            "+CGREG" => self.registration(&command, Domain::Gprs),
            "+CEREG" => self.registration(&command, Domain::Eps),
            "+COPS" => self.operator(&command),
            "+CFUN" => self.functionality(&command),
            _ => self
                .execute_gnss(&command)
                .unwrap_or_else(|| self.execute_sms(&command)),
        }
    }

    /// Fails unless the SIM is inserted and unlocked.
    pub(super) fn require_sim(&self) -> Result<(), CmeError> {
        match self.sim {
            SimState::Ready => Ok(()),
            SimState::Missing => Err(CmeError::SimNotInserted),
            SimState::PinRequired => Err(CmeError::SimPinRequired),
        }
    }

    fn set_echo(&mut self, echo: bool) -> Result<Reply, CommandError> {
        self.echo = echo;
        ok()
    }

    fn error_reporting(&mut self, command: &Command) -> Result<Reply, CommandError> {
        match &command.form {
            Form::Read => lines([format!("+CMEE: {}", self.errors.level())]),
            Form::Test => lines(["+CMEE: (0-2)".to_owned()]),
            Form::Set(_) => {
                let level = command.number(0).and_then(|level| u8::try_from(level).ok());
                self.errors = level
                    .and_then(ErrorReporting::from_level)
                    .ok_or(CommandError::Syntax)?;
                ok()
            }
            Form::Execute => Err(CommandError::Syntax),
        }
    }

    fn iccid(&self, command: &Command) -> Result<Reply, CommandError> {
        if self.sim == SimState::Missing {
            return Err(CommandError::Cme(CmeError::SimNotInserted));
        }
        match command.form {
            Form::Execute => lines([format!("{}: {}", command.name, self.identity.iccid)]),
            Form::Test => ok(),
            _ => Err(CommandError::Syntax),
        }
    }

    /// `AT+CRSM=176,<file>,...` (READ BINARY, TS 27.007 §8.18): the ICCID file EF_ICCID holds
    /// the ICCID in swapped BCD (what ModemManager reads); every other file is "not found".
    fn restricted_sim_access(&self, command: &Command) -> Result<Reply, CommandError> {
        /// READ BINARY.
        const READ_BINARY: usize = 176;
        /// EF_ICCID (0x2FE2).
        const EF_ICCID: usize = 0x2FE2;
        self.require_sim().map_err(CommandError::Cme)?;
        match (&command.form, command.number(0), command.number(1)) {
            (Form::Test, _, _) => ok(),
            (Form::Set(_), Some(READ_BINARY), Some(EF_ICCID)) => lines([format!(
                "+CRSM: 144,0,\"{}\"",
                swapped_bcd(&self.identity.iccid)
            )]),
            // SW 6A82: file not found.
            (Form::Set(_), Some(_), Some(_)) => lines(["+CRSM: 106,130,\"\"".to_owned()]),
            _ => Err(CommandError::Syntax),
        }
    }

    fn pin(&mut self, command: &Command) -> Result<Reply, CommandError> {
        match (&command.form, self.sim) {
            (Form::Test, _) => ok(),
            (_, SimState::Missing) => Err(CommandError::Cme(CmeError::SimNotInserted)),
            (Form::Read, SimState::Ready) => lines(["+CPIN: READY".to_owned()]),
            (Form::Read, SimState::PinRequired) => lines(["+CPIN: SIM PIN".to_owned()]),
            (Form::Set(_), SimState::Ready) => {
                Err(CommandError::Cme(CmeError::OperationNotAllowed))
            }
            (Form::Set(arguments), SimState::PinRequired) => {
                if arguments.first().map(String::as_str) != Some(SIM_PIN) {
                    return Err(CommandError::Cme(CmeError::IncorrectPassword));
                }
                self.sim = SimState::Ready;
                let mut urcs = vec!["+CPIN: READY".to_owned()];
                urcs.extend(self.network.change(|network| network.sim_ready = true));
                self.hold(urcs);
                ok()
            }
            (Form::Execute, _) => Err(CommandError::Syntax),
        }
    }

    fn signal(
        &self,
        command: &Command,
        test_answer: &str,
        answer: fn(&Self) -> String,
    ) -> Result<Reply, CommandError> {
        match command.form {
            Form::Execute => lines([answer(self)]),
            Form::Test => lines([test_answer.to_owned()]),
            _ => Err(CommandError::Syntax),
        }
    }

    fn registration(&mut self, command: &Command, domain: Domain) -> Result<Reply, CommandError> {
        match &command.form {
            Form::Read => lines([self.network.query_line(domain)]),
            Form::Test => lines([format!("{}: (0-2)", domain.prefix())]),
            Form::Set(_) => {
                let level = command.number(0).and_then(|level| u8::try_from(level).ok());
                let level = level
                    .filter(|level| *level <= 2)
                    .ok_or(CommandError::Syntax)?;
                self.network.set_report_level(domain, level);
                ok()
            }
            Form::Execute => Err(CommandError::Syntax),
        }
    }

    fn operator(&mut self, command: &Command) -> Result<Reply, CommandError> {
        match &command.form {
            Form::Read if self.network.is_registered() => {
                let format = self.operator_format.code();
                let name = match self.operator_format {
                    OperatorFormat::Numeric => HOME_PLMN.to_owned(),
                    OperatorFormat::Long | OperatorFormat::Short => self.network.operator.clone(),
                };
                lines([format!(
                    "+COPS: 0,{format},\"{name}\",{}",
                    self.network.tech.code()
                )])
            }
            Form::Read => lines(["+COPS: 0".to_owned()]),
            Form::Set(_) => {
                let format = match command.arguments().get(1) {
                    None => None,
                    Some(_) => Some(match command.number(1) {
                        Some(0) => OperatorFormat::Long,
                        Some(1) => OperatorFormat::Short,
                        Some(2) => OperatorFormat::Numeric,
                        _ => return Err(CommandError::Syntax),
                    }),
                };
                match command.number(0) {
                    Some(0 | 3) => {
                        self.operator_format = format.unwrap_or(self.operator_format);
                        ok()
                    }
                    Some(1 | 2 | 4) => Err(CommandError::Cme(CmeError::OperationNotSupported)),
                    _ => Err(CommandError::Syntax),
                }
            }
            Form::Test | Form::Execute => Err(CommandError::Cme(CmeError::OperationNotSupported)),
        }
    }

    fn functionality(&mut self, command: &Command) -> Result<Reply, CommandError> {
        match &command.form {
            Form::Read => lines([format!("+CFUN: {}", self.functionality)]),
            Form::Test => lines(["+CFUN: (0,1,4),(0-1)".to_owned()]),
            Form::Set(_) => {
                let level = match command.number(0) {
                    Some(level @ (0 | 1 | 4)) => level as u8,
                    _ => return Err(CommandError::Syntax),
                };
                let restart = match command.arguments().get(1).map(|_| command.number(1)) {
                    None | Some(Some(0)) => false,
                    Some(Some(1)) => true,
                    Some(_) => return Err(CommandError::Syntax),
                };
                if restart {
                    self.restart(level);
                    return ok();
                }
                self.functionality = level;
                let urcs = self.network.change(|network| network.radio_on = level == 1);
                self.hold(urcs);
                ok()
            }
            Form::Execute => Err(CommandError::Syntax),
        }
    }
}

impl ModemState {
    /// `AT+CFUN=<level>,1`: answers `OK`, then restarts as a Quectel module does: power-on
    /// settings, the radio at `level`, and the start-up URCs, `RDY` first (which tells
    /// ModemManager the modem was reset). SIM, network and stored messages stay.
    fn restart(&mut self, level: u8) {
        self.reset_settings();
        self.functionality = level;
        self.network.radio_on = level == 1;
        let mut urcs = vec!["RDY".to_owned(), format!("+CFUN: {level}")];
        urcs.extend(
            match self.sim {
                SimState::Ready => Some("+CPIN: READY"),
                SimState::PinRequired => Some("+CPIN: SIM PIN"),
                SimState::Missing => None,
            }
            .map(str::to_owned),
        );
        urcs.push("+QIND: SMS DONE".to_owned());
        self.hold(urcs);
        self.events
            .push(serde_json::json!({"event": "restart", "cfun": level}));
    }
}

/// `digits` as stored on a SIM: BCD with the two digits of each octet swapped, padded with `F`.
fn swapped_bcd(digits: &str) -> String {
    digits
        .as_bytes()
        .chunks(2)
        .flat_map(|pair| [*pair.get(1).unwrap_or(&b'F'), pair[0]])
        .map(char::from)
        .collect()
}

/// An identification command: the value on `Execute`, `OK` on test.
fn identification(command: &Command, value: &str) -> Result<Reply, CommandError> {
    match command.form {
        Form::Execute => lines([value.to_owned()]),
        Form::Test => ok(),
        _ => Err(CommandError::Syntax),
    }
}
