//! The control commands of each simulator, listed once for the `help` control command and for
//! `m2msim <kind> --help`.

use serde_json::{Value, json};

/// One control command: how it is written and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    /// The command with its arguments, e.g. `signal <csq 0..31|99> [rsrp dBm]`.
    pub usage: &'static str,
    /// What it does, in a few words.
    pub summary: &'static str,
}

impl CommandHelp {
    /// The help of command `usage`, which does `summary`.
    pub const fn new(usage: &'static str, summary: &'static str) -> Self {
        Self { usage, summary }
    }
}

/// The control plane's own commands, the same in every simulator.
pub const CONTROL_PLANE: &[CommandHelp] = &[
    CommandHelp::new("help", "list the control commands"),
    CommandHelp::new("quit", "stop the simulator"),
    CommandHelp::new("sleep <ms>", "pause (in a --script only)"),
];

/// Commands of every simulated serial port (modems, Iridium transceivers).
pub const SERIAL_PORT: &[CommandHelp] = &[
    CommandHelp::new(
        "@<index> <command>",
        "send a command to port <index> (port 0 without the prefix)",
    ),
    CommandHelp::new("hangup", "close the pty as if the device was unplugged"),
    CommandHelp::new("quirk slow <ms|on|off>", "answer the host late"),
    CommandHelp::new(
        "quirk silent <on|off>",
        "hang: take no input, answer and report nothing",
    ),
    CommandHelp::new("quirk garbage <on|off>", "mix line noise into the output"),
];

/// The JSON reply to `help`: `{"event":"help","commands":[{"usage":...,"summary":...}]}`.
pub fn reply(commands: &[CommandHelp]) -> Value {
    let commands: Vec<Value> = commands
        .iter()
        .map(|help| json!({"usage": help.usage, "summary": help.summary}))
        .collect();
    json!({"event": "help", "commands": commands})
}

/// Widest usage that shares its line with the summary in [`text`].
const USAGE_COLUMN: usize = 30;

/// The list for `--help`: a heading, then `usage  summary` per command (the summary aligned, on
/// a line of its own below a long usage).
pub fn text(commands: &[CommandHelp]) -> String {
    let width = commands
        .iter()
        .map(|help| help.usage.len())
        .filter(|length| *length <= USAGE_COLUMN)
        .max()
        .unwrap_or(0);
    let mut text = String::from(
        "Control commands (on stdin, in a --script, on the --control socket; each is answered \
         by one JSON line):\n",
    );
    for help in commands {
        if help.usage.len() > width {
            text.push_str(&format!(
                "  {}\n  {:width$}  {}\n",
                help.usage, "", help.summary
            ));
        } else {
            text.push_str(&format!("  {:width$}  {}\n", help.usage, help.summary));
        }
    }
    text.pop();
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_and_text_list_every_command() {
        let reply = reply(CONTROL_PLANE);
        assert_eq!(reply["event"], "help");
        assert_eq!(reply["commands"][1]["usage"], "quit");
        assert_eq!(reply["commands"][1]["summary"], "stop the simulator");
        let text = text(CONTROL_PLANE);
        assert!(
            text.contains("\n  help        list the control commands\n"),
            "{text}"
        );
        assert!(text.contains("\n  sleep <ms>  pause"), "{text}");
        let long = CommandHelp::new("register <home|roaming|searching> [lte|gsm]", "registers");
        let text = super::text(&[long, CONTROL_PLANE[0]]);
        assert!(
            text.contains("\n  register <home|roaming|searching> [lte|gsm]\n        registers\n"),
            "{text}"
        );
    }
}
