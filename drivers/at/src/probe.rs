//! Identifies whatever answers AT commands on an unknown port, without I/O.
//!
//! The prober sends `ATE1` up to [`ProbeConfig::attempts`] times (the first one after the
//! [escape preamble](crate::resync::escape_preamble); it may be swallowed while the modem detects
//! the baud rate; boot noise like `RDY` may arrive). Any final result shows that something speaks
//! AT, even `ERROR`. Then it [resynchronises](crate::resync) with the `AT` marker, so that an
//! answer left on the port before (a restart during an Iridium session) cannot shift the
//! identification, and asks `AT+CGMI` and `AT+CGMM`. An identification command that fails or
//! times out gives an empty string. Both the `+CGMI: Quectel` form and the plain `Quectel` form
//! are understood, quotes stripped; Iridium 9602/9603 answer `Iridium` and
//! `IRIDIUM 9600 Family SBD Transceiver`.

use crate::channel::{AtChannel, AtError, ChannelConfig, ChannelEvent, Command, Response};
use crate::resync::{self, SyncStep};

/// How patiently to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// How many times to send `ATE1` before giving up.
    pub attempts: u32,
    /// How long to wait for the answer to each `ATE1`, in milliseconds.
    pub at_timeout_ms: u64,
    /// How long to wait for the answer to `AT+CGMI` and `AT+CGMM`, in milliseconds.
    pub ident_timeout_ms: u64,
}

impl Default for ProbeConfig {
    /// 4 attempts of 600 ms, then 2 s for each identification command.
    fn default() -> Self {
        Self {
            attempts: 4,
            at_timeout_ms: 600,
            ident_timeout_ms: 2000,
        }
    }
}

/// Who made the device, as it says itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The answer to `AT+CGMI` (`Quectel`, `Iridium`); empty if the device would not say.
    pub manufacturer: String,
    /// The answer to `AT+CGMM` (`EC25`); empty if the device would not say.
    pub model: String,
}

/// How a probe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Something answered AT commands.
    Identified(Identity),
    /// Nothing answered `AT`.
    NoResponse,
}

/// What the host has to do after a call to the prober.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbeStep {
    /// Bytes to write to the port now.
    pub tx: Vec<u8>,
    /// When to call [`Prober::on_timer`]; `None` when the probe has ended.
    pub deadline: Option<u64>,
    /// The outcome, once (in the step that ends the probe).
    pub outcome: Option<ProbeOutcome>,
}

/// The identification probe of one port.
#[derive(Debug)]
pub struct Prober {
    config: ProbeConfig,
    channel: AtChannel,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    NotStarted,
    Pinging { attempts_sent: u32 },
    Syncing(SyncStep),
    AskingManufacturer,
    AskingModel { manufacturer: String },
    Done,
}

impl Prober {
    /// A prober that has sent nothing yet.
    pub fn new(config: ProbeConfig) -> Self {
        Self {
            config,
            channel: AtChannel::new(ChannelConfig::gsm()),
            stage: Stage::NotStarted,
        }
    }

    /// Starts (or restarts) the probe: sends the first `AT`.
    pub fn start(&mut self, now_ms: u64) -> ProbeStep {
        self.channel.reset();
        let (tx, outcome) = self.ping(0, now_ms);
        self.step(tx, outcome)
    }

    /// Takes bytes read from the port.
    pub fn feed(&mut self, bytes: &[u8], now_ms: u64) -> ProbeStep {
        let mut tx = Vec::new();
        let mut outcome = None;
        for event in self.channel.feed(bytes).events {
            if let ChannelEvent::Completed(result) = event {
                let (more_tx, ended) = self.on_completed(result, now_ms);
                tx.extend(more_tx);
                outcome = outcome.or(ended);
            }
        }
        self.step(tx, outcome)
    }

    /// Call at (or after) the step's deadline.
    pub fn on_timer(&mut self, now_ms: u64) -> ProbeStep {
        let (tx, outcome) = match self.channel.check_timeout(now_ms) {
            Some(ChannelEvent::Completed(result)) => self.on_completed(result, now_ms),
            _ => (Vec::new(), None),
        };
        self.step(tx, outcome)
    }

    fn step(&self, tx: Vec<u8>, outcome: Option<ProbeOutcome>) -> ProbeStep {
        ProbeStep {
            tx,
            deadline: self.channel.deadline(),
            outcome,
        }
    }

    /// Moves on after the command in flight finished: the bytes to write and, at the end, the
    /// outcome.
    fn on_completed(
        &mut self,
        result: Result<Response, AtError>,
        now_ms: u64,
    ) -> (Vec<u8>, Option<ProbeOutcome>) {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Pinging { attempts_sent } => match result {
                Err(AtError::Timeout) => self.ping(attempts_sent, now_ms),
                _ => (self.sync(Some(SyncStep::Marker(1)), now_ms), None),
            },
            Stage::Syncing(step) => {
                let timed_out = matches!(result, Err(AtError::Timeout));
                (self.sync(step.next(timed_out), now_ms), None)
            }
            Stage::AskingManufacturer => {
                self.stage = Stage::AskingModel {
                    manufacturer: identification(result, "+CGMI:"),
                };
                (self.ask("AT+CGMM", now_ms), None)
            }
            Stage::AskingModel { manufacturer } => {
                let identity = Identity {
                    manufacturer,
                    model: identification(result, "+CGMM:"),
                };
                (Vec::new(), Some(ProbeOutcome::Identified(identity)))
            }
            Stage::NotStarted | Stage::Done => (Vec::new(), None),
        }
    }

    /// Sends the marker of `step`, or asks the manufacturer once the channel is in step (or the
    /// device never echoes).
    fn sync(&mut self, step: Option<SyncStep>, now_ms: u64) -> Vec<u8> {
        match step {
            Some(step) => {
                self.stage = Stage::Syncing(step);
                self.send(step.command(), now_ms)
            }
            None => {
                self.stage = Stage::AskingManufacturer;
                self.ask("AT+CGMI", now_ms)
            }
        }
    }

    /// Sends the next `ATE1`, or gives up when all attempts are spent.
    fn ping(&mut self, attempts_sent: u32, now_ms: u64) -> (Vec<u8>, Option<ProbeOutcome>) {
        if attempts_sent >= self.config.attempts {
            self.stage = Stage::Done;
            return (Vec::new(), Some(ProbeOutcome::NoResponse));
        }
        self.stage = Stage::Pinging {
            attempts_sent: attempts_sent + 1,
        };
        let mut command = Command::new("ATE1", self.config.at_timeout_ms);
        if attempts_sent == 0 {
            command = command.with_preamble(resync::escape_preamble());
        }
        (self.send(command, now_ms), None)
    }

    fn ask(&mut self, line: &str, now_ms: u64) -> Vec<u8> {
        let command = Command::new(line, self.config.ident_timeout_ms);
        self.send(command, now_ms)
    }

    fn send(&mut self, command: Command, now_ms: u64) -> Vec<u8> {
        // Every probe command is started after the previous one completed, so the channel is
        // idle; should it not be, sending nothing lets the deadline move the probe on.
        self.channel.start(command, now_ms).unwrap_or_default()
    }
}

/// The value of an identification answer: `+CGMI: "Quectel"` or `Quectel` -> `Quectel`; empty
/// when the command failed.
fn identification(result: Result<Response, AtError>, prefix: &str) -> String {
    let Ok(response) = result else {
        return String::new();
    };
    let line = response
        .lines
        .iter()
        .find(|line| line.starts_with(prefix))
        .or(response.lines.first());
    line.map(|line| {
        line.strip_prefix(prefix)
            .unwrap_or(line)
            .trim()
            .trim_matches('"')
            .trim()
            .to_owned()
    })
    .unwrap_or_default()
}
