//! The SBD message format on the serial line: the checksum, the `AT+SBDWB` payload check and the
//! `AT+SBDRB` block.

/// Largest mobile-originated message of a 9602/9603 (`AT+SBDWB` takes 1 to 340 bytes).
pub const MAX_MO_LENGTH: usize = 340;
/// Largest mobile-terminated message of a 9602/9603.
pub const MAX_MT_LENGTH: usize = 270;
/// Largest text of `AT+SBDWT=<text>` (the limit of the command line).
pub const MAX_COMMAND_TEXT: usize = 120;

/// The SBD checksum: the least significant 16 bits of the sum of the message bytes.
pub fn checksum(message: &[u8]) -> u16 {
    message
        .iter()
        .fold(0u16, |sum, &byte| sum.wrapping_add(u16::from(byte)))
}

/// The message of an `AT+SBDWB` payload (message, then its checksum high byte first), or `None`
/// when the checksum does not match.
pub fn checked_message(payload: &[u8]) -> Option<&[u8]> {
    let [message @ .., high, low] = payload else {
        return None;
    };
    (checksum(message) == u16::from_be_bytes([*high, *low])).then_some(message)
}

/// The `AT+SBDRB` block: the length (2 bytes, high first), the message, its checksum (2 bytes,
/// high first). An empty buffer gives length and checksum zero.
pub fn read_block(message: &[u8]) -> Vec<u8> {
    // The MT buffer never holds more than MAX_MT_LENGTH bytes, far below u16::MAX.
    let length = u16::try_from(message.len()).unwrap_or(u16::MAX);
    let mut block = Vec::with_capacity(message.len() + 4);
    block.extend_from_slice(&length.to_be_bytes());
    block.extend_from_slice(message);
    block.extend_from_slice(&checksum(message).to_be_bytes());
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manuals_hello_example() {
        assert_eq!(checksum(b"hello"), 0x0214);
        assert_eq!(checked_message(b"hello\x02\x14"), Some(&b"hello"[..]));
        assert_eq!(checked_message(b"hello\x02\x15"), None);
        assert_eq!(checked_message(b"\x02"), None);
        assert_eq!(read_block(b"hello"), b"\x00\x05hello\x02\x14");
        assert_eq!(read_block(b""), b"\x00\x00\x00\x00");
    }

    #[test]
    fn checksum_wraps_at_16_bits() {
        assert_eq!(checksum(&[0xff; 340]), 0x52ac);
    }
}
