//! The SMS AT commands of 3GPP TS 27.005 in PDU mode, and the SMS-SUBMIT the host sends.

use m2mhal_sms::{Alphabet, Content, Submit, decode_submit, from_hex, to_hex};
use serde_json::{Value, json};

use super::command_line::{Command, Form};
use super::commands::{lines, ok};
use super::error::{CmsError, CommandError};
use super::sms_storage::{CAPACITY, DeleteScope, MessageStatus, StoredMessage, tpdu_length};
use super::state::{ModemState, Reply, SimState};

/// The longest TPDU of an SMS-SUBMIT (TS 23.040).
const MAX_TPDU: usize = 164;
/// The only message storage: the SIM.
const STORAGE: &str = "SM";

impl ModemState {
    /// Runs an SMS command; any other unknown command is a plain `ERROR`.
    pub(super) fn execute_sms(&mut self, command: &Command) -> Result<Reply, CommandError> {
        if self.no_sms {
            return Err(CommandError::Syntax);
        }
        match command.name.as_str() {
            "+CMGF" => self.message_format(command),
            "+CSMS" => self.message_service(command),
            "+CPMS" => self.preferred_storage(command),
            "+CNMI" => self.new_message_indications(command),
            "+CMGS" => self.send(command),
            "+CMGR" => self.read_message(command),
            "+CMGL" => self.list_messages(command),
            "+CMGD" => self.delete_messages(command),
            "+CNMA" => self.acknowledge(),
            _ => Err(CommandError::Syntax),
        }
    }

    /// Fails unless the SIM is ready, as `+CMS ERROR`.
    fn require_sms_sim(&self) -> Result<(), CommandError> {
        match self.sim {
            SimState::Ready => Ok(()),
            SimState::Missing => Err(CommandError::Cms(CmsError::SimNotInserted)),
            SimState::PinRequired => Err(CommandError::Cms(CmsError::SimPinRequired)),
        }
    }

    /// Fails unless the SIM is ready and the modem is in PDU mode.
    fn require_pdu_mode(&self) -> Result<(), CommandError> {
        self.require_sms_sim()?;
        if self.pdu_mode {
            Ok(())
        } else {
            Err(CommandError::Cms(CmsError::OperationNotSupported))
        }
    }

    fn message_format(&mut self, command: &Command) -> Result<Reply, CommandError> {
        match command.form {
            Form::Read => lines([format!("+CMGF: {}", u8::from(!self.pdu_mode))]),
            Form::Test => lines(["+CMGF: (0-1)".to_owned()]),
            Form::Set(_) => {
                self.pdu_mode = match command.number(0) {
                    Some(0) => true,
                    Some(1) => false,
                    _ => return Err(CommandError::Syntax),
                };
                ok()
            }
            Form::Execute => Err(CommandError::Syntax),
        }
    }

    fn message_service(&mut self, command: &Command) -> Result<Reply, CommandError> {
        match command.form {
            Form::Read => lines([format!("+CSMS: {},1,1,1", self.sms_service)]),
            Form::Test => lines(["+CSMS: (0-1)".to_owned()]),
            Form::Set(_) => {
                self.sms_service = command
                    .number(0)
                    .filter(|service| *service <= 1)
                    .ok_or(CommandError::Syntax)?;
                lines(["+CSMS: 1,1,1".to_owned()])
            }
            Form::Execute => Err(CommandError::Syntax),
        }
    }

    fn preferred_storage(&mut self, command: &Command) -> Result<Reply, CommandError> {
        self.require_sms_sim()?;
        let used = self.storage.used();
        match command.form {
            Form::Read => lines([format!(
                "+CPMS: \"{STORAGE}\",{used},{CAPACITY},\"{STORAGE}\",{used},{CAPACITY},\"{STORAGE}\",{used},{CAPACITY}"
            )]),
            Form::Test => lines([format!(
                "+CPMS: (\"{STORAGE}\"),(\"{STORAGE}\"),(\"{STORAGE}\")"
            )]),
            Form::Set(ref storages) => {
                if storages.is_empty()
                    || storages.len() > 3
                    || storages
                        .iter()
                        .any(|storage| !storage.eq_ignore_ascii_case(STORAGE))
                {
                    return Err(CommandError::Cms(CmsError::OperationNotSupported));
                }
                lines([format!(
                    "+CPMS: {used},{CAPACITY},{used},{CAPACITY},{used},{CAPACITY}"
                )])
            }
            Form::Execute => Err(CommandError::Syntax),
        }
    }

    fn new_message_indications(&mut self, command: &Command) -> Result<Reply, CommandError> {
        /// Highest value of each `+CNMI` parameter.
        const LIMITS: [usize; 5] = [3, 3, 3, 2, 1];
        match command.form {
            Form::Read => {
                let [mode, mt, bm, ds, bfr] = self.new_message_indication;
                lines([format!("+CNMI: {mode},{mt},{bm},{ds},{bfr}")])
            }
            Form::Test => lines(["+CNMI: (0-3),(0-3),(0-3),(0-2),(0-1)".to_owned()]),
            Form::Set(ref arguments) => {
                if arguments.len() > LIMITS.len() {
                    return Err(CommandError::Cms(CmsError::OperationNotSupported));
                }
                let mut settings = self.new_message_indication;
                for (position, argument) in arguments.iter().enumerate() {
                    if argument.is_empty() {
                        continue;
                    }
                    settings[position] = command
                        .number(position)
                        .filter(|value| *value <= LIMITS[position])
                        .ok_or(CommandError::Cms(CmsError::OperationNotSupported))?;
                }
                self.new_message_indication = settings;
                ok()
            }
            Form::Execute => Err(CommandError::Syntax),
        }
    }

    fn send(&mut self, command: &Command) -> Result<Reply, CommandError> {
        self.require_pdu_mode()?;
        match command.form {
            Form::Test => ok(),
            Form::Set(_) => {
                let length = command
                    .number(0)
                    .filter(|length| (1..=MAX_TPDU).contains(length));
                length
                    .map(Reply::Prompt)
                    .ok_or(CommandError::Cms(CmsError::InvalidPduParameter))
            }
            _ => Err(CommandError::Syntax),
        }
    }

    /// Sends the PDU typed after the prompt: `+CMGS: <mr>`, and reports it as an `sms-sent` event.
    pub(super) fn submit(
        &mut self,
        length: usize,
        hex: &[u8],
        events: &mut Vec<Value>,
    ) -> Result<Vec<String>, CommandError> {
        let invalid = CommandError::Cms(CmsError::InvalidPduParameter);
        let pdu = from_hex(&String::from_utf8_lossy(hex)).map_err(|_| invalid)?;
        if tpdu_length(&pdu) != length {
            return Err(invalid);
        }
        let submit = decode_submit(&pdu).map_err(|_| invalid)?;
        if !self.network.is_registered() {
            return Err(CommandError::Cms(CmsError::NoNetworkService));
        }
        let reference = self.message_reference;
        self.message_reference = reference.wrapping_add(1);
        events.push(sent_event(&submit, &pdu, reference));
        Ok(vec![format!("+CMGS: {reference}")])
    }

    fn read_message(&mut self, command: &Command) -> Result<Reply, CommandError> {
        self.require_pdu_mode()?;
        if command.form == Form::Test {
            return ok();
        }
        let index = command
            .number(0)
            .filter(|index| self.storage.is_valid_index(*index))
            .ok_or(CommandError::Cms(CmsError::InvalidMemoryIndex))?;
        match self.storage.read(index) {
            Some(message) => lines([
                format!(
                    "+CMGR: {},,{}",
                    message.status.code(),
                    message.tpdu_length()
                ),
                to_hex(&message.pdu),
            ]),
            None => ok(),
        }
    }

    fn list_messages(&mut self, command: &Command) -> Result<Reply, CommandError> {
        self.require_pdu_mode()?;
        let wanted = match command.form {
            Form::Test => return lines(["+CMGL: (0-4)".to_owned()]),
            Form::Execute => Some(0),
            Form::Set(_) => command.number(0),
            Form::Read => None,
        };
        let status = match wanted {
            Some(0) => Some(MessageStatus::Unread),
            Some(1) => Some(MessageStatus::Read),
            // Stored unsent/sent messages: this storage only holds received ones.
            Some(2 | 3) => return ok(),
            Some(4) => None,
            _ => return Err(CommandError::Cms(CmsError::InvalidPduParameter)),
        };
        let listed = self.storage.read_all(status);
        lines(
            listed
                .iter()
                .flat_map(|(index, message)| listing(*index, message)),
        )
    }

    /// `AT+CMGD=<index>[,<delflag>]`, reported as an `sms-deleted` event (the index and how many
    /// messages are left).
    fn delete_messages(&mut self, command: &Command) -> Result<Reply, CommandError> {
        self.require_sms_sim()?;
        if command.form == Form::Test {
            return lines([format!("+CMGD: (0-{}),(0-4)", CAPACITY - 1)]);
        }
        let index = command.number(0);
        let scope = match command.arguments().get(1).map(|_| command.number(1)) {
            None | Some(Some(0)) => DeleteScope::One,
            Some(Some(1)) => DeleteScope::Read,
            Some(Some(2..=4)) => DeleteScope::All,
            Some(_) => return Err(CommandError::Cms(CmsError::InvalidPduParameter)),
        };
        let index = match (index, scope) {
            (Some(index), _) if self.storage.is_valid_index(index) => index,
            (_, DeleteScope::Read | DeleteScope::All) => 0,
            _ => return Err(CommandError::Cms(CmsError::InvalidMemoryIndex)),
        };
        self.storage.delete(index, scope);
        self.events.push(json!({
            "event": "sms-deleted",
            "index": index,
            "stored": self.storage.used(),
        }));
        ok()
    }

    fn acknowledge(&mut self) -> Result<Reply, CommandError> {
        if !self.awaiting_ack {
            return Err(CommandError::Cms(CmsError::NoAckExpected));
        }
        self.awaiting_ack = false;
        ok()
    }
}

/// The two `+CMGL` lines of one message.
fn listing(index: usize, message: &StoredMessage) -> [String; 2] {
    [
        format!(
            "+CMGL: {index},{},,{}",
            message.status.code(),
            message.tpdu_length()
        ),
        to_hex(&message.pdu),
    ]
}

/// The `sms-sent` event for a submitted PDU.
fn sent_event(submit: &Submit, pdu: &[u8], reference: u8) -> Value {
    let mut event = json!({
        "event": "sms-sent",
        "to": submit.destination,
        "alphabet": alphabet_name(submit.alphabet),
        "message_reference": reference,
        "status_report_requested": submit.status_report_requested,
        "pdu": to_hex(pdu),
    });
    match &submit.content {
        Content::Text(text) => event["text"] = json!(text),
        Content::Binary(data) => event["data_hex"] = json!(to_hex(data)),
    }
    if let Some(concat) = submit.concat {
        event["concat"] = json!({
            "reference": concat.reference,
            "total": concat.total,
            "sequence": concat.sequence,
        });
    }
    event
}

fn alphabet_name(alphabet: Alphabet) -> &'static str {
    match alphabet {
        Alphabet::Gsm7 => "gsm7",
        Alphabet::Ucs2 => "ucs2",
        Alphabet::Eight => "8bit",
    }
}
