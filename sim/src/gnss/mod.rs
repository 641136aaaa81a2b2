//! The simulated NMEA 0183 GNSS receiver (`m2msim gnss`): it sends a burst of sentences every
//! epoch on its pty, whatever the host writes, with the position, movement and fix the control
//! commands set; each burst is reported as an `epoch` event.

mod control;
mod receiver;

pub use control::{COMMANDS, GnssControlError};
pub use receiver::{FixKind, Receiver, Solution};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::device::{ControlReply, Output, SimulatedDevice};
use crate::help::CommandHelp;
use crate::simulator::{self, RunError, SimulatorOptions};

/// The options of `m2msim gnss`.
#[derive(Debug, Clone, clap::Args)]
pub struct GnssOptions {
    /// Number of receivers.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub count: u16,
    /// Milliseconds between epochs (1000: a 1 Hz receiver).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub interval: u64,
    /// Talker of the position sentences: GP (GPS only) or GN (multi-constellation).
    #[arg(long, default_value = "GN", value_parser = ["GP", "GN"])]
    pub talker: String,
    /// Links, control socket and start script.
    #[command(flatten)]
    pub simulator: SimulatorOptions,
}

/// A receiver on a port: its state and its epoch interval.
pub struct SimulatedReceiver {
    receiver: Receiver,
    interval: Duration,
}

/// Runs `options.count` receivers on ptys until `quit` or a termination signal.
pub async fn run(options: &GnssOptions) -> Result<(), RunError> {
    let receivers = (0..options.count)
        .map(|_| SimulatedReceiver {
            receiver: Receiver::new(&options.talker),
            interval: Duration::from_millis(options.interval),
        })
        .collect();
    simulator::run::<SimulatedReceiver>(receivers, &options.simulator).await
}

impl SimulatedDevice for SimulatedReceiver {
    type ControlError = GnssControlError;
    const COMMANDS: &'static [CommandHelp] = control::COMMANDS;

    /// A receiver in NMEA mode ignores what the host writes.
    fn receive(&mut self, _input: &[u8]) -> Output {
        Output::default()
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(self.interval)
    }

    fn tick(&mut self) -> Output {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as u64);
        let (bytes, event) = self.receiver.epoch(unix_ms);
        Output {
            bytes,
            events: vec![event],
        }
    }

    fn control(&mut self, command: &str, _now: i64) -> Result<ControlReply, GnssControlError> {
        control::apply(&mut self.receiver, command)
    }

    fn identity(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(
            "talker".to_owned(),
            Value::from(self.receiver.talker.clone()),
        );
        fields
    }
}
