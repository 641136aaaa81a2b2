//! SMS-SUBMIT PDUs as AT+CMGS takes them: what `encode_submit` writes, checked against PDUs from
//! public tutorials and ModemManager's tests, and what `decode_submit` reads from real senders.

use m2mhal_sms::{
    Alphabet, Body, Concat, Content, EncodedPart, PhoneNumber, SubmitOptions, decode_submit,
    encode_submit, from_hex, to_hex,
};

fn encoded(destination: &str, body: Body<'_>, options: SubmitOptions) -> Vec<EncodedPart> {
    encode_submit(&PhoneNumber::parse(destination).unwrap(), body, &options).unwrap()
}

fn single_hex(destination: &str, text: &str, options: SubmitOptions) -> String {
    let parts = encoded(destination, Body::Text(text), options);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].tpdu_len, parts[0].pdu.len() - 1);
    to_hex(&parts[0].pdu)
}

fn valid_for(minutes: u32) -> SubmitOptions {
    SubmitOptions {
        validity_minutes: Some(minutes),
        ..SubmitOptions::default()
    }
}

#[test]
fn hellohello_with_and_without_validity() {
    // The tutorial SUBMIT: relative TP-VP 0xAA = 4 days. We send TP-MR 0 and no TP-RD.
    assert_eq!(
        single_hex("+46708251358", "hellohello", valid_for(4 * 24 * 60)),
        "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    );
    assert_eq!(
        single_hex("+46708251358", "hellohello", SubmitOptions::default()),
        "0001000B916407281553F800000AE8329BFD4697D9EC37"
    );
    assert_eq!(
        single_hex("+33612345678", "hello", SubmitOptions::default()),
        "0001000B913316325476F8000005E8329BFD06"
    );
}

#[test]
fn tpdu_length_excludes_the_sca() {
    let parts = encoded("+46708251358", Body::Text("hellohello"), valid_for(5760));
    assert_eq!(parts[0].tpdu_len, 23); // AT+CMGS=23
}

#[test]
fn status_report_request_sets_tp_srr() {
    let options = SubmitOptions {
        request_status_report: true,
        ..SubmitOptions::default()
    };
    let hex = single_hex("+46708251358", "hellohello", options);
    assert_eq!(hex, "0021000B916407281553F800000AE8329BFD4697D9EC37");
    assert!(
        decode_submit(&from_hex(&hex).unwrap())
            .unwrap()
            .status_report_requested
    );
}

#[test]
fn ucs2_like_modemmanager() {
    // ModemManager test_create_pdu_ucs2_no_smsc, validity 5 minutes (TP-VP 0x00).
    assert_eq!(
        single_hex(
            "+15555551234",
            "Да здравствует король, детка!",
            valid_for(5)
        ),
        concat!(
            "0011000B915155551532F40008003A",
            "041404300020043704340440043004320441044204320443043504420020043A043E0440043E043B044C",
            "002C0020043404350442043A04300021",
        )
    );
}

#[test]
fn gsm7_like_modemmanager() {
    // ModemManager test_create_pdu_gsm_no_smsc and test_create_pdu_gsm_no_validity.
    assert_eq!(
        single_hex(
            "+15555551234",
            "Hi there...Tue 17th Jan 2012 05:30.18 pm (GMT+1) ΔΔΔΔΔ",
            valid_for(5)
        ),
        concat!(
            "0011000B915155551532F4000000",
            "36C834888E2ECBCB2E978B5A2F8362373A1AA40CBB4132584C0682D57433982B8603C1DB20D4B1495DC5",
            "52200804028100",
        )
    );
    assert_eq!(
        single_hex(
            "+15556661234",
            "This is really cool ΔΔΔΔΔ",
            SubmitOptions::default()
        ),
        "0001000B915155661632F400001954747A0E4ACF41F27298CDCE83C6EF371B0481402010"
    );
}

#[test]
fn extension_characters_take_two_septets() {
    let hex = single_hex("+46708251358", "€[]{}~^\\|", SubmitOptions::default());
    assert_eq!(
        hex,
        "0001000B916407281553F80000129BF286B7F16D509BD4A6B7A16C5E1B20"
    );
    let submit = decode_submit(&from_hex(&hex).unwrap()).unwrap();
    assert_eq!(submit.alphabet, Alphabet::Gsm7);
    assert_eq!(submit.content, Content::Text("€[]{}~^\\|".into()));
}

#[test]
fn two_part_message_matches_a_real_network_split() {
    // The text of ModemManager's test_pdu_multipart, split by a real sender at 153 septets.
    // The same user data, except that we leave the fill bit after the header 0 (A8, E8) where
    // that sender set it (A9, E9).
    let text = "This is a very long test designed to exercise multi part capability. It should \
                show up as one message, not as two, as the underlying encoding represents \
                that the parts are related to one another. ";
    let options = SubmitOptions {
        concat_reference: 0x4C,
        ..SubmitOptions::default()
    };
    let parts = encoded("+16175046925", Body::Text(text), options);
    let hex: Vec<String> = parts.iter().map(|part| to_hex(&part.pdu)).collect();
    assert_eq!(
        hex,
        [
            concat!(
                "0041000B916171056429F50000A00500034C0201A8E8F41C949E",
                "83C2207B599E07B1DFEE33885E9ED341E4F23C7D7697C920FA1B54C697E5E3F4BC0C6AD7D9F434",
                "081E96D341E3303C2C4EB3D3F4BC0B94A483E6E8779D4D06CDD1EF3BA80E0785E7A0B7BB0C6A97",
                "E7F3F0B9CC02B9DF7450780EA2DFDF2C50780EA2A3CBA0BA9B5C96B3F369F71954768FDFE4B4FB",
                "0C9297E1F2F2BCECA6CF41",
            ),
            concat!(
                "0041000B916171056429F50000320500034C0202E8E8301D44",
                "479741F0B09C3E0785E56590BCCC0ED3CB6410FD0D7ABBCBA0B0FB4D4797E52E10",
            ),
        ]
    );
    assert_eq!(parts[0].tpdu_len, 153);
}

#[test]
fn eight_bit_body() {
    let parts = encoded(
        "+46708251358",
        Body::Binary(&[0x00, 0xFF, 0x1B]),
        SubmitOptions::default(),
    );
    assert_eq!(to_hex(&parts[0].pdu), "0001000B916407281553F800040300FF1B");
}

#[test]
fn decodes_tutorial_and_phone_submits() {
    let cases = [
        // TP-VP relative, 4 days.
        (
            "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
            "+46708251358",
            0x00,
            "hellohello",
        ),
        // Class 0 ("flash", TP-DCS 0x10).
        (
            "0001010B915121551532F40010104190991D9EA341EDF27C1E3E9743",
            "+15125551234",
            0x01,
            "A flash message!",
        ),
        // Message waiting indication group (TP-DCS 0xC8), TP-MR 0xAB.
        (
            "0001AB0B915121551532F400C80F3190BB7C07D9DFE971B91D4EB301",
            "+15125551234",
            0xAB,
            "1 new voicemail",
        ),
        // With a service centre address in front, as stored on a SIM.
        (
            "0591438967450100089143214365000009E8721E444797E565",
            "+34123456",
            0x00,
            "hey there",
        ),
    ];
    for (hex, destination, reference, text) in cases {
        let submit = decode_submit(&from_hex(hex).unwrap()).unwrap();
        assert_eq!(submit.destination, destination, "{hex}");
        assert_eq!(submit.message_reference, reference, "{hex}");
        assert_eq!(submit.alphabet, Alphabet::Gsm7, "{hex}");
        assert_eq!(submit.content, Content::Text(text.into()), "{hex}");
        assert_eq!(submit.concat, None, "{hex}");
        assert!(!submit.status_report_requested, "{hex}");
    }
}

#[test]
fn decodes_ucs2_submit_stored_by_a_modem() {
    // ModemManager test_pdu_stored_by_us: national number, TP-SRR set.
    let submit = decode_submit(
        &from_hex(
            "002100098136397339F70008224F60597D4F60597D4F60597D4F60597D4F60597D4F60597D4F60597D4F60597D4F60",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(submit.destination, "639337937");
    assert!(submit.status_report_requested);
    assert_eq!(submit.alphabet, Alphabet::Ucs2);
    assert_eq!(
        submit.content,
        Content::Text("你好你好你好你好你好你好你好你好你".into())
    );
}

#[test]
fn decodes_concatenation_of_our_own_parts() {
    let options = SubmitOptions {
        concat_reference: 9,
        ..SubmitOptions::default()
    };
    let parts = encoded("0151", Body::Binary(&[7; 300]), options);
    let decoded: Vec<_> = parts
        .iter()
        .map(|part| decode_submit(&part.pdu).unwrap())
        .collect();
    assert_eq!(decoded.len(), 3);
    for (index, submit) in decoded.iter().enumerate() {
        assert_eq!(submit.destination, "0151");
        assert_eq!(submit.alphabet, Alphabet::Eight);
        let sequence = index as u8 + 1;
        assert_eq!(
            submit.concat,
            Some(Concat {
                reference: 9,
                total: 3,
                sequence
            })
        );
    }
    let lengths: Vec<usize> = decoded
        .iter()
        .map(|submit| match &submit.content {
            Content::Binary(bytes) => bytes.len(),
            Content::Text(_) => 0,
        })
        .collect();
    assert_eq!(lengths, [134, 134, 32]);
}
