//! Properties over generated input: every text and byte string survives encode -> decode (and
//! reassembly), parts respect the size limits and never split a character, and no input makes a
//! decoder panic.

use m2mhal_sms::{
    Alphabet, Body, Concat, Content, DeliverOptions, PhoneNumber, Reassembler, SubmitOptions,
    decode_deliver, decode_status_report, decode_submit, encode_deliver, encode_submit, from_hex,
    message_type,
};
use proptest::prelude::*;

/// 13 digits: TP-DA is 2 + 7 octets.
const DESTINATION: &str = "+4915112345678";
/// TP-UD octets of our SUBMIT PDUs: the PDU less SCA, first octet, TP-MR, TP-DA, TP-PID,
/// TP-DCS, TP-VP when present, TP-UDL.
fn submit_user_data_len(pdu: &[u8], has_validity: bool) -> usize {
    pdu.len() - (1 + 1 + 1 + 9 + 1 + 1 + usize::from(has_validity) + 1)
}

/// Text of any kind, plus texts crowded with extension characters and non-BMP characters so
/// that part boundaries fall on escape and surrogate pairs.
fn any_text() -> impl Strategy<Value = String> {
    let from = |alphabet: &'static [char], max| {
        prop::collection::vec(prop::sample::select(alphabet), 0..max)
            .prop_map(|chars| chars.into_iter().collect::<String>())
    };
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..400).prop_map(|chars| chars.into_iter().collect()),
        from(
            &[
                'a', '€', '[', '}', '\\', '|', '^', '~', '@', '\n', 'Ä', '\u{0C}'
            ],
            700
        ),
        from(&['a', 'ж', '😀', '€', '\u{10FFFF}', '\u{FFFD}'], 400),
    ]
}

fn phone_number() -> impl Strategy<Value = String> {
    "\\+?[0-9*#abc]{0,19}[0-9]"
}

/// Texts of the parts, checking each is the next piece of `text` on its own.
fn assert_pieces_of(text: &str, pieces: &[String]) {
    let mut rest = text;
    for (index, piece) in pieces.iter().enumerate() {
        assert!(
            rest.starts_with(piece.as_str()),
            "part {} decodes alone to {piece:?}, not the next piece of the text",
            index + 1
        );
        rest = &rest[piece.len()..];
    }
    assert_eq!(rest, "", "parts end before the text");
}

fn text_of(content: Content) -> String {
    match content {
        Content::Text(text) => text,
        Content::Binary(bytes) => panic!("text came back as {} bytes", bytes.len()),
    }
}

proptest! {
    #[test]
    fn any_text_survives_submit(
        text in any_text(),
        concat_reference in any::<u8>(),
        validity_minutes in prop::option::of(any::<u32>()),
        request_status_report in any::<bool>(),
    ) {
        let options = SubmitOptions { concat_reference, request_status_report, validity_minutes };
        let destination = PhoneNumber::parse(DESTINATION).unwrap();
        let parts = encode_submit(&destination, Body::Text(&text), &options).unwrap();
        let total = parts.len();
        let mut pieces = Vec::new();
        let mut alphabets = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            prop_assert_eq!(part.tpdu_len, part.pdu.len() - 1);
            prop_assert!(submit_user_data_len(&part.pdu, validity_minutes.is_some()) <= 140);
            let submit = decode_submit(&part.pdu).unwrap();
            prop_assert_eq!(&submit.destination, DESTINATION);
            prop_assert_eq!(submit.status_report_requested, request_status_report);
            let expected_concat = (total > 1).then(|| Concat {
                reference: u16::from(concat_reference),
                total: total as u8,
                sequence: index as u8 + 1,
            });
            prop_assert_eq!(submit.concat, expected_concat);
            alphabets.push(submit.alphabet);
            pieces.push(text_of(submit.content));
        }
        prop_assert!(alphabets.iter().all(|&alphabet| alphabet == alphabets[0]));
        prop_assert_ne!(alphabets[0], Alphabet::Eight);
        assert_pieces_of(&text, &pieces);
    }

    #[test]
    fn any_text_survives_deliver_and_reassembly(
        text in any_text(),
        originator in phone_number(),
        // 1990-01-01 + 20 h .. 2089-12-31 - 20 h, so any offset stays inside TP-SCTS years.
        timestamp in 631_224_000i64..3_786_840_000,
        utc_offset_quarters in -79i8..=79,
        concat_reference in any::<u8>(),
        rotation in any::<usize>(),
    ) {
        let number = PhoneNumber::parse(&originator).unwrap();
        prop_assert_eq!(number.as_str(), originator.to_ascii_lowercase());
        let options = DeliverOptions { timestamp, utc_offset_quarters, concat_reference, smsc: None };
        let pdus = encode_deliver(&number, Body::Text(&text), &options).unwrap();
        let parts: Vec<_> = pdus.iter().map(|pdu| decode_deliver(pdu).unwrap()).collect();
        for part in &parts {
            prop_assert_eq!(&part.originator, &number.as_str());
            prop_assert_eq!(part.timestamp, timestamp);
            prop_assert_eq!(part.smsc.as_deref(), None);
        }
        let pieces: Vec<String> =
            parts.iter().map(|part| text_of(part.content.clone())).collect();
        assert_pieces_of(&text, &pieces);

        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.rotate_left(rotation % parts.len());
        let mut reassembler = Reassembler::new();
        let mut completed = Vec::new();
        for &index in &order {
            completed.extend(reassembler.push(index, parts[index].clone(), 0));
        }
        prop_assert_eq!(completed.len(), 1);
        let complete = completed.remove(0);
        prop_assert_eq!(complete.content, Content::Text(text));
        prop_assert_eq!(complete.timestamp, timestamp);
        prop_assert_eq!(complete.parts, (0..parts.len()).collect::<Vec<_>>());
        prop_assert_eq!(reassembler.pending(), 0);
    }

    #[test]
    fn any_bytes_survive_both_directions(data in prop::collection::vec(any::<u8>(), 0..1200)) {
        let number = PhoneNumber::parse(DESTINATION).unwrap();
        let parts = encode_submit(&number, Body::Binary(&data), &SubmitOptions::default()).unwrap();
        let mut joined = Vec::new();
        for part in &parts {
            prop_assert!(submit_user_data_len(&part.pdu, false) <= 140);
            let submit = decode_submit(&part.pdu).unwrap();
            prop_assert_eq!(submit.alphabet, Alphabet::Eight);
            match submit.content {
                Content::Binary(bytes) => joined.extend(bytes),
                Content::Text(text) => panic!("bytes came back as text {text:?}"),
            }
        }
        prop_assert_eq!(&joined, &data);

        let options = DeliverOptions { timestamp: 1_700_000_000, ..DeliverOptions::default() };
        let mut reassembler = Reassembler::new();
        let mut completed = Vec::new();
        for (index, pdu) in encode_deliver(&number, Body::Binary(&data), &options).unwrap().iter().enumerate() {
            completed.extend(reassembler.push(index, decode_deliver(pdu).unwrap(), 0));
        }
        prop_assert_eq!(completed.len(), 1);
        prop_assert_eq!(&completed[0].content, &Content::Binary(data));
    }

    #[test]
    fn arbitrary_bytes_never_panic(pdu in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = message_type(&pdu);
        let _ = decode_deliver(&pdu);
        let _ = decode_submit(&pdu);
        let _ = decode_status_report(&pdu);
    }

    #[test]
    fn damaged_pdus_never_panic(
        text in any_text(),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        keep in any::<prop::sample::Index>(),
    ) {
        let number = PhoneNumber::parse(DESTINATION).unwrap();
        let options = DeliverOptions { timestamp: 1_700_000_000, ..DeliverOptions::default() };
        let deliver = encode_deliver(&number, Body::Text(&text), &options).unwrap().remove(0);
        let submit = encode_submit(&number, Body::Text(&text), &SubmitOptions::default())
            .unwrap()
            .remove(0)
            .pdu;
        for mut pdu in [deliver, submit] {
            for (position, value) in &damage {
                let position = position.index(pdu.len());
                pdu[position] = *value;
            }
            pdu.truncate(keep.index(pdu.len() + 1));
            let _ = decode_deliver(&pdu);
            let _ = decode_submit(&pdu);
            let _ = decode_status_report(&pdu);
        }
    }

    #[test]
    fn any_text_is_safe_for_from_hex(text in ".{0,64}") {
        if let Ok(bytes) = from_hex(&text) {
            prop_assert_eq!(bytes.len() * 2, text.trim().len());
        }
    }
}
