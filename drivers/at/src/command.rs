//! A command to send, and what its response lines start with.

/// One AT command line and how to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command line without its line ending, e.g. `AT+CSQ`.
    pub line: String,
    /// How long to wait for the final result, in milliseconds.
    pub timeout_ms: u64,
    /// Bytes to send as they are when the modem asks for them with the `> ` prompt or a `READY`
    /// line (Iridium `AT+SBDWB`), e.g. an SMS PDU in hex followed by Ctrl-Z (0x1A). After the
    /// prompt the modem may echo them; after `READY` it never does.
    pub prompt_payload: Option<Vec<u8>>,
    /// The response is a binary block (Iridium `AT+SBDRB`), not lines.
    pub binary_response: bool,
    /// Bytes written before the command line (the escape of a pending prompt, see
    /// [`crate::resync`]).
    pub preamble: Vec<u8>,
    /// Only a final result after the command's own echo is its answer: every line and final
    /// result before the echo is an answer to something else and dropped (see
    /// [`crate::resync`]).
    pub echo_required: bool,
}

impl Command {
    /// A plain command: a line, a final result, maybe information lines before it.
    pub fn new(line: impl Into<String>, timeout_ms: u64) -> Self {
        Self {
            line: line.into(),
            timeout_ms,
            prompt_payload: None,
            binary_response: false,
            preamble: Vec::new(),
            echo_required: false,
        }
    }

    /// Sends `payload` as it is right after the `> ` prompt (or a `READY` line) arrives.
    pub fn with_prompt_payload(self, payload: Vec<u8>) -> Self {
        Self {
            prompt_payload: Some(payload),
            ..self
        }
    }

    /// Expects a binary block before the final result (`AT+SBDRB`).
    pub fn with_binary_response(self) -> Self {
        Self {
            binary_response: true,
            ..self
        }
    }

    /// Writes `preamble` before the command line.
    pub fn with_preamble(self, preamble: Vec<u8>) -> Self {
        Self { preamble, ..self }
    }

    /// Takes only a final result after the command's echo as its answer.
    pub fn with_echo_required(self) -> Self {
        Self {
            echo_required: true,
            ..self
        }
    }

    /// The bytes to write: the preamble, the line and a carriage return.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.preamble.len() + self.line.len() + 1);
        bytes.extend_from_slice(&self.preamble);
        bytes.extend_from_slice(self.line.as_bytes());
        bytes.push(b'\r');
        bytes
    }

    /// What the command's own information lines start with, derived from an extended command's
    /// name: `AT+CREG?` -> `+CREG:`, `AT+CSQ` -> `+CSQ:`, `AT+CMGR=3` -> `+CMGR:`,
    /// `AT^SYSINFO` -> `^SYSINFO:`. `None` for a basic command (`ATI`, `ATD123;`).
    pub fn response_prefix(&self) -> Option<String> {
        let line = self.line.trim();
        let rest = line
            .get(..2)
            .filter(|at| at.eq_ignore_ascii_case("AT"))
            .and(line.get(2..))?;
        if !rest.starts_with(['+', '^', '$', '%', '#', '*']) {
            return None;
        }
        let name_len = rest
            .find(|c: char| matches!(c, '=' | '?' | ';') || c.is_whitespace())
            .unwrap_or(rest.len());
        Some(format!("{}:", rest[..name_len].to_ascii_uppercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(line: &str) -> Option<String> {
        Command::new(line, 1000).response_prefix()
    }

    #[test]
    fn response_prefix_comes_from_the_command_name() {
        assert_eq!(prefix("AT+CREG?").as_deref(), Some("+CREG:"));
        assert_eq!(prefix("AT+CSQ").as_deref(), Some("+CSQ:"));
        assert_eq!(prefix("AT+CMGR=3").as_deref(), Some("+CMGR:"));
        assert_eq!(prefix("at+cops=?").as_deref(), Some("+COPS:"));
        assert_eq!(prefix("AT^SYSINFO").as_deref(), Some("^SYSINFO:"));
        assert_eq!(prefix("AT+CGMI;+CGMM").as_deref(), Some("+CGMI:"));
    }

    #[test]
    fn basic_commands_have_no_response_prefix() {
        assert_eq!(prefix("ATI"), None);
        assert_eq!(prefix("AT"), None);
        assert_eq!(prefix("ATD+4912345;"), None);
        assert_eq!(prefix("A"), None);
        assert_eq!(prefix("ÄT+CSQ"), None);
    }

    #[test]
    fn builders_and_bytes() {
        let command = Command::new("AT+CMGS=23", 60_000).with_prompt_payload(b"00\x1a".to_vec());
        assert_eq!(command.to_bytes(), b"AT+CMGS=23\r");
        assert_eq!(command.prompt_payload.as_deref(), Some(&b"00\x1a"[..]));
        assert!(!command.binary_response);
        assert!(
            Command::new("AT+SBDRB", 5000)
                .with_binary_response()
                .binary_response
        );
    }
}
