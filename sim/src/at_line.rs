//! How simulated AT devices take command lines from the host: echo, line editing, the `AT`
//! prefix.

const BACKSPACE: u8 = 0x08;

/// A command line as the host types it: bytes up to `\r`, `\n` ignored, backspace deletes, and a
/// line longer than the device's buffer is dropped, as a full buffer drops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAssembler {
    line: Vec<u8>,
    max_len: usize,
}

impl LineAssembler {
    /// An empty line in a buffer of `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            line: Vec::new(),
            max_len,
        }
    }

    /// Takes one byte from the host, echoing it to `output` when `echo` is on. Returns the text
    /// after `AT` when the byte ends a command line; lines that do not start with `AT` (in any
    /// case) are ignored, as modems do.
    pub fn take(&mut self, byte: u8, echo: bool, output: &mut Vec<u8>) -> Option<String> {
        if echo {
            output.push(byte);
        }
        match byte {
            b'\r' => {
                let line = std::mem::take(&mut self.line);
                return command_body(&String::from_utf8_lossy(&line)).map(str::to_owned);
            }
            b'\n' => {}
            BACKSPACE => {
                self.line.pop();
            }
            _ if self.line.len() < self.max_len => self.line.push(byte),
            _ => self.line.clear(),
        }
        None
    }
}

/// The text after `AT` of a command line (surrounding spaces ignored); `None` without `AT`.
fn command_body(line: &str) -> Option<&str> {
    let line = line.trim();
    line.get(..2)
        .filter(|prefix| prefix.eq_ignore_ascii_case("AT"))
        .and_then(|_| line.get(2..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_in(assembler: &mut LineAssembler, input: &[u8]) -> (Vec<String>, Vec<u8>) {
        let mut echo = Vec::new();
        let bodies = input
            .iter()
            .filter_map(|byte| assembler.take(*byte, true, &mut echo))
            .collect();
        (bodies, echo)
    }

    #[test]
    fn lines_are_edited_and_only_at_lines_count() {
        let mut assembler = LineAssembler::new(16);
        let (bodies, echo) = type_in(&mut assembler, b"at+cgsx\x08n\r\nhello\r AT \r");
        assert_eq!(bodies, ["+cgsn", ""]);
        assert_eq!(echo, b"at+cgsx\x08n\r\nhello\r AT \r");
    }

    #[test]
    fn an_overlong_line_is_dropped() {
        let mut assembler = LineAssembler::new(4);
        let (bodies, _) = type_in(&mut assembler, b"AT+CSQ\rAT\r");
        assert_eq!(bodies, [""]);
        let mut silent = Vec::new();
        assert_eq!(assembler.take(b'\r', false, &mut silent), None);
        assert!(silent.is_empty());
    }
}
