//! Sending SMS: `AT+CMGS=<length>`, the `> ` prompt, the PDU in hex and Ctrl-Z.

use std::collections::BTreeMap;

use m2mhal_driver_testkit::{StateChange, outgoing};
use m2mhal_plugin_api::{
    CallErrorKind, CallReply, Encoding, MessageState, OutgoingMessage, Request,
};
use m2mhal_sms::{Content, decode_submit, from_hex};

use crate::support::{
    Modem, answer_sim_ready, configure_after_sim, configure_until_listing, identify, ready_modem,
    take_payload,
};

fn text(id: &str, text: &str) -> OutgoingMessage {
    outgoing(id, "+4915112345678", text.as_bytes(), Encoding::Text)
}

fn sent(parts: usize, references: &str) -> Result<CallReply, m2mhal_plugin_api::CallError> {
    Ok(CallReply::Sent(BTreeMap::from([
        ("message_references".to_owned(), references.to_owned()),
        ("parts".to_owned(), parts.to_string()),
    ])))
}

#[test]
fn single_gsm7_message() {
    let mut modem = ready_modem();
    let call = modem.call(Request::Send(text("m1", "hi")));
    assert_eq!(
        modem.message_states,
        [StateChange {
            id: "m1".to_owned(),
            state: MessageState::Sending,
            error: String::new(),
            // Recorded before the part goes, so that a restart resumes it (see resume.rs).
            info: BTreeMap::from([
                ("concat_reference".to_owned(), "0".to_owned()),
                ("message_references".to_owned(), String::new()),
                ("parts".to_owned(), "1".to_owned()),
                ("parts_sent".to_owned(), "0".to_owned()),
            ]),
        }]
    );
    modem.expect_tx("AT+CMGS=16");
    modem.rx("\r\n> ");
    // SCA 00 (the SIM's), SUBMIT, MR 0, 13 international digits, PID 0, DCS 0 (GSM 7-bit),
    // 2 septets "hi" packed as E8 34.
    modem.expect_bytes(b"0001000D91945111325476F8000002E834\x1a");
    modem.rx("\r\n+CMGS: 12\r\n\r\nOK\r\n");
    assert_eq!(modem.reply(call), sent(1, "12"));
    modem.expect_no_tx();
}

#[test]
fn single_ucs2_message_with_an_emoji() {
    let mut modem = ready_modem();
    let call = modem.call(Request::Send(text("m2", "Hi 👋")));
    // DCS 08 (UCS-2), 10 octets: H i space and the surrogate pair D83D DC4B.
    let pdu = take_payload(&mut modem, "AT+CMGS=24");
    assert_eq!(pdu, "0001000D91945111325476F800080A004800690020D83DDC4B");
    modem.rx("\r\n+CMGS: 200\r\n\r\nOK\r\n");
    assert_eq!(modem.reply(call), sent(1, "200"));
}

#[test]
fn multipart_message_with_echoed_prompt_payload() {
    let mut modem = ready_modem();
    let body = "Lorem ipsum dolor sit amet, ".repeat(8); // 224 characters: 2 parts of 153 + 71
    let call = modem.call(Request::Send(text("m3", &body)));
    let first = take_payload(&mut modem, "AT+CMGS=154");
    // This modem echoes the PDU before answering.
    modem.rx(&format!("{first}\r\n+CMGS: 12\r\n\r\nOK\r\n"));
    let second = take_payload(&mut modem, "AT+CMGS=83");
    modem.rx("\r\n+CMGS: 13\r\n\r\nOK\r\n");
    assert_eq!(modem.reply(call), sent(2, "12,13"));

    let parts: Vec<_> = [first, second]
        .iter()
        .map(|hex| decode_submit(&from_hex(hex).unwrap()).unwrap())
        .collect();
    assert_eq!(parts[0].destination, "+4915112345678");
    let concat: Vec<_> = parts.iter().map(|part| part.concat.unwrap()).collect();
    assert_eq!(
        (concat[0].total, concat[0].sequence, concat[1].sequence),
        (2, 1, 2)
    );
    assert_eq!(concat[0].reference, concat[1].reference);
    let joined: String = parts
        .iter()
        .map(|part| match &part.content {
            Content::Text(text) => text.clone(),
            Content::Binary(_) => panic!("binary part"),
        })
        .collect();
    assert_eq!(joined, body);

    // The next long message gets another concatenation reference.
    let again = modem.call(Request::Send(text("m4", &body)));
    let next = take_payload(&mut modem, "AT+CMGS=154");
    let next_reference = decode_submit(&from_hex(&next).unwrap())
        .unwrap()
        .concat
        .unwrap()
        .reference;
    assert_ne!(next_reference, concat[0].reference);
    modem.rx("\r\n+CMGS: 14\r\n\r\nOK\r\n");
    let _ = take_payload(&mut modem, "AT+CMGS=83");
    modem.rx("\r\n+CMGS: 15\r\n\r\nOK\r\n");
    assert_eq!(modem.reply(again), sent(2, "14,15"));
}

#[test]
fn cms_error_fails_the_message_with_its_meaning() {
    let mut modem = ready_modem();
    let call = modem.call(Request::Send(text("m5", "hi")));
    let _ = take_payload(&mut modem, "AT+CMGS=16");
    modem.rx("\r\n+CMS ERROR: 500\r\n");
    let error = modem.reply(call).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::Failed);
    assert_eq!(
        error.message,
        "part 1 of 1 not sent: CMS error 500: unknown error"
    );

    // The second part of a long message fails: the message fails, the next one goes out.
    let long = modem.call(Request::Send(text("m6", &"x".repeat(200))));
    let short = modem.call(Request::Send(text("m7", "hi")));
    let _ = take_payload(&mut modem, "AT+CMGS=154");
    modem.rx("\r\n+CMGS: 20\r\n\r\nOK\r\n");
    let _ = take_payload(&mut modem, "AT+CMGS=62");
    modem.rx("\r\n+CMS ERROR: 331\r\n");
    let error = modem.reply(long).unwrap_err();
    assert_eq!(
        error.message,
        "part 2 of 2 not sent: CMS error 331: no network service"
    );
    let _ = take_payload(&mut modem, "AT+CMGS=16");
    modem.rx("\r\n+CMGS: 21\r\n\r\nOK\r\n");
    assert_eq!(modem.reply(short), sent(1, "21"));
}

#[test]
fn binary_message_is_sent_as_8bit_data() {
    let mut modem = ready_modem();
    let call = modem.call(Request::Send(outgoing(
        "m8",
        "+4915112345678",
        &[0xDE, 0xAD, 0xBE, 0xEF],
        Encoding::Binary,
    )));
    let pdu = take_payload(&mut modem, "AT+CMGS=18");
    assert_eq!(pdu, "0001000D91945111325476F8000404DEADBEEF");
    modem.rx("\r\n+CMGS: 7\r\n\r\nOK\r\n");
    assert_eq!(modem.reply(call), sent(1, "7"));
}

#[test]
fn send_waits_until_the_modem_is_ready() {
    let mut modem = Modem::new();
    let offline = modem.call(Request::Send(text("m0", "hi")));
    assert_eq!(
        modem.reply(offline).unwrap_err().kind,
        CallErrorKind::NotReady
    );

    modem.open();
    let call = modem.call(Request::Send(text("m9", "hi")));
    identify(&mut modem);
    answer_sim_ready(&mut modem);
    configure_until_listing(&mut modem);
    assert!(!modem.replies.contains_key(&call));
    modem.ok("AT+CMGL=4", &[]);
    let _ = take_payload(&mut modem, "AT+CMGS=16");
    modem.rx("\r\n+CMGS: 1\r\n\r\nOK\r\n");
    assert_eq!(modem.reply(call), sent(1, "1"));
}

#[test]
fn a_missing_sim_fails_waiting_messages() {
    let mut modem = Modem::new();
    modem.open();
    let call = modem.call(Request::Send(text("m10", "hi")));
    identify(&mut modem);
    modem.fails("AT+CPIN?", "+CME ERROR: 10");
    let error = modem.reply(call).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::NotReady);
    assert!(error.message.contains("sim-missing"));
    // Later the SIM shows up and the modem becomes ready without that message.
    modem.advance(15_000);
    answer_sim_ready(&mut modem);
    configure_after_sim(&mut modem, &[]);
}

#[test]
fn check_message_validates_without_io() {
    let mut modem = ready_modem();
    let ok = modem.call(Request::CheckMessage(text("c1", "hello")));
    assert_eq!(modem.reply(ok), Ok(CallReply::Done));

    let bad_number = modem.call(Request::CheckMessage(outgoing(
        "c2",
        "0151-1234",
        b"hi",
        Encoding::Text,
    )));
    let error = modem.reply(bad_number).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::InvalidArgument);
    assert!(error.message.contains("0151-1234"), "{}", error.message);

    // Letters are semi-octets an address field can carry, but no number anyone can be sent to.
    for (id, destination) in [("c2a", "+1555abc"), ("c2b", "+12"), ("c2c", "*100#")] {
        let call = modem.call(Request::CheckMessage(outgoing(
            id,
            destination,
            b"hi",
            Encoding::Text,
        )));
        let error = modem.reply(call).unwrap_err();
        assert_eq!(error.kind, CallErrorKind::InvalidArgument, "{destination}");
        assert!(
            error
                .message
                .contains(&format!("destination: {destination:?}")),
            "{}",
            error.message
        );
    }

    let bad_text = modem.call(Request::CheckMessage(outgoing(
        "c3",
        "+4915112345678",
        b"\xc3\x28",
        Encoding::Text,
    )));
    assert_eq!(
        modem.reply(bad_text).unwrap_err().kind,
        CallErrorKind::InvalidArgument
    );

    let too_big = modem.call(Request::CheckMessage(text("c4", &"x".repeat(1201))));
    assert_eq!(
        modem.reply(too_big).unwrap_err().kind,
        CallErrorKind::PayloadTooLarge
    );

    // Before the port is even open.
    let mut closed = Modem::new();
    let early = closed.call(Request::CheckMessage(text("c5", "hello")));
    assert_eq!(closed.reply(early), Ok(CallReply::Done));

    modem.expect_no_tx();
}
