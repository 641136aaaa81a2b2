//! Splitting an AT command line into commands and a command into name, form and arguments.

/// The form of one command, for example `+CREG=2` (set), `+CREG?` (read), `+CREG=?` (test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// No suffix: `+CGSN`, `E0`.
    Execute,
    /// `?` suffix.
    Read,
    /// `=?` suffix.
    Test,
    /// `=<args>`: the arguments, unquoted.
    Set(Vec<String>),
}

/// One command of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The name in upper case, for example `+CREG` or `E0`.
    pub name: String,
    /// Execute, read, test or set.
    pub form: Form,
}

impl Command {
    /// Parses one command such as `+cmee=1` or `E0` (without the `AT` prefix).
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        let split = text.find(['=', '?']).unwrap_or(text.len());
        let (name, suffix) = text.split_at(split);
        let form = match suffix {
            "" => Form::Execute,
            "?" => Form::Read,
            "=?" => Form::Test,
            _ => Form::Set(split_arguments(suffix.strip_prefix('=').unwrap_or(suffix))),
        };
        Self {
            name: name.trim().to_ascii_uppercase(),
            form,
        }
    }

    /// The arguments of a set command, empty for other forms.
    pub fn arguments(&self) -> &[String] {
        match &self.form {
            Form::Set(arguments) => arguments,
            _ => &[],
        }
    }

    /// Argument `position` as a number, `None` when absent or not a number.
    pub fn number(&self, position: usize) -> Option<usize> {
        self.arguments().get(position)?.parse().ok()
    }
}

/// The commands of a line after `AT`, split at `;` outside quotes. A bare `AT` gives one empty
/// command.
pub fn split_commands(body: &str) -> Vec<&str> {
    let commands: Vec<&str> = split_outside_quotes(body, ';')
        .into_iter()
        .filter(|command| !command.trim().is_empty())
        .collect();
    if commands.is_empty() {
        vec![""]
    } else {
        commands
    }
}

/// Splits `text` at commas outside quotes, trims each argument and removes its quotes.
fn split_arguments(text: &str) -> Vec<String> {
    split_outside_quotes(text, ',')
        .into_iter()
        .map(|argument| argument.trim().trim_matches('"').to_owned())
        .collect()
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (position, character) in text.char_indices() {
        if character == '"' {
            quoted = !quoted;
        } else if character == separator && !quoted {
            parts.push(&text[start..position]);
            start = position + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        assert_eq!(
            Command::parse("+creg?"),
            Command {
                name: "+CREG".into(),
                form: Form::Read
            }
        );
        assert_eq!(Command::parse("+CREG=?").form, Form::Test);
        assert_eq!(
            Command::parse("E0"),
            Command {
                name: "E0".into(),
                form: Form::Execute
            }
        );
        let cops = Command::parse("+COPS=1,0,\"Telekom, DE\"");
        assert_eq!(cops.arguments(), ["1", "0", "Telekom, DE"]);
        assert_eq!(cops.number(1), Some(0));
        assert_eq!(cops.number(2), None);
    }

    #[test]
    fn splits_command_lines() {
        assert_eq!(split_commands(""), [""]);
        assert_eq!(split_commands("E0;+CMEE=1"), ["E0", "+CMEE=1"]);
        assert_eq!(split_commands("+COPS=1,0,\"A;B\";"), ["+COPS=1,0,\"A;B\""]);
    }
}
