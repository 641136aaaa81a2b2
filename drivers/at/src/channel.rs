//! A sans-IO AT command channel: one command in flight at a time; bytes in, events and bytes to
//! write out.
//!
//! # Classifying lines
//! While a command is in flight, a line equal to the command line (its echo; trimmed, case
//! ignored) before any other response line is dropped, and so is the echo of a payload sent after
//! the `> ` prompt (an SMS PDU). A payload asked for with a `READY` line (Iridium `AT+SBDWB`) is
//! binary and never echoed: nothing after it is taken for its echo, so that a result line such as
//! `0` is kept even when the payload happens to read like it.
//! A line starting with a configured URC prefix is a URC, unless it starts with the command's own
//! response prefix ([`Command::response_prefix`]): then it is a response line, like every other
//! line. While idle every line is a URC, known or not. A two-line URC (`+CMT:`) takes the next
//! line along as its `extra`, also in the middle of a response.
//!
//! # Late answers after a timeout
//! When a command times out, the modem may still answer it later. While idle, a late final result
//! is dropped (a late `NO CARRIER`, `BUSY` ... is reported as a URC when it matches a URC
//! prefix) and late information lines come out as URCs. If the next command is already in flight
//! when the late answer comes, its final result would complete the wrong command, and every later
//! command would get its predecessor's answer. So the next command ignores the first final result
//! that arrives before any sign of its own response: its echo, a line with its response prefix,
//! the prompt or the binary block. The lines before that final result are dropped with it. If the
//! modem never answered the timed-out command, this costs the next command its answer (it times
//! out too); that second timeout does not arm the rule again, so the third command runs normally.
//!
//! # Answers to a command you can recognise
//! A command built with [`Command::with_echo_required`] takes only the final result that follows
//! its own echo: lines and final results before the echo are dropped, however many. This is how
//! [`crate::resync`] tells its answer from stale ones after a restart.

use thiserror::Error;

pub use crate::command::Command;
pub use crate::config::ChannelConfig;
use crate::framer::{Frame, Framer, trim_noise};
use crate::result::{CmeError, CmsError, FinalResult};

/// The response to a successful command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The information lines, without the echo, URCs and blank lines.
    pub lines: Vec<String>,
    /// The binary block (payload and 2 checksum bytes) of a command built with
    /// [`Command::with_binary_response`], if the modem sent one.
    pub binary: Option<Vec<u8>>,
}

impl Response {
    /// The information lines of `result`: none when the command failed.
    pub fn lines_of(result: &Result<Response, AtError>) -> &[String] {
        result
            .as_ref()
            .map(|response| response.lines.as_slice())
            .unwrap_or_default()
    }
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AtError {
    /// The modem answered `ERROR`.
    #[error("the modem answered ERROR")]
    Error,
    /// The modem answered `+CME ERROR`.
    #[error("{0}")]
    Cme(CmeError),
    /// The modem answered `+CMS ERROR`.
    #[error("{0}")]
    Cms(CmsError),
    /// No final result before the command's timeout.
    #[error("no answer before the timeout")]
    Timeout,
    /// Another final result: `NO CARRIER`, `BUSY`, `NO ANSWER` or `NO DIALTONE`.
    #[error("the modem answered {0}")]
    Other(String),
}

/// [`AtChannel::start`] was called while a command was in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("an AT command is already in flight")]
pub struct ChannelBusy;

/// An unsolicited result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urc {
    /// The URC's line, e.g. `+CMTI: "SM",3`.
    pub line: String,
    /// The second line of a two-line URC (the PDU after `+CMT: ,24`).
    pub extra: Option<String>,
}

/// Something the channel has to tell its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    /// The command in flight has finished; the channel is idle again.
    Completed(Result<Response, AtError>),
    /// The modem sent a URC.
    Urc(Urc),
}

/// What [`AtChannel::feed`] produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelOutput {
    /// Events, in the order their bytes arrived.
    pub events: Vec<ChannelEvent>,
    /// Bytes to write to the modem now (a prompt payload).
    pub tx: Vec<u8>,
}

/// The AT command channel to one modem port.
#[derive(Debug)]
pub struct AtChannel {
    config: ChannelConfig,
    framer: Framer,
    in_flight: Option<InFlight>,
    /// The first line of a two-line URC, waiting for its second line.
    urc_first_line: Option<String>,
    /// A command timed out without an answer; the answer may still come.
    late_final_expected: bool,
}

impl AtChannel {
    /// An idle channel.
    pub fn new(config: ChannelConfig) -> Self {
        Self {
            config,
            framer: Framer::new(),
            in_flight: None,
            urc_first_line: None,
            late_final_expected: false,
        }
    }

    /// Starts a command; returns the bytes to write (`AT+CSQ\r`).
    pub fn start(&mut self, command: Command, now_ms: u64) -> Result<Vec<u8>, ChannelBusy> {
        if self.in_flight.is_some() {
            return Err(ChannelBusy);
        }
        if command.binary_response {
            self.framer.expect_binary();
        }
        let bytes = command.to_bytes();
        let late_final_possible = std::mem::take(&mut self.late_final_expected);
        self.in_flight = Some(InFlight::new(command, now_ms, late_final_possible));
        Ok(bytes)
    }

    /// Whether a command is in flight.
    pub fn is_busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Takes bytes received from the modem.
    pub fn feed(&mut self, bytes: &[u8]) -> ChannelOutput {
        self.framer.push(bytes);
        let mut output = ChannelOutput::default();
        while let Some(frame) = self.framer.next_frame() {
            self.on_frame(frame, &mut output);
        }
        output
    }

    /// When the command in flight times out, in the caller's milliseconds.
    pub fn deadline(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|in_flight| in_flight.deadline)
    }

    /// `Completed(Err(Timeout))` once the deadline of the command in flight has come; the channel
    /// is idle again then.
    pub fn check_timeout(&mut self, now_ms: u64) -> Option<ChannelEvent> {
        if now_ms < self.deadline()? {
            return None;
        }
        let timed_out = self.in_flight.take()?;
        self.late_final_expected = !timed_out.dropped_late_final;
        if timed_out.command.binary_response {
            // A half-received binary block cannot be told from text: start over.
            self.framer.clear();
        }
        Some(ChannelEvent::Completed(Err(AtError::Timeout)))
    }

    /// Forgets the command in flight and every buffered byte (after a hangup or reopen).
    pub fn reset(&mut self) {
        *self = Self::new(std::mem::take(&mut self.config));
    }

    fn on_frame(&mut self, frame: Frame, output: &mut ChannelOutput) {
        let frame = match (self.urc_first_line.take(), frame) {
            (Some(line), Frame::Line(extra)) => {
                output.events.push(urc(line, Some(extra)));
                return;
            }
            (Some(line), frame) => {
                output.events.push(urc(line, None));
                frame
            }
            (None, frame) => frame,
        };
        match self.in_flight.as_mut() {
            None => self.on_idle_frame(frame, output),
            Some(in_flight) => match frame {
                Frame::Line(line) => {
                    if in_flight.is_echo(&line) {
                        return;
                    }
                    if in_flight.is_urc(&self.config, &line) {
                        self.on_urc_line(line, output);
                    } else if in_flight.awaits_required_echo() {
                        // An answer to something else (a command before a restart).
                    } else if line == "READY" && in_flight.payload_pending() {
                        output.tx.extend(in_flight.take_payload(Echo::None));
                    } else {
                        in_flight.add_line(line);
                    }
                }
                Frame::Final(result) => {
                    if in_flight.awaits_required_echo() {
                        // The end of an answer to something else (or to this command from a
                        // device that does not echo): nothing is left to come late.
                        in_flight.dropped_late_final = true;
                    } else if in_flight.late_final_possible {
                        in_flight.drop_late_final();
                        if in_flight.command.binary_response {
                            self.framer.expect_binary();
                        }
                    } else if let Some(done) = self.in_flight.take() {
                        output
                            .events
                            .push(ChannelEvent::Completed(done.finish(result)));
                    }
                }
                Frame::Prompt => output.tx.extend(in_flight.take_payload(Echo::Expected)),
                Frame::Binary(block) => in_flight.set_binary(block),
            },
        }
    }

    fn on_idle_frame(&mut self, frame: Frame, output: &mut ChannelOutput) {
        match frame {
            Frame::Line(line) => self.on_urc_line(line, output),
            Frame::Final(result) => {
                self.late_final_expected = false;
                let line = result.to_string();
                if self.config.is_urc(&line) {
                    output.events.push(urc(line, None));
                }
            }
            Frame::Prompt | Frame::Binary(_) => {}
        }
    }

    fn on_urc_line(&mut self, line: String, output: &mut ChannelOutput) {
        if self.config.is_two_line_urc(&line) {
            self.urc_first_line = Some(line);
        } else {
            output.events.push(urc(line, None));
        }
    }
}

fn urc(line: String, extra: Option<String>) -> ChannelEvent {
    ChannelEvent::Urc(Urc { line, extra })
}

/// Whether the modem echoes a prompt payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Echo {
    /// A text payload after the `> ` prompt (SMS PDU): echoed when echo is on.
    Expected,
    /// A binary payload after `READY` (Iridium `AT+SBDWB`): never echoed.
    None,
}

/// The command in flight and what has arrived for it so far.
#[derive(Debug)]
struct InFlight {
    command: Command,
    deadline: u64,
    response_prefix: Option<String>,
    /// The echo still to drop: the command line, then (once sent) the prompt payload.
    expected_echo: Option<String>,
    lines: Vec<String>,
    binary: Option<Vec<u8>>,
    /// The previous command timed out and nothing has shown yet that the modem answers this one.
    late_final_possible: bool,
    /// A late final result was dropped while this command was in flight.
    dropped_late_final: bool,
}

impl InFlight {
    fn new(command: Command, now_ms: u64, late_final_possible: bool) -> Self {
        Self {
            deadline: now_ms.saturating_add(command.timeout_ms),
            response_prefix: command.response_prefix(),
            expected_echo: Some(command.line.trim().to_owned()),
            command,
            lines: Vec::new(),
            binary: None,
            late_final_possible,
            dropped_late_final: false,
        }
    }

    /// Whether `line` is the expected echo; the echo is expected only once.
    fn is_echo(&mut self, line: &str) -> bool {
        let is_echo = self
            .expected_echo
            .as_deref()
            .is_some_and(|echo| echo.eq_ignore_ascii_case(line));
        if is_echo {
            self.expected_echo = None;
            self.late_final_possible = false;
        }
        is_echo
    }

    /// Whether the command takes only an answer after its echo and the echo has not come yet.
    fn awaits_required_echo(&self) -> bool {
        self.command.echo_required && self.expected_echo.is_some()
    }

    fn is_own_line(&self, line: &str) -> bool {
        self.response_prefix
            .as_deref()
            .is_some_and(|prefix| line.starts_with(prefix))
    }

    fn is_urc(&self, config: &ChannelConfig, line: &str) -> bool {
        config.is_urc(line) && !self.is_own_line(line)
    }

    fn add_line(&mut self, line: String) {
        if self.is_own_line(&line) {
            self.late_final_possible = false;
        }
        self.expected_echo = None;
        self.lines.push(line);
    }

    fn payload_pending(&self) -> bool {
        self.command.prompt_payload.is_some()
    }

    /// The prompt payload if it has not been sent yet; a prompt without one is ignored. `echo`
    /// says whether the modem sends the payload back before its answer.
    fn take_payload(&mut self, echo: Echo) -> Vec<u8> {
        let Some(payload) = self.command.prompt_payload.take() else {
            return Vec::new();
        };
        self.late_final_possible = false;
        self.expected_echo = match echo {
            Echo::Expected => Some(trim_noise(&String::from_utf8_lossy(&payload)).to_owned()),
            Echo::None => None,
        };
        payload
    }

    fn set_binary(&mut self, block: Vec<u8>) {
        if self.command.binary_response && self.binary.is_none() {
            self.binary = Some(block);
            self.late_final_possible = false;
        }
    }

    /// Forgets what arrived so far: it was the answer to the timed-out command.
    fn drop_late_final(&mut self) {
        self.late_final_possible = false;
        self.dropped_late_final = true;
        self.lines.clear();
        self.expected_echo = Some(self.command.line.trim().to_owned());
    }

    fn finish(self, result: FinalResult) -> Result<Response, AtError> {
        match result {
            FinalResult::Ok => Ok(Response {
                lines: self.lines,
                binary: self.binary,
            }),
            FinalResult::Error => Err(AtError::Error),
            FinalResult::CmeError(error) => Err(AtError::Cme(error)),
            FinalResult::CmsError(error) => Err(AtError::Cms(error)),
            other => Err(AtError::Other(other.to_string())),
        }
    }
}
