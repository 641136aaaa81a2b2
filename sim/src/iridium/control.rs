//! Control commands of a simulated 9603 (`signal`, `service`, `mt`, `ring`, `mo-status`, ...):
//! parsing and the state changes with their indications.

use std::time::Duration;

use m2mhal_sms::{SmsError, from_hex, to_hex};
use serde_json::{Value, json};

use super::indications::Coverage;
use super::sbd::MAX_MT_LENGTH;
use super::transceiver::Transceiver;
use crate::control_plane::parse_on_off;
use crate::device::{ControlReply, Output};
use crate::help::CommandHelp;

/// The transceiver's control commands, for `help` and `m2msim iridium --help`.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp::new("signal <0..5>", "signal strength in bars (+CSQ, +CIEV)"),
    CommandHelp::new("service <on|off>", "network service (+CIEV)"),
    CommandHelp::new("mt <text>", "the gateway queues an MT message (and rings)"),
    CommandHelp::new("mt-hex <hex>", "the gateway queues a binary MT message"),
    CommandHelp::new("ring", "a ring alert reaches the transceiver"),
    CommandHelp::new("auto-ring <on|off>", "whether mt sends a ring alert"),
    CommandHelp::new(
        "mo-status <code 0..255>...",
        "MO status of the next sessions (none: clear)",
    ),
    CommandHelp::new("session-delay <ms>", "how long an SBD session takes"),
    CommandHelp::new("quirk echo <on|off>", "echo stays on whatever ATE0 says"),
    CommandHelp::new("status", "the transceiver and gateway state"),
    CommandHelp::new("list-mo", "every MO message the gateway received"),
];

/// Why a control command failed.
#[derive(Debug, thiserror::Error)]
pub enum IridiumControlError {
    /// The first word is not an Iridium command.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The arguments do not fit the command; the text is its usage.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// `mt-hex` got something that is not hex.
    #[error("not hex: {0}")]
    Hex(#[from] SmsError),
    /// An MT message has 1 to 270 bytes.
    #[error("an MT message has 1 to {MAX_MT_LENGTH} bytes, not {0}")]
    MtLength(usize),
}

/// A parsed control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IridiumControl {
    /// `signal <0..5>`: the bars.
    Signal(u8),
    /// `service <on|off>`: network service.
    Service(bool),
    /// `mt <text>` / `mt-hex <hex>`: the gateway queues a message (and rings, see `auto-ring`).
    Mt(Vec<u8>),
    /// `ring`: a ring alert reaches the transceiver.
    Ring,
    /// `auto-ring <on|off>`: whether `mt` sends a ring alert.
    AutoRing(bool),
    /// `mo-status <code>...`: MO statuses of the next sessions (none: clear the script).
    MoStatus(Vec<u8>),
    /// `session-delay <ms>`: how long a session takes.
    SessionDelay(Duration),
    /// `quirk echo <on|off>`: echo stays on whatever `ATE0` says.
    ForcedEcho(bool),
    /// `status`: the transceiver and gateway state.
    Status,
    /// `list-mo`: every MO message the gateway received.
    ListMo,
}

impl IridiumControl {
    /// Parses a control command line (without the `@<index>` prefix).
    pub fn parse(line: &str) -> Result<Self, IridiumControlError> {
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim_start();
        let arguments: Vec<&str> = rest.split_whitespace().collect();
        match (word, arguments.as_slice()) {
            ("signal", [bars]) => bars
                .parse()
                .ok()
                .filter(|bars| *bars <= Coverage::MAX_BARS)
                .map(Self::Signal)
                .ok_or(IridiumControlError::Usage("signal <0..5>")),
            ("signal", _) => Err(IridiumControlError::Usage("signal <0..5>")),
            ("service", [switch]) => parse_switch(switch, "service <on|off>").map(Self::Service),
            ("service", _) => Err(IridiumControlError::Usage("service <on|off>")),
            ("mt", _) => mt_message(rest.as_bytes().to_vec()),
            ("mt-hex", [hex]) => mt_message(from_hex(hex)?),
            ("mt-hex", _) => Err(IridiumControlError::Usage("mt-hex <hex>")),
            ("ring", []) => Ok(Self::Ring),
            ("auto-ring", [switch]) => {
                parse_switch(switch, "auto-ring <on|off>").map(Self::AutoRing)
            }
            ("auto-ring", _) => Err(IridiumControlError::Usage("auto-ring <on|off>")),
            ("mo-status", codes) => codes
                .iter()
                .map(|code| code.parse().ok())
                .collect::<Option<Vec<u8>>>()
                .map(Self::MoStatus)
                .ok_or(IridiumControlError::Usage("mo-status <code 0..255>...")),
            ("session-delay", [ms]) => ms
                .parse()
                .map(|ms| Self::SessionDelay(Duration::from_millis(ms)))
                .map_err(|_| IridiumControlError::Usage("session-delay <ms>")),
            ("session-delay", _) => Err(IridiumControlError::Usage("session-delay <ms>")),
            ("quirk", ["echo", switch]) => {
                parse_switch(switch, "quirk echo <on|off>").map(Self::ForcedEcho)
            }
            ("quirk", _) => Err(IridiumControlError::Usage(
                "quirk <echo|slow|silent|garbage> <on|off|ms>",
            )),
            ("status", []) => Ok(Self::Status),
            ("list-mo", []) => Ok(Self::ListMo),
            _ => Err(IridiumControlError::UnknownCommand(line.to_owned())),
        }
    }
}

fn mt_message(data: Vec<u8>) -> Result<IridiumControl, IridiumControlError> {
    if (1..=MAX_MT_LENGTH).contains(&data.len()) {
        Ok(IridiumControl::Mt(data))
    } else {
        Err(IridiumControlError::MtLength(data.len()))
    }
}

fn parse_switch(word: &str, usage: &'static str) -> Result<bool, IridiumControlError> {
    parse_on_off(word).ok_or(IridiumControlError::Usage(usage))
}

impl Transceiver {
    /// Applies a control command; the reply's unsolicited bytes are the indications and ring
    /// alerts it caused.
    pub fn apply(&mut self, control: IridiumControl) -> ControlReply {
        let mut reply = json!({ "event": "ok" });
        let urcs = match control {
            IridiumControl::Signal(bars) => self.change_coverage(Coverage {
                bars,
                ..self.coverage
            }),
            IridiumControl::Service(service) => self.change_coverage(Coverage {
                service,
                ..self.coverage
            }),
            IridiumControl::Mt(data) => {
                reply["queued"] = json!(self.gateway.queue_mt(data));
                let (rang, urcs) = if self.auto_ring {
                    self.ring()
                } else {
                    (false, Vec::new())
                };
                reply["rang"] = json!(rang);
                urcs
            }
            IridiumControl::Ring => {
                let (rang, urcs) = self.ring();
                reply["rang"] = json!(rang);
                urcs
            }
            IridiumControl::AutoRing(on) => {
                self.auto_ring = on;
                Vec::new()
            }
            IridiumControl::MoStatus(codes) => {
                self.gateway.script_mo_statuses(codes);
                Vec::new()
            }
            IridiumControl::SessionDelay(delay) => {
                self.session_delay = delay;
                Vec::new()
            }
            IridiumControl::ForcedEcho(on) => {
                self.forced_echo = on;
                Vec::new()
            }
            IridiumControl::Status => {
                reply = self.status();
                Vec::new()
            }
            IridiumControl::ListMo => {
                let messages: Vec<Value> = self
                    .gateway
                    .received()
                    .iter()
                    .map(|message| message.to_json())
                    .collect();
                reply = json!({ "event": "mo-list", "messages": messages });
                Vec::new()
            }
        };
        ControlReply {
            reply,
            unsolicited: Output {
                bytes: self.unsolicited(urcs),
                events: Vec::new(),
            },
        }
    }

    /// Moves to `coverage`; returns the indications of the change.
    fn change_coverage(&mut self, coverage: Coverage) -> Vec<String> {
        let before = std::mem::replace(&mut self.coverage, coverage);
        self.settings.indications.changes(before, coverage)
    }

    /// A ring alert: it reaches the transceiver only with service; `SBDRING` follows when
    /// `AT+SBDMTA=1`. Returns whether it arrived and the URCs.
    fn ring(&mut self) -> (bool, Vec<String>) {
        if !self.coverage.available() {
            return (false, Vec::new());
        }
        self.ring_alert = true;
        let urcs = if self.settings.ring_alerts {
            vec!["SBDRING".to_owned()]
        } else {
            Vec::new()
        };
        (true, urcs)
    }

    fn status(&self) -> Value {
        let indications = self.settings.indications;
        json!({
            "event": "status",
            "imei": self.imei,
            "bars": self.coverage.bars,
            "service": self.coverage.service,
            "momsn": self.momsn,
            "mtmsn": self.mt_buffer.as_ref().map(|message| message.mtmsn),
            "mo_buffer": (!self.mo_buffer.is_empty()).then(|| to_hex(&self.mo_buffer)),
            "mt_buffer": self.mt_buffer.as_ref().map(|message| to_hex(&message.data)),
            "gateway_queue": self.gateway.queued(),
            "sessions": self.sessions,
            "mo_status_script": self.gateway.scripted_statuses(),
            "session_delay_ms": self.session_delay.as_millis(),
            "echo": self.echo_enabled(),
            "forced_echo": self.forced_echo,
            "verbose": self.settings.verbose,
            "ring_alerts": self.settings.ring_alerts,
            "ring_alert_pending": self.ring_alert,
            "auto_ring": self.auto_ring,
            "indications": indications.read_line(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_rejects_bad_ones() {
        assert_eq!(
            IridiumControl::parse("signal 3").unwrap(),
            IridiumControl::Signal(3)
        );
        assert!(IridiumControl::parse("signal 6").is_err());
        assert_eq!(
            IridiumControl::parse("mt  Hello  world").unwrap(),
            IridiumControl::Mt(b"Hello  world".to_vec())
        );
        assert_eq!(
            IridiumControl::parse("mt-hex 00ff").unwrap(),
            IridiumControl::Mt(vec![0x00, 0xff])
        );
        assert!(matches!(
            IridiumControl::parse("mt"),
            Err(IridiumControlError::MtLength(0))
        ));
        assert!(IridiumControl::parse(&format!("mt {}", "x".repeat(271))).is_err());
        assert!(IridiumControl::parse("mt-hex 0g").is_err());
        assert_eq!(
            IridiumControl::parse("mo-status 17 17 0").unwrap(),
            IridiumControl::MoStatus(vec![17, 17, 0])
        );
        assert_eq!(
            IridiumControl::parse("mo-status").unwrap(),
            IridiumControl::MoStatus(Vec::new())
        );
        assert!(IridiumControl::parse("mo-status 300").is_err());
        assert_eq!(
            IridiumControl::parse("session-delay 250").unwrap(),
            IridiumControl::SessionDelay(Duration::from_millis(250))
        );
        assert_eq!(
            IridiumControl::parse("quirk echo on").unwrap(),
            IridiumControl::ForcedEcho(true)
        );
        assert!(matches!(
            IridiumControl::parse("sms +49 hi"),
            Err(IridiumControlError::UnknownCommand(_))
        ));
    }
}
