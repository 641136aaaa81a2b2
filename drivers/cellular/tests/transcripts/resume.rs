//! Resuming a multipart SMS after a restart (daemon killed, driver restarted): the same
//! concatenation reference, and only the parts the modem did not acknowledge.

use std::collections::BTreeMap;

use m2mhal_driver_testkit::outgoing;
use m2mhal_plugin_api::{CallReply, Encoding, LogLevel, OutgoingMessage, Request};
use m2mhal_sms::{decode_submit, from_hex};

use crate::support::{Modem, ready_modem, take_payload};

/// 3 parts of GSM 7-bit text: 153 + 153 + 94 characters.
fn long_text(progress: BTreeMap<String, String>) -> OutgoingMessage {
    let mut message = outgoing(
        "m1",
        "+4915112345678",
        "0123456789".repeat(40).as_bytes(),
        Encoding::Text,
    );
    message.progress = progress;
    message
}

/// What the host has recorded about `m1`: every `MessageState` info merged, as its store does.
fn recorded(modem: &Modem) -> BTreeMap<String, String> {
    let mut info = BTreeMap::new();
    for change in modem.message_states.iter().filter(|c| c.id == "m1") {
        info.extend(change.info.clone());
    }
    info
}

/// The concatenation reference and sequence number of a part's PDU.
fn concat_of(pdu_hex: &str) -> (u16, u8) {
    let concat = decode_submit(&from_hex(pdu_hex).unwrap())
        .unwrap()
        .concat
        .unwrap();
    (concat.reference, concat.sequence)
}

#[test]
fn only_parts_without_an_answer_go_again_under_the_same_reference() {
    // The first daemon: part 1 acknowledged, part 2 at the prompt when it is killed.
    let mut first = ready_modem();
    first.send(long_text(BTreeMap::new()));
    let part1 = take_payload(&mut first, "AT+CMGS=154");
    first.rx("\r\n+CMGS: 12\r\n\r\nOK\r\n");
    let part2 = take_payload(&mut first, "AT+CMGS=154");
    let progress = recorded(&first);
    assert_eq!(progress["parts_sent"], "1", "recorded before part 2 went");
    assert_eq!(progress["message_references"], "12");

    // The restarted daemon hands the message back with what was recorded.
    let mut second = ready_modem();
    let call = second.call(Request::Send(long_text(progress)));
    assert!(second.logged(LogLevel::Info, "resuming after part 1 of 3"));
    let again = take_payload(&mut second, "AT+CMGS=154");
    assert_eq!(
        again, part2,
        "part 2, byte for byte: same reference, same sequence"
    );
    assert_ne!(again, part1);
    assert_eq!(concat_of(&again).1, 2);
    second.rx("\r\n+CMGS: 13\r\n\r\nOK\r\n");
    assert_eq!(recorded(&second)["parts_sent"], "2");
    let part3 = take_payload(&mut second, "AT+CMGS=103");
    assert_eq!(concat_of(&part3), (concat_of(&part1).0, 3));
    second.rx("\r\n+CMGS: 14\r\n\r\nOK\r\n");
    assert_eq!(
        second.reply(call),
        Ok(CallReply::Sent(BTreeMap::from([
            ("message_references".to_owned(), "12,13,14".to_owned()),
            ("parts".to_owned(), "3".to_owned()),
        ])))
    );
    second.expect_no_tx();
}

#[test]
fn a_message_acknowledged_in_full_before_the_kill_is_not_sent_again() {
    let progress = BTreeMap::from([
        ("concat_reference".to_owned(), "4".to_owned()),
        ("parts".to_owned(), "3".to_owned()),
        ("parts_sent".to_owned(), "3".to_owned()),
        ("message_references".to_owned(), "7,8,9".to_owned()),
    ]);
    let mut modem = ready_modem();
    let call = modem.call(Request::Send(long_text(progress)));
    assert_eq!(
        modem.reply(call),
        Ok(CallReply::Sent(BTreeMap::from([
            ("message_references".to_owned(), "7,8,9".to_owned()),
            ("parts".to_owned(), "3".to_owned()),
        ])))
    );
    modem.expect_no_tx();
}

#[test]
fn a_record_that_does_not_fit_the_message_sends_it_whole_under_a_new_reference() {
    let progress = BTreeMap::from([
        ("concat_reference".to_owned(), "9".to_owned()),
        ("parts".to_owned(), "2".to_owned()),
        ("parts_sent".to_owned(), "1".to_owned()),
        ("message_references".to_owned(), "7".to_owned()),
    ]);
    let mut modem = ready_modem();
    modem.call(Request::Send(long_text(progress)));
    let part1 = take_payload(&mut modem, "AT+CMGS=154");
    assert_eq!(concat_of(&part1), (0, 1));
}
