//! Byte transcripts of the simulated modem, written like a modem log: what the host sends,
//! what the modem answers.

use m2mhal_sms::{
    Body, Content, PhoneNumber, SubmitOptions, decode_deliver, encode_submit, from_hex, to_hex,
};
use serde_json::json;

use super::{DEFAULT_IMEI, Identity, ModemControl, ModemState};

/// 2026-01-01T00:00:00Z.
pub(super) const NOW: i64 = 1_767_225_600;

fn modem() -> ModemState {
    ModemState::new(Identity::for_index(DEFAULT_IMEI, 0), false)
}

/// A modem with echo off, as a daemon leaves it after initialisation.
pub(super) fn quiet_modem() -> ModemState {
    let mut modem = modem();
    assert_eq!(text(&mut modem, "ATE0\r"), "ATE0\r\r\nOK\r\n");
    modem
}

/// What the modem answers to `input`.
pub(super) fn text(modem: &mut ModemState, input: &str) -> String {
    let output = modem.receive(input.as_bytes());
    String::from_utf8(output.bytes).unwrap()
}

/// Runs a control command: its reply and what the modem wrote unsolicited.
pub(super) fn control(modem: &mut ModemState, command: &str) -> (serde_json::Value, String) {
    let reply = modem
        .apply(ModemControl::parse(command).unwrap(), NOW)
        .unwrap();
    (
        reply.reply,
        String::from_utf8(reply.unsolicited.bytes).unwrap(),
    )
}

#[test]
fn echo_is_on_until_ate0() {
    let mut modem = modem();
    assert_eq!(text(&mut modem, "AT\r"), "AT\r\r\nOK\r\n");
    assert_eq!(text(&mut modem, "ATE0\r"), "ATE0\r\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "ATE1\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT\r"), "AT\r\r\nOK\r\n");
}

#[test]
fn forced_echo_ignores_ate0() {
    let mut modem = ModemState::new(Identity::for_index(DEFAULT_IMEI, 0), true);
    assert_eq!(text(&mut modem, "ATE0\r"), "ATE0\r\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT\r"), "AT\r\r\nOK\r\n");
    control(&mut modem, "quirk echo off");
    assert_eq!(text(&mut modem, "AT\r"), "\r\nOK\r\n");
}

#[test]
fn input_in_pieces_and_noise_lines() {
    let mut modem = quiet_modem();
    assert_eq!(text(&mut modem, "AT+CG"), "");
    assert_eq!(
        text(&mut modem, "SN\r\n"),
        "\r\n356938035643809\r\n\r\nOK\r\n"
    );
    // Empty lines and lines without AT are ignored; backspace edits the line.
    assert_eq!(text(&mut modem, "\r\nhello\r"), "");
    assert_eq!(
        text(&mut modem, "AT+CGMX\x08I\r"),
        "\r\nQuectel\r\n\r\nOK\r\n"
    );
}

#[test]
fn identification() {
    let mut modem = quiet_modem();
    assert_eq!(
        text(&mut modem, "ATI\r"),
        "\r\nQuectel\r\nEG25\r\nRevision: EG25GGBR07A08M2G\r\n\r\nOK\r\n"
    );
    assert_eq!(text(&mut modem, "AT+CGMM\r"), "\r\nEG25\r\n\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT+CGMR\r"),
        "\r\nEG25GGBR07A08M2G\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "at+cimi\r"),
        "\r\n262011234500000\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+QCCID\r"),
        "\r\n+QCCID: 89490100001234500001\r\n\r\nOK\r\n"
    );
}

#[test]
fn errors_follow_cmee_and_unknown_commands_are_plain_errors() {
    let mut modem = quiet_modem();
    control(&mut modem, "sim missing");
    assert_eq!(text(&mut modem, "AT+CPIN?\r"), "\r\nERROR\r\n");
    assert_eq!(text(&mut modem, "AT+CMEE=1\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+CPIN?\r"), "\r\n+CME ERROR: 10\r\n");
    assert_eq!(text(&mut modem, "AT+CPOL?\r"), "\r\nERROR\r\n");
    assert_eq!(text(&mut modem, "AT+CMEE=2\r"), "\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT+CIMI\r"),
        "\r\n+CME ERROR: SIM not inserted\r\n"
    );
    assert_eq!(text(&mut modem, "AT+CMEE?\r"), "\r\n+CMEE: 2\r\n\r\nOK\r\n");
}

#[test]
fn chained_commands_stop_at_the_first_error() {
    let mut modem = modem();
    assert_eq!(
        text(&mut modem, "ATE0;+CMEE=1;+CSQ\r"),
        "ATE0;+CMEE=1;+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    );
    assert_eq!(text(&mut modem, "AT+CSQ;+BOGUS;+CGMI\r"), "\r\nERROR\r\n");
}

#[test]
fn a_sim_inserted_into_the_empty_slot_is_announced_as_quectel_does() {
    let mut modem = quiet_modem();
    text(&mut modem, "AT+CMEE=1\r");
    let (_, urcs) = control(&mut modem, "sim missing");
    assert_eq!(urcs, "\r\n+CPIN: NOT READY\r\n");
    assert_eq!(text(&mut modem, "AT+CPIN?\r"), "\r\n+CME ERROR: 10\r\n");
    let (_, urcs) = control(&mut modem, "sim ready");
    assert_eq!(urcs, "\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n");
    assert_eq!(
        text(&mut modem, "AT+CPIN?\r"),
        "\r\n+CPIN: READY\r\n\r\nOK\r\n"
    );
    // A SIM that stays in its slot is not inserted again.
    let (_, urcs) = control(&mut modem, "sim pin");
    assert_eq!(urcs, "\r\n+CPIN: SIM PIN\r\n");
}

#[test]
fn sim_pin() {
    let mut modem = quiet_modem();
    text(&mut modem, "AT+CMEE=1;+CREG=1\r");
    let (_, urcs) = control(&mut modem, "sim pin");
    assert_eq!(urcs, "\r\n+CPIN: SIM PIN\r\n\r\n+CREG: 0\r\n");
    assert_eq!(
        text(&mut modem, "AT+CPIN?\r"),
        "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
    );
    assert_eq!(text(&mut modem, "AT+CIMI\r"), "\r\n+CME ERROR: 11\r\n");
    assert_eq!(
        text(&mut modem, "AT+CPIN=\"0000\"\r"),
        "\r\n+CME ERROR: 16\r\n"
    );
    // URCs caused by a command follow its final result.
    assert_eq!(
        text(&mut modem, "AT+CPIN=\"1234\"\r"),
        "\r\nOK\r\n\r\n+CPIN: READY\r\n\r\n+CREG: 1\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CPIN?\r"),
        "\r\n+CPIN: READY\r\n\r\nOK\r\n"
    );
}

#[test]
fn registration_reports_and_urcs() {
    let mut modem = quiet_modem();
    assert_eq!(
        text(&mut modem, "AT+CREG?\r"),
        "\r\n+CREG: 0,1\r\n\r\nOK\r\n"
    );
    text(&mut modem, "AT+CREG=2;+CGREG=1;+CEREG=2\r");
    assert_eq!(
        text(&mut modem, "AT+CREG?\r"),
        "\r\n+CREG: 2,1,\"1A2B\",\"01A2B3C4\",7\r\n\r\nOK\r\n"
    );
    let (reply, urcs) = control(&mut modem, "register roaming gsm");
    assert_eq!(reply, json!({"event": "ok"}));
    assert_eq!(
        urcs,
        "\r\n+CREG: 5,\"1A2B\",\"01A2B3C4\",0\r\n\r\n+CGREG: 5\r\n\r\n+CEREG: 0\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CGREG?\r"),
        "\r\n+CGREG: 1,5\r\n\r\nOK\r\n"
    );
    let (_, urcs) = control(&mut modem, "register searching");
    assert_eq!(urcs, "\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n\r\n+CEREG: 2\r\n");
    // Nothing changes: no URC.
    assert_eq!(control(&mut modem, "register searching").1, "");
}

#[test]
fn operator_and_radio() {
    let mut modem = quiet_modem();
    control(&mut modem, "operator Telekom.de");
    assert_eq!(text(&mut modem, "AT+COPS=3,0\r"), "\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT+COPS?\r"),
        "\r\n+COPS: 0,0,\"Telekom.de\",7\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+COPS=3,2;+COPS?\r"),
        "\r\n+COPS: 0,2,\"26201\",7\r\n\r\nOK\r\n"
    );
    text(&mut modem, "AT+CEREG=1\r");
    assert_eq!(
        text(&mut modem, "AT+CFUN=4\r"),
        "\r\nOK\r\n\r\n+CEREG: 0\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CFUN?;+COPS?;+CSQ\r"),
        "\r\n+CFUN: 4\r\n+COPS: 0\r\n+CSQ: 99,99\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CFUN=1\r"),
        "\r\nOK\r\n\r\n+CEREG: 1\r\n"
    );
}

#[test]
fn cfun_1_1_restarts_the_modem_with_its_power_on_settings() {
    let mut modem = quiet_modem();
    text(&mut modem, "AT+CEREG=2\r");
    assert_eq!(
        text(&mut modem, "AT+CFUN=1,1\r"),
        "\r\nOK\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n"
    );
    // Echo and registration reports are back to their power-on settings.
    assert_eq!(
        text(&mut modem, "AT+CEREG?\r"),
        "AT+CEREG?\r\r\n+CEREG: 0,1\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CFUN=1,2\r"),
        "AT+CFUN=1,2\r\r\nERROR\r\n"
    );
}

#[test]
fn a_module_without_sms_knows_no_sms_command() {
    let mut modem = quiet_modem();
    control(&mut modem, "quirk no-sms on");
    assert_eq!(text(&mut modem, "AT+CNMI=?\r"), "\r\nERROR\r\n");
    assert_eq!(text(&mut modem, "AT+CMGF=0\r"), "\r\nERROR\r\n");
    control(&mut modem, "quirk no-sms off");
    assert_eq!(text(&mut modem, "AT+CMGF=0\r"), "\r\nOK\r\n");
}

#[test]
fn signal_quality() {
    let mut modem = quiet_modem();
    let (_, urcs) = control(&mut modem, "signal 25 -90");
    assert_eq!(urcs, "");
    assert_eq!(
        text(&mut modem, "AT+CSQ\r"),
        "\r\n+CSQ: 25,99\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CESQ\r"),
        "\r\n+CESQ: 99,99,255,255,20,51\r\n\r\nOK\r\n"
    );
}

#[test]
fn sms_settings() {
    let mut modem = quiet_modem();
    assert_eq!(text(&mut modem, "AT+CMGF=0\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+CMGF?\r"), "\r\n+CMGF: 0\r\n\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT+CSMS?\r"),
        "\r\n+CSMS: 0,1,1,1\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CPMS=\"SM\",\"SM\",\"SM\"\r"),
        "\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CPMS?\r"),
        "\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n"
    );
    text(&mut modem, "AT+CMEE=1\r");
    assert_eq!(
        text(&mut modem, "AT+CPMS=\"ME\"\r"),
        "\r\n+CMS ERROR: 303\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CNMI=2,1,0,0,0;+CNMI?\r"),
        "\r\n+CNMI: 2,1,0,0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CMGF=1;+CMGL=4\r"),
        "\r\n+CMS ERROR: 303\r\n"
    );
}

#[test]
fn received_sms_is_announced_read_listed_and_deleted() {
    let mut modem = quiet_modem();
    let (reply, urcs) = control(&mut modem, "sms +4915123456789 Hello world");
    assert_eq!(reply, json!({"event": "ok", "slots": [0]}));
    assert_eq!(urcs, "\r\n+CMTI: \"SM\",0\r\n");
    let answer = text(&mut modem, "AT+CMGR=0\r");
    let lines: Vec<&str> = answer.split("\r\n").collect();
    assert_eq!(lines[1], "+CMGR: 0,,30");
    assert_eq!(lines[3..], ["", "OK", ""]);
    let pdu = from_hex(lines[2]).unwrap();
    let deliver = decode_deliver(&pdu).unwrap();
    assert_eq!(deliver.originator, "+4915123456789");
    assert_eq!(deliver.smsc.as_deref(), Some("+491710760000"));
    assert_eq!(deliver.timestamp, NOW);
    assert_eq!(deliver.content, Content::Text("Hello world".into()));
    // Reading marked it read.
    assert_eq!(text(&mut modem, "AT+CMGL=0\r"), "\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT+CMGL=4\r"),
        format!("\r\n+CMGL: 0,1,,30\r\n{}\r\n\r\nOK\r\n", lines[2])
    );
    let deleted = modem.receive(b"AT+CMGD=0\r");
    assert_eq!(deleted.bytes, b"\r\nOK\r\n");
    assert_eq!(
        deleted.events,
        [json!({"event": "sms-deleted", "index": 0, "stored": 0})]
    );
    assert_eq!(text(&mut modem, "AT+CMGR=0\r"), "\r\nOK\r\n");
    text(&mut modem, "AT+CMEE=1\r");
    assert_eq!(text(&mut modem, "AT+CMGR=30\r"), "\r\n+CMS ERROR: 321\r\n");
}

#[test]
fn long_sms_arrives_in_parts_and_can_be_reversed() {
    let mut modem = quiet_modem();
    let long_text = "x".repeat(200);
    let (reply, urcs) = control(
        &mut modem,
        &format!("sms-parts-reversed +4915123456789 {long_text}"),
    );
    assert_eq!(reply["slots"], json!([0, 1]));
    assert_eq!(urcs, "\r\n+CMTI: \"SM\",0\r\n\r\n+CMTI: \"SM\",1\r\n");
    let first_stored = modem
        .storage
        .list()
        .next()
        .map(|(_, message)| message.pdu.clone())
        .unwrap();
    let concat = decode_deliver(&first_stored).unwrap().concat.unwrap();
    assert_eq!((concat.total, concat.sequence), (2, 2));
}

#[test]
fn a_part_lost_by_the_network_is_neither_stored_nor_announced() {
    let mut modem = quiet_modem();
    let long_text = "y".repeat(400);
    let (reply, urcs) = control(
        &mut modem,
        &format!("sms-lose-part 2 +4915123456789 {long_text}"),
    );
    assert_eq!(reply["slots"], json!([0, 1]));
    assert_eq!(urcs, "\r\n+CMTI: \"SM\",0\r\n\r\n+CMTI: \"SM\",1\r\n");
    let sequences: Vec<(u8, u8)> = modem
        .storage
        .list()
        .map(|(_, message)| {
            let concat = decode_deliver(&message.pdu).unwrap().concat.unwrap();
            (concat.sequence, concat.total)
        })
        .collect();
    assert_eq!(sequences, [(1, 3), (3, 3)]);
    // There is no part 0, and no part 4 of three.
    assert!(ModemControl::parse("sms-lose-part 0 +4915123456789 x").is_err());
    let beyond =
        ModemControl::parse(&format!("sms-lose-part 4 +4915123456789 {long_text}")).unwrap();
    assert!(modem.apply(beyond, NOW).is_err());
}

#[test]
fn a_stepwise_sms_arrives_one_part_per_next_part() {
    let mut modem = quiet_modem();
    let long_text = "z".repeat(400);
    let (reply, urcs) = control(
        &mut modem,
        &format!("sms-stepwise +4915123456789 {long_text}"),
    );
    assert_eq!(reply["slots"], json!([0]));
    assert_eq!(urcs, "\r\n+CMTI: \"SM\",0\r\n");
    let (reply, urcs) = control(&mut modem, "next-part");
    assert_eq!(reply["slots"], json!([1]));
    assert_eq!(urcs, "\r\n+CMTI: \"SM\",1\r\n");
    control(&mut modem, "next-part");
    let sequences: Vec<(u8, u8)> = modem
        .storage
        .list()
        .map(|(_, message)| {
            let concat = decode_deliver(&message.pdu).unwrap().concat.unwrap();
            (concat.sequence, concat.total)
        })
        .collect();
    assert_eq!(sequences, [(1, 3), (2, 3), (3, 3)]);
    let none_left = modem.apply(ModemControl::NextPart, NOW);
    assert!(none_left.is_err());
}

#[test]
fn crsm_reads_the_iccid_file_in_swapped_bcd() {
    let mut modem = quiet_modem();
    // ICCID 89490100001234500001 (modem 0), as EF_ICCID stores it.
    assert_eq!(modem.identity().iccid, "89490100001234500001");
    assert_eq!(
        text(&mut modem, "AT+CRSM=176,12258,0,0,10\r"),
        "\r\n+CRSM: 144,0,\"98941000002143050010\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut modem, "AT+CRSM=176,28486,0,0,17\r"),
        "\r\n+CRSM: 106,130,\"\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn stored_sms_makes_no_urc_and_binary_sms_is_8bit() {
    let mut modem = quiet_modem();
    let (reply, urcs) = control(&mut modem, "store +4915123456789 while you were away");
    assert_eq!((reply["slots"].clone(), urcs.as_str()), (json!([0]), ""));
    let (_, urcs) = control(&mut modem, "sms-binary +4915123456789 DEADBEEF");
    assert_eq!(urcs, "\r\n+CMTI: \"SM\",1\r\n");
    let (_, binary) = modem.storage.list().nth(1).unwrap();
    assert_eq!(
        decode_deliver(&binary.pdu).unwrap().content,
        Content::Binary(vec![0xDE, 0xAD, 0xBE, 0xEF])
    );
    let (list, _) = control(&mut modem, "list");
    assert_eq!(list["messages"][0]["status"], "unread");
    assert_eq!(list["messages"][1]["slot"], 1);
}

#[test]
fn a_raw_pdu_is_stored_and_read_back_as_it_is() {
    let mut modem = quiet_modem();
    // An SMSC address, then an SMS-DELIVER cut off after its originator's length.
    let (reply, urcs) = control(&mut modem, "sms-raw 0791947101670000040B");
    assert_eq!(
        (reply["slots"].clone(), urcs.as_str()),
        (json!([0]), "\r\n+CMTI: \"SM\",0\r\n")
    );
    assert_eq!(
        text(&mut modem, "AT+CMGR=0\r"),
        "\r\n+CMGR: 0,,2\r\n0791947101670000040B\r\n\r\nOK\r\n"
    );
    assert!(ModemControl::parse("sms-raw 07X1").is_err());
    assert!(ModemControl::parse("sms-raw").is_err());
}

#[test]
fn cnmi_mt2_routes_with_cmt_and_csms1_wants_cnma() {
    let mut modem = quiet_modem();
    text(&mut modem, "AT+CMEE=1;+CSMS=1;+CNMI=2,2,0,0,0\r");
    let (reply, urcs) = control(&mut modem, "sms +4915123456789 Hi");
    assert_eq!(reply["slots"], json!([]));
    let pdu_hex = urcs
        .strip_prefix("\r\n+CMT: ,22\r\n")
        .and_then(|rest| rest.strip_suffix("\r\n"))
        .unwrap();
    assert_eq!(
        decode_deliver(&from_hex(pdu_hex).unwrap()).unwrap().content,
        Content::Text("Hi".into())
    );
    assert_eq!(text(&mut modem, "AT+CNMA\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+CNMA\r"), "\r\n+CMS ERROR: 340\r\n");
}

fn submit_pdu(text: &str) -> (usize, String) {
    let destination = PhoneNumber::parse("+4917612345678").unwrap();
    let parts = encode_submit(&destination, Body::Text(text), &SubmitOptions::default()).unwrap();
    (parts[0].tpdu_len, to_hex(&parts[0].pdu))
}

#[test]
fn cmgs_prompts_takes_the_pdu_and_reports_it() {
    let mut modem = modem();
    let (length, hex) = submit_pdu("Hello");
    assert_eq!(
        text(&mut modem, &format!("AT+CMGS={length}\r")),
        format!("AT+CMGS={length}\r\r\n> ")
    );
    let output = modem.receive(format!("{hex}\x1a").as_bytes());
    assert_eq!(
        String::from_utf8(output.bytes).unwrap(),
        format!("{hex}\r\n+CMGS: 0\r\n\r\nOK\r\n")
    );
    assert_eq!(output.events.len(), 1);
    let event = &output.events[0];
    assert_eq!(event["event"], "sms-sent");
    assert_eq!(event["to"], "+4917612345678");
    assert_eq!(event["text"], "Hello");
    assert_eq!(event["pdu"], hex.as_str());
    assert!(event.get("concat").is_none());
    // The next message gets the next reference.
    text(&mut modem, "ATE0\r");
    text(&mut modem, &format!("AT+CMGS={length}\r"));
    assert_eq!(
        String::from_utf8(modem.receive(format!("{hex}\x1a").as_bytes()).bytes).unwrap(),
        "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_held_acknowledgement_waits_for_its_release_or_is_lost_while_the_sms_is_already_out() {
    let mut modem = quiet_modem();
    let (length, hex) = submit_pdu("Hello");
    control(&mut modem, "sms-ack hold");
    assert_eq!(text(&mut modem, &format!("AT+CMGS={length}\r")), "\r\n> ");
    let output = modem.receive(format!("{hex}\x1a").as_bytes());
    // Out on the network at once; the modem's answer waits.
    assert_eq!(output.events.len(), 1);
    assert_eq!(output.events[0]["event"], "sms-sent");
    assert!(output.bytes.is_empty(), "{:?}", output.bytes);
    assert_eq!(control(&mut modem, "status").0["sms_ack_held"], true);
    let (reply, released) = control(&mut modem, "sms-ack release");
    assert_eq!(reply["event"], "ok");
    assert_eq!(released, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    assert_eq!(control(&mut modem, "status").0["sms_ack_held"], false);
    // Released, the next answer comes at once.
    text(&mut modem, &format!("AT+CMGS={length}\r"));
    assert_eq!(
        text(&mut modem, &format!("{hex}\x1a")),
        "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    );
    // Dropped, a held answer never comes.
    control(&mut modem, "sms-ack hold");
    text(&mut modem, &format!("AT+CMGS={length}\r"));
    assert!(text(&mut modem, &format!("{hex}\x1a")).is_empty());
    assert_eq!(control(&mut modem, "sms-ack drop").1, "");
    assert_eq!(control(&mut modem, "sms-ack release").1, "");
    assert!(ModemControl::parse("sms-ack later").is_err());
}

#[test]
fn cmgs_rejects_bad_pdus_and_escape_cancels() {
    let mut modem = quiet_modem();
    text(&mut modem, "AT+CMEE=1\r");
    let (length, hex) = submit_pdu("Hello");
    assert_eq!(
        text(&mut modem, &format!("AT+CMGS={}\r", length + 1)),
        "\r\n> "
    );
    assert_eq!(
        text(&mut modem, &format!("{hex}\x1a")),
        "\r\n+CMS ERROR: 304\r\n"
    );
    text(&mut modem, &format!("AT+CMGS={length}\r"));
    assert_eq!(text(&mut modem, "0011zz\x1a"), "\r\n+CMS ERROR: 304\r\n");
    text(&mut modem, &format!("AT+CMGS={length}\r"));
    let output = modem.receive(format!("{hex}\x1b").as_bytes());
    assert_eq!(
        (
            String::from_utf8(output.bytes).unwrap(),
            output.events.len()
        ),
        ("\r\nOK\r\n".to_owned(), 0)
    );
    control(&mut modem, "register denied");
    text(&mut modem, &format!("AT+CMGS={length}\r"));
    assert_eq!(
        text(&mut modem, &format!("{hex}\x1a")),
        "\r\n+CMS ERROR: 331\r\n"
    );
}

#[test]
fn text_entry_takes_command_lines_as_text_until_escape() {
    // A host killed after the prompt: the next host's lines are message text, unanswered.
    let mut modem = quiet_modem();
    assert_eq!(text(&mut modem, "AT+CMGS=20\r"), "\r\n> ");
    assert_eq!(text(&mut modem, "ATE0\rAT\rAT+CGMI\r"), "");
    assert!(modem.in_text_entry());
    assert_eq!(control(&mut modem, "status").0["text_entry"], true);
    // ESC cancels; empty lines after it are ignored, commands run again.
    assert_eq!(text(&mut modem, "\x1b\r\r\r"), "\r\nOK\r\n");
    assert!(!modem.in_text_entry());
    assert_eq!(text(&mut modem, "ATE1\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT\r"), "AT\r\r\nOK\r\n");
    assert_eq!(control(&mut modem, "status").0["text_entry"], false);
}

#[test]
fn urcs_wait_while_the_prompt_is_open() {
    let mut modem = quiet_modem();
    let (length, hex) = submit_pdu("Hi");
    text(&mut modem, &format!("AT+CMGS={length}\r"));
    let (_, urcs) = control(&mut modem, "sms +4915123456789 incoming");
    assert_eq!(urcs, "");
    assert_eq!(
        text(&mut modem, &format!("{hex}\x1a")),
        "\r\n+CMGS: 0\r\n\r\nOK\r\n\r\n+CMTI: \"SM\",0\r\n"
    );
}

#[test]
fn urc_interleave_quirk_puts_urcs_between_information_and_ok() {
    let mut modem = quiet_modem();
    control(&mut modem, "quirk urc-interleave on");
    assert_eq!(
        text(&mut modem, "AT+CSQ\r"),
        "\r\n+CSQ: 20,99\r\n\r\n+CREG: 1\r\n\r\nOK\r\n"
    );
    let (_, urcs) = control(&mut modem, "sms +4915123456789 Hi");
    assert_eq!(urcs, "");
    assert_eq!(
        text(&mut modem, "AT+CSQ\r"),
        "\r\n+CSQ: 20,99\r\n\r\n+CMTI: \"SM\",0\r\n\r\nOK\r\n"
    );
    assert_eq!(text(&mut modem, "AT\r"), "\r\nOK\r\n");
    control(&mut modem, "sms +4915123456789 Hi again");
    let (_, urcs) = control(&mut modem, "quirk urc-interleave off");
    assert_eq!(urcs, "\r\n+CMTI: \"SM\",1\r\n");
}

#[test]
fn control_errors() {
    let mut modem = quiet_modem();
    assert!(ModemControl::parse("signal 40").is_err());
    assert!(ModemControl::parse("register home wifi").is_err());
    assert!(ModemControl::parse("sms +49123").is_err());
    assert!(ModemControl::parse("teleport").is_err());
    let bad_number = ModemControl::parse("sms not-a-number hello").unwrap();
    assert!(modem.apply(bad_number, NOW).is_err());
    control(&mut modem, "register denied");
    let message = ModemControl::parse("sms +4915123456789 hello").unwrap();
    assert_eq!(
        modem.apply(message, NOW).unwrap_err().to_string(),
        "the modem is not registered: no message delivered"
    );
}

#[test]
fn status_reports_the_state() {
    let mut modem = quiet_modem();
    control(&mut modem, "signal 12");
    let (status, _) = control(&mut modem, "status");
    assert_eq!(status["event"], "status");
    assert_eq!(status["imei"], "356938035643809");
    assert_eq!(status["csq"], 12);
    assert_eq!(status["registration"], "home");
    assert_eq!(status["echo"], false);
}

#[test]
fn text_outside_gsm7_arrives_as_ucs2() {
    let mut modem = quiet_modem();
    control(&mut modem, "sms +4915123456789 Grüße 😀");
    let (_, stored) = modem.storage.list().next().unwrap();
    let deliver = decode_deliver(&stored.pdu).unwrap();
    assert_eq!(deliver.alphabet, m2mhal_sms::Alphabet::Ucs2);
    assert_eq!(deliver.content, Content::Text("Grüße 😀".into()));
}

#[test]
fn sms_ucs2_forces_ucs2_for_gsm_text() {
    let mut modem = quiet_modem();
    control(&mut modem, "sms-ucs2 +4915123456789 plain ascii");
    let (_, stored) = modem.storage.list().next().unwrap();
    let deliver = decode_deliver(&stored.pdu).unwrap();
    assert_eq!(deliver.alphabet, m2mhal_sms::Alphabet::Ucs2);
    assert_eq!(deliver.content, Content::Text("plain ascii".into()));
}

#[test]
fn gnss_of_a_modem_with_gnss_switches_reports_and_says_no_fix() {
    let mut plain = quiet_modem();
    assert_eq!(text(&mut plain, "AT+QGPS?\r"), "\r\nERROR\r\n");
    assert!(
        plain
            .apply(ModemControl::parse("gnss 1 2").unwrap(), NOW)
            .is_err()
    );

    let mut modem = quiet_modem().with_gnss(true);
    assert_eq!(text(&mut modem, "AT+CMEE=1\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+QGPS?\r"), "\r\n+QGPS: 0\r\n\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT+QGPSLOC=2\r"),
        "\r\n+CME ERROR: 505\r\n"
    );
    let output = modem.receive(b"AT+QGPS=1\r");
    assert_eq!(output.bytes, b"\r\nOK\r\n");
    assert_eq!(output.events, [json!({"event": "gnss", "on": true})]);
    assert_eq!(text(&mut modem, "AT+QGPS=1\r"), "\r\n+CME ERROR: 504\r\n");
    let output = modem.receive(b"AT+QGPSLOC=2\r");
    assert_eq!(output.bytes, b"\r\n+CME ERROR: 516\r\n");
    assert_eq!(
        output.events,
        [json!({"event": "gnss-location", "fix": false})]
    );
    control(&mut modem, "gnss 52.52 13.405 34");
    assert_eq!(
        text(&mut modem, "AT+QGPSLOC=2\r"),
        "\r\n+QGPSLOC: 000000.000,52.52000,13.40500,1.1,34.0,3,0.00,0.0,0.0,010126,08\r\n\r\nOK\r\n"
    );
    let (status, _) = control(&mut modem, "status");
    assert_eq!(status["gnss"]["on"], true);
    assert_eq!(status["gnss"]["fix"]["latitude"], 52.52);
    control(&mut modem, "gnss none");
    assert_eq!(
        text(&mut modem, "AT+QGPSLOC=2\r"),
        "\r\n+CME ERROR: 516\r\n"
    );
    assert_eq!(text(&mut modem, "AT+QGPSEND\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+QGPSEND\r"), "\r\n+CME ERROR: 505\r\n");
    // ModemManager's GNSS start-up sequence (quectel plugin) before AT+QGPS=1.
    let startup = "AT+QGPSCFG=\"outport\",\"usbnmea\"\r";
    assert_eq!(text(&mut modem, startup), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+QGPSXTRA=1\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+QGPSCFG?\r"), "\r\nERROR\r\n");
}
