//! Reassembling concatenated messages the way the cellular driver reads them from modem storage:
//! parts keyed by storage index, in whatever order +CMGL lists them.

use m2mhal_sms::{
    Body, Complete, Concat, Content, Deliver, DeliverOptions, Duplicate, PhoneNumber, Reassembler,
    decode_deliver, encode_deliver, from_hex,
};

fn deliver(hex: &str) -> Deliver {
    decode_deliver(&from_hex(hex).unwrap()).unwrap()
}

/// A 4-part UCS-2 message from the Beeline network (16-bit reference 0x4AC0), as listed in
/// storage: part 2 first.
const BEELINE: [(u32, &str); 4] = [
    (
        11,
        "07919730071111F1400DD0C272999D7697010008812082210383218B0608044AC00402043F043E04410442043E043F043B04300442043D043E0439002004410438044104420435043C04350020044004300441044704350442043E0432002E002004230437043D04300439044204350020043E0431043E002004320441043504450020043504510020043F044004350438043C0443044904350441044204320430044500200438",
    ),
    (
        12,
        "07919730071111F1400DD0C272999D7697010008812082210393218B0608044AC004010414043E04310440043E0020043F043E04360430043B043E043204300442044C00200432002004110438043B04300439043D00210020042304320430043604300435043C044B04390020041A043B04380435043D0442002C00200412044B0020043E04310441043B044304360438043204300435044204350441044C0020043D04300020",
    ),
    (
        13,
        "07919730071111F1400DD0C272999D7697010008812082210304218B0608044AC004030020041204300448043804450020043D043E0432044B044500200432043E0437043C043E0436043D043E04410442044F04450020043F043E0020043D043E043C043504400443002000300036003100360020002804370432043E043D043E043A0020043104350441043F043B04300442043D044B04390029002E0020041F04400438044F",
    ),
    (
        14,
        "07919730071111F1440DD0C272999D769701000881208221031421390608044AC004040442043D043E0433043E0020043E043104490435043D0438044F00210020041204300448002004110438043B04300439043D",
    ),
];

#[test]
fn joins_a_real_four_part_ucs2_message_listed_out_of_order() {
    let mut reassembler = Reassembler::new();
    let mut completed = Vec::new();
    for (index, hex) in BEELINE {
        let part = deliver(hex);
        assert_eq!(part.originator, "Beeline");
        completed.extend(reassembler.push(index, part, 0));
        if completed.is_empty() {
            assert_eq!(reassembler.pending(), 1);
        }
    }
    assert_eq!(
        completed,
        [Complete {
            originator: "Beeline".into(),
            timestamp: 1_519_810_239, // part 1: 2018-02-28 12:30:39 +03:00
            content: Content::Text(
                "Добро пожаловать в Билайн! Уважаемый Клиент, Вы обслуживаетесь на постоплатной \
                 системе расчетов. Узнайте обо всех её преимуществах и Ваших новых возможностях \
                 по номеру 0616 (звонок бесплатный). Приятного общения! Ваш Билайн"
                    .into()
            ),
            parts: vec![12, 11, 13, 14],
            missing: vec![],
        }]
    );
    assert_eq!(reassembler.pending(), 0);
    assert!(reassembler.duplicates().is_empty());
}

#[test]
fn a_message_that_was_not_split_completes_at_once() {
    let mut reassembler = Reassembler::new();
    let complete = reassembler
        .push(
            "SM:3",
            deliver("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"),
            0,
        )
        .unwrap();
    assert_eq!(complete.originator, "+31641600986");
    assert_eq!(complete.timestamp, 1_030_390_661);
    assert_eq!(complete.content, Content::Text("How are you?".into()));
    assert_eq!(complete.parts, ["SM:3"]);
    assert_eq!(reassembler.pending(), 0);
}

#[test]
fn a_repeated_part_replaces_nothing_and_is_reported() {
    let mut reassembler = Reassembler::new();
    assert_eq!(reassembler.push(12, deliver(BEELINE[1].1), 0), None);
    assert_eq!(reassembler.push(20, deliver(BEELINE[1].1), 0), None);
    let repeated = Duplicate {
        key: 20,
        identical: true,
    };
    assert_eq!(reassembler.duplicates(), std::slice::from_ref(&repeated));
    assert_eq!(reassembler.take_duplicates(), [repeated]);
    assert!(reassembler.duplicates().is_empty());
    // A different part under the same originator, reference, total and sequence number (a
    // reference that wrapped around, say) is a duplicate too, but not an identical one.
    let mut other = deliver(BEELINE[1].1);
    other.content = Content::Text("another message".into());
    assert_eq!(reassembler.push(21, other, 0), None);
    assert_eq!(
        reassembler.take_duplicates(),
        [Duplicate {
            key: 21,
            identical: false
        }]
    );
    assert_eq!(reassembler.pending(), 1);
    for (index, hex) in [BEELINE[0], BEELINE[2]] {
        assert_eq!(reassembler.push(index, deliver(hex), 0), None);
    }
    let complete = reassembler.push(14, deliver(BEELINE[3].1), 0).unwrap();
    assert_eq!(complete.parts, [12, 11, 13, 14]);
}

fn part(originator: &str, reference: u16, total: u8, sequence: u8, content: Content) -> Deliver {
    Deliver {
        smsc: None,
        originator: originator.into(),
        timestamp: 1_700_000_000 + i64::from(sequence),
        alphabet: m2mhal_sms::Alphabet::Gsm7,
        concat: Some(Concat {
            reference,
            total,
            sequence,
        }),
        content,
    }
}

#[test]
fn parts_are_kept_apart_by_originator_reference_and_total() {
    let text = |value: &str| Content::Text(value.into());
    let mut reassembler = Reassembler::new();
    assert_eq!(
        reassembler.push(1, part("+491", 7, 2, 1, text("a1 ")), 0),
        None
    );
    assert_eq!(
        reassembler.push(2, part("+492", 7, 2, 1, text("b1 ")), 0),
        None
    );
    assert_eq!(
        reassembler.push(3, part("+491", 8, 2, 2, text("c2")), 0),
        None
    );
    assert_eq!(
        reassembler.push(4, part("+491", 7, 3, 2, text("d2")), 0),
        None
    );
    assert_eq!(reassembler.pending(), 4);
    let complete = reassembler
        .push(5, part("+492", 7, 2, 2, text("b2")), 0)
        .unwrap();
    assert_eq!(
        (complete.originator.as_str(), complete.content),
        ("+492", text("b1 b2"))
    );
    assert_eq!(complete.parts, [2, 5]);
    assert_eq!(complete.timestamp, 1_700_000_001);
    let complete = reassembler
        .push(6, part("+491", 7, 2, 2, text("a2")), 0)
        .unwrap();
    assert_eq!(complete.content, text("a1 a2"));
    assert_eq!(reassembler.pending(), 2);
}

#[test]
fn binary_parts_are_appended() {
    let originator = PhoneNumber::parse("+4915112345678").unwrap();
    let data: Vec<u8> = (0..=255).cycle().take(300).collect();
    let options = DeliverOptions {
        timestamp: 1_700_000_000,
        concat_reference: 42,
        ..DeliverOptions::default()
    };
    let pdus = encode_deliver(&originator, Body::Binary(&data), &options).unwrap();
    assert_eq!(pdus.len(), 3);
    let mut reassembler = Reassembler::new();
    let mut completed = None;
    for (index, pdu) in pdus.iter().enumerate().rev() {
        completed = reassembler.push(index, decode_deliver(pdu).unwrap(), 0);
    }
    let complete = completed.unwrap();
    assert_eq!(complete.content, Content::Binary(data));
    assert_eq!(complete.parts, [0, 1, 2]);
}

#[test]
fn mixed_text_and_binary_parts_become_binary() {
    let mut reassembler = Reassembler::new();
    reassembler.push(1, part("+491", 1, 2, 1, Content::Text("hé".into())), 0);
    let complete = reassembler
        .push(2, part("+491", 1, 2, 2, Content::Binary(vec![0xFF])), 0)
        .unwrap();
    assert_eq!(
        complete.content,
        Content::Binary(vec![b'h', 0xC3, 0xA9, 0xFF])
    );
}

#[test]
fn an_impossible_sequence_number_is_a_message_of_its_own() {
    let mut reassembler = Reassembler::new();
    let complete = reassembler
        .push(1, part("+491", 1, 2, 3, Content::Text("x".into())), 0)
        .unwrap();
    assert_eq!(complete.parts, [1]);
    assert_eq!(reassembler.pending(), 0);
}

#[test]
fn expiry_gives_up_only_on_messages_first_seen_by_the_cutoff() {
    let text = |value: &str| Content::Text(value.into());
    let mut reassembler = Reassembler::new();
    // Message 7 (three parts): parts 3 and 1 at t=100 and t=150; part 2 never comes.
    reassembler.push(1, part("+491", 7, 3, 3, text("c3")), 100);
    reassembler.push(2, part("+491", 7, 3, 1, text("a1 ")), 150);
    // Message 8 (two parts): part 2 at t=120.
    reassembler.push(3, part("+491", 8, 2, 2, text("b2")), 120);
    // Message 9 (two parts): part 1 at t=200, still young.
    reassembler.push(4, part("+492", 9, 2, 1, text("d1")), 200);
    assert_eq!(reassembler.oldest(), Some(100));

    assert_eq!(reassembler.expire(99), []);
    let expired = reassembler.expire(120);
    assert_eq!(
        expired,
        [
            Complete {
                originator: "+491".into(),
                timestamp: 1_700_000_001, // of part 1, the first present
                content: text("a1 c3"),
                parts: vec![2, 1],
                missing: vec![2],
            },
            Complete {
                originator: "+491".into(),
                timestamp: 1_700_000_002,
                content: text("b2"),
                parts: vec![3],
                missing: vec![1],
            },
        ]
    );
    assert_eq!(reassembler.pending(), 1);
    assert_eq!(reassembler.oldest(), Some(200));

    // The missing part of an expired message, late, starts a message of its own.
    assert_eq!(
        reassembler.push(5, part("+491", 7, 3, 2, text("b2")), 300),
        None
    );
    assert_eq!(reassembler.pending(), 2);
    let expired = reassembler.expire(300);
    let parts: Vec<(Vec<i32>, Vec<u8>)> = expired
        .into_iter()
        .map(|message| (message.parts, message.missing))
        .collect();
    assert_eq!(parts, [(vec![4], vec![2]), (vec![5], vec![1, 3])]);
    assert_eq!(reassembler.oldest(), None);
}

#[test]
fn a_whole_message_misses_nothing_and_leaves_nothing_to_expire() {
    let mut reassembler = Reassembler::new();
    for (index, hex) in BEELINE {
        if let Some(complete) = reassembler.push(index, deliver(hex), 5) {
            assert!(complete.missing.is_empty());
        }
    }
    assert_eq!(reassembler.expire(u64::MAX), []);
}
