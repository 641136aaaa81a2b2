//! The simulated 9603: settings, message buffers and what it is reading from the host, with no
//! I/O and no clock of its own (the caller passes `now`).

use std::time::{Duration, Instant};

use serde_json::json;

use super::gateway::{Gateway, MtMessage};
use super::indications::{Coverage, Indications};
use super::sbd::{MAX_MO_LENGTH, checked_message};
use super::session::SessionKind;
use crate::at_line::LineAssembler;
use crate::device::Output;

/// How long a session takes unless `session-delay` says otherwise.
pub const DEFAULT_SESSION_DELAY: Duration = Duration::from_secs(1);
/// How long `AT+SBDWB` and `AT+SBDWT` wait for the message after `READY`.
pub const WRITE_PERIOD: Duration = Duration::from_secs(60);
/// Longest command line kept; longer lines are dropped.
const MAX_LINE: usize = 512;
/// Most input kept while a session runs.
const MAX_HELD_INPUT: usize = 4096;

/// The settings the host changes with AT commands (and `ATZ` resets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `ATE1`: characters from the host are echoed.
    pub echo: bool,
    /// `ATV1`: verbose result codes (`OK`); `ATV0` gives numeric ones (`0`).
    pub verbose: bool,
    /// `AT+CIER`.
    pub indications: Indications,
    /// `AT+SBDMTA=1`: `SBDRING` when a ring alert arrives.
    pub ring_alerts: bool,
    /// `AT+SBDAREG` mode (0 to 2); accepted, registration is not simulated.
    pub auto_registration: u8,
}

impl Default for Settings {
    /// As shipped: echo on, verbose, no indications, ring alerts on.
    fn default() -> Self {
        Self {
            echo: true,
            verbose: true,
            indications: Indications::default(),
            ring_alerts: true,
            auto_registration: 0,
        }
    }
}

/// What the transceiver is reading from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    /// Command lines (see the `line` field).
    Command,
    /// The message and checksum after `AT+SBDWB=<length>` and `READY`.
    Binary {
        length: usize,
        payload: Vec<u8>,
        since: Instant,
    },
    /// The text after `AT+SBDWT` and `READY`, up to `\r`.
    Text { text: Vec<u8>, since: Instant },
    /// A session runs; input waits until it ends.
    Session { kind: SessionKind, held: Vec<u8> },
}

/// The answer to one AT command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// Information lines (possibly none), then `OK`.
    Lines(Vec<String>),
    /// `ERROR`.
    Error,
    /// The `AT+SBDRB` block, then `OK`.
    Block(Vec<u8>),
    /// The `AT+SBDRT` answer: `+SBDRT:` and the raw MT buffer, then `OK`.
    TextMessage(Vec<u8>),
    /// `READY`, then read a message of this length and its checksum.
    ReadBinary(usize),
    /// `READY`, then read a text line.
    ReadText,
    /// Start a session; its result follows when it ends.
    Session(SessionKind),
}

/// A simulated Iridium 9603 SBD transceiver and the gateway behind it.
#[derive(Debug, Clone)]
pub struct Transceiver {
    pub(super) imei: String,
    pub(super) settings: Settings,
    /// Echo stays on whatever `ATE0` says (`quirk echo on`).
    pub(super) forced_echo: bool,
    pub(super) coverage: Coverage,
    /// The mobile-originated buffer; empty when there is no message (messages have 1 byte or more).
    pub(super) mo_buffer: Vec<u8>,
    pub(super) mt_buffer: Option<MtMessage>,
    /// The MOMSN of the next session.
    pub(super) momsn: u16,
    /// A ring alert arrived and no session has answered it yet.
    pub(super) ring_alert: bool,
    /// A queued MT message rings (`auto-ring`).
    pub(super) auto_ring: bool,
    /// How long a session takes.
    pub(super) session_delay: Duration,
    /// Sessions finished, failed ones included.
    pub(super) sessions: u64,
    /// MT messages the gateway said were queued after the last session.
    pub(super) last_queued: usize,
    pub(super) gateway: Gateway,
    /// Indications and ring alerts held while the data port is reserved.
    held_urcs: Vec<String>,
    /// The command line being typed.
    line: LineAssembler,
    input: Input,
}

impl Transceiver {
    /// A powered-on transceiver with empty buffers under a clear sky.
    pub fn new(imei: String, forced_echo: bool, session_delay: Duration) -> Self {
        Self {
            imei,
            settings: Settings::default(),
            forced_echo,
            coverage: Coverage::default(),
            mo_buffer: Vec::new(),
            mt_buffer: None,
            momsn: 0,
            ring_alert: false,
            auto_ring: true,
            session_delay,
            sessions: 0,
            last_queued: 0,
            gateway: Gateway::default(),
            held_urcs: Vec::new(),
            line: LineAssembler::new(MAX_LINE),
            input: Input::Command,
        }
    }

    /// The 15-digit IMEI.
    pub fn imei(&self) -> &str {
        &self.imei
    }

    /// Whether characters from the host are echoed.
    pub fn echo_enabled(&self) -> bool {
        self.settings.echo || self.forced_echo
    }

    /// How long the session that has started takes; `None` when no session runs. The caller
    /// waits that long, then calls [`Transceiver::finish_session`].
    pub fn session_in_progress(&self) -> Option<Duration> {
        matches!(self.input, Input::Session { .. }).then_some(self.session_delay)
    }

    /// Handles bytes from the host at time `now`: echo, command lines, `READY` input. A message
    /// write whose 60 s ran out ends with result `1` first. Input after a command that starts a
    /// session waits for [`Transceiver::finish_session`].
    pub fn receive(&mut self, bytes: &[u8], now: Instant) -> Output {
        let mut output = Output::default();
        self.expire_write(now, &mut output);
        for &byte in bytes {
            self.take_byte(byte, now, &mut output);
        }
        output
    }

    /// Ends the running session: its `+SBDIX` answer, held indications, then the input that
    /// arrived meanwhile. Nothing when no session runs.
    pub fn finish_session(&mut self, now: Instant) -> Output {
        let Input::Session { kind, held } = std::mem::replace(&mut self.input, Input::Command)
        else {
            return Output::default();
        };
        let (line, events) = self.run_session(kind);
        let mut output = Output {
            bytes: self.frame(Answer::Lines(vec![line])),
            events,
        };
        append(&mut output, self.receive(&held, now));
        output
    }

    /// Emits indications now, or holds them while the data port is reserved (message input or a
    /// session).
    pub(super) fn unsolicited(&mut self, urcs: Vec<String>) -> Vec<u8> {
        if matches!(self.input, Input::Command) {
            urcs.iter()
                .flat_map(|urc| self.info(&[urc.as_bytes()]))
                .collect()
        } else {
            self.held_urcs.extend(urcs);
            Vec::new()
        }
    }

    /// Holds indications a command caused until its final result is out.
    pub(super) fn hold(&mut self, urcs: Vec<String>) {
        self.held_urcs.extend(urcs);
    }

    fn take_byte(&mut self, byte: u8, now: Instant, output: &mut Output) {
        let echo = self.echo_enabled();
        match &mut self.input {
            Input::Command => {
                if let Some(body) = self.line.take(byte, echo, &mut output.bytes) {
                    self.run_command(&body, now, output);
                }
            }
            Input::Binary {
                length, payload, ..
            } => {
                payload.push(byte);
                if payload.len() == *length + 2 {
                    let payload = std::mem::take(payload);
                    self.input = Input::Command;
                    let code = match checked_message(&payload) {
                        Some(message) => {
                            self.mo_buffer = message.to_vec();
                            0
                        }
                        None => 2,
                    };
                    output.bytes.extend(self.frame(result_code(code)));
                }
            }
            Input::Text { text, .. } => {
                if echo {
                    output.bytes.push(byte);
                }
                match byte {
                    b'\r' => {
                        let text = std::mem::take(text);
                        self.input = Input::Command;
                        self.mo_buffer = text;
                        output.bytes.extend(self.frame(result_code(0)));
                    }
                    b'\n' => {}
                    _ if text.len() < MAX_MO_LENGTH => text.push(byte),
                    // Beyond the longest MO message: dropped.
                    _ => {}
                }
            }
            Input::Session { held, .. } => {
                if held.len() < MAX_HELD_INPUT {
                    held.push(byte);
                }
            }
        }
    }

    /// Runs a command line's command (the text after `AT`).
    fn run_command(&mut self, body: &str, now: Instant, output: &mut Output) {
        match self.execute(body) {
            Answer::ReadBinary(length) => {
                self.input = Input::Binary {
                    length,
                    payload: Vec::new(),
                    since: now,
                };
                output.bytes.extend_from_slice(b"READY\r\n");
            }
            Answer::ReadText => {
                self.input = Input::Text {
                    text: Vec::new(),
                    since: now,
                };
                output.bytes.extend_from_slice(b"READY\r\n");
            }
            Answer::Session(kind) => {
                output.events.push(json!({
                    "event": "session-start",
                    "command": kind.command(),
                    "momsn": self.momsn,
                }));
                self.input = Input::Session {
                    kind,
                    held: Vec::new(),
                };
            }
            answer => output.bytes.extend(self.frame(answer)),
        }
    }

    /// Ends a message write whose period ran out: result `1`, which a 9603 sends without `OK`.
    fn expire_write(&mut self, now: Instant, output: &mut Output) {
        let since = match &self.input {
            Input::Binary { since, .. } | Input::Text { since, .. } => *since,
            Input::Command | Input::Session { .. } => return,
        };
        if now.saturating_duration_since(since) < WRITE_PERIOD {
            return;
        }
        self.input = Input::Command;
        output.bytes.extend(self.info(&[b"1"]));
        output.bytes.extend(self.release_held_urcs());
    }

    /// The bytes of a final answer, followed by the indications held until now.
    fn frame(&mut self, answer: Answer) -> Vec<u8> {
        let mut bytes = match answer {
            Answer::Lines(lines) if lines.is_empty() => Vec::new(),
            Answer::Lines(lines) => {
                let lines: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
                self.info(&lines)
            }
            Answer::TextMessage(text) => self.info(&[b"+SBDRT:", &text]),
            Answer::Block(block) => block,
            Answer::Error => {
                let mut bytes = self.final_result(false);
                bytes.extend(self.release_held_urcs());
                return bytes;
            }
            // Not final answers: `run_command` handles them before framing.
            Answer::ReadBinary(_) | Answer::ReadText | Answer::Session(_) => Vec::new(),
        };
        bytes.extend(self.final_result(true));
        bytes.extend(self.release_held_urcs());
        bytes
    }

    /// Information lines: `\r\n<line>\r\n<line>\r\n` verbose, `<line>\r\n<line>\r\n` numeric.
    fn info(&self, lines: &[&[u8]]) -> Vec<u8> {
        let mut bytes = Vec::new();
        if self.settings.verbose {
            bytes.extend_from_slice(b"\r\n");
        }
        for line in lines {
            bytes.extend_from_slice(line);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes
    }

    /// `OK`/`ERROR` verbose, `0`/`4` numeric.
    fn final_result(&self, ok: bool) -> Vec<u8> {
        let text: &[u8] = match (self.settings.verbose, ok) {
            (true, true) => b"\r\nOK\r\n",
            (true, false) => b"\r\nERROR\r\n",
            (false, true) => b"0\r",
            (false, false) => b"4\r",
        };
        text.to_vec()
    }

    fn release_held_urcs(&mut self) -> Vec<u8> {
        let urcs = std::mem::take(&mut self.held_urcs);
        self.unsolicited(urcs)
    }
}

/// A bare result code line (`AT+SBDWB`, `AT+SBDD`, ...) followed by `OK`.
pub(super) fn result_code(code: u8) -> Answer {
    Answer::Lines(vec![code.to_string()])
}

/// Adds `more` after `output`.
pub(super) fn append(output: &mut Output, more: Output) {
    output.bytes.extend(more.bytes);
    output.events.extend(more.events);
}
