//! Control commands of a simulated GNSS receiver (`position`, `speed`, `course`, `fix`,
//! `satellites`, `bad-checksums`, `identify`, `status`).

use serde_json::{Value, json};

use super::receiver::{FixKind, Receiver};
use crate::control_plane::parse_on_off;
use crate::device::ControlReply;
use crate::help::CommandHelp;
use crate::report;

/// The receiver's control commands, for `help` and `m2msim gnss --help`.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp::new(
        "position <lat> <lon> [alt]",
        "move to degrees (north, east positive) and metres",
    ),
    CommandHelp::new(
        "speed <m/s>",
        "speed over ground (it moves along its course)",
    ),
    CommandHelp::new("course <degrees>", "course over ground, degrees true"),
    CommandHelp::new("fix <none|2d|3d>", "the solution (none: the fix is lost)"),
    CommandHelp::new("satellites <used> <in-view>", "satellite counts"),
    CommandHelp::new(
        "bad-checksums <on|off>",
        "every sentence damaged on the line (its checksum no longer matches)",
    ),
    CommandHelp::new("identify", "send the u-blox TXT identification again"),
    CommandHelp::new("status", "the receiver's state"),
];

/// Why a control command failed.
#[derive(Debug, thiserror::Error)]
pub enum GnssControlError {
    /// The first word is not a receiver command.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The arguments do not fit the command; the text is its usage.
    #[error("usage: {0}")]
    Usage(&'static str),
}

/// Parses `words` as numbers, all of them in range.
fn numbers(words: &[&str], range: std::ops::RangeInclusive<f64>) -> Option<Vec<f64>> {
    words
        .iter()
        .map(|word| word.parse::<f64>().ok().filter(|n| range.contains(n)))
        .collect()
}

/// Applies `line` to `receiver`.
pub fn apply(receiver: &mut Receiver, line: &str) -> Result<ControlReply, GnssControlError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&command, arguments)) = words.split_first() else {
        return Err(GnssControlError::UnknownCommand(String::new()));
    };
    let solution = &mut receiver.solution;
    let usage = |index: usize| GnssControlError::Usage(COMMANDS[index].usage);
    match command {
        "position" => {
            let ([latitude, longitude] | [latitude, longitude, _]) = arguments else {
                return Err(usage(0));
            };
            let position = numbers(&[latitude, longitude], -180.0..=180.0)
                .filter(|n| n[0].abs() <= 90.0)
                .ok_or(usage(0))?;
            if let Some(altitude) = arguments.get(2) {
                solution.altitude = numbers(&[altitude], -1000.0..=100_000.0).ok_or(usage(0))?[0];
            }
            solution.latitude = position[0];
            solution.longitude = position[1];
        }
        "speed" => {
            solution.speed = numbers(arguments, 0.0..=1000.0)
                .filter(|n| n.len() == 1)
                .ok_or(usage(1))?[0];
        }
        "course" => {
            solution.course = numbers(arguments, 0.0..=360.0)
                .filter(|n| n.len() == 1)
                .ok_or(usage(2))?[0];
        }
        "fix" => {
            let [word] = arguments else {
                return Err(usage(3));
            };
            solution.fix = FixKind::parse(word).ok_or(usage(3))?;
        }
        "satellites" => {
            let counts = numbers(arguments, 0.0..=64.0)
                .filter(|n| n.len() == 2 && n[0] <= n[1] && n.iter().all(|c| c.fract() == 0.0))
                .ok_or(usage(4))?;
            solution.used = counts[0] as u32;
            solution.in_view = counts[1] as u32;
        }
        "bad-checksums" => {
            let [word] = arguments else {
                return Err(usage(5));
            };
            receiver.bad_checksums = parse_on_off(word).ok_or(usage(5))?;
        }
        "identify" => receiver.identify = true,
        "status" => return Ok(reply(status(receiver))),
        other => return Err(GnssControlError::UnknownCommand(other.to_owned())),
    }
    Ok(reply(report::ok()))
}

fn reply(reply: Value) -> ControlReply {
    ControlReply {
        reply,
        unsolicited: crate::device::Output::default(),
    }
}

fn status(receiver: &Receiver) -> Value {
    let solution = &receiver.solution;
    json!({
        "event": "status",
        "fix": solution.fix.as_str(),
        "latitude": solution.latitude,
        "longitude": solution.longitude,
        "altitude": solution.altitude,
        "speed": solution.speed,
        "course": solution.course,
        "used": solution.used,
        "in_view": solution.in_view,
        "talker": receiver.talker,
        "bad_checksums": receiver.bad_checksums,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_change_the_solution_and_bad_arguments_name_the_usage() {
        let mut receiver = Receiver::new("GP");
        apply(&mut receiver, "position -33.8568 151.2153 58").unwrap();
        apply(&mut receiver, "speed 12.5").unwrap();
        apply(&mut receiver, "course 270").unwrap();
        apply(&mut receiver, "fix 2d").unwrap();
        apply(&mut receiver, "satellites 5 9").unwrap();
        apply(&mut receiver, "bad-checksums on").unwrap();
        let status = apply(&mut receiver, "status").unwrap().reply;
        assert_eq!(status["latitude"], -33.8568);
        assert_eq!(status["altitude"], 58.0);
        assert_eq!(status["speed"], 12.5);
        assert_eq!(status["fix"], "2d");
        assert_eq!(
            (status["used"].clone(), status["in_view"].clone()),
            (json!(5), json!(9))
        );
        assert_eq!(status["bad_checksums"], true);
        for bad in [
            "position 91 0",
            "speed -1",
            "fix 4d",
            "satellites 9 5",
            "course x",
        ] {
            let error = apply(&mut receiver, bad).unwrap_err().to_string();
            assert!(error.starts_with("usage: "), "{bad}: {error}");
        }
        assert!(matches!(
            apply(&mut receiver, "teleport"),
            Err(GnssControlError::UnknownCommand(_))
        ));
    }
}
