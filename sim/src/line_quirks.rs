//! Misbehaviour of the serial line that any simulated device can show: slow, silent, noisy.

use std::time::Duration;

use crate::control_plane::parse_on_off;

/// The `quirk slow|silent|garbage` settings of one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineQuirks {
    /// Answers wait this long.
    pub delay: Option<Duration>,
    /// The device neither answers nor processes input (hung firmware).
    pub silent: bool,
    /// Random bytes come before each answer.
    pub garbage: bool,
    noise_state: u64,
}

/// A `quirk` command that the line handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineQuirk {
    /// `quirk slow <ms|off>`.
    Delay(Option<Duration>),
    /// `quirk silent <on|off>`.
    Silent(bool),
    /// `quirk garbage <on|off>`.
    Garbage(bool),
}

impl LineQuirk {
    /// Parses `quirk slow|silent|garbage ...`; `None` when the command is not one of these, so the
    /// device gets it.
    pub fn parse(command: &str) -> Option<Result<Self, String>> {
        let words: Vec<&str> = command.split_whitespace().collect();
        let (name, value) = match words.as_slice() {
            ["quirk", name @ ("slow" | "silent" | "garbage"), value] => (*name, *value),
            ["quirk", name @ ("slow" | "silent" | "garbage"), ..] => {
                return Some(Err(format!(
                    "usage: quirk {name} <on|off{}>",
                    if *name == "slow" { "|ms" } else { "" }
                )));
            }
            _ => return None,
        };
        Some(match (name, parse_on_off(value)) {
            ("slow", Some(false)) => Ok(Self::Delay(None)),
            ("slow", Some(true)) => Ok(Self::Delay(Some(Duration::from_millis(1000)))),
            ("slow", None) => value
                .parse()
                .map(|ms| Self::Delay(Some(Duration::from_millis(ms))))
                .map_err(|_| format!("quirk slow: {value:?} is not a number of milliseconds")),
            ("silent", Some(on)) => Ok(Self::Silent(on)),
            ("garbage", Some(on)) => Ok(Self::Garbage(on)),
            _ => Err(format!("quirk {name}: {value:?} is not on or off")),
        })
    }
}

impl LineQuirks {
    /// No quirks; `seed` drives the garbage bytes.
    pub fn new(seed: u64) -> Self {
        Self {
            delay: None,
            silent: false,
            garbage: false,
            noise_state: seed | 1,
        }
    }

    /// Turns a quirk on or off.
    pub fn set(&mut self, quirk: LineQuirk) {
        match quirk {
            LineQuirk::Delay(delay) => self.delay = delay,
            LineQuirk::Silent(on) => self.silent = on,
            LineQuirk::Garbage(on) => self.garbage = on,
        }
    }

    /// The answer as it goes on the line: with 1 to 8 bytes of noise in front when the garbage
    /// quirk is on. Noise bytes have the high bit set, like line noise at a wrong baud rate.
    pub fn dress(&mut self, answer: Vec<u8>) -> Vec<u8> {
        if !self.garbage || answer.is_empty() {
            return answer;
        }
        let count = 1 + self.next_random() % 8;
        let mut line: Vec<u8> = (0..count)
            .map(|_| 0x80 | (self.next_random() as u8))
            .collect();
        line.extend(answer);
        line
    }

    /// xorshift64: cheap, good enough for noise.
    fn next_random(&mut self) -> u64 {
        let mut state = self.noise_state;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        self.noise_state = state;
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_line_quirks_and_leaves_others() {
        assert_eq!(
            LineQuirk::parse("quirk slow 250"),
            Some(Ok(LineQuirk::Delay(Some(Duration::from_millis(250)))))
        );
        assert_eq!(
            LineQuirk::parse("quirk slow off"),
            Some(Ok(LineQuirk::Delay(None)))
        );
        assert_eq!(
            LineQuirk::parse("quirk silent on"),
            Some(Ok(LineQuirk::Silent(true)))
        );
        assert!(matches!(
            LineQuirk::parse("quirk garbage maybe"),
            Some(Err(_))
        ));
        assert_eq!(LineQuirk::parse("quirk echo on"), None);
        assert_eq!(LineQuirk::parse("signal 20"), None);
    }

    #[test]
    fn garbage_precedes_answers() {
        let mut quirks = LineQuirks::new(42);
        assert_eq!(quirks.dress(b"\r\nOK\r\n".to_vec()), b"\r\nOK\r\n");
        quirks.set(LineQuirk::Garbage(true));
        let dressed = quirks.dress(b"\r\nOK\r\n".to_vec());
        let noise = dressed.len() - 6;
        assert!((1..=8).contains(&noise));
        assert!(dressed[..noise].iter().all(|byte| *byte >= 0x80));
        assert!(dressed.ends_with(b"\r\nOK\r\n"));
        assert!(quirks.dress(Vec::new()).is_empty());
    }
}
