//! Raw commands from an application (`Request::Command`, the `Device.Command` method): what a
//! driver accepts and how it answers.
//!
//! A raw command is one AT command line: it starts with `AT` (any case) and has no control
//! characters, so that it cannot smuggle a second command or a prompt payload. The reply is the
//! modem's answer as it sent it: the information lines and the final result, one per line.

use m2mhal_plugin_api::{CallError, CallErrorKind, CallReply};

use crate::channel::{AtError, Command, Response};

/// Timeout of a raw command that gives none (`timeout_ms` 0).
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The command to run for `line` with `timeout_ms` (0 for [`DEFAULT_TIMEOUT_MS`]), or an
/// `InvalidArgument` error naming the line.
pub fn command(line: &str, timeout_ms: u32) -> Result<Command, CallError> {
    let line = line.trim();
    let is_at = line
        .get(..2)
        .is_some_and(|at| at.eq_ignore_ascii_case("AT"));
    if !is_at || line.chars().any(char::is_control) {
        let error =
            format!("command {line:?} must be one AT command line without control characters");
        return Err(CallError::new(CallErrorKind::InvalidArgument, error));
    }
    let timeout_ms = match timeout_ms {
        0 => DEFAULT_TIMEOUT_MS,
        given => u64::from(given),
    };
    Ok(Command::new(line, timeout_ms))
}

/// The reply to a raw command: its information lines and final result as the modem sent them,
/// joined with `\n` (`+CSQ: 20,99\nOK`, `+CME ERROR: 3`); a `Timeout` error when no final result
/// came.
pub fn reply(result: Result<Response, AtError>) -> Result<CallReply, CallError> {
    let (mut lines, last) = match result {
        Ok(response) => (response.lines, "OK".to_owned()),
        Err(AtError::Timeout) => {
            return Err(CallError::new(
                CallErrorKind::Timeout,
                "no final result before the timeout",
            ));
        }
        Err(AtError::Error) => (Vec::new(), "ERROR".to_owned()),
        Err(AtError::Cme(error)) => (Vec::new(), format!("+CME ERROR: {}", error.text)),
        Err(AtError::Cms(error)) => (Vec::new(), format!("+CMS ERROR: {}", error.text)),
        Err(AtError::Other(result)) => (Vec::new(), result),
    };
    lines.push(last);
    Ok(CallReply::Text(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{CmeError, CmsError};

    #[test]
    fn one_at_line_is_accepted_with_its_timeout() {
        let scan = command("  at+cops=?  ", 180_000).unwrap();
        assert_eq!(scan, Command::new("at+cops=?", 180_000));
        assert_eq!(command("ATI", 0).unwrap().timeout_ms, DEFAULT_TIMEOUT_MS);
    }

    #[test]
    fn anything_but_one_at_line_is_an_invalid_argument() {
        for line in ["ATZ\rAT+CFUN=0", "hello", "", "A", "AT+CMGS=20\u{1a}", "ÄT"] {
            let error = command(line, 1000).unwrap_err();
            assert_eq!(error.kind, CallErrorKind::InvalidArgument, "{line:?}");
            assert!(error.message.starts_with("command "), "{}", error.message);
        }
    }

    #[test]
    fn replies_give_the_answer_as_the_modem_sent_it() {
        let response = Response {
            lines: vec!["Quectel".into(), "EG25".into()],
            binary: None,
        };
        let text = |text: &str| Ok(CallReply::Text(text.to_owned()));
        assert_eq!(reply(Ok(response)), text("Quectel\nEG25\nOK"));
        assert_eq!(reply(Ok(Response::default())), text("OK"));
        assert_eq!(reply(Err(AtError::Error)), text("ERROR"));
        let cme = AtError::Cme(CmeError::from_text("SIM not inserted"));
        assert_eq!(reply(Err(cme)), text("+CME ERROR: SIM not inserted"));
        let cms = AtError::Cms(CmsError::from_text("321"));
        assert_eq!(reply(Err(cms)), text("+CMS ERROR: 321"));
        assert_eq!(reply(Err(AtError::Other("BUSY".into()))), text("BUSY"));
        assert_eq!(
            reply(Err(AtError::Timeout)).unwrap_err().kind,
            CallErrorKind::Timeout
        );
    }
}
