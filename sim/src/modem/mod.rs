//! The simulated 3GPP cellular modem: AT command logic, SIM, network and SMS storage, with no I/O.

mod command_line;
mod commands;
mod control;
mod error;
mod gnss_commands;
mod gnss_telit;
mod gnss_ublox;
mod identity;
mod network;
mod sms_commands;
mod sms_storage;
mod state;
mod vendor;

#[cfg(test)]
mod transcript_tests;
#[cfg(test)]
mod transcript_tests_gnss_vendors;

pub use control::{COMMANDS, ModemControl, ModemControlError, SubmitAcks};
pub use identity::{DEFAULT_IMEI, Identity, is_valid_imei};
pub use state::ModemState;
pub use vendor::Vendor;

use serde_json::{Map, Value};

use crate::device::{ControlReply, Output, SimulatedDevice};
use crate::help::CommandHelp;

impl SimulatedDevice for ModemState {
    type ControlError = ModemControlError;
    const COMMANDS: &'static [CommandHelp] = control::COMMANDS;

    fn receive(&mut self, input: &[u8]) -> Output {
        ModemState::receive(self, input)
    }

    fn control(&mut self, command: &str, now: i64) -> Result<ControlReply, ModemControlError> {
        let control = ModemControl::parse(command)?;
        self.apply(control, now)
    }

    fn identity(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("imei".to_owned(), Value::from(self.identity().imei.clone()));
        fields
    }
}
