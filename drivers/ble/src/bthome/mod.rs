//! BTHome v2 advertisements (<https://bthome.io/format/>): the service data of UUID `0xFCD2` is a
//! device information byte (bit 0 encrypted, bit 2 trigger-based, bits 5-7 version) followed by
//! objects, each an object id and a value whose length the id determines. Encrypted service data
//! (<https://bthome.io/encryption/>) carries the objects as AES-CCM ciphertext followed by a 4-byte
//! counter and a 4-byte MIC.

mod crypto;
mod objects;

use crate::config::{Address, BindKey};

/// The 16-bit service (data) UUID of BTHome.
pub(crate) const SERVICE_UUID16: u16 = 0xfcd2;

/// Bit 0 of the device information byte: the objects are encrypted.
const ENCRYPTED: u8 = 0x01;
/// The BTHome version this decoder reads.
const VERSION: u8 = 2;

/// What one service data block says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packet {
    /// Object 0x00: the device's packet counter, to recognise a repeated advertisement.
    pub packet_id: Option<u8>,
    /// Readings by key, in object order. A key that occurs again in the same packet (a second
    /// sensor of the same kind) gets a suffix: `temperature`, `temperature_2`, ...
    pub readings: Vec<(String, f64)>,
    /// Why decoding stopped before the end, if it did; the readings before that point stand.
    pub stopped: Option<Stop>,
}

/// Why decoding of a packet stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stop {
    /// An object id this decoder does not know: its length is unknown, so nothing after it can be
    /// read.
    #[error("BTHome object id 0x{0:02x} is unknown: the rest of such packets is ignored")]
    UnknownObject(u8),
    /// The data ends inside the value of this object.
    #[error("BTHome object 0x{0:02x} is cut short")]
    Truncated(u8),
}

/// The service data cannot be decoded at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BthomeError {
    /// No device information byte.
    #[error("empty BTHome service data")]
    Empty,
    /// Not version 2.
    #[error("BTHome version {0} is not supported (only version 2)")]
    Version(u8),
    /// Encrypted, and the configuration has no key.
    #[error("encrypted BTHome advertisements, but no bthome_key option is configured")]
    NoKey,
    /// Encrypted, but too short to hold a counter and a MIC.
    #[error("encrypted BTHome service data too short for its counter and MIC")]
    TooShort,
    /// The MIC does not match: wrong key (or corrupted data).
    #[error("the bthome_key does not decrypt this device's advertisements (wrong key?)")]
    Decrypt,
}

/// Decodes BTHome service data sent by the device at `address`.
pub(crate) fn decode(
    data: &[u8],
    key: Option<&BindKey>,
    address: &Address,
) -> Result<Packet, BthomeError> {
    let (&info, body) = data.split_first().ok_or(BthomeError::Empty)?;
    let version = info >> 5;
    if version != VERSION {
        return Err(BthomeError::Version(version));
    }
    if info & ENCRYPTED == 0 {
        return Ok(objects::parse(body));
    }
    let key = key.ok_or(BthomeError::NoKey)?;
    let plain = crypto::decrypt(key, address, info, body)?;
    Ok(objects::parse(&plain))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ADDRESS: Address = [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5];
    /// The key of the bthome.io encryption example.
    const KEY: BindKey = [
        0x23, 0x1d, 0x39, 0xc1, 0xd7, 0xcc, 0x1a, 0xb1, 0xae, 0xe2, 0x24, 0xcd, 0x09, 0x6d, 0xb9,
        0x32,
    ];

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn readings(packet: &Packet) -> Vec<(&str, f64)> {
        packet
            .readings
            .iter()
            .map(|(key, value)| (key.as_str(), *value))
            .collect()
    }

    #[test]
    fn format_page_example() {
        // bthome.io/format: service data `40 02C409 03BF13`, "DIY-sensor", 25.00 C and 50.55 %.
        let packet = decode(&hex("40 02C409 03BF13"), None, &ADDRESS).unwrap();
        assert_eq!(
            readings(&packet),
            [("temperature", 25.0), ("humidity", 50.55)]
        );
        assert_eq!(packet.packet_id, None);
        assert_eq!(packet.stopped, None);
    }

    #[test]
    fn trigger_based_flag_and_packet_id() {
        // 0x44: version 2, trigger based; packet id 9, button "press".
        let packet = decode(&hex("44 0009 3A01"), None, &ADDRESS).unwrap();
        assert_eq!(packet.packet_id, Some(9));
        assert_eq!(readings(&packet), [("button", 1.0)]);
    }

    #[test]
    fn other_versions_and_empty_data_are_refused() {
        assert_eq!(
            decode(&hex("20 02C409"), None, &ADDRESS),
            Err(BthomeError::Version(1))
        );
        assert_eq!(decode(&[], None, &ADDRESS), Err(BthomeError::Empty));
    }

    /// bthome.io/encryption: MAC 5448E68F80A5, key above, counter bytes 00112233, nonce
    /// 5448e68f80a5d2fc4100112233, plaintext 02CA09 03BF13 (25.06 C, 50.55 %) -> ciphertext
    /// A47266C95F73, MIC 78237214 (cross-checked with Python's `cryptography` AESCCM).
    const EXAMPLE: &str = "41 A47266C95F73 00112233 78237214";

    #[test]
    fn encryption_example_decrypts() {
        let packet = decode(&hex(EXAMPLE), Some(&KEY), &ADDRESS).unwrap();
        assert_eq!(
            readings(&packet),
            [("temperature", 25.06), ("humidity", 50.55)]
        );
        // The same plaintext with the counter 0x00112233 sent little-endian (33 22 11 00), as
        // other BTHome implementations quote the example.
        let little_endian_counter = hex("41 E445F3C9962B 33221100 6C7C4519");
        let packet = decode(&little_endian_counter, Some(&KEY), &ADDRESS).unwrap();
        assert_eq!(
            readings(&packet),
            [("temperature", 25.06), ("humidity", 50.55)]
        );
    }

    #[test]
    fn encrypted_data_needs_the_right_key_and_address() {
        let data = hex(EXAMPLE);
        assert_eq!(decode(&data, None, &ADDRESS), Err(BthomeError::NoKey));
        let mut wrong_key = KEY;
        wrong_key[0] ^= 1;
        assert_eq!(
            decode(&data, Some(&wrong_key), &ADDRESS),
            Err(BthomeError::Decrypt)
        );
        let mut other_device = ADDRESS;
        other_device[5] ^= 1;
        assert_eq!(
            decode(&data, Some(&KEY), &other_device),
            Err(BthomeError::Decrypt)
        );
        let mut tampered = data.clone();
        tampered[2] ^= 0x80;
        assert_eq!(
            decode(&tampered, Some(&KEY), &ADDRESS),
            Err(BthomeError::Decrypt)
        );
        assert_eq!(
            decode(&hex("41 00112233 6C7C45"), Some(&KEY), &ADDRESS),
            Err(BthomeError::TooShort)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_service_data_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&data, None, &ADDRESS);
            let _ = decode(&data, Some(&KEY), &ADDRESS);
        }

        #[test]
        fn arbitrary_objects_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut data = vec![0x40];
            data.extend(body);
            let packet = decode(&data, None, &ADDRESS).unwrap();
            prop_assert!(packet.readings.iter().all(|(_, value)| value.is_finite()));
        }
    }
}
