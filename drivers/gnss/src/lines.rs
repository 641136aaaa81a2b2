//! Cuts the receiver's byte stream into sentence lines.
//!
//! A line runs from a `$` to the next CR or LF. Bytes before a `$` (the tail of a sentence the
//! port opened in the middle of, noise) are dropped, a `$` in the middle of a line starts a new
//! one (a receiver reset cut the old one), and a line that grows past
//! [`MAX_SENTENCE`](m2mhal_nmea::MAX_SENTENCE) is dropped whole.

use m2mhal_nmea::MAX_SENTENCE;

/// The line being collected.
#[derive(Debug, Default)]
pub(crate) struct LineReader {
    line: Vec<u8>,
    /// A `$` was seen and no line end since.
    in_line: bool,
}

impl LineReader {
    /// Nothing collected.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes; returns the lines they complete (without line ends).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for &byte in bytes {
            match byte {
                b'$' => {
                    self.line.clear();
                    self.line.push(byte);
                    self.in_line = true;
                }
                b'\r' | b'\n' => {
                    if self.in_line {
                        lines.push(std::mem::take(&mut self.line));
                    }
                    self.in_line = false;
                }
                _ if self.in_line => {
                    if self.line.len() >= MAX_SENTENCE {
                        self.line.clear();
                        self.in_line = false;
                    } else {
                        self.line.push(byte);
                    }
                }
                _ => {}
            }
        }
        lines
    }

    /// Forgets a partial line (the port was opened again).
    pub fn clear(&mut self) {
        self.line.clear();
        self.in_line = false;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_partial_line_at_the_start_is_dropped() {
        let mut reader = LineReader::new();
        let lines =
            reader.push(b"4.65873,E,083723.00,A,A*6E\r\n$GPVTG,,T,,M,0.211,N,0.391,K,A*2A\r\n$GPG");
        assert_eq!(lines, [b"$GPVTG,,T,,M,0.211,N,0.391,K,A*2A".to_vec()]);
        assert_eq!(reader.push(b"SA,A*00\n"), [b"$GPGSA,A*00".to_vec()]);
    }

    #[test]
    fn a_dollar_starts_again_and_overlong_lines_are_dropped() {
        let mut reader = LineReader::new();
        assert_eq!(
            reader.push(b"$GPGGA,12$GPTXT*00\r"),
            [b"$GPTXT*00".to_vec()]
        );
        let long = [b"$GP".to_vec(), vec![b'1'; MAX_SENTENCE], b"\r\n".to_vec()].concat();
        assert!(reader.push(&long).is_empty());
        assert_eq!(reader.push(b"$A*41\r\n"), [b"$A*41".to_vec()]);
    }

    proptest! {
        #[test]
        fn chunking_does_not_change_the_lines(
            bytes in proptest::collection::vec(prop_oneof![
                Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b','), any::<u8>()
            ], 0..600),
            cut in 0usize..600,
        ) {
            let cut = cut.min(bytes.len());
            let whole = LineReader::new().push(&bytes);
            let mut reader = LineReader::new();
            let mut split = reader.push(&bytes[..cut]);
            split.extend(reader.push(&bytes[cut..]));
            prop_assert_eq!(&whole, &split);
            for line in whole {
                prop_assert!(line.len() <= MAX_SENTENCE);
                prop_assert_eq!(line[0], b'$');
            }
        }
    }
}
