//! A BTHome v2 encoder (<https://bthome.io/format/>): the service data of UUID `0xFCD2` that a
//! simulated BTHome sensor advertises. A device information byte (`0x40`: version 2, or `0x41`:
//! version 2, encrypted) is followed by objects in id order: `0x00` packet id (uint8), `0x01`
//! battery (uint8, 1 %), `0x02` temperature (sint16, 0.01 C), `0x03` humidity (uint16, 0.01 %),
//! `0x04` pressure (uint24, 0.01 hPa), all little-endian.
//!
//! Encrypted (<https://bthome.io/encryption/>): the objects are AES-128-CCM ciphertext, followed
//! by the 4-byte counter and a 4-byte MIC; the 13-byte nonce is
//! `MAC (as written) | d2 fc | device information byte | counter`, with no associated data.

use aes::Aes128;
use ccm::Ccm;
use ccm::aead::{AeadInOut, KeyInit};
use ccm::consts::{U4, U13};

use super::measurement::{Measurement, Quantity};

/// The BTHome service data UUID.
pub const SERVICE_UUID: &str = "fcd2";

/// The AES-128 key of an encrypted BTHome device.
pub type Key = [u8; 16];

/// Device information: BTHome version 2, not encrypted, sent regularly.
const INFO_PLAIN: u8 = 0x40;
/// Device information: BTHome version 2, encrypted.
const INFO_ENCRYPTED: u8 = 0x41;
/// The BTHome UUID16 as it is sent (little-endian), part of the nonce.
const UUID16_ON_AIR: [u8; 2] = [0xd2, 0xfc];

/// AES-128-CCM with a 4-byte MIC and a 13-byte nonce.
type BthomeCcm = Ccm<Aes128, U4, U13>;

/// The objects for a packet: the packet id, if any, then the reported values in id order.
pub fn objects(packet_id: Option<u8>, measurement: &Measurement) -> Vec<u8> {
    let mut objects = Vec::new();
    if let Some(id) = packet_id {
        objects.extend([0x00, id]);
    }
    for quantity in Quantity::ALL {
        let Some(value) = measurement.get(quantity) else {
            continue;
        };
        // The values are range-checked when measured (`Measurement::parse`), so the casts
        // below never saturate.
        match quantity {
            Quantity::Battery => objects.extend([0x01, value.round() as u8]),
            Quantity::Temperature => {
                objects.push(0x02);
                objects.extend(((value * 100.0).round() as i16).to_le_bytes());
            }
            Quantity::Humidity => {
                objects.push(0x03);
                objects.extend(((value * 100.0).round() as u16).to_le_bytes());
            }
            Quantity::Pressure => {
                objects.push(0x04);
                objects.extend(&((value * 100.0).round() as u32).to_le_bytes()[..3]);
            }
        }
    }
    objects
}

/// Unencrypted service data carrying `objects`.
pub fn plain(objects: &[u8]) -> Vec<u8> {
    let mut data = vec![INFO_PLAIN];
    data.extend_from_slice(objects);
    data
}

/// Encrypted service data carrying `objects`, as the device at `address` sends it with
/// `counter` (sent little-endian).
pub fn encrypted(objects: &[u8], key: &Key, address: &[u8; 6], counter: u32) -> Vec<u8> {
    let counter = counter.to_le_bytes();
    let mut nonce = [0u8; 13];
    nonce[..6].copy_from_slice(address);
    nonce[6..8].copy_from_slice(&UUID16_ON_AIR);
    nonce[8] = INFO_ENCRYPTED;
    nonce[9..].copy_from_slice(&counter);
    let mut ciphertext = objects.to_vec();
    let mic = BthomeCcm::new(&(*key).into())
        .encrypt_inout_detached(&nonce.into(), &[], ciphertext.as_mut_slice().into())
        // CCM with a 13-byte nonce takes messages of up to 65535 bytes; a packet is a few.
        .expect("a BTHome packet fits AES-CCM");
    let mut data = vec![INFO_ENCRYPTED];
    data.extend(ciphertext);
    data.extend(counter);
    data.extend_from_slice(&mic);
    data
}

/// A key written as 32 hex digits.
pub fn parse_key(text: &str) -> Option<Key> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 16];
    for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn measurement(words: &[&str]) -> Measurement {
        Measurement::parse(words.iter().copied()).unwrap()
    }

    #[test]
    fn format_page_examples() {
        // bthome.io/format: "DIY-sensor" sends `40 02C409 03BF13` for 25.00 C and 50.55 %.
        let both = objects(None, &measurement(&["temperature=25", "humidity=50.55"]));
        assert_eq!(plain(&both), hex("40 02C409 03BF13"));
        // The object examples of the table: battery 97 %, temperature 25.06 C, pressure
        // 1008.83 hPa, packet id 9.
        assert_eq!(objects(None, &measurement(&["battery=97"])), hex("0161"));
        assert_eq!(
            objects(None, &measurement(&["temperature=25.06"])),
            hex("02CA09")
        );
        assert_eq!(
            objects(None, &measurement(&["pressure=1008.83"])),
            hex("04138A01")
        );
        assert_eq!(
            objects(Some(9), &measurement(&["battery=97"])),
            hex("0009 0161")
        );
    }

    #[test]
    fn objects_go_in_id_order_and_negative_temperatures_are_twos_complement() {
        let all = measurement(&[
            "pressure=1013.2",
            "humidity=40",
            "temperature=-5.5",
            "battery=90",
        ]);
        // -5.50 C = -550 = 0xFDDA; 40.00 % = 4000 = 0x0FA0; 1013.20 hPa = 101320 = 0x018BC8.
        assert_eq!(
            objects(Some(1), &all),
            hex("0001 015A 02DAFD 03A00F 04C88B01")
        );
    }

    #[test]
    fn encryption_page_example() {
        // bthome.io/encryption: MAC 5448E68F80A5, key 231d39c1d7cc1ab1aee224cd096db932,
        // counter bytes 00112233, 25.06 C and 50.55 % encrypt to A47266C95F73 with MIC 78237214.
        let key = parse_key("231d39c1d7cc1ab1aee224cd096db932").unwrap();
        let address = [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5];
        let objects = objects(None, &measurement(&["temperature=25.06", "humidity=50.55"]));
        assert_eq!(objects, hex("02CA09 03BF13"));
        assert_eq!(
            encrypted(&objects, &key, &address, 0x3322_1100),
            hex("41 A47266C95F73 00112233 78237214")
        );
    }

    #[test]
    fn keys_are_32_hex_digits() {
        assert_eq!(
            parse_key("00112233445566778899AABBCCDDEEFF"),
            Some([
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff
            ])
        );
        for bad in [
            "",
            "00112233",
            "00112233445566778899aabbccddeeff00",
            "0011223344556677889gaabbccddeeff",
            "é0112233445566778899aabbccddeef",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }
}
