//! The boundary between a simulated device's protocol logic and the pty/control plumbing.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::help::CommandHelp;

/// What a simulated device sends to the host and reports to the simulator's user.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Output {
    /// Bytes to write to the serial port.
    pub bytes: Vec<u8>,
    /// JSON events to print on stdout (objects with an `"event"` field).
    pub events: Vec<Value>,
}

/// The answer to a control command.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlReply {
    /// The JSON reply (an object with an `"event"` field).
    pub reply: Value,
    /// Unsolicited output the command caused, for example URCs.
    pub unsolicited: Output,
}

/// A device behind a simulated serial port: a sans-IO state machine.
pub trait SimulatedDevice: Send + 'static {
    /// Why a device-specific control command failed.
    type ControlError: std::fmt::Display + Send;

    /// The device-specific control commands, for `help` and `--help`.
    const COMMANDS: &'static [CommandHelp];

    /// Handles bytes the host wrote to the port and returns the device's answer.
    fn receive(&mut self, input: &[u8]) -> Output;

    /// How long the work the last input started takes (an SBD session), if any: the port writes
    /// the answer so far, waits that long, then calls [`SimulatedDevice::finish_work`]. Input
    /// that arrives meanwhile waits.
    fn work_in_progress(&self) -> Option<Duration> {
        None
    }

    /// Ends the work [`SimulatedDevice::work_in_progress`] announced; returns its answer.
    fn finish_work(&mut self) -> Output {
        Output::default()
    }

    /// How often the device talks by itself (a GNSS receiver's epochs), if it does.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }

    /// What the device says by itself every [`SimulatedDevice::tick_interval`].
    fn tick(&mut self) -> Output {
        Output::default()
    }

    /// Applies a device-specific control command; `now` is the Unix time in seconds.
    fn control(&mut self, command: &str, now: i64) -> Result<ControlReply, Self::ControlError>;

    /// Identifying fields shown in the ready line, for example `{"imei": "..."}`.
    fn identity(&self) -> Map<String, Value>;
}
