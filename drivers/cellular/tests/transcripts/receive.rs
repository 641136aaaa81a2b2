//! Receiving SMS: `+CMTI` and `AT+CMGR`, `AT+CMGL=4` at start-up and on `Poll`, `+CMT` direct
//! delivery, reassembly, and deletion only after the host committed the message.

use std::collections::BTreeMap;

use m2mhal_plugin_api::{CallReply, LogLevel, Request};
use m2mhal_sms::{Body, DeliverOptions, PhoneNumber, encode_deliver, to_hex};

use crate::support::{
    EPOCH, Identity, Modem, answer_imsi_and_iccid, answer_refresh, answer_registration_reports,
    answer_sim_ready, configure_after_sim, configure_until_listing, identify, identify_as,
    ready_modem, ready_modem_with,
};

/// Sent two minutes before the test's clock starts, from a German service centre (UTC+1).
const SENT_AT: u64 = EPOCH - 120;

/// The SMS-DELIVER PDUs (hex, SCA included) of `text` from `from`.
fn deliver(from: &str, text: &str, reference: u8) -> Vec<String> {
    let options = DeliverOptions {
        timestamp: SENT_AT as i64,
        utc_offset_quarters: 4,
        concat_reference: reference,
        smsc: Some(PhoneNumber::parse("+491710760000").unwrap()),
    };
    encode_deliver(
        &PhoneNumber::parse(from).unwrap(),
        Body::Text(text),
        &options,
    )
    .unwrap()
    .iter()
    .map(|pdu| to_hex(pdu))
    .collect()
}

/// TPDU length for the `+CMGR`/`+CMGL` header: octets after the SCA.
fn tpdu_len(pdu: &str) -> usize {
    let sca = usize::from_str_radix(&pdu[..2], 16).unwrap();
    pdu.len() / 2 - sca - 1
}

fn read_answer(pdu: &str) -> String {
    format!("\r\n+CMGR: 0,,{}\r\n{pdu}\r\n\r\nOK\r\n", tpdu_len(pdu))
}

fn list_line(index: u32, stat: u8, pdu: &str) -> [String; 2] {
    [
        format!("+CMGL: {index},{stat},,{}", tpdu_len(pdu)),
        pdu.to_owned(),
    ]
}

#[test]
fn single_message_via_cmti_deleted_only_after_commit() {
    let mut modem = ready_modem();
    let pdu = &deliver("+4917612345678", "Hello from the field", 0)[0];
    modem.rx("\r\n+CMTI: \"ME\",3\r\n");
    modem.exchange("AT+CMGR=3", &read_answer(pdu));

    assert_eq!(modem.received.len(), 1);
    let message = modem.received[0].clone();
    assert_eq!(message.peer, "+4917612345678");
    assert_eq!(message.text.as_deref(), Some("Hello from the field"));
    assert_eq!(message.payload, b"Hello from the field");
    assert_eq!(message.timestamp, SENT_AT);
    assert_eq!(
        message.info,
        BTreeMap::from([
            ("parts".to_owned(), "1".to_owned()),
            ("smsc".to_owned(), "+491710760000".to_owned())
        ])
    );
    assert_eq!(message.key.len(), 16);
    assert!(message.key.chars().all(|c| c.is_ascii_hexdigit()));

    // Nothing is deleted until the host has the message.
    modem.expect_no_tx();
    modem.advance(29_000);
    modem.expect_no_tx();
    let key = message.key.clone();
    modem.commit("0000000000000000");
    modem.expect_no_tx();
    modem.commit(&key);
    modem.ok("AT+CMGD=3", &[]);
    modem.expect_no_tx();
}

#[test]
fn cmti_between_a_command_and_its_result() {
    let mut modem = ready_modem();
    let call = modem.call(Request::Command {
        line: "AT+CSQ".into(),
        timeout_ms: 2000,
    });
    modem.exchange(
        "AT+CSQ",
        "\r\n+CMTI: \"ME\",4\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n",
    );
    assert_eq!(
        modem.reply(call),
        Ok(CallReply::Text("+CSQ: 20,99\nOK".into()))
    );
    let pdu = &deliver("+4917612345678", "between", 0)[0];
    modem.exchange("AT+CMGR=4", &read_answer(pdu));
    assert_eq!(modem.received[0].text.as_deref(), Some("between"));
}

#[test]
fn multipart_parts_out_of_order_via_cmti() {
    let mut modem = ready_modem();
    let text = "A long report from station 7: ".repeat(7); // 210 characters, 2 parts
    let parts = deliver("+4917612345678", &text, 42);
    assert_eq!(parts.len(), 2);

    modem.rx("\r\n+CMTI: \"ME\",5\r\n");
    modem.exchange("AT+CMGR=5", &read_answer(&parts[1]));
    assert!(modem.received.is_empty(), "the first part is still missing");
    modem.rx("\r\n+CMTI: \"ME\",6\r\n");
    modem.exchange("AT+CMGR=6", &read_answer(&parts[0]));

    assert_eq!(modem.received.len(), 1);
    let message = modem.received[0].clone();
    assert_eq!(message.text.as_deref(), Some(text.as_str()));
    assert_eq!(message.info["parts"], "2");
    modem.expect_no_tx();
    modem.commit(&message.key);
    // Parts in sequence order.
    modem.ok("AT+CMGD=6", &[]);
    modem.ok("AT+CMGD=5", &[]);
    modem.expect_no_tx();
}

#[test]
fn a_repeated_part_is_deleted_at_once_and_a_conflicting_one_left() {
    let mut modem = ready_modem();
    let text = "A long report from station 7: ".repeat(7); // 2 parts
    let parts = deliver("+4917612345678", &text, 42);
    modem.rx("\r\n+CMTI: \"ME\",5\r\n");
    modem.exchange("AT+CMGR=5", &read_answer(&parts[1]));

    // The network delivers part 2 again (its acknowledgement got lost): the copy at index 6
    // would otherwise hold a storage slot for ever.
    modem.rx("\r\n+CMTI: \"ME\",6\r\n");
    modem.exchange("AT+CMGR=6", &read_answer(&parts[1]));
    modem.ok("AT+CMGD=6", &[]);
    assert!(
        modem.logged(LogLevel::Info, "came again"),
        "{:?}",
        modem.logs
    );

    // A different part 2 under the same reference (it wrapped around) cannot join: it stays.
    let other = deliver(
        "+4917612345678",
        &"Another report, other text. ".repeat(8),
        42,
    );
    modem.rx("\r\n+CMTI: \"ME\",7\r\n");
    modem.exchange("AT+CMGR=7", &read_answer(&other[1]));
    modem.expect_no_tx();
    assert!(
        modem.logged(LogLevel::Warn, "left on the modem"),
        "{:?}",
        modem.logs
    );

    // The message completes from the parts first read.
    modem.rx("\r\n+CMTI: \"ME\",8\r\n");
    modem.exchange("AT+CMGR=8", &read_answer(&parts[0]));
    assert_eq!(modem.received.len(), 1);
    assert_eq!(modem.received[0].text.as_deref(), Some(text.as_str()));
    let key = modem.received[0].key.clone();
    modem.commit(&key);
    modem.ok("AT+CMGD=8", &[]);
    modem.ok("AT+CMGD=5", &[]);
    modem.expect_no_tx();
}

#[test]
fn storage_read_at_startup_with_multipart_status_report_and_junk() {
    let long = deliver("+4917612345678", &"0123456789".repeat(20), 9);
    let short = &deliver("+4369912345678", "Grüße aus Wien", 0)[0];
    // A status report stored by AT+CNMI ds=2 (TP-MR 12, delivered), a stored outgoing message
    // (stat 2, SMS-SUBMIT) and a PDU no decoder understands.
    let report = "0006" /* SCA none, STATUS-REPORT */
        .to_owned()
        + "0C0D91945111325476F8"
        + "42111121400040"
        + "42111121401040"
        + "00";
    let outgoing = "0001000D91945111325476F8000002E834";
    let junk = "07919471016700F0FF";
    let mut stored: Vec<String> = Vec::new();
    stored.extend(list_line(1, 1, &long[1]));
    stored.extend(list_line(2, 0, short));
    stored.extend(list_line(3, 1, &report));
    stored.extend(list_line(4, 2, outgoing));
    stored.extend(list_line(7, 1, junk));
    stored.extend(list_line(9, 1, &long[0]));
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();

    let mut modem = Modem::new();
    modem.open();
    identify(&mut modem);
    answer_sim_ready(&mut modem);
    // configure_after_sim expects no write after the listing: answer it by hand here.
    answer_imsi_and_iccid(&mut modem);
    modem.ok("AT+CMGF=0", &[]);
    modem.ok("AT+CSMS?", &["+CSMS: 0,1,1,1"]);
    modem.ok("AT+CPMS?", &[r#"+CPMS: "ME",6,255,"ME",6,255,"ME",6,255"#]);
    modem.ok("AT+CNMI=2,1,0,2,0", &[]);
    answer_registration_reports(&mut modem);
    answer_refresh(&mut modem);
    modem.ok("AT+CMGL=4", &stored);
    assert_eq!(modem.state(), ("ready", ""));

    let texts: Vec<&str> = modem
        .received
        .iter()
        .map(|m| m.text.as_deref().unwrap())
        .collect();
    assert_eq!(texts, ["Grüße aus Wien", "0123456789".repeat(20).as_str()]);
    assert!(modem.logged(LogLevel::Warn, "index 7"), "{:?}", modem.logs);
    assert!(
        modem.logged(LogLevel::Info, "status report for message reference 12"),
        "{:?}",
        modem.logs
    );
    // The recipient is a phone number: masked at info.
    assert!(
        modem.logged(LogLevel::Info, "to +49151******78"),
        "{:?}",
        modem.logs
    );
    assert!(
        !modem.logs.iter().any(|(_, m)| m.contains("4915112345678")),
        "{:?}",
        modem.logs
    );

    // The status report goes at once; messages wait for their commit; junk and the outgoing
    // message stay.
    modem.ok("AT+CMGD=3", &[]);
    modem.expect_no_tx();
    let keys: Vec<String> = modem.received.iter().map(|m| m.key.clone()).collect();
    modem.commit(&keys[1]);
    modem.ok("AT+CMGD=9", &[]);
    modem.ok("AT+CMGD=1", &[]);
    modem.commit(&keys[0]);
    modem.ok("AT+CMGD=2", &[]);
    modem.expect_no_tx();
}

#[test]
fn poll_lists_again_without_repeating_uncommitted_messages() {
    let mut modem = ready_modem();
    let first = &deliver("+4917612345678", "first", 0)[0];
    let second = &deliver("+4917612345678", "second", 0)[0];
    let poll = modem.call(Request::Poll);
    let [h, p] = list_line(0, 0, first);
    modem.ok("AT+CMGL=4", &[&h, &p]);
    assert_eq!(modem.reply(poll), Ok(CallReply::Done));
    assert_eq!(modem.received.len(), 1);

    let again = modem.call(Request::Poll);
    let [h2, p2] = list_line(1, 0, second);
    modem.ok("AT+CMGL=4", &[&h, &p, &h2, &p2]);
    assert_eq!(modem.reply(again), Ok(CallReply::Done));
    let texts: Vec<&str> = modem
        .received
        .iter()
        .map(|m| m.text.as_deref().unwrap())
        .collect();
    assert_eq!(texts, ["first", "second"]);
}

#[test]
fn the_same_message_read_twice_has_the_same_key() {
    let pdu = deliver("+4917612345678", "once", 0).remove(0);
    let mut keys = Vec::new();
    for _ in 0..2 {
        // Two daemon runs: the first crashed before the commit, the message is still stored.
        let mut modem = Modem::new();
        modem.open();
        identify(&mut modem);
        answer_sim_ready(&mut modem);
        let [h, p] = list_line(0, 1, &pdu);
        configure_after_sim(&mut modem, &[&h, &p]);
        keys.push(modem.received[0].key.clone());
    }
    assert_eq!(keys[0], keys[1]);
}

#[test]
fn direct_delivery_with_cmt_is_acknowledged() {
    let mut modem = Modem::new();
    modem.open();
    identify_as(
        &mut modem,
        &Identity {
            manufacturer: "u-blox",
            model: "LARA-R211",
            revision: "30.31",
            imei: "357520070123456",
            gnss: None,
        },
    );
    answer_sim_ready(&mut modem);
    answer_imsi_and_iccid(&mut modem);
    modem.ok("AT+CMGF=0", &[]);
    // Phase 2+: direct deliveries must be acknowledged.
    modem.ok("AT+CSMS?", &["+CSMS: 1,1,1,1"]);
    modem.ok("AT+CPMS?", &[r#"+CPMS: "SM",0,50,"SM",0,50,"SM",0,50"#]);
    modem.ok("AT+CNMI=2,1,0,2,0", &[]);
    answer_registration_reports(&mut modem);
    answer_refresh(&mut modem);
    modem.ok("AT+CMGL=4", &[]);

    let pdu = &deliver("+4917612345678", "class 0, straight to you", 0)[0];
    modem.rx(&format!("\r\n+CMT: ,{}\r\n{pdu}\r\n", tpdu_len(pdu)));
    assert_eq!(
        modem.received[0].text.as_deref(),
        Some("class 0, straight to you")
    );
    modem.ok("AT+CNMA", &[]);
    let key = modem.received[0].key.clone();
    modem.commit(&key);
    modem.expect_no_tx();

    // A status report delivered directly is logged and acknowledged, never a message.
    modem.rx("\r\n+CDS: 25\r\n00060C0D91945111325476F8421111214000404211112140104000\r\n");
    modem.ok("AT+CNMA", &[]);
    assert_eq!(modem.received.len(), 1);
    assert!(modem.logged(LogLevel::Info, "status report"));
    // One stored and indicated with +CDSI is deleted right away.
    modem.rx("\r\n+CDSI: \"SM\",2\r\n");
    modem.ok("AT+CMGD=2", &[]);
    modem.expect_no_tx();
}

#[test]
fn without_new_message_indications_the_storage_is_polled() {
    let mut modem = Modem::new();
    modem.open();
    identify_as(
        &mut modem,
        &Identity {
            manufacturer: "Cinterion",
            model: "EHS6",
            revision: "REVISION 03.001",
            imei: "356789012345675",
            gnss: None,
        },
    );
    answer_sim_ready(&mut modem);
    answer_imsi_and_iccid(&mut modem);
    modem.ok("AT+CMGF=0", &[]);
    modem.ok("AT+CSMS?", &["+CSMS: 0,1,1,1"]);
    modem.ok("AT+CPMS?", &[r#"+CPMS: "MT",0,255,"MT",0,255,"MT",0,255"#]);
    for setting in ["2,1,0,2,0", "2,1,0,1,0", "2,1,0,0,0", "1,1,0,0,0"] {
        modem.fails(&format!("AT+CNMI={setting}"), "+CMS ERROR: 303");
    }
    answer_registration_reports(&mut modem);
    answer_refresh(&mut modem);
    modem.ok("AT+CMGL=4", &[]);
    assert_eq!(modem.state(), ("ready", ""));
    assert!(modem.logged(LogLevel::Warn, "polling"));

    modem.advance(30_000);
    answer_refresh(&mut modem);
    let pdu = &deliver("+4917612345678", "found by polling", 0)[0];
    let [h, p] = list_line(0, 0, pdu);
    modem.ok("AT+CMGL=4", &[&h, &p]);
    assert_eq!(modem.received[0].text.as_deref(), Some("found by polling"));
}

/// A weather report of 376 characters: three parts of 153, 153 and 70 characters.
fn three_part_report() -> (String, Vec<String>) {
    let text = "Station 7 weather report, all sensors nominal. ".repeat(8);
    let parts = deliver("+4917612345678", &text, 77);
    assert_eq!(parts.len(), 3);
    (text, parts)
}

/// The info of a message of which `missing` (e.g. "2") of `total` parts never arrived.
fn incomplete_info(present: usize, total: usize, missing: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("incomplete".to_owned(), "true".to_owned()),
        ("parts".to_owned(), present.to_string()),
        ("parts_missing".to_owned(), missing.to_owned()),
        ("parts_total".to_owned(), total.to_string()),
        ("smsc".to_owned(), "+491710760000".to_owned()),
    ])
}

/// Ten minutes, in the `multipart_timeout` option and in milliseconds.
const TEN_MINUTES: (&str, u64) = ("600", 600_000);

#[test]
fn a_multipart_message_missing_a_part_is_reported_incomplete_after_the_timeout() {
    let mut modem = ready_modem_with(&[
        ("multipart_timeout", TEN_MINUTES.0),
        ("signal_interval", "0"),
    ]);
    let (text, parts) = three_part_report();

    // Parts 3 and 1 arrive; part 2 is lost by the network.
    modem.rx("\r\n+CMTI: \"ME\",3\r\n");
    modem.exchange("AT+CMGR=3", &read_answer(&parts[2]));
    modem.advance(5_000);
    modem.rx("\r\n+CMTI: \"ME\",1\r\n");
    modem.exchange("AT+CMGR=1", &read_answer(&parts[0]));

    // The clock runs from the first part read.
    modem.advance(TEN_MINUTES.1 - 5_001);
    assert!(modem.received.is_empty());
    modem.advance(1);
    assert_eq!(modem.received.len(), 1);
    let message = modem.received[0].clone();
    let expected = format!("{}{}", &text[..153], &text[306..]);
    assert_eq!(message.text.as_deref(), Some(expected.as_str()));
    assert_eq!(message.payload, expected.as_bytes());
    assert_eq!(message.peer, "+4917612345678");
    assert_eq!(message.timestamp, SENT_AT);
    assert_eq!(message.info, incomplete_info(2, 3, "2"));
    assert!(
        modem.logged(LogLevel::Warn, "incomplete"),
        "{:?}",
        modem.logs
    );

    // As for a whole message: nothing is deleted before the host commits it.
    modem.advance(TEN_MINUTES.1);
    assert_eq!(modem.received.len(), 1);
    modem.expect_no_tx();
    modem.commit(&message.key);
    modem.ok("AT+CMGD=1", &[]);
    modem.ok("AT+CMGD=3", &[]);
    modem.expect_no_tx();
}

#[test]
fn a_multipart_timeout_of_zero_waits_forever() {
    let mut modem = ready_modem_with(&[("multipart_timeout", "0"), ("signal_interval", "0")]);
    let (text, parts) = three_part_report();
    modem.rx("\r\n+CMTI: \"ME\",1\r\n");
    modem.exchange("AT+CMGR=1", &read_answer(&parts[0]));
    modem.rx("\r\n+CMTI: \"ME\",2\r\n");
    modem.exchange("AT+CMGR=2", &read_answer(&parts[1]));

    modem.advance(400 * 86_400_000);
    assert!(modem.received.is_empty());
    modem.expect_no_tx();

    modem.rx("\r\n+CMTI: \"ME\",3\r\n");
    modem.exchange("AT+CMGR=3", &read_answer(&parts[2]));
    assert_eq!(modem.received.len(), 1);
    assert_eq!(modem.received[0].text.as_deref(), Some(text.as_str()));
    assert_eq!(modem.received[0].info["parts"], "3");
}

#[test]
fn a_part_arriving_after_its_message_expired_is_a_message_of_its_own() {
    // The default timeout: a day.
    const DAY_MS: u64 = 86_400_000;
    let mut modem = ready_modem_with(&[("signal_interval", "0")]);
    let (text, parts) = three_part_report();
    modem.rx("\r\n+CMTI: \"ME\",1\r\n");
    modem.exchange("AT+CMGR=1", &read_answer(&parts[0]));
    modem.rx("\r\n+CMTI: \"ME\",2\r\n");
    modem.exchange("AT+CMGR=2", &read_answer(&parts[1]));
    modem.advance(DAY_MS - 1);
    assert!(modem.received.is_empty());
    modem.advance(1);
    assert_eq!(modem.received.len(), 1);
    let first = modem.received[0].clone();
    assert_eq!(first.text.as_deref(), Some(&text[..306]));
    assert_eq!(first.info, incomplete_info(2, 3, "3"));

    // Part 3, delayed by more than a day, waits a day of its own for parts 1 and 2.
    modem.advance(60_000);
    modem.rx("\r\n+CMTI: \"ME\",4\r\n");
    modem.exchange("AT+CMGR=4", &read_answer(&parts[2]));
    modem.advance(DAY_MS);
    assert_eq!(modem.received.len(), 2);
    let late = modem.received[1].clone();
    assert_eq!(late.text.as_deref(), Some(&text[306..]));
    assert_eq!(late.info, incomplete_info(1, 3, "1,2"));
    assert_ne!(late.key, first.key);

    modem.expect_no_tx();
    modem.commit(&late.key);
    modem.ok("AT+CMGD=4", &[]);
    modem.commit(&first.key);
    modem.ok("AT+CMGD=1", &[]);
    modem.ok("AT+CMGD=2", &[]);
    modem.expect_no_tx();
}

#[test]
fn parts_listed_at_startup_expire_a_timeout_after_the_listing() {
    // After a restart the stored parts are read again and their clock starts anew.
    let (text, parts) = three_part_report();
    let mut stored: Vec<String> = Vec::new();
    stored.extend(list_line(0, 1, &parts[1]));
    stored.extend(list_line(1, 1, &parts[2]));
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();

    let mut modem = Modem::with_options(&[
        ("multipart_timeout", TEN_MINUTES.0),
        ("signal_interval", "0"),
    ]);
    modem.open();
    identify(&mut modem);
    answer_sim_ready(&mut modem);
    configure_until_listing(&mut modem);
    modem.advance(2_000);
    let listed_at = modem.now_ms();
    modem.ok("AT+CMGL=4", &stored);
    assert_eq!(modem.state(), ("ready", ""));

    modem.advance(TEN_MINUTES.1 - 1);
    assert!(modem.received.is_empty());
    modem.advance(1);
    assert_eq!(modem.now_ms(), listed_at + TEN_MINUTES.1);
    assert_eq!(modem.received.len(), 1);
    let message = modem.received[0].clone();
    assert_eq!(message.text.as_deref(), Some(&text[153..]));
    assert_eq!(message.info, incomplete_info(2, 3, "1"));
    modem.commit(&message.key);
    modem.ok("AT+CMGD=0", &[]);
    modem.ok("AT+CMGD=1", &[]);
    modem.expect_no_tx();
}

#[test]
fn parts_of_a_message_committed_before_a_restart_are_deleted_when_the_host_repeats_the_commit() {
    // A run read the three parts, the host committed the message, and the run was killed during
    // AT+CMGD of the first part: parts 2 and 3 stayed on the SIM.
    let (_, parts) = three_part_report();
    let mut first_run = ready_modem();
    for (index, part) in parts.iter().enumerate() {
        first_run.rx(&format!("\r\n+CMTI: \"ME\",{index}\r\n"));
        first_run.exchange(&format!("AT+CMGR={index}"), &read_answer(part));
    }
    let committed = first_run.received[0].key.clone();
    assert_eq!(committed.split('+').count(), 3, "the key names each part");

    let mut stored: Vec<String> = Vec::new();
    stored.extend(list_line(1, 1, &parts[1]));
    stored.extend(list_line(2, 1, &parts[2]));
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
    // The restart: the host repeats its commits once the identity is known.
    let mut modem = Modem::new();
    modem.open();
    identify(&mut modem);
    modem.commit(&committed);
    modem.commit("0123456789abcdef");
    answer_sim_ready(&mut modem);
    configure_until_listing(&mut modem);
    modem.ok("AT+CMGL=4", &stored);
    modem.ok("AT+CMGD=1", &[]);
    modem.ok("AT+CMGD=2", &[]);
    modem.expect_no_tx();
    assert!(modem.received.is_empty(), "nothing is reported again");
    assert_eq!(modem.state(), ("ready", ""));
}
