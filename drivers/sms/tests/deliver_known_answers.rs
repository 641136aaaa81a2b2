//! SMS-DELIVER and SMS-STATUS-REPORT PDUs as modems print them in +CMGR/+CMGL/+CMT/+CDS, from
//! public tutorials and the test suites of other SMS stacks, decoded field by field.

use m2mhal_sms::{
    Alphabet, Concat, Content, DeliveryOutcome, MessageType, SmsError, decode_deliver,
    decode_status_report, decode_submit, from_hex, message_type,
};

fn pdu(hex: &str) -> Vec<u8> {
    from_hex(hex).unwrap()
}

fn text(value: &str) -> Content {
    Content::Text(value.to_owned())
}

#[test]
fn classic_how_are_you() {
    // The "hellohello" tutorial PDU. Its time zone octet 0x08 has only the sign bit set: -0
    // quarter hours, so the local time 2002-08-26 19:37:41 is UTC.
    let deliver = decode_deliver(&pdu(
        "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
    ))
    .unwrap();
    assert_eq!(deliver.smsc.as_deref(), Some("+31624000000"));
    assert_eq!(deliver.originator, "+31641600986");
    assert_eq!(deliver.timestamp, 1_030_390_661);
    assert_eq!(deliver.alphabet, Alphabet::Gsm7);
    assert_eq!(deliver.concat, None);
    assert_eq!(deliver.content, text("How are you?"));
}

#[test]
fn extension_characters_and_negative_time_zone() {
    // ModemManager test_pdu1: 2011-02-28 11:50:50 -05:00 (time zone octet 0x0A).
    let deliver = decode_deliver(&pdu(concat!(
        "07912104442961F4040B916171957291F800001120821105050A6AC8B2BC7C9A83C220F6DB7D2ECB41EDF27C",
        "1E3E97411BDE06754FD3D1A0F9BB5D0695F1F4B29B5C2683C6E8B03C3CA697E5F34D6AE303D1D1F2F7DD0D4A",
        "BB59A0797D8C0685E7A00028EC26832A960B28EC2683BE6050780EBA97D96C17",
    )))
    .unwrap();
    assert_eq!(deliver.smsc.as_deref(), Some("+12404492164"));
    assert_eq!(deliver.originator, "+16175927198");
    assert_eq!(deliver.timestamp, 1_298_911_850);
    assert_eq!(
        deliver.content,
        text(
            "Here's a longer message [{with some extended characters}] \
             thrown in, such as £ and ΩΠΨ and §¿ as well."
        )
    );
}

#[test]
fn alphanumeric_sender_with_ucs2_text() {
    // ModemManager test_pdu2: sender "InternetSMS" (type of address 0xD0, 20 semi-octets).
    let deliver = decode_deliver(&pdu(
        "07919730071111F10414D04937BD2C7797E9D3E61400081130929102406108044204350441044204",
    ))
    .unwrap();
    assert_eq!(deliver.smsc.as_deref(), Some("+79037011111"));
    assert_eq!(deliver.originator, "InternetSMS");
    assert_eq!(deliver.timestamp, 1_301_412_004); // 2011-03-29 19:20:04 +04:00
    assert_eq!(deliver.alphabet, Alphabet::Ucs2);
    assert_eq!(deliver.content, text("тест"));
}

#[test]
fn national_number_has_no_plus() {
    // ModemManager test_pdu3_natl: type of address 0x81.
    let deliver = decode_deliver(&pdu(
        "07912143658709F1040B818100551512F20000111010214365000AE8329BFD4697D9EC37",
    ))
    .unwrap();
    assert_eq!(deliver.originator, "18005551212");
    assert_eq!(deliver.timestamp, 1_293_885_296); // 2011-01-01 12:34:56 +00:00
    assert_eq!(deliver.content, text("hellohello"));
}

#[test]
fn subscriber_number_and_last_century() {
    // Type of address 0xC8, odd digit count (F padding), 1999-03-29 15:16:59 +02:00.
    let deliver = decode_deliver(&pdu(
        "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
    ))
    .unwrap();
    assert_eq!(deliver.smsc.as_deref(), Some("+27381000015"));
    assert_eq!(deliver.originator, "27838890001");
    assert_eq!(deliver.timestamp, 922_713_419);
    assert_eq!(deliver.content, text("hellohello"));
}

#[test]
fn eight_bit_data_in_both_coding_groups() {
    // ModemManager test_pdu3_8bit (DCS 0x04) and test_pdu_dcsf_8bit (DCS 0xF4).
    for dcs in ["04", "F4"] {
        let deliver = decode_deliver(&pdu(&format!(
            "07912143658709F1040B918100551512F200{dcs}111010214365000AE8329BFD4697D9EC37DE"
        )))
        .unwrap();
        assert_eq!(deliver.originator, "+18005551212");
        assert_eq!(deliver.alphabet, Alphabet::Eight);
        assert_eq!(
            deliver.content,
            Content::Binary(vec![
                0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37, 0xDE
            ])
        );
    }
}

#[test]
fn full_160_septets_in_dcs_group_f() {
    // ModemManager test_pdu_dcsf1: DCS 0xF1 (GSM 7-bit, class 1), TP-UDL 160, sender type 0x85.
    let deliver = decode_deliver(&pdu(concat!(
        "07913306091093F0040485810000F111604231805180A049B7F90D9A1AA5A01668F8769BD3E4B29B9E2EB359",
        "A03FC85D06A9C3ED707A0EA2CBC3EE79BB4CA7CBCBA05643617DA7C76990FD4D979741EE77DD5E0ED741ED37",
        "1D442E83E0E1F9BC0CD281E677D9B84C06C1DF7539E85C9097E520FB9B2E2F83C6EF369C5E064D8D52D0BC2E",
        "07DDEF77D7DC2C7799E5A0771D040FCB41F402BB0047BFDD6550B80ECAD966",
    )))
    .unwrap();
    assert_eq!(deliver.smsc.as_deref(), Some("+33609001390"));
    assert_eq!(deliver.originator, "1800");
    assert_eq!(deliver.timestamp, 1_308_913_695); // 2011-06-24 13:08:15 +02:00
    assert_eq!(deliver.alphabet, Alphabet::Gsm7);
    assert_eq!(
        deliver.content,
        text(
            "Info SFR - Confidentiel, à ne jamais transmettre -\r\n\
             Voici votre nouveau mot de passe : sw2ced pour gérer \
             votre compte SFR sur www.sfr.fr ou par téléphone au 963"
        )
    );
}

#[test]
fn sixteen_bit_reference_with_7bit_text() {
    // KPN welcome message (ModemManager test_pdu_udhi): UDH 06 08 04 0010 02 01.
    let deliver = decode_deliver(&pdu(concat!(
        "07911356131313F64004850120390011609232239180A006080400100201D7327BFD6EB340E232",
        "1BF46E83EA7790F59D1E97DBE1341B442F83C465763D3DA797E56537C81D0ECB41AB59CC1693C1",
        "6031D96C064241E5656838AF03A96230982A269BCD462917C8FA4E8FCBED709A0D7ABBE9F6B0FB",
        "5C7683D27350984D4FABC9A0B33C4C4FCF5D20EBFB2D079DCB62793DBD06D9C36E50FB2D4E97D9",
        "A0B49B5E96BBCB",
    )))
    .unwrap();
    assert_eq!(deliver.originator, "1002");
    assert_eq!(deliver.timestamp, 1_309_383_139); // 2011-06-29 23:32:19 +02:00
    assert_eq!(
        deliver.concat,
        Some(Concat {
            reference: 0x0010,
            total: 2,
            sequence: 1
        })
    );
    assert_eq!(
        deliver.content,
        text(
            "Welkom, bel om uw Voicemail te beluisteren naar +31612001233 \
             (PrePay: *100*1233#). Voicemail ontvangen is altijd gratis. \
             Voor gebruik van mobiel interne"
        )
    );
}

#[test]
fn eight_bit_reference_with_fill_bit() {
    // ModemManager test_pdu_multipart, part 1: UDH 05 00 03 4C 02 01 and one fill bit.
    let deliver = decode_deliver(&pdu(concat!(
        "07912160130320F5440B916171056429F5000021405291650569A00500034C0201A9E8F41C949E",
        "83C2207B599E07B1DFEE33885E9ED341E4F23C7D7697C920FA1B54C697E5E3F4BC0C6AD7D9F434",
        "081E96D341E3303C2C4EB3D3F4BC0B94A483E6E8779D4D06CDD1EF3BA80E0785E7A0B7BB0C6A97",
        "E7F3F0B9CC02B9DF7450780EA2DFDF2C50780EA2A3CBA0BA9B5C96B3F369F71954768FDFE4B4FB",
        "0C9297E1F2F2BCECA6CF41",
    )))
    .unwrap();
    assert_eq!(deliver.timestamp, 1_335_398_210); // 2012-04-25 19:56:50 -04:00
    assert_eq!(
        deliver.concat,
        Some(Concat {
            reference: 0x4C,
            total: 2,
            sequence: 1
        })
    );
    assert_eq!(
        deliver.content,
        text(
            "This is a very long test designed to exercise multi part capability. It should \
             show up as one message, not as two, as the underlying encoding represents "
        )
    );
}

#[test]
fn ucs2_part_with_alphanumeric_sender_and_16bit_reference() {
    let deliver = decode_deliver(&pdu(concat!(
        "07919730071111F14007D0CD21720A0008718042814134218B0608040AE50301041D04300020043E0441",
        "043D043E04320430043D043804380020043F0440043E0433043D043E0437043000200424041304110423",
        "002000AB04260435043D044204400430043B044C043D043E0435002004230413041C042100BB00200032",
        "003400200430043204330443044104420430002004320020041C043E0441043A043204350020",
    )))
    .unwrap();
    assert_eq!(deliver.originator, "MCHS");
    assert_eq!(deliver.timestamp, 1_503_587_683); // 2017-08-24 18:14:43 +03:00
    assert_eq!(
        deliver.concat,
        Some(Concat {
            reference: 0x0AE5,
            total: 3,
            sequence: 1
        })
    );
    assert_eq!(
        deliver.content,
        text("На основании прогноза ФГБУ «Центральное УГМС» 24 августа в Москве ")
    );
}

#[test]
fn status_report_is_recognised_and_decoded() {
    // ModemManager test_pdu_not_stored: TP-ST 0x30, the service centre is still trying.
    let report = pdu("07914356060013F1065A098136397339F7219011700463802190117004638030");
    assert_eq!(message_type(&report), Ok(MessageType::StatusReport));
    let error = decode_deliver(&report).unwrap_err();
    assert_eq!(
        error,
        SmsError::UnexpectedMessageType {
            expected: MessageType::Deliver,
            found: MessageType::StatusReport
        }
    );
    assert_eq!(
        error.to_string(),
        "PDU is of type SMS-STATUS-REPORT, expected SMS-DELIVER"
    );

    let report = decode_status_report(&report).unwrap();
    assert_eq!(report.smsc.as_deref(), Some("+34656000311"));
    assert_eq!(report.message_reference, 0x5A);
    assert_eq!(report.recipient, "639337937");
    assert_eq!(report.submitted, 1_347_342_036); // 2012-09-11 07:40:36 +02:00
    assert_eq!(report.discharged, 1_347_342_036);
    assert_eq!(report.status, 0x30);
    assert_eq!(report.outcome(), DeliveryOutcome::Pending);
}

#[test]
fn a_submit_is_not_a_deliver_and_vice_versa() {
    let submit = pdu("0011000B916407281553F80000AA0AE8329BFD4697D9EC37");
    assert_eq!(message_type(&submit), Ok(MessageType::Submit));
    assert_eq!(
        decode_deliver(&submit).unwrap_err().to_string(),
        "PDU is of type SMS-SUBMIT, expected SMS-DELIVER"
    );
    let deliver =
        pdu("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07");
    assert_eq!(
        decode_submit(&deliver).unwrap_err().to_string(),
        "PDU is of type SMS-DELIVER, expected SMS-SUBMIT"
    );
}

#[test]
fn truncated_pdus_name_the_missing_field() {
    let full = pdu("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07");
    assert_eq!(full.len(), 38);
    assert!(decode_deliver(&full).is_ok());
    let cases = [
        (0, "SCA"),
        (5, "SCA"),
        (8, "first octet"),
        (12, "TP-OA"),
        (17, "TP-PID"),
        (18, "TP-DCS"),
        (20, "TP-SCTS"),
        (26, "TP-UDL"),
        (27, "TP-UD"),
        (37, "TP-UD"),
    ];
    for (length, field) in cases {
        assert_eq!(
            decode_deliver(&full[..length]),
            Err(SmsError::Truncated { field }),
            "{length} octets"
        );
    }
    assert_eq!(
        decode_deliver(&full[..30]).unwrap_err().to_string(),
        "PDU truncated at TP-UD"
    );
}

#[test]
fn compressed_text_is_refused_clearly() {
    let error = decode_deliver(&pdu(
        "07911326040000F0040B911346610089F60020208062917314080CC8F71D14969741F977FD07",
    ))
    .unwrap_err();
    assert_eq!(error, SmsError::CompressedUserData { dcs: 0x20 });
}

mod encoding {
    //! What `encode_deliver` writes for the simulator, checked against the same real PDUs.

    use m2mhal_sms::{Body, DeliverOptions, PhoneNumber, SmsError, encode_deliver, to_hex};

    fn number(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    #[test]
    fn reproduces_a_single_part_deliver() {
        let options = DeliverOptions {
            timestamp: 1_293_885_296, // 2011-01-01 12:34:56
            utc_offset_quarters: 0,
            concat_reference: 0,
            smsc: Some(number("+12345678901")),
        };
        let pdus = encode_deliver(&number("+18005551212"), Body::Text("hellohello"), &options);
        let hex: Vec<String> = pdus.unwrap().iter().map(|pdu| to_hex(pdu)).collect();
        assert_eq!(
            hex,
            ["07912143658709F1040B918100551512F20000111010214365000AE8329BFD4697D9EC37"]
        );
    }

    #[test]
    fn reproduces_a_real_two_part_deliver() {
        // ModemManager test_pdu_multipart. The real part 2 came a second later through another
        // SMSC (…26, 19:56:51); ours carries the options of part 1 throughout. The real sender
        // set the fill bit after the header to 1 (A9, E9); we leave fill bits 0 (A8, E8).
        let options = DeliverOptions {
            timestamp: 1_335_398_210,
            utc_offset_quarters: -16, // -04:00
            concat_reference: 0x4C,
            smsc: Some(number("+12063130025")),
        };
        let text = "This is a very long test designed to exercise multi part capability. It should \
                    show up as one message, not as two, as the underlying encoding represents \
                    that the parts are related to one another. ";
        let pdus = encode_deliver(&number("+16175046925"), Body::Text(text), &options).unwrap();
        let hex: Vec<String> = pdus.iter().map(|pdu| to_hex(pdu)).collect();
        assert_eq!(
            hex,
            [
                concat!(
                    "07912160130320F5440B916171056429F5000021405291650569A00500034C0201A8E8F41C949E",
                    "83C2207B599E07B1DFEE33885E9ED341E4F23C7D7697C920FA1B54C697E5E3F4BC0C6AD7D9F434",
                    "081E96D341E3303C2C4EB3D3F4BC0B94A483E6E8779D4D06CDD1EF3BA80E0785E7A0B7BB0C6A97",
                    "E7F3F0B9CC02B9DF7450780EA2DFDF2C50780EA2A3CBA0BA9B5C96B3F369F71954768FDFE4B4FB",
                    "0C9297E1F2F2BCECA6CF41",
                ),
                concat!(
                    "07912160130320F5440B916171056429F5000021405291650569320500034C0202E8E8301D4447",
                    "9741F0B09C3E0785E56590BCCC0ED3CB6410FD0D7ABBCBA0B0FB4D4797E52E10",
                ),
            ]
        );
    }

    #[test]
    fn refuses_time_stamps_scts_cannot_hold() {
        let originator = number("+4915112345678");
        let at = |timestamp, utc_offset_quarters| DeliverOptions {
            timestamp,
            utc_offset_quarters,
            ..DeliverOptions::default()
        };
        assert_eq!(
            encode_deliver(&originator, Body::Text("x"), &at(0, 0)),
            Err(SmsError::TimestampOutOfRange {
                timestamp: 0,
                utc_offset_quarters: 0
            })
        );
        assert_eq!(
            encode_deliver(&originator, Body::Text("x"), &at(1_293_885_296, -80)),
            Err(SmsError::UtcOffsetOutOfRange { quarters: -80 })
        );
        let pdus = encode_deliver(&originator, Body::Text("x"), &at(1_293_885_296, 0)).unwrap();
        assert_eq!(pdus[0][0], 0x00, "no SMSC given: empty SCA");
    }
}
