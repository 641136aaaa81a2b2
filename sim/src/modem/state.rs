//! `ModemState`: the simulated modem's settings and its byte-level AT interface (echo, line
//! assembly, the SMS prompt, response framing and URC placement).

use std::collections::VecDeque;

use super::command_line::split_commands;
use super::error::{CommandError, ErrorReporting};
use super::gnss_commands::ModemGnss;
use super::identity::Identity;
use super::network::{Domain, Network};
use super::sms_storage::SmsStorage;
use super::vendor::Vendor;
use crate::at_line::LineAssembler;
use crate::device::Output;

/// Longest command line kept; longer input is dropped like a modem's full buffer.
const MAX_LINE: usize = 1024;
/// Longest PDU text accepted after the `> ` prompt (a full TPDU plus SMSC address in hex).
const MAX_PDU_HEX: usize = 2 * (176 + 12);
const CTRL_Z: u8 = 0x1A;
const ESCAPE: u8 = 0x1B;

/// The SIM card as the control plane sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimState {
    /// Unlocked.
    Ready,
    /// Not inserted.
    Missing,
    /// Waiting for `AT+CPIN=<pin>`.
    PinRequired,
}

impl SimState {
    /// The control-command word for this state.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Missing => "missing",
            Self::PinRequired => "pin",
        }
    }
}

/// Operator name format of `+COPS` (`AT+COPS=3,<format>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorFormat {
    /// 0: long alphanumeric.
    Long,
    /// 1: short alphanumeric.
    Short,
    /// 2: numeric MCC+MNC.
    Numeric,
}

impl OperatorFormat {
    /// The `<format>` number.
    pub fn code(self) -> u8 {
        match self {
            Self::Long => 0,
            Self::Short => 1,
            Self::Numeric => 2,
        }
    }
}

/// What the modem is reading from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    /// Command lines (see the `line` field).
    Command,
    /// PDU hex after `AT+CMGS=<length>` up to Ctrl-Z.
    Pdu { length: usize, hex: Vec<u8> },
}

/// The answer to one command of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply {
    /// Information lines (possibly none), then `OK`.
    Done(Vec<String>),
    /// Show the `> ` prompt and read a PDU whose TPDU has this many octets.
    Prompt(usize),
}

/// A simulated 3GPP modem (think Quectel EG25): all state, no I/O, no clock.
#[derive(Debug, Clone)]
pub struct ModemState {
    pub(super) identity: Identity,
    /// `ATE` setting.
    pub(super) echo: bool,
    /// Echo stays on whatever `ATE0` says (the `--echo` quirk).
    pub(super) forced_echo: bool,
    pub(super) errors: ErrorReporting,
    /// `AT+CMGF=0`.
    pub(super) pdu_mode: bool,
    pub(super) sim: SimState,
    pub(super) network: Network,
    pub(super) operator_format: OperatorFormat,
    /// `AT+CFUN` level.
    pub(super) functionality: u8,
    pub(super) storage: SmsStorage,
    /// `AT+CNMI` parameters `<mode>,<mt>,<bm>,<ds>,<bfr>`.
    pub(super) new_message_indication: [usize; 5],
    /// `AT+CSMS` service: 1 requires `+CNMA` after `+CMT`.
    pub(super) sms_service: usize,
    /// A `+CMT` waits for `AT+CNMA`.
    pub(super) awaiting_ack: bool,
    /// Next `+CMGS` message reference.
    pub(super) message_reference: u8,
    /// Next concatenated-SMS reference for received multipart messages.
    pub(super) concat_reference: u8,
    /// Parts of an `sms-stepwise` message still to arrive, oldest first, with their originator.
    pub(super) waiting_parts: VecDeque<(Vec<u8>, String)>,
    /// The urc-interleave quirk: URCs appear between information lines and the final result.
    pub(super) urc_interleave: bool,
    /// The no-sms quirk: the module has no SMS; its SMS commands are unknown to it.
    pub(super) no_sms: bool,
    /// URCs held back until the next response (during the prompt or by the interleave quirk).
    held_urcs: Vec<String>,
    /// `sms-ack hold`: the network keeps a submitted SMS's acknowledgement until `sms-ack
    /// release` (the SMS went out; the modem's `+CMGS` answer waits).
    pub(super) hold_submit_acks: bool,
    /// The held answers to submitted SMS, in order.
    pub(super) held_submit_acks: Vec<u8>,
    /// Events of the commands being run (`sms-deleted`), reported with their answer.
    pub(super) events: Vec<serde_json::Value>,
    /// Whose modem this is (`--vendor`): its identification and GNSS commands.
    pub(super) vendor: Vendor,
    /// The GNSS receiver of a modem simulated with `--gnss`.
    pub(super) gnss: Option<ModemGnss>,
    /// The command line being typed.
    line: LineAssembler,
    input: Input,
}

impl ModemState {
    /// A powered-on modem with a ready SIM, registered at home on LTE.
    pub fn new(identity: Identity, forced_echo: bool) -> Self {
        Self {
            identity,
            echo: true,
            forced_echo,
            errors: ErrorReporting::Plain,
            pdu_mode: true,
            sim: SimState::Ready,
            network: Network::default(),
            operator_format: OperatorFormat::Long,
            functionality: 1,
            storage: SmsStorage::default(),
            new_message_indication: [2, 1, 0, 0, 0],
            sms_service: 0,
            awaiting_ack: false,
            message_reference: 0,
            concat_reference: 1,
            waiting_parts: VecDeque::new(),
            urc_interleave: false,
            no_sms: false,
            held_urcs: Vec::new(),
            hold_submit_acks: false,
            held_submit_acks: Vec::new(),
            events: Vec::new(),
            vendor: Vendor::default(),
            gnss: None,
            line: LineAssembler::new(MAX_LINE),
            input: Input::Command,
        }
    }

    /// The same modem with a GNSS receiver (off, no fix), when `gnss`; it answers the GNSS
    /// commands of the modem's [`Vendor`].
    pub fn with_gnss(mut self, gnss: bool) -> Self {
        self.gnss = gnss.then(ModemGnss::default);
        self
    }

    /// The same modem made by `vendor` (a Quectel unless told otherwise).
    pub fn with_vendor(mut self, vendor: Vendor) -> Self {
        self.vendor = vendor;
        self
    }

    /// `ATZ` / `AT&F`: back to the power-on settings, keeping SIM, network and messages.
    pub(super) fn reset_settings(&mut self) {
        self.echo = true;
        self.errors = ErrorReporting::Plain;
        self.pdu_mode = true;
        self.operator_format = OperatorFormat::Long;
        self.new_message_indication = [2, 1, 0, 0, 0];
        for domain in Domain::ALL {
            self.network.set_report_level(domain, 0);
        }
    }

    /// Whether characters from the host are echoed.
    pub fn echo_enabled(&self) -> bool {
        self.echo || self.forced_echo
    }

    /// Whether the modem reads message text after the `> ` prompt (until Ctrl-Z sends it or ESC
    /// cancels it).
    pub fn in_text_entry(&self) -> bool {
        matches!(self.input, Input::Pdu { .. })
    }

    /// The modem's identity numbers.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Handles bytes from the host: echoes them, runs complete command lines and takes the PDU
    /// after a `> ` prompt. Returns everything the modem writes back.
    pub fn receive(&mut self, bytes: &[u8]) -> Output {
        let mut output = Output::default();
        for &byte in bytes {
            let echo = self.echo_enabled();
            match &mut self.input {
                Input::Command => {
                    if let Some(body) = self.line.take(byte, echo, &mut output.bytes) {
                        let answer = self.run_commands(&body);
                        output.bytes.extend(answer);
                        output.events.append(&mut self.events);
                    }
                }
                Input::Pdu { length, hex } => match byte {
                    CTRL_Z => {
                        let (length, hex) = (*length, std::mem::take(hex));
                        self.input = Input::Command;
                        let result = self.submit(length, &hex, &mut output.events);
                        let held = self.hold_submit_acks && result.is_ok();
                        let answer = self.frame(result);
                        if held {
                            self.held_submit_acks.extend(answer);
                        } else {
                            output.bytes.extend(answer);
                        }
                    }
                    ESCAPE => {
                        self.input = Input::Command;
                        output.bytes.extend(self.frame(Ok(Vec::new())));
                    }
                    b'\r' | b'\n' => {}
                    _ => {
                        if echo {
                            output.bytes.push(byte);
                        }
                        if hex.len() < MAX_PDU_HEX {
                            hex.push(byte);
                        }
                    }
                },
            }
        }
        output
    }

    /// Runs the commands of a line (the text after `AT`) and returns the framed answer.
    fn run_commands(&mut self, body: &str) -> Vec<u8> {
        let mut info = Vec::new();
        for command in split_commands(body) {
            match self.execute(command) {
                Ok(Reply::Done(lines)) => info.extend(lines),
                Ok(Reply::Prompt(length)) => {
                    self.input = Input::Pdu {
                        length,
                        hex: Vec::new(),
                    };
                    return b"\r\n> ".to_vec();
                }
                Err(error) => return self.frame(Err(error)),
            }
        }
        self.frame(Ok(info))
    }

    /// Frames a response: `\r\n<info>\r\n`, held URCs (interleaved when the quirk is on), then
    /// `\r\nOK\r\n` or the error line.
    fn frame(&mut self, result: Result<Vec<String>, CommandError>) -> Vec<u8> {
        let (info, final_line) = match result {
            Ok(info) => (info, "OK".to_owned()),
            Err(error) => (Vec::new(), self.errors.final_line(error)),
        };
        let mut text = String::new();
        if !info.is_empty() {
            text.push_str(&format!("\r\n{}\r\n", info.join("\r\n")));
        }
        if self.urc_interleave && self.held_urcs.is_empty() && !info.is_empty() {
            self.held_urcs
                .push(self.network.unsolicited_line(Domain::Circuit));
        }
        let urcs = std::mem::take(&mut self.held_urcs);
        let urc_text: String = urcs.iter().map(|urc| format!("\r\n{urc}\r\n")).collect();
        if self.urc_interleave {
            text.push_str(&urc_text);
        }
        text.push_str(&format!("\r\n{final_line}\r\n"));
        if !self.urc_interleave {
            text.push_str(&urc_text);
        }
        text.into_bytes()
    }

    /// Holds URCs caused by a command until its final result is out.
    pub(super) fn hold(&mut self, urcs: Vec<String>) {
        self.held_urcs.extend(urcs);
    }

    /// Takes the held URCs out, for emitting them now.
    pub(super) fn take_held_urcs(&mut self) -> Vec<String> {
        std::mem::take(&mut self.held_urcs)
    }

    /// Emits URCs now, or holds them while the prompt is open or the interleave quirk is on.
    pub(super) fn unsolicited(&mut self, urcs: Vec<String>) -> Vec<u8> {
        let waiting_for_pdu = matches!(self.input, Input::Pdu { .. });
        if waiting_for_pdu || self.urc_interleave {
            self.held_urcs.extend(urcs);
            return Vec::new();
        }
        urcs.iter()
            .flat_map(|urc| format!("\r\n{urc}\r\n").into_bytes())
            .collect()
    }
}
