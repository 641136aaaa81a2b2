//! The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 6.2.1), and the packing
//! of septets into octets (TS 23.038 6.1.2.1).

/// The escape septet: the next septet is looked up in the extension table.
pub(crate) const ESCAPE: u8 = 0x1B;

/// The default alphabet, indexed by septet. Index 0x1B is [`ESCAPE`], not a character.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: septet after [`ESCAPE`] and the character it stands for.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'), // form feed (page break)
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// Septets of `text`, extension characters as an [`ESCAPE`] pair; `None` if a character is in
/// neither table.
pub(crate) fn encode(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::with_capacity(text.len());
    for character in text.chars() {
        if let Some(septet) = basic_septet(character) {
            septets.push(septet);
        } else {
            let &(septet, _) = EXTENSION.iter().find(|(_, c)| *c == character)?;
            septets.extend([ESCAPE, septet]);
        }
    }
    Some(septets)
}

fn basic_septet(character: char) -> Option<u8> {
    let index = BASIC.iter().position(|&c| c == character)?;
    let septet = u8::try_from(index).ok()?;
    (septet != ESCAPE).then_some(septet)
}

/// Text of `septets`. As TS 23.038 asks of a receiver: an escape before a septet missing from the
/// extension table shows that septet's basic character; escape-escape and a trailing escape
/// show as a space.
pub(crate) fn decode(septets: &[u8]) -> String {
    let mut text = String::with_capacity(septets.len());
    let mut rest = septets.iter().map(|septet| septet & 0x7F);
    while let Some(septet) = rest.next() {
        if septet != ESCAPE {
            text.push(BASIC[usize::from(septet)]);
            continue;
        }
        let character = match rest.next() {
            None | Some(ESCAPE) => ' ',
            Some(extended) => EXTENSION
                .iter()
                .find(|(s, _)| *s == extended)
                .map_or(BASIC[usize::from(extended)], |&(_, c)| c),
        };
        text.push(character);
    }
    text
}

/// Octets needed for `septets` septets.
pub(crate) fn packed_len(septets: usize) -> usize {
    (septets * 7).div_ceil(8)
}

/// Packs `septets` into octets, least significant bit first, the first septet at septet
/// position `first_position`; the bits before it are zero (room for a user data header and its
/// fill bits).
pub(crate) fn pack(septets: &[u8], first_position: usize) -> Vec<u8> {
    let mut octets = vec![0u8; packed_len(first_position + septets.len())];
    for (index, &septet) in septets.iter().enumerate() {
        let bit = (first_position + index) * 7;
        let shifted = u16::from(septet & 0x7F) << (bit % 8);
        let [low, high] = shifted.to_le_bytes();
        if let Some(octet) = octets.get_mut(bit / 8) {
            *octet |= low;
        }
        if let Some(octet) = octets.get_mut(bit / 8 + 1) {
            *octet |= high;
        }
    }
    octets
}

/// Unpacks `count` septets starting at septet position `first_position`; missing octets read as
/// zero bits (callers check the length first).
pub(crate) fn unpack(octets: &[u8], first_position: usize, count: usize) -> Vec<u8> {
    (first_position..first_position + count)
        .map(|position| {
            let bit = position * 7;
            let low = octets.get(bit / 8).copied().unwrap_or(0);
            let high = octets.get(bit / 8 + 1).copied().unwrap_or(0);
            let pair = u16::from_le_bytes([low, high]);
            ((pair >> (bit % 8)) & 0x7F) as u8 // masked to seven bits
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::{from_hex, to_hex};

    fn packed_hex(text: &str) -> String {
        to_hex(&pack(&encode(text).unwrap(), 0))
    }

    #[test]
    fn packs_known_answers() {
        // TS 23.038 packing as shown in the public PDU tutorials and ModemManager's tests.
        assert_eq!(packed_hex("hello"), "E8329BFD06");
        assert_eq!(packed_hex("hellohello"), "E8329BFD4697D9EC37");
        assert_eq!(packed_hex("How are you?"), "C8F71D14969741F977FD07");
        assert_eq!(
            packed_hex("The quick fox jumps over the lazy dog"),
            "54741914AFA7C76B90F98D07A9EB6DF81CF4B697E5203ABA0C6287F57910F97D06"
        );
        // 25 septets: the last one sits alone in the 22nd octet.
        assert_eq!(
            packed_hex("This is really cool ΔΔΔΔΔ"),
            "54747A0E4ACF41F27298CDCE83C6EF371B0481402010"
        );
    }

    #[test]
    fn eight_septets_fill_seven_octets() {
        let octets = pack(&encode("12345678").unwrap(), 0);
        assert_eq!(to_hex(&octets), "31D98C56B3DD70");
        assert_eq!(decode(&unpack(&octets, 0, 8)), "12345678");
    }

    #[test]
    fn unpacks_after_a_header_with_fill_bit() {
        // A 6-octet UDH is 48 bits; the text starts at septet 7 after one fill bit.
        let mut octets = pack(&encode("hi").unwrap(), 7);
        assert_eq!(octets.len(), 8);
        octets[..6].copy_from_slice(&from_hex("050003010201").unwrap());
        assert_eq!(to_hex(&octets), "050003010201D069");
        assert_eq!(decode(&unpack(&octets, 7, 2)), "hi");
    }

    #[test]
    fn extension_characters_use_escape_pairs() {
        assert_eq!(
            encode("€[]{}~^\\|").unwrap(),
            [
                0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x3D, 0x1B, 0x14,
                0x1B, 0x2F, 0x1B, 0x40
            ]
        );
        assert_eq!(
            decode(&encode("€[]{}~^\\|\u{0C}").unwrap()),
            "€[]{}~^\\|\u{0C}"
        );
    }

    #[test]
    fn every_basic_character_round_trips() {
        let all: String = BASIC.iter().filter(|&&c| c != '\u{1B}').collect();
        let septets = encode(&all).unwrap();
        assert_eq!(septets.len(), 127);
        assert_eq!(decode(&septets), all);
    }

    #[test]
    fn characters_outside_the_alphabet_do_not_encode() {
        assert_eq!(encode("ç"), None); // only capital Ç is in the table
        assert_eq!(encode("\u{1B}"), None);
        assert_eq!(encode("日本"), None);
    }

    #[test]
    fn decodes_odd_escapes_as_the_spec_asks() {
        assert_eq!(decode(&[0x1B, 0x41]), "A"); // not in the extension table
        assert_eq!(decode(&[0x1B, 0x1B, 0x41]), " A");
        assert_eq!(decode(&[0x41, 0x1B]), "A ");
    }
}
