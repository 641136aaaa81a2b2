//! UCS-2 user data, read and written as UTF-16 big-endian so characters beyond the BMP survive as
//! surrogate pairs (as phones send them).

/// Whether `unit` is the first half of a surrogate pair (a part must not end after it).
pub(crate) fn is_high_surrogate(unit: u16) -> bool {
    (0xD800..=0xDBFF).contains(&unit)
}

/// Big-endian octets of UTF-16 units.
pub(crate) fn to_octets(units: &[u16]) -> Vec<u8> {
    units.iter().flat_map(|unit| unit.to_be_bytes()).collect()
}

/// Text of big-endian UTF-16 octets. A lone surrogate or a stray last octet becomes U+FFFD, so a
/// part cut mid-character by a careless sender still shows the rest.
pub(crate) fn decode(octets: &[u8]) -> String {
    let pairs = octets.chunks_exact(2);
    let stray_octet = !pairs.remainder().is_empty();
    let units: Vec<u16> = pairs
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    let mut text = String::from_utf16_lossy(&units);
    if stray_octet {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_big_endian_with_surrogate_pairs() {
        let units: Vec<u16> = "тест😀".encode_utf16().collect();
        assert_eq!(
            to_octets(&units),
            [
                0x04, 0x42, 0x04, 0x35, 0x04, 0x41, 0x04, 0x42, 0xD8, 0x3D, 0xDE, 0x00
            ]
        );
        assert!(is_high_surrogate(units[4]));
        assert!(!is_high_surrogate(units[5]));
    }

    #[test]
    fn decodes_and_marks_broken_input() {
        assert_eq!(decode(&[0x04, 0x42, 0xD8, 0x3D, 0xDE, 0x00]), "т😀");
        assert_eq!(decode(&[0x04, 0x42, 0xD8, 0x3D]), "т\u{FFFD}");
        assert_eq!(decode(&[0x04, 0x42, 0x04]), "т\u{FFFD}");
    }
}
