//! Control commands of a simulated modem (`signal`, `register`, `sms`, ...): parsing and the
//! state changes with their URCs.

use m2mhal_sms::{Body, DeliverOptions, PhoneNumber, SmsError, encode_deliver, from_hex, to_hex};
use serde_json::{Value, json};

use super::gnss_commands::{ModemFix, ModemGnss};
use super::network::{AccessTech, Domain, Network, RegistrationStatus, Signal};
use super::sms_storage::tpdu_length;
use super::state::{ModemState, SimState};
use crate::control_plane::parse_on_off;
use crate::device::{ControlReply, Output};
use crate::help::CommandHelp;

/// The modem's control commands, for `help` and `m2msim modem --help`.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp::new(
        "signal <csq 0..31|99> [rsrp dBm]",
        "signal quality (+CSQ, +QCSQ)",
    ),
    CommandHelp::new(
        "register <home|roaming|searching|denied|idle|unknown> [lte|gsm|umts|lte-m|nb-iot]",
        "network registration (+CREG/+CEREG URCs)",
    ),
    CommandHelp::new("operator <name>", "the operator name (+COPS)"),
    CommandHelp::new(
        "sim <ready|missing|pin>",
        "the SIM card (+CPIN URC; +QUSIM: 1 when one is inserted into the empty slot)",
    ),
    CommandHelp::new(
        "sms <from> <text>",
        "an SMS arrives (split into parts when long)",
    ),
    CommandHelp::new("sms-ucs2 <from> <text>", "an SMS arrives in UCS-2"),
    CommandHelp::new("sms-binary <from> <hex>", "an 8-bit data SMS arrives"),
    CommandHelp::new(
        "sms-raw <pdu hex>",
        "a PDU arrives as it is (SMSC address first), damaged or not: stored and announced",
    ),
    CommandHelp::new(
        "sms-parts-reversed <from> <text>",
        "a multipart SMS arrives last part first",
    ),
    CommandHelp::new(LOST_PART_USAGE, "a multipart SMS arrives without one part"),
    CommandHelp::new(
        "sms-stepwise <from> <text>",
        "a multipart SMS: its first part arrives, the others wait for next-part",
    ),
    CommandHelp::new(
        "next-part",
        "the next waiting part of an sms-stepwise message arrives",
    ),
    CommandHelp::new(
        "store <from> <text>",
        "an SMS is stored on the SIM without a URC",
    ),
    CommandHelp::new(
        "sms-ack <hold|release|drop>",
        "submitted SMS go out, their +CMGS answers wait (hold) until released or lost (drop)",
    ),
    CommandHelp::new("quirk echo <on|off>", "echo stays on whatever ATE0 says"),
    CommandHelp::new(
        "quirk urc-interleave <on|off>",
        "URCs come in the middle of answers",
    ),
    CommandHelp::new(
        "quirk no-sms <on|off>",
        "a data-only module: every SMS command (+CNMI, +CMGS, ...) answers ERROR",
    ),
    CommandHelp::new(
        GNSS_USAGE,
        "the GNSS (of a modem started with --gnss) gets a fix, 2D without altitude, or loses it",
    ),
    CommandHelp::new("list", "the messages stored on the SIM"),
    CommandHelp::new("status", "the modem state"),
];

/// The service centre named in received PDUs.
const SMSC: &str = "+491710760000";

/// Why a modem control command failed.
#[derive(Debug, thiserror::Error)]
pub enum ModemControlError {
    /// The first word is not a modem command.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The arguments do not fit the command; the text is its usage.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// The message could not be encoded.
    #[error("cannot encode the message: {0}")]
    Sms(#[from] SmsError),
    /// The SIM has no room for all parts of the message.
    #[error("SIM message storage is full")]
    StorageFull,
    /// Only a registered modem receives messages.
    #[error("the modem is not registered: no message delivered")]
    NotRegistered,
    /// `next-part` without a waiting part.
    #[error("no part of an sms-stepwise message is waiting")]
    NoWaitingPart,
    /// `gnss` on a modem started without `--gnss`.
    #[error("this modem has no GNSS (start it with --gnss)")]
    NoGnss,
}

/// How a received message reaches the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Stored (or routed with `+CMT`) and announced as `+CNMI` says.
    Announced,
    /// Like `Announced`, parts stored in reverse order.
    AnnouncedReversed,
    /// Like `Announced`, but the network loses this part (1-based sequence number): it is
    /// neither stored nor announced.
    LosingPart(usize),
    /// Stored without any URC, as if received while the host was away.
    Silent,
    /// Like `Announced`, one part at a time: the first now, each other one on `next-part`
    /// (as parts arrive from a network, seconds apart).
    Stepwise,
}

/// What `sms-ack` does with the answers to submitted SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitAcks {
    /// Hold them from now on.
    Hold,
    /// Send the held ones now, hold no more.
    Release,
    /// Lose the held ones (the network never acknowledged), hold no more.
    Drop,
}

/// A message body owned by a control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageBody {
    /// Text, GSM 7-bit when it fits, else UCS-2.
    Text(String),
    /// Text always in UCS-2.
    Ucs2Text(String),
    /// 8-bit data.
    Binary(Vec<u8>),
}

/// A parsed modem control command.
#[derive(Debug, Clone, PartialEq)]
pub enum ModemControl {
    /// `signal <csq> [rsrp]`.
    Signal(Signal),
    /// `register <status> [tech]`.
    Register(RegistrationStatus, Option<AccessTech>),
    /// `operator <name>`.
    Operator(String),
    /// `sim <ready|missing|pin>`.
    Sim(SimState),
    /// `sms`, `sms-binary`, `sms-parts-reversed`, `sms-lose-part`, `store`.
    Receive {
        /// Originator as typed, for example `+4915123456789`.
        from: String,
        /// The message.
        body: MessageBody,
        /// How the host learns about it.
        delivery: Delivery,
    },
    /// `sms-raw <hex>`: this PDU (SMSC address first) arrives as it is, whatever it holds.
    ReceiveRaw(Vec<u8>),
    /// `next-part`: the next waiting part of an `sms-stepwise` message arrives.
    NextPart,
    /// `sms-ack <hold|release|drop>`: a submitted SMS goes out at once, but its `+CMGS` answer
    /// waits, as on a network slow to acknowledge.
    SubmitAcks(SubmitAcks),
    /// `quirk echo <on|off>`: echo stays on whatever `ATE0` says.
    ForcedEcho(bool),
    /// `quirk urc-interleave <on|off>`.
    UrcInterleave(bool),
    /// `quirk no-sms <on|off>`: a module without SMS.
    NoSms(bool),
    /// `gnss <lat> <lon> [alt]` / `gnss none`: the GNSS fix.
    GnssFix(Option<(f64, f64, Option<f64>)>),
    /// `list`: the stored messages.
    List,
    /// `status`: the modem state (settings, SIM, network, storage; `text_entry` while the
    /// modem reads message text after the `> ` prompt, which only Ctrl-Z or ESC ends).
    Status,
}

impl ModemControl {
    /// Parses a control command line (without the `@<index>` prefix).
    pub fn parse(line: &str) -> Result<Self, ModemControlError> {
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let arguments: Vec<&str> = rest.split_whitespace().collect();
        match word {
            "signal" => parse_signal(&arguments),
            "register" => parse_register(&arguments),
            "operator" if !rest.is_empty() => Ok(Self::Operator(rest.to_owned())),
            "operator" => Err(ModemControlError::Usage("operator <name>")),
            "sim" => match arguments.as_slice() {
                ["ready"] => Ok(Self::Sim(SimState::Ready)),
                ["missing"] => Ok(Self::Sim(SimState::Missing)),
                ["pin"] => Ok(Self::Sim(SimState::PinRequired)),
                _ => Err(ModemControlError::Usage("sim <ready|missing|pin>")),
            },
            "sms" => parse_text_message(
                rest,
                Delivery::Announced,
                "sms <from> <text>",
                MessageBody::Text,
            ),
            "sms-parts-reversed" => parse_text_message(
                rest,
                Delivery::AnnouncedReversed,
                "sms-parts-reversed <from> <text>",
                MessageBody::Text,
            ),
            "sms-lose-part" => parse_lost_part(rest),
            "sms-stepwise" => parse_text_message(
                rest,
                Delivery::Stepwise,
                "sms-stepwise <from> <text>",
                MessageBody::Text,
            ),
            "next-part" if arguments.is_empty() => Ok(Self::NextPart),
            "sms-ack" => match arguments.as_slice() {
                ["hold"] => Ok(Self::SubmitAcks(SubmitAcks::Hold)),
                ["release"] => Ok(Self::SubmitAcks(SubmitAcks::Release)),
                ["drop"] => Ok(Self::SubmitAcks(SubmitAcks::Drop)),
                _ => Err(ModemControlError::Usage("sms-ack <hold|release|drop>")),
            },
            "store" => parse_text_message(
                rest,
                Delivery::Silent,
                "store <from> <text>",
                MessageBody::Text,
            ),
            "sms-ucs2" => parse_text_message(
                rest,
                Delivery::Announced,
                "sms-ucs2 <from> <text>",
                MessageBody::Ucs2Text,
            ),
            "sms-binary" => match arguments.as_slice() {
                [from, hex] => Ok(Self::Receive {
                    from: (*from).to_owned(),
                    body: MessageBody::Binary(from_hex(hex)?),
                    delivery: Delivery::Announced,
                }),
                _ => Err(ModemControlError::Usage("sms-binary <from> <hex>")),
            },
            "sms-raw" => match arguments.as_slice() {
                [hex] => Ok(Self::ReceiveRaw(from_hex(hex)?)),
                _ => Err(ModemControlError::Usage("sms-raw <pdu hex>")),
            },
            "quirk" => match arguments.as_slice() {
                ["echo", switch] => Ok(Self::ForcedEcho(parse_switch(switch)?)),
                ["urc-interleave", switch] => Ok(Self::UrcInterleave(parse_switch(switch)?)),
                ["no-sms", switch] => Ok(Self::NoSms(parse_switch(switch)?)),
                _ => Err(ModemControlError::Usage(
                    "quirk <echo|urc-interleave|no-sms|slow|silent|garbage> <on|off|ms>",
                )),
            },
            "gnss" => parse_gnss(&arguments),
            "list" if arguments.is_empty() => Ok(Self::List),
            "status" if arguments.is_empty() => Ok(Self::Status),
            _ => Err(ModemControlError::UnknownCommand(line.to_owned())),
        }
    }
}

fn parse_signal(arguments: &[&str]) -> Result<ModemControl, ModemControlError> {
    const USAGE: &str = "signal <csq 0..31|99> [rsrp dBm -140..-44]";
    let (csq, rsrp) = match arguments {
        [csq] => (csq, None),
        [csq, rsrp] => (csq, Some(rsrp)),
        _ => return Err(ModemControlError::Usage(USAGE)),
    };
    let csq = csq.parse().ok().filter(|csq| *csq <= 31 || *csq == 99);
    let rsrp_dbm = rsrp.map(|rsrp| rsrp.parse().ok().filter(|dbm| (-140..=-44).contains(dbm)));
    match (csq, rsrp_dbm) {
        (Some(csq), None) => Ok(ModemControl::Signal(Signal {
            csq,
            rsrp_dbm: None,
        })),
        (Some(csq), Some(Some(rsrp))) => Ok(ModemControl::Signal(Signal {
            csq,
            rsrp_dbm: Some(rsrp),
        })),
        _ => Err(ModemControlError::Usage(USAGE)),
    }
}

fn parse_register(arguments: &[&str]) -> Result<ModemControl, ModemControlError> {
    const USAGE: &str =
        "register <home|roaming|searching|denied|idle|unknown> [lte|gsm|umts|lte-m|nb-iot]";
    let (status, tech) = match arguments {
        [status] => (RegistrationStatus::from_name(status), None),
        [status, tech] => (
            RegistrationStatus::from_name(status),
            Some(AccessTech::from_name(tech)),
        ),
        _ => return Err(ModemControlError::Usage(USAGE)),
    };
    match (status, tech) {
        (Some(status), None) => Ok(ModemControl::Register(status, None)),
        (Some(status), Some(Some(tech))) => Ok(ModemControl::Register(status, Some(tech))),
        _ => Err(ModemControlError::Usage(USAGE)),
    }
}

fn parse_text_message(
    rest: &str,
    delivery: Delivery,
    usage: &'static str,
    body: fn(String) -> MessageBody,
) -> Result<ModemControl, ModemControlError> {
    let (from, text) = rest
        .split_once(char::is_whitespace)
        .ok_or(ModemControlError::Usage(usage))?;
    Ok(ModemControl::Receive {
        from: from.to_owned(),
        body: body(text.trim_start().to_owned()),
        delivery,
    })
}

/// `sms-lose-part <part> <from> <text>`: `<text>` from `<from>` without its part `<part>`.
fn parse_lost_part(rest: &str) -> Result<ModemControl, ModemControlError> {
    let (part, message) = rest
        .split_once(char::is_whitespace)
        .ok_or(ModemControlError::Usage(LOST_PART_USAGE))?;
    let part = part
        .parse::<usize>()
        .ok()
        .filter(|part| *part >= 1)
        .ok_or(ModemControlError::Usage(LOST_PART_USAGE))?;
    parse_text_message(
        message.trim_start(),
        Delivery::LosingPart(part),
        LOST_PART_USAGE,
        MessageBody::Text,
    )
}

/// Usage of `gnss`.
const GNSS_USAGE: &str = "gnss <lat> <lon> [alt]|none";

fn parse_gnss(arguments: &[&str]) -> Result<ModemControl, ModemControlError> {
    let numbers: Option<Vec<f64>> = arguments
        .iter()
        .map(|word| word.parse::<f64>().ok().filter(|n| n.is_finite()))
        .collect();
    match (arguments, numbers.as_deref()) {
        (["none"], _) => Ok(ModemControl::GnssFix(None)),
        (_, Some(&[latitude, longitude, ref altitude @ ..]))
            if latitude.abs() <= 90.0 && longitude.abs() <= 180.0 && altitude.len() <= 1 =>
        {
            Ok(ModemControl::GnssFix(Some((
                latitude,
                longitude,
                altitude.first().copied(),
            ))))
        }
        _ => Err(ModemControlError::Usage(GNSS_USAGE)),
    }
}

/// Usage of `sms-lose-part`.
const LOST_PART_USAGE: &str = "sms-lose-part <part 1..parts> <from> <text of several parts>";

fn parse_switch(word: &str) -> Result<bool, ModemControlError> {
    parse_on_off(word).ok_or(ModemControlError::Usage("quirk <name> <on|off>"))
}

impl ModemState {
    /// Applies a control command; `now` (Unix seconds) stamps received messages.
    pub fn apply(
        &mut self,
        control: ModemControl,
        now: i64,
    ) -> Result<ControlReply, ModemControlError> {
        let mut reply = json!({ "event": "ok" });
        let mut released = Vec::new();
        let urcs = match control {
            ModemControl::Signal(signal) => self.network.change(|network| network.signal = signal),
            ModemControl::Register(status, tech) => self.network.change(|network| {
                network.status = status;
                network.tech = tech.unwrap_or(network.tech);
            }),
            ModemControl::Operator(name) => self.network.change(|network| network.operator = name),
            ModemControl::Sim(sim) => self.change_sim(sim),
            ModemControl::Receive {
                from,
                body,
                delivery,
            } => {
                let (slots, urcs) = self.receive_message(&from, &body, delivery, now)?;
                reply["slots"] = json!(slots);
                urcs
            }
            ModemControl::ReceiveRaw(pdu) => {
                let (slots, urcs) = self.deliver("", vec![pdu], Delivery::Announced)?;
                reply["slots"] = json!(slots);
                urcs
            }
            ModemControl::NextPart => {
                let (pdu, from) = self
                    .waiting_parts
                    .pop_front()
                    .ok_or(ModemControlError::NoWaitingPart)?;
                let (slots, urcs) = self.deliver(&from, vec![pdu], Delivery::Announced)?;
                reply["slots"] = json!(slots);
                urcs
            }
            ModemControl::SubmitAcks(acks) => {
                self.hold_submit_acks = acks == SubmitAcks::Hold;
                let held = std::mem::take(&mut self.held_submit_acks);
                match acks {
                    SubmitAcks::Hold => self.held_submit_acks = held,
                    SubmitAcks::Release => released = held,
                    SubmitAcks::Drop => {}
                }
                Vec::new()
            }
            ModemControl::ForcedEcho(on) => {
                self.forced_echo = on;
                Vec::new()
            }
            ModemControl::NoSms(on) => {
                self.no_sms = on;
                Vec::new()
            }
            ModemControl::UrcInterleave(on) => {
                self.urc_interleave = on;
                if on {
                    Vec::new()
                } else {
                    self.take_held_urcs()
                }
            }
            ModemControl::GnssFix(fix) => {
                let gnss = self.gnss.as_mut().ok_or(ModemControlError::NoGnss)?;
                gnss.fix = fix.map(|(latitude, longitude, altitude)| ModemFix {
                    latitude,
                    longitude,
                    altitude,
                    time: now,
                });
                Vec::new()
            }
            ModemControl::List => {
                reply = self.message_list();
                Vec::new()
            }
            ModemControl::Status => {
                reply = self.status();
                Vec::new()
            }
        };
        let mut bytes = released;
        bytes.extend(self.unsolicited(urcs));
        Ok(ControlReply {
            reply,
            unsolicited: Output {
                bytes,
                events: Vec::new(),
            },
        })
    }

    /// The SIM changes as `sim` says, with the URCs a Quectel module sends: `+CPIN: <state>`,
    /// and on a SIM inserted into an empty slot `+QUSIM: 1` (the USIM is detected), which
    /// ModemManager's Quectel plugin takes as a SIM hot swap: it probes the modem again.
    fn change_sim(&mut self, sim: SimState) -> Vec<String> {
        let inserted = self.sim == SimState::Missing && sim != SimState::Missing;
        self.sim = sim;
        let pin_state = match sim {
            SimState::Ready => "READY",
            SimState::PinRequired => "SIM PIN",
            SimState::Missing => "NOT READY",
        };
        let mut urcs = vec![format!("+CPIN: {pin_state}")];
        if inserted {
            urcs.push("+QUSIM: 1".to_owned());
        }
        urcs.extend(
            self.network
                .change(|network| network.sim_ready = sim == SimState::Ready),
        );
        urcs
    }

    /// Encodes a received message and stores or routes its parts; returns the slots used and the
    /// URCs to emit.
    fn receive_message(
        &mut self,
        from: &str,
        body: &MessageBody,
        delivery: Delivery,
        now: i64,
    ) -> Result<(Vec<usize>, Vec<String>), ModemControlError> {
        if !self.network.is_registered() {
            return Err(ModemControlError::NotRegistered);
        }
        let originator = PhoneNumber::parse(from)?;
        let options = DeliverOptions {
            timestamp: now,
            utc_offset_quarters: 0,
            concat_reference: self.concat_reference,
            smsc: PhoneNumber::parse(SMSC).ok(),
        };
        let body = match body {
            MessageBody::Text(text) => Body::Text(text),
            MessageBody::Ucs2Text(text) => Body::Ucs2Text(text),
            MessageBody::Binary(data) => Body::Binary(data),
        };
        let mut parts = encode_deliver(&originator, body, &options)?;
        if parts.len() > 1 {
            self.concat_reference = self.concat_reference.wrapping_add(1);
        }
        if delivery == Delivery::AnnouncedReversed {
            parts.reverse();
        }
        if let Delivery::LosingPart(lost) = delivery {
            if lost > parts.len() {
                return Err(ModemControlError::Usage(LOST_PART_USAGE));
            }
            parts.remove(lost - 1);
        }
        if delivery == Delivery::Stepwise {
            let waiting = parts.split_off(parts.len().min(1));
            self.waiting_parts
                .extend(waiting.into_iter().map(|pdu| (pdu, from.to_owned())));
        }
        self.deliver(from, parts, delivery)
    }

    /// Stores or routes the parts of a received message as `+CNMI` says; returns the slots used
    /// and the URCs to emit.
    fn deliver(
        &mut self,
        from: &str,
        parts: Vec<Vec<u8>>,
        delivery: Delivery,
    ) -> Result<(Vec<usize>, Vec<String>), ModemControlError> {
        let indication = self.new_message_indication[1];
        if delivery != Delivery::Silent && indication == 2 {
            self.awaiting_ack = self.sms_service == 1;
            let urcs = parts
                .iter()
                .map(|pdu| format!("+CMT: ,{}\r\n{}", tpdu_length(pdu), to_hex(pdu)));
            return Ok((Vec::new(), urcs.collect()));
        }
        if self.storage.free() < parts.len() {
            return Err(ModemControlError::StorageFull);
        }
        let mut slots = Vec::new();
        for pdu in parts {
            let slot = self
                .storage
                .store(pdu, from)
                .map_err(|_| ModemControlError::StorageFull)?;
            slots.push(slot);
        }
        let announce = delivery != Delivery::Silent && matches!(indication, 1 | 3);
        let urcs = if announce {
            slots
                .iter()
                .map(|slot| format!("+CMTI: \"SM\",{slot}"))
                .collect()
        } else {
            Vec::new()
        };
        Ok((slots, urcs))
    }

    fn message_list(&self) -> Value {
        let messages: Vec<Value> = self
            .storage
            .list()
            .map(|(slot, message)| {
                json!({
                    "slot": slot,
                    "status": message.status.name(),
                    "from": message.from,
                    "pdu": to_hex(&message.pdu),
                })
            })
            .collect();
        json!({ "event": "sms-list", "messages": messages })
    }

    fn status(&self) -> Value {
        let network = &self.network;
        json!({
            "event": "status",
            "imei": self.identity.imei,
            "imsi": self.identity.imsi,
            "iccid": self.identity.iccid,
            "sim": self.sim.name(),
            "registration": network.status.name(),
            "effective_registration": network.effective_status().name(),
            "tech": network.tech.name(),
            "operator": network.operator,
            "csq": network.signal.csq,
            "rsrp": network.signal.rsrp(),
            "rsrq": Network::rsrq_db(),
            "cfun": self.functionality,
            "echo": self.echo_enabled(),
            "forced_echo": self.forced_echo,
            "cmee": self.errors.level(),
            "pdu_mode": self.pdu_mode,
            "text_entry": self.in_text_entry(),
            "creg": network.report_level(Domain::Circuit),
            "cgreg": network.report_level(Domain::Gprs),
            "cereg": network.report_level(Domain::Eps),
            "cnmi": self.new_message_indication,
            "stored": self.storage.used(),
            "urc_interleave": self.urc_interleave,
            "no_sms": self.no_sms,
            "sms_ack_held": !self.held_submit_acks.is_empty(),
            "gnss": self.gnss.as_ref().map(ModemGnss::status),
        })
    }
}
