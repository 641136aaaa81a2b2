//! The binary SBD message format: the checksum that follows a message on the serial line, the
//! `AT+SBDWB` payload, the `AT+SBDRB` block and the key that names a received message.

use std::fmt;

/// Largest mobile-originated payload of a 9602/9603, in bytes (`AT+SBDWB` takes 1 to 340).
pub const MAX_PAYLOAD: usize = 340;

/// The SBD checksum: the least significant 16 bits of the sum of the message bytes.
pub(crate) fn checksum(message: &[u8]) -> u16 {
    message
        .iter()
        .fold(0u16, |sum, &byte| sum.wrapping_add(u16::from(byte)))
}

/// What follows `READY` after `AT+SBDWB=<len>`: the message, then its checksum, high byte first.
pub(crate) fn write_payload(message: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(message.len() + 2);
    bytes.extend_from_slice(message);
    bytes.extend_from_slice(&checksum(message).to_be_bytes());
    bytes
}

/// The result code of `AT+SBDWB` (ISU AT Command Reference, +SBDWB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteResult {
    /// 0: the message was written to the MO buffer.
    Written,
    /// 1: too few bytes arrived within the 60 s transfer period.
    Timeout,
    /// 2: the checksum does not match the one the terminal computed.
    BadChecksum,
    /// 3: the size is not 1 to 340 bytes.
    BadSize,
}

impl WriteResult {
    /// The result for a code, `None` for a code the manual does not define.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(WriteResult::Written),
            1 => Some(WriteResult::Timeout),
            2 => Some(WriteResult::BadChecksum),
            3 => Some(WriteResult::BadSize),
            _ => None,
        }
    }
}

/// Writes `SBDWB result 2: the checksum does not match`.
impl fmt::Display for WriteResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (code, meaning) = match self {
            WriteResult::Written => (0, "the message was written"),
            WriteResult::Timeout => (1, "write timeout: too few bytes arrived within 60 s"),
            WriteResult::BadChecksum => (2, "the checksum does not match"),
            WriteResult::BadSize => (3, "the message size is not 1 to 340 bytes"),
        };
        write!(f, "SBDWB result {code}: {meaning}")
    }
}

/// An `AT+SBDRB` block whose checksum does not match its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("checksum mismatch: the terminal sent {sent:#06x}, the message sums to {computed:#06x}")]
pub(crate) struct ChecksumMismatch {
    /// The checksum after the message.
    pub sent: u16,
    /// The checksum of the message as received.
    pub computed: u16,
}

/// The message of an `AT+SBDRB` block (message and 2 checksum bytes, length prefix already
/// removed by the framer), once its checksum is verified.
pub(crate) fn read_block(block: &[u8]) -> Result<&[u8], ChecksumMismatch> {
    let (message, sent) = match block {
        [message @ .., high, low] => (message, u16::from_be_bytes([*high, *low])),
        // Shorter than a checksum: nothing can match.
        _ => (block, 0),
    };
    let computed = checksum(message);
    if block.len() < 2 || sent != computed {
        return Err(ChecksumMismatch { sent, computed });
    }
    Ok(message)
}

/// The key of a received message: `mtmsn:<MTMSN>:<FNV-1a 64 of the payload, 16 hex digits>`, the
/// same for every read of the same message, so the host stores it once.
pub(crate) fn message_key(mtmsn: u16, payload: &[u8]) -> String {
    format!("mtmsn:{mtmsn}:{:016x}", fnv1a64(payload))
}

/// The 64-bit FNV-1a hash.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_the_low_16_bits_of_the_byte_sum() {
        // The manual's example: "hello" sums to 0x0214.
        assert_eq!(checksum(b"hello"), 0x0214);
        assert_eq!(write_payload(b"hello"), b"hello\x02\x14");
        assert_eq!(checksum(&[0xff; 340]), 0x52ac);
        assert_eq!(checksum(b""), 0);
    }

    #[test]
    fn block_checksum_is_verified() {
        assert_eq!(read_block(b"hello\x02\x14"), Ok(&b"hello"[..]));
        assert_eq!(
            read_block(b"hellO\x02\x14"),
            Err(ChecksumMismatch {
                sent: 0x0214,
                computed: 0x01f4
            })
        );
        assert!(read_block(b"\x00").is_err());
        assert!(read_block(b"").is_err());
        assert_eq!(read_block(b"\x00\x00"), Ok(&b""[..]));
    }

    #[test]
    fn fnv1a64_known_answers() {
        // Test vectors of the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(message_key(7, b"a"), "mtmsn:7:af63dc4c8601ec8c");
    }

    #[test]
    fn write_results_name_their_code() {
        assert_eq!(WriteResult::from_code(2), Some(WriteResult::BadChecksum));
        assert_eq!(WriteResult::from_code(4), None);
        assert_eq!(
            WriteResult::BadSize.to_string(),
            "SBDWB result 3: the message size is not 1 to 340 bytes"
        );
    }
}
