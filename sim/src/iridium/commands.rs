//! The AT commands of the 9603 (Iridium ISU AT Command Reference, 9602/9603 subset).

use super::identity::{FIRMWARE, MANUFACTURER, MODEL, PRODUCT, REVISION_LINES};
use super::indications::Indications;
use super::sbd::{MAX_COMMAND_TEXT, MAX_MO_LENGTH, read_block};
use super::session::SessionKind;
use super::transceiver::{Answer, Settings, Transceiver, result_code};

/// The form of one command: `+SBDMTA=1` (set), `+SBDMTA?` (read), `+SBDMTA=?` (test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form<'a> {
    /// No suffix: `+CGSN`, `E0`, `+SBDD0`.
    Execute,
    /// `?` suffix.
    Read,
    /// `=?` suffix.
    Test,
    /// `=<arguments>`, as typed.
    Set(&'a str),
}

/// Splits a command (the text after `AT`) into its upper-case name and its form; `None` when
/// something follows a `?`.
fn parse(body: &str) -> Option<(String, Form<'_>)> {
    let split = body.find(['=', '?']).unwrap_or(body.len());
    let (name, suffix) = body.split_at(split);
    let form = match suffix {
        "" => Form::Execute,
        "?" => Form::Read,
        "=?" => Form::Test,
        _ => Form::Set(suffix.strip_prefix('=')?),
    };
    Some((name.trim().to_ascii_uppercase(), form))
}

fn ok() -> Answer {
    Answer::Lines(Vec::new())
}

fn line(text: impl Into<String>) -> Answer {
    Answer::Lines(vec![text.into()])
}

/// The answer of a command that only executes: its test form is accepted, the others are not.
fn execute_only(form: Form<'_>, answer: impl FnOnce() -> Answer) -> Answer {
    match form {
        Form::Execute => answer(),
        Form::Test => ok(),
        Form::Read | Form::Set(_) => Answer::Error,
    }
}

/// `0` or `1` as a switch.
fn switch(text: &str) -> Option<bool> {
    match text.trim() {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

impl Transceiver {
    /// Runs one command (the text after `AT`).
    pub(super) fn execute(&mut self, body: &str) -> Answer {
        let Some((name, form)) = parse(body) else {
            return Answer::Error;
        };
        match name.as_str() {
            "" | "Q0" | "&K0" | "&K3" | "&W0" | "&Y0" | "*F" => execute_only(form, ok),
            "E" | "E0" | "E1" => execute_only(form, || {
                self.settings.echo = name == "E1";
                ok()
            }),
            "V" | "V0" | "V1" => execute_only(form, || {
                self.settings.verbose = name != "V0";
                ok()
            }),
            "Z" | "Z0" | "&F" | "&F0" => execute_only(form, || {
                self.settings = Settings::default();
                ok()
            }),
            "I" | "+CGMI" | "+GMI" => execute_only(form, || line(MANUFACTURER)),
            "I3" => execute_only(form, || line(FIRMWARE)),
            "I4" => execute_only(form, || line(PRODUCT)),
            "+CGMM" | "+GMM" => execute_only(form, || line(MODEL)),
            "+CGMR" | "+GMR" => execute_only(form, || {
                Answer::Lines(REVISION_LINES.map(String::from).to_vec())
            }),
            "+CGSN" | "+GSN" => execute_only(form, || line(self.imei.clone())),
            "+CSQ" | "+CSQF" => match form {
                Form::Execute => line(format!("{name}:{}", self.coverage.bars)),
                Form::Test => line(format!("{name}:(0-5)")),
                Form::Read | Form::Set(_) => Answer::Error,
            },
            "+CIER" => self.indicator_reporting(form),
            "+SBDMTA" => self.ring_indication(form),
            "+SBDAREG" => self.automatic_registration(form),
            "+SBDWB" => match form {
                Form::Set(length) => match length.trim().parse::<usize>() {
                    Ok(length @ 1..=MAX_MO_LENGTH) => Answer::ReadBinary(length),
                    Ok(_) => result_code(3),
                    Err(_) => Answer::Error,
                },
                Form::Test => ok(),
                Form::Execute | Form::Read => Answer::Error,
            },
            "+SBDWT" => self.write_text(form),
            "+SBDRB" => execute_only(form, || Answer::Block(read_block(self.mt_data()))),
            "+SBDRT" => execute_only(form, || Answer::TextMessage(self.mt_data().to_vec())),
            "+SBDD" | "+SBDD0" => execute_only(form, || self.clear_buffers(true, false)),
            "+SBDD1" => execute_only(form, || self.clear_buffers(false, true)),
            "+SBDD2" => execute_only(form, || self.clear_buffers(true, true)),
            "+SBDC" => execute_only(form, || {
                self.momsn = 0;
                result_code(0)
            }),
            "+SBDS" => execute_only(form, || line(format!("+SBDS: {}", self.buffer_status()))),
            "+SBDSX" => execute_only(form, || {
                line(format!(
                    "+SBDSX: {}, {}, {}",
                    self.buffer_status(),
                    u8::from(self.ring_alert),
                    self.last_queued
                ))
            }),
            "+SBDIX" | "+SBDIXA" => match form {
                // The optional argument is a location (`AT+SBDIX=5212.483,-00007.350`), unused.
                Form::Execute | Form::Set(_) => Answer::Session(if name == "+SBDIXA" {
                    SessionKind::AnswerRing
                } else {
                    SessionKind::Extended
                }),
                Form::Test => ok(),
                Form::Read => Answer::Error,
            },
            "+CRIS" => execute_only(form, || {
                line(format!("+CRIS:0,{}", u8::from(self.ring_alert)))
            }),
            _ => Answer::Error,
        }
    }

    /// `AT+CIER`: set (then report the indicators just turned on), read or test.
    fn indicator_reporting(&mut self, form: Form<'_>) -> Answer {
        match form {
            Form::Set(arguments) => match Indications::parse(arguments) {
                Some(indications) => {
                    let previous = self.settings.indications;
                    self.settings.indications = indications;
                    self.hold(indications.newly_enabled(previous, self.coverage));
                    ok()
                }
                None => Answer::Error,
            },
            Form::Read => line(self.settings.indications.read_line()),
            Form::Test => line("+CIER:(0-1),(0-1),(0-1),(0-1)"),
            Form::Execute => Answer::Error,
        }
    }

    /// `AT+SBDMTA`: `SBDRING` on ring alerts or not.
    fn ring_indication(&mut self, form: Form<'_>) -> Answer {
        match form {
            Form::Set(mode) => match switch(mode) {
                Some(on) => {
                    self.settings.ring_alerts = on;
                    ok()
                }
                None => Answer::Error,
            },
            Form::Read => line(format!("+SBDMTA:{}", u8::from(self.settings.ring_alerts))),
            Form::Test => line("+SBDMTA:(0-1)"),
            Form::Execute => Answer::Error,
        }
    }

    /// `AT+SBDAREG`: the mode is kept and read back; registration itself is not simulated.
    fn automatic_registration(&mut self, form: Form<'_>) -> Answer {
        match form {
            Form::Set(mode) => match mode.trim().parse() {
                Ok(mode @ 0..=2) => {
                    self.settings.auto_registration = mode;
                    ok()
                }
                _ => Answer::Error,
            },
            Form::Read => line(format!("+SBDAREG:{}", self.settings.auto_registration)),
            Form::Test => line("+SBDAREG:(0-2)"),
            Form::Execute => Answer::Error,
        }
    }

    /// `AT+SBDWT=<text>` writes the MO buffer at once; `AT+SBDWT` reads the text after `READY`.
    fn write_text(&mut self, form: Form<'_>) -> Answer {
        match form {
            Form::Set(text) if !text.is_empty() && text.len() <= MAX_COMMAND_TEXT => {
                self.mo_buffer = text.as_bytes().to_vec();
                ok()
            }
            Form::Execute => Answer::ReadText,
            Form::Test => ok(),
            Form::Set(_) | Form::Read => Answer::Error,
        }
    }

    /// The MT buffer's message, empty when there is none.
    fn mt_data(&self) -> &[u8] {
        self.mt_buffer
            .as_ref()
            .map_or(&[], |message| message.data.as_slice())
    }

    /// `AT+SBDD<n>`: result `0`.
    fn clear_buffers(&mut self, mo: bool, mt: bool) -> Answer {
        if mo {
            self.mo_buffer.clear();
        }
        if mt {
            self.mt_buffer = None;
        }
        result_code(0)
    }

    /// `<MO flag>, <MOMSN>, <MT flag>, <MTMSN>` of `+SBDS`; the MTMSN is -1 without an MT message.
    fn buffer_status(&self) -> String {
        let mtmsn = self
            .mt_buffer
            .as_ref()
            .map_or(-1, |message| i32::from(message.mtmsn));
        format!(
            "{}, {}, {}, {}",
            u8::from(!self.mo_buffer.is_empty()),
            self.momsn,
            u8::from(self.mt_buffer.is_some()),
            mtmsn
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_forms() {
        assert_eq!(
            parse("+sbdmta=1"),
            Some(("+SBDMTA".to_owned(), Form::Set("1")))
        );
        assert_eq!(parse("+CIER?"), Some(("+CIER".to_owned(), Form::Read)));
        assert_eq!(parse("+CSQ=?"), Some(("+CSQ".to_owned(), Form::Test)));
        assert_eq!(parse("+SBDD0"), Some(("+SBDD0".to_owned(), Form::Execute)));
        assert_eq!(
            parse("+SBDWT=Hello, World?"),
            Some(("+SBDWT".to_owned(), Form::Set("Hello, World?")))
        );
        assert_eq!(parse(""), Some((String::new(), Form::Execute)));
        assert_eq!(parse("+CSQ?1"), None);
    }
}
