//! The simulated Iridium 9603 SBD transceiver: AT command logic, message buffers, sessions and
//! the gateway behind them, with no I/O.
//!
//! A session (`AT+SBDIX`) takes time: it starts with a `session-start` event (command and
//! MOMSN) and is work in progress ([`SimulatedDevice::work_in_progress`]) that the port waits
//! out (its input and its control commands wait meanwhile; the other ports go on), then its
//! answer comes with the `mo` and `session` events. [`SimulatedDevice`] has no timer otherwise:
//! the 60 s timeout of `AT+SBDWB` shows only when the host sends something after it.

mod commands;
mod control;
mod gateway;
mod identity;
mod indications;
mod sbd;
mod session;
mod transceiver;

#[cfg(test)]
mod transcript_tests;

pub use control::{COMMANDS, IridiumControl, IridiumControlError};
pub use identity::{DEFAULT_IMEI, imei_for_index, is_imei};
pub use transceiver::{DEFAULT_SESSION_DELAY, Transceiver, WRITE_PERIOD};

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::device::{ControlReply, Output, SimulatedDevice};
use crate::help::CommandHelp;
use crate::simulator::{self, RunError, SimulatorOptions};

/// The options of `m2msim iridium`.
#[derive(Debug, Clone, clap::Args)]
pub struct IridiumOptions {
    /// Number of transceivers.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub count: u16,
    /// IMEI of transceiver 0 (15 digits); the others count up from it.
    #[arg(long, default_value = DEFAULT_IMEI, value_parser = parse_imei)]
    pub imei: String,
    /// Echo stays on whatever ATE0 says (a firmware quirk).
    #[arg(long)]
    pub echo: bool,
    /// How long an SBD session takes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub session_delay: u64,
    /// Links, control socket and start script.
    #[command(flatten)]
    pub simulator: SimulatorOptions,
}

fn parse_imei(text: &str) -> Result<String, String> {
    if is_imei(text) {
        Ok(text.to_owned())
    } else {
        Err("an IMEI has 15 digits".to_owned())
    }
}

/// Runs `options.count` transceivers on ptys until `quit` or a termination signal.
pub async fn run(options: &IridiumOptions) -> Result<(), RunError> {
    let delay = Duration::from_millis(options.session_delay);
    let transceivers = (0..usize::from(options.count))
        .map(|index| Transceiver::new(imei_for_index(&options.imei, index), options.echo, delay))
        .collect();
    simulator::run::<Transceiver>(transceivers, &options.simulator).await
}

impl SimulatedDevice for Transceiver {
    type ControlError = IridiumControlError;
    const COMMANDS: &'static [CommandHelp] = control::COMMANDS;

    fn receive(&mut self, input: &[u8]) -> Output {
        Transceiver::receive(self, input, Instant::now())
    }

    fn work_in_progress(&self) -> Option<Duration> {
        self.session_in_progress()
    }

    fn finish_work(&mut self) -> Output {
        self.finish_session(Instant::now())
    }

    fn control(&mut self, command: &str, _now: i64) -> Result<ControlReply, IridiumControlError> {
        Ok(self.apply(IridiumControl::parse(command)?))
    }

    fn identity(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("imei".to_owned(), Value::from(self.imei()));
        fields
    }
}
