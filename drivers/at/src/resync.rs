//! Resynchronising the AT channel whenever a port is opened, before anything is identified or
//! initialised.
//!
//! A host that was killed (a power cut, an OOM kill) may leave the device in the middle of
//! something, and its answer on the line:
//!
//! - an answer that comes late (the `+SBDIX: ...` and `OK` of an Iridium session that was still
//!   running), which would make every later command read its predecessor's answer;
//! - text entry after the `> ` prompt of `AT+CMGS`, where every command line becomes message
//!   text until ESC (Ctrl-Z would send it);
//! - the binary entry of Iridium `AT+SBDWB=<n>`, which takes exactly n bytes and a 2-byte
//!   checksum whatever they are (ESC included), and otherwise ends only after 60 s.
//!
//! So the first bytes after an open are the [`escape_preamble`]: ESC, which cancels text entry,
//! then carriage returns up to the longest binary entry, which end any binary entry (a command
//! line that is empty is ignored by every AT device). Then [`echo_on`] (`ATE1`, whatever it
//! answers) makes sure the device echoes, and [`marker`] (`AT`) takes only the final result that
//! follows its own echo: every answer left over from before is dropped (see
//! [`Command::with_echo_required`]). The marker is sent once at a time and again after a timeout,
//! at most [`MARKER_ATTEMPTS`] times; a device that never echoes is then used as it is.

use crate::channel::Command;

/// Cancels text entry after a `> ` prompt (3GPP TS 27.005 `AT+CMGS`: "sending can be cancelled
/// by giving ESC").
const ESCAPE: u8 = 0x1B;
/// The most bytes an AT device may be waiting for: Iridium 9602/9603 `AT+SBDWB=340` reads 340
/// message bytes and 2 checksum bytes.
const LONGEST_BINARY_ENTRY: usize = 340 + 2;
/// How long `ATE1` may take.
const ECHO_ON_TIMEOUT_MS: u64 = 1_000;
/// How long each marker may take.
const MARKER_TIMEOUT_MS: u64 = 1_500;
/// How often the marker is sent before the device is taken as it is.
pub const MARKER_ATTEMPTS: u32 = 3;

/// ESC, then carriage returns up to [`LONGEST_BINARY_ENTRY`] bytes in all.
pub fn escape_preamble() -> Vec<u8> {
    let mut preamble = vec![b'\r'; LONGEST_BINARY_ENTRY];
    preamble[0] = ESCAPE;
    preamble
}

/// `ATE1` after the [`escape_preamble`]: the first command after an open.
pub fn echo_on() -> Command {
    Command::new("ATE1", ECHO_ON_TIMEOUT_MS).with_preamble(escape_preamble())
}

/// `AT`, answered only after its echo: its final result is the first one that belongs to this
/// host.
pub fn marker() -> Command {
    Command::new("AT", MARKER_TIMEOUT_MS).with_echo_required()
}

/// One step of the resynchronisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStep {
    /// [`echo_on`].
    EchoOn,
    /// The n-th [`marker`] (from 1).
    Marker(u32),
}

impl SyncStep {
    /// The command of this step.
    pub fn command(self) -> Command {
        match self {
            SyncStep::EchoOn => echo_on(),
            SyncStep::Marker(_) => marker(),
        }
    }

    /// The step after this one ended without (`timed_out`) or with an answer; `None` when the
    /// channel is in step (or the device is taken as it is).
    pub fn next(self, timed_out: bool) -> Option<SyncStep> {
        match self {
            SyncStep::EchoOn => Some(SyncStep::Marker(1)),
            SyncStep::Marker(attempt) if timed_out && attempt < MARKER_ATTEMPTS => {
                Some(SyncStep::Marker(attempt + 1))
            }
            SyncStep::Marker(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preamble_escapes_text_entry_and_fills_the_longest_binary_entry() {
        let preamble = escape_preamble();
        assert_eq!(preamble.len(), 342);
        assert_eq!(preamble[0], 0x1B);
        assert!(preamble[1..].iter().all(|&byte| byte == b'\r'));
        let bytes = echo_on().to_bytes();
        assert!(bytes.starts_with(&preamble) && bytes.ends_with(b"\rATE1\r"));
    }

    #[test]
    fn markers_are_retried_until_one_is_answered_or_the_attempts_run_out() {
        assert_eq!(SyncStep::EchoOn.next(true), Some(SyncStep::Marker(1)));
        assert_eq!(SyncStep::EchoOn.next(false), Some(SyncStep::Marker(1)));
        assert_eq!(SyncStep::Marker(1).next(false), None);
        assert_eq!(SyncStep::Marker(1).next(true), Some(SyncStep::Marker(2)));
        assert_eq!(SyncStep::Marker(MARKER_ATTEMPTS).next(true), None);
        assert!(marker().echo_required && !echo_on().echo_required);
    }
}
