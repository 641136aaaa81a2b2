//! Splits the byte stream from a modem into frames: lines, final results, the `> ` prompt and
//! length-prefixed binary blocks.
//!
//! A line ends at `\r` or `\n` (so `\r\n`, bare `\r` and bare `\n` all work) and empty lines are
//! skipped. Bytes that are not UTF-8 are replaced (lossy), and NULs, other control characters and
//! replacement characters at either end of a line are trimmed: a line that is nothing but such
//! noise (a modem powering up, a baud rate mismatch) is dropped. A line longer than
//! [`MAX_LINE_LEN`] is dropped as noise too, so garbage without line endings cannot grow the
//! buffer without bound.

use crate::result::FinalResult;

/// The longest line kept, in bytes (an SMS PDU line is under 400).
pub const MAX_LINE_LEN: usize = 4096;

/// The largest high byte of a binary block's length. Iridium SBD mobile-terminated messages are
/// at most 1960 bytes (0x07A8), so a first byte above 7 (like `\r`, `\n` or a letter) shows that
/// the modem sent text instead of a block.
const MAX_LENGTH_HIGH_BYTE: u8 = 0x07;

/// One unit of what a modem sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A line of text that is not a final result: an information line, an echo or a URC.
    Line(String),
    /// A final result code that ends a command's response.
    Final(FinalResult),
    /// The `> ` prompt that asks for a command's payload (`AT+CMGS`); it has no line ending.
    Prompt,
    /// A binary block (after [`Framer::expect_binary`]) with its length prefix stripped: the
    /// payload followed by its 2 checksum bytes.
    Binary(Vec<u8>),
}

/// An incremental byte-to-frame splitter: push bytes as they arrive, then take frames until
/// there are none. Input may be split anywhere; the frames are the same.
#[derive(Debug, Default)]
pub struct Framer {
    buffer: Vec<u8>,
    binary_expected: bool,
    discarding_long_line: bool,
}

impl Framer {
    /// A framer with nothing buffered, in text mode.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the modem.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.discarding_long_line && !self.discard_to_line_end() {
                return None;
            }
            self.skip_line_endings();
            if self.binary_expected
                && self
                    .buffer
                    .first()
                    .is_some_and(|&b| b <= MAX_LENGTH_HIGH_BYTE)
            {
                return self.take_binary();
            }
            if self.buffer.starts_with(b"> ") {
                self.buffer.drain(..2);
                return Some(Frame::Prompt);
            }
            if self.buffer == b">" {
                return None;
            }
            let Some(end) = self.buffer.iter().position(|&b| is_line_end(b)) else {
                if self.buffer.len() > MAX_LINE_LEN {
                    self.buffer.clear();
                    self.discarding_long_line = true;
                }
                return None;
            };
            let bytes: Vec<u8> = self.buffer.drain(..=end).collect();
            if end > MAX_LINE_LEN {
                continue;
            }
            if let Some(frame) = self.text_frame(&bytes[..end]) {
                return Some(frame);
            }
        }
    }

    /// Reads the next frame as a binary block (Iridium `AT+SBDRB`): a 2-byte big-endian length L,
    /// L payload bytes and a 2-byte checksum. Lines before the block (the command's echo) still
    /// come out as lines, and a final result instead of the block (`ERROR`) ends binary mode.
    pub fn expect_binary(&mut self) {
        self.binary_expected = true;
    }

    /// Drops everything buffered and returns to text mode.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Drops bytes up to and including the next line ending; false if there is none yet.
    fn discard_to_line_end(&mut self) -> bool {
        match self.buffer.iter().position(|&b| is_line_end(b)) {
            Some(end) => {
                self.buffer.drain(..=end);
                self.discarding_long_line = false;
                true
            }
            None => {
                self.buffer.clear();
                false
            }
        }
    }

    fn skip_line_endings(&mut self) {
        let start = self
            .buffer
            .iter()
            .position(|&b| !is_line_end(b))
            .unwrap_or(self.buffer.len());
        self.buffer.drain(..start);
    }

    fn take_binary(&mut self) -> Option<Frame> {
        let [high, low, ..] = self.buffer[..] else {
            return None;
        };
        let total = 2 + usize::from(u16::from_be_bytes([high, low])) + 2;
        if self.buffer.len() < total {
            return None;
        }
        let block = self.buffer[2..total].to_vec();
        self.buffer.drain(..total);
        self.binary_expected = false;
        Some(Frame::Binary(block))
    }

    /// The frame for one line of text; `None` for a line of noise.
    fn text_frame(&mut self, bytes: &[u8]) -> Option<Frame> {
        // Every AT response line starts with an ASCII character; what comes before the first one
        // is line noise (a baud rate mismatch, a modem powering up), even where it happens to
        // form valid UTF-8. A line without any is noise as a whole.
        let start = bytes.iter().position(u8::is_ascii_graphic)?;
        let text = String::from_utf8_lossy(&bytes[start..]);
        let line = trim_noise(&text);
        if line.is_empty() {
            return None;
        }
        match FinalResult::parse(line) {
            Some(result) => {
                self.binary_expected = false;
                Some(Frame::Final(result))
            }
            None => Some(Frame::Line(line.to_owned())),
        }
    }
}

/// `text` without whitespace, control characters (NUL, Ctrl-Z) and replacement characters at
/// either end.
pub(crate) fn trim_noise(text: &str) -> &str {
    text.trim_matches(|c: char| {
        c.is_whitespace() || c.is_control() || c == char::REPLACEMENT_CHARACTER
    })
}

fn is_line_end(byte: u8) -> bool {
    byte == b'\r' || byte == b'\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8]) -> Vec<Frame> {
        let mut framer = Framer::new();
        framer.push(bytes);
        std::iter::from_fn(|| framer.next_frame()).collect()
    }

    fn line(text: &str) -> Frame {
        Frame::Line(text.to_owned())
    }

    #[test]
    fn echo_info_line_and_ok() {
        assert_eq!(
            frames(b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
            [
                line("AT+CSQ"),
                line("+CSQ: 20,99"),
                Frame::Final(FinalResult::Ok)
            ]
        );
    }

    #[test]
    fn bare_cr_and_bare_lf_end_lines() {
        assert_eq!(
            frames(b"+CSQ: 9,99\rOK\n"),
            [line("+CSQ: 9,99"), Frame::Final(FinalResult::Ok)]
        );
    }

    #[test]
    fn incomplete_line_waits_for_its_ending() {
        let mut framer = Framer::new();
        framer.push(b"\r\n+CSQ: 2");
        assert_eq!(framer.next_frame(), None);
        framer.push(b"0,99\r");
        assert_eq!(framer.next_frame(), Some(line("+CSQ: 20,99")));
        assert_eq!(framer.next_frame(), None);
    }

    #[test]
    fn prompt_has_no_line_ending() {
        assert_eq!(
            frames(b"AT+CMGS=23\r\r\n> "),
            [line("AT+CMGS=23"), Frame::Prompt]
        );
        let mut framer = Framer::new();
        framer.push(b"\r\n>");
        assert_eq!(framer.next_frame(), None);
        framer.push(b" ");
        assert_eq!(framer.next_frame(), Some(Frame::Prompt));
    }

    #[test]
    fn noise_lines_are_dropped_and_noise_is_trimmed() {
        assert_eq!(
            frames(b"\xff\xfe\x00\r\n\x00\x00RDY\r\n\xffOK\r\n"),
            [line("RDY"), Frame::Final(FinalResult::Ok)]
        );
        assert_eq!(
            frames(b"caf\xe9 au lait\r\n"),
            [line("caf\u{fffd} au lait")]
        );
    }

    #[test]
    fn noise_that_forms_valid_utf8_before_a_line_is_dropped() {
        // 0xC5 0x8F is "\u{14f}": valid UTF-8, still noise before an answer or an echo.
        assert_eq!(
            frames(b"\xc5\x8f\r\nQuectel\r\n\xc5\x8f\xe2\x82\xacAT+CGMM\r\nOK\r\n"),
            [
                line("Quectel"),
                line("AT+CGMM"),
                Frame::Final(FinalResult::Ok)
            ]
        );
        assert_eq!(
            frames(b"\xe2\x82\xac\r\nOK\r\n"),
            [Frame::Final(FinalResult::Ok)]
        );
    }

    #[test]
    fn overlong_lines_are_dropped_however_they_arrive() {
        let long = vec![b'x'; MAX_LINE_LEN + 1];
        assert_eq!(
            frames(&[&long[..], b"\r\nOK\r\n"].concat()),
            [Frame::Final(FinalResult::Ok)]
        );
        let mut framer = Framer::new();
        framer.push(&long);
        assert_eq!(framer.next_frame(), None);
        framer.push(b"yyy\r\nOK\r\n");
        assert_eq!(framer.next_frame(), Some(Frame::Final(FinalResult::Ok)));
    }

    #[test]
    fn binary_block_after_echo() {
        let mut framer = Framer::new();
        framer.expect_binary();
        framer.push(b"AT+SBDRB\r\x00\x05hello\x02\x14\r\nOK\r\n");
        assert_eq!(framer.next_frame(), Some(line("AT+SBDRB")));
        assert_eq!(
            framer.next_frame(),
            Some(Frame::Binary(b"hello\x02\x14".to_vec()))
        );
        assert_eq!(framer.next_frame(), Some(Frame::Final(FinalResult::Ok)));
    }

    #[test]
    fn binary_block_may_contain_line_endings() {
        let mut framer = Framer::new();
        framer.expect_binary();
        framer.push(b"\x00\x02\r\n\x00\x17OK\r\n");
        assert_eq!(
            framer.next_frame(),
            Some(Frame::Binary(b"\r\n\x00\x17".to_vec()))
        );
        assert_eq!(framer.next_frame(), Some(Frame::Final(FinalResult::Ok)));
    }

    #[test]
    fn error_instead_of_binary_ends_binary_mode() {
        let mut framer = Framer::new();
        framer.expect_binary();
        framer.push(b"\r\nERROR\r\n\x00\x01");
        assert_eq!(framer.next_frame(), Some(Frame::Final(FinalResult::Error)));
        assert_eq!(framer.next_frame(), None);
        framer.push(b"\r\n");
        assert_eq!(
            framer.next_frame(),
            None,
            "text mode: NUL and \\x01 are noise"
        );
    }

    #[test]
    fn clear_drops_buffered_bytes_and_binary_mode() {
        let mut framer = Framer::new();
        framer.expect_binary();
        framer.push(b"\x00\x05hel");
        framer.clear();
        framer.push(b"OK\r\n");
        assert_eq!(framer.next_frame(), Some(Frame::Final(FinalResult::Ok)));
    }
}
