//! Byte transcripts of the simulated 9603, written like a terminal log: what the host sends,
//! what the transceiver answers, what the gateway reports.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{DEFAULT_IMEI, DEFAULT_SESSION_DELAY, IridiumControl, Transceiver, WRITE_PERIOD};
use crate::device::SimulatedDevice;

fn transceiver() -> Transceiver {
    Transceiver::new(DEFAULT_IMEI.to_owned(), false, DEFAULT_SESSION_DELAY)
}

/// A transceiver with echo off, as a daemon leaves it after initialisation.
fn quiet() -> Transceiver {
    let mut transceiver = transceiver();
    assert_eq!(text(&mut transceiver, "ATE0\r"), "ATE0\r\r\nOK\r\n");
    transceiver
}

fn text(transceiver: &mut Transceiver, input: &str) -> String {
    String::from_utf8(bytes(transceiver, input.as_bytes())).unwrap()
}

/// Sends each command of `log` and checks the answer next to it.
fn replay(transceiver: &mut Transceiver, log: &[(&str, &str)]) {
    for (command, answer) in log {
        assert_eq!(text(transceiver, command), *answer, "{command:?}");
    }
}

/// The answer to `input`; the only event it may cause is a session's start.
fn bytes(transceiver: &mut Transceiver, input: &[u8]) -> Vec<u8> {
    let output = transceiver.receive(input, Instant::now());
    let others: Vec<&Value> = output
        .events
        .iter()
        .filter(|event| event["event"] != "session-start")
        .collect();
    assert!(others.is_empty(), "events: {others:?}");
    output.bytes
}

/// Sends a command that starts a session, lets the session end and returns the whole answer and
/// the gateway's events.
fn session(transceiver: &mut Transceiver, command: &str) -> (String, Vec<Value>) {
    let momsn = status(transceiver)["momsn"].clone();
    let started = transceiver.receive(command.as_bytes(), Instant::now());
    let kind = command.trim_start_matches("AT").trim_end_matches('\r');
    assert_eq!(
        started.events,
        [json!({"event": "session-start", "command": kind, "momsn": momsn})],
        "the start is reported before the session ends"
    );
    let echo = String::from_utf8(started.bytes).unwrap();
    assert_eq!(
        transceiver.session_in_progress(),
        Some(DEFAULT_SESSION_DELAY)
    );
    let output = transceiver.finish_session(Instant::now());
    assert_eq!(transceiver.session_in_progress(), None);
    (
        echo + &String::from_utf8(output.bytes).unwrap(),
        output.events,
    )
}

/// The `+SBDIX` answer of a session without echo, checking that its `session` event says the same.
fn sbdix(transceiver: &mut Transceiver) -> String {
    let (answer, events) = session(transceiver, "AT+SBDIX\r");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "session");
    let fields = [
        "mo_status",
        "momsn",
        "mt_status",
        "mtmsn",
        "mt_length",
        "mt_queued",
    ]
    .map(|field| last[field].to_string());
    assert_eq!(
        answer,
        format!("\r\n+SBDIX: {}\r\n\r\nOK\r\n", fields.join(", "))
    );
    answer
}

fn control(transceiver: &mut Transceiver, command: &str) -> (Value, String) {
    let reply = transceiver.apply(IridiumControl::parse(command).unwrap());
    (
        reply.reply,
        String::from_utf8(reply.unsolicited.bytes).unwrap(),
    )
}

fn status(transceiver: &mut Transceiver) -> Value {
    control(transceiver, "status").0
}

#[test]
fn echo_is_on_as_shipped() {
    let mut transceiver = transceiver();
    assert_eq!(text(&mut transceiver, "AT\r"), "AT\r\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "ATE0\r"), "ATE0\r\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "AT\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "ATE1\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "at\r"), "at\r\r\nOK\r\n");
    // Input in pieces, backspace, and lines that are not commands.
    assert_eq!(text(&mut transceiver, "ATE"), "ATE");
    // The line is ATE0: the LF after it is no longer echoed.
    assert_eq!(text(&mut transceiver, "X\x080\r\n"), "X\x080\r\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "hello\r"), "");
}

#[test]
fn forced_echo_ignores_ate0() {
    let mut transceiver = transceiver();
    control(&mut transceiver, "quirk echo on");
    assert_eq!(text(&mut transceiver, "ATE0\r"), "ATE0\r\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "AT\r"), "AT\r\r\nOK\r\n");
    control(&mut transceiver, "quirk echo off");
    assert_eq!(text(&mut transceiver, "AT\r"), "\r\nOK\r\n");
}

#[test]
fn the_drivers_init_sequence() {
    let mut transceiver = quiet();
    let log = [
        ("AT&K0\r", "\r\nOK\r\n"),
        ("AT+CGMI\r", "\r\nIridium\r\n\r\nOK\r\n"),
        (
            "AT+CGMM\r",
            "\r\nIRIDIUM 9600 Family SBD Transceiver\r\n\r\nOK\r\n",
        ),
        (
            "AT+CGMR\r",
            "\r\nCall Processor Version: TA19002\r\n\
             Modem DSP Version: 1.7 svn: 2358\r\n\
             DBB Version: 0x0001 (ASIC)\r\n\
             RFA Version: 0x0007 (SRFA2)\r\n\
             NVM Version: KVS\r\n\
             Hardware Version: BOOT07d2/9603NrvA-D/04/RAW0d\r\n\
             BOOT Version: TA19002 (rev exported)\r\n\r\nOK\r\n",
        ),
        ("AT+CGSN\r", "\r\n300234063904190\r\n\r\nOK\r\n"),
        ("AT+SBDMTA=1\r", "\r\nOK\r\n"),
        (
            "AT+CIER=1,1,1\r",
            "\r\nOK\r\n\r\n+CIEV:0,5\r\n\r\n+CIEV:1,1\r\n",
        ),
        ("AT+SBDD0\r", "\r\n0\r\n\r\nOK\r\n"),
        ("AT+SBDS\r", "\r\n+SBDS: 0, 0, 0, -1\r\n\r\nOK\r\n"),
        ("AT+CSQ\r", "\r\n+CSQ:5\r\n\r\nOK\r\n"),
    ];
    replay(&mut transceiver, &log);
}

#[test]
fn settings_read_back_and_unknown_commands_fail() {
    let mut transceiver = quiet();
    let log = [
        ("ATI\r", "\r\nIridium\r\n\r\nOK\r\n"),
        ("ATI4\r", "\r\nIRIDIUM 9600 Family\r\n\r\nOK\r\n"),
        ("AT+SBDMTA?\r", "\r\n+SBDMTA:1\r\n\r\nOK\r\n"),
        ("AT+SBDMTA=2\r", "\r\nERROR\r\n"),
        ("AT+SBDAREG=1\r", "\r\nOK\r\n"),
        ("AT+SBDAREG?\r", "\r\n+SBDAREG:1\r\n\r\nOK\r\n"),
        ("AT+CIER?\r", "\r\n+CIER:0,0,0,0\r\n\r\nOK\r\n"),
        ("AT+CIER=1,0,1\r", "\r\nOK\r\n\r\n+CIEV:1,1\r\n"),
        ("AT+CIER?\r", "\r\n+CIER:1,0,1,0\r\n\r\nOK\r\n"),
        ("AT+CIER=1,3\r", "\r\nERROR\r\n"),
        ("AT+CSQ=?\r", "\r\n+CSQ:(0-5)\r\n\r\nOK\r\n"),
        ("AT+CSQ?1\r", "\r\nERROR\r\n"),
        ("AT+CGSN=1\r", "\r\nERROR\r\n"),
        ("AT+CMGS=5\r", "\r\nERROR\r\n"),
        ("AT+CRIS\r", "\r\n+CRIS:0,0\r\n\r\nOK\r\n"),
    ];
    replay(&mut transceiver, &log);
}

#[test]
fn numeric_result_codes_after_atv0() {
    let mut transceiver = quiet();
    assert_eq!(text(&mut transceiver, "ATV0\r"), "0\r");
    assert_eq!(text(&mut transceiver, "AT+CSQ\r"), "+CSQ:5\r\n0\r");
    assert_eq!(text(&mut transceiver, "AT+BOGUS\r"), "4\r");
    assert_eq!(text(&mut transceiver, "ATV1\r"), "\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "ATZ\r"), "\r\nOK\r\n");
    assert_eq!(
        text(&mut transceiver, "AT\r"),
        "AT\r\r\nOK\r\n",
        "echo on again"
    );
}

#[test]
fn signal_quality_follows_the_sky() {
    let mut transceiver = quiet();
    assert_eq!(control(&mut transceiver, "signal 2").1, "", "no CIER yet");
    assert_eq!(
        text(&mut transceiver, "AT+CSQ\r"),
        "\r\n+CSQ:2\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut transceiver, "AT+CSQF\r"),
        "\r\n+CSQF:2\r\n\r\nOK\r\n"
    );
    assert_eq!(status(&mut transceiver)["bars"], 2);
}

#[test]
fn indications_on_signal_and_service_changes() {
    let mut transceiver = quiet();
    text(&mut transceiver, "AT+CIER=1,1,1\r");
    assert_eq!(control(&mut transceiver, "signal 3").1, "\r\n+CIEV:0,3\r\n");
    assert_eq!(control(&mut transceiver, "signal 3").1, "", "no change");
    assert_eq!(
        control(&mut transceiver, "signal 0").1,
        "\r\n+CIEV:0,0\r\n\r\n+CIEV:1,0\r\n"
    );
    assert_eq!(
        control(&mut transceiver, "signal 4").1,
        "\r\n+CIEV:0,4\r\n\r\n+CIEV:1,1\r\n"
    );
    assert_eq!(
        control(&mut transceiver, "service off").1,
        "\r\n+CIEV:1,0\r\n"
    );
    assert_eq!(control(&mut transceiver, "signal 1").1, "\r\n+CIEV:0,1\r\n");
    assert_eq!(
        control(&mut transceiver, "service on").1,
        "\r\n+CIEV:1,1\r\n"
    );
    text(&mut transceiver, "AT+CIER=0,1,1\r");
    assert_eq!(control(&mut transceiver, "signal 5").1, "");
}

#[test]
fn sbdwb_writes_the_mo_buffer() {
    let mut transceiver = transceiver();
    assert_eq!(
        text(&mut transceiver, "AT+SBDWB=5\r"),
        "AT+SBDWB=5\rREADY\r\n"
    );
    // The payload is binary: no echo, CR is data; it may come in pieces.
    assert_eq!(bytes(&mut transceiver, b"hel"), b"");
    assert_eq!(text(&mut transceiver, "lo\x02\x14"), "\r\n0\r\n\r\nOK\r\n");
    assert_eq!(status(&mut transceiver)["mo_buffer"], "68656C6C6F");
    assert_eq!(text(&mut transceiver, "ATE0\r"), "ATE0\r\r\nOK\r\n");
    assert_eq!(
        text(&mut transceiver, "AT+SBDS\r"),
        "\r\n+SBDS: 1, 0, 0, -1\r\n\r\nOK\r\n"
    );

    // Binary data with CR and NUL.
    assert_eq!(text(&mut transceiver, "AT+SBDWB=3\r"), "READY\r\n");
    assert_eq!(
        bytes(&mut transceiver, b"\r\x00\xff\x01\x0c"),
        b"\r\n0\r\n\r\nOK\r\n"
    );
    assert_eq!(status(&mut transceiver)["mo_buffer"], "0D00FF");
}

#[test]
fn sbdwb_checksum_and_size_errors() {
    let mut transceiver = quiet();
    text(&mut transceiver, "AT+SBDWT=keep\r");
    assert_eq!(text(&mut transceiver, "AT+SBDWB=5\r"), "READY\r\n");
    assert_eq!(
        text(&mut transceiver, "hello\x02\x15"),
        "\r\n2\r\n\r\nOK\r\n"
    );
    assert_eq!(
        status(&mut transceiver)["mo_buffer"],
        "6B656570",
        "unchanged"
    );
    assert_eq!(
        text(&mut transceiver, "AT+SBDWB=0\r"),
        "\r\n3\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut transceiver, "AT+SBDWB=341\r"),
        "\r\n3\r\n\r\nOK\r\n"
    );
    assert_eq!(text(&mut transceiver, "AT+SBDWB=340\r"), "READY\r\n");
    let mut payload = vec![0xff; 340];
    payload.extend([0x52, 0xac]);
    assert_eq!(bytes(&mut transceiver, &payload), b"\r\n0\r\n\r\nOK\r\n");
    assert_eq!(text(&mut transceiver, "AT+SBDWB=x\r"), "\r\nERROR\r\n");
}

#[test]
fn sbdwb_times_out_after_60_seconds() {
    let mut transceiver = quiet();
    let start = Instant::now();
    let output = transceiver.receive(b"AT+SBDWB=5\rhel", start);
    assert_eq!(output.bytes, b"READY\r\n");
    let almost = transceiver.receive(b"", start + WRITE_PERIOD - Duration::from_millis(1));
    assert_eq!(almost.bytes, b"");
    // Result 1 comes without OK; what follows is a command again.
    let late = transceiver.receive(b"AT\r", start + WRITE_PERIOD);
    assert_eq!(late.bytes, b"\r\n1\r\n\r\nOK\r\n");
    assert_eq!(status(&mut transceiver)["mo_buffer"], Value::Null);
}

#[test]
fn binary_entry_ends_only_with_its_byte_count_esc_included() {
    // A host killed after READY: ESC is one more message byte, commands are message bytes too.
    let mut transceiver = quiet();
    assert_eq!(text(&mut transceiver, "AT+SBDWB=340\r"), "READY\r\n");
    assert_eq!(text(&mut transceiver, "\x1bATE0\rAT\r"), "");
    // 342 bytes in all end it (the checksum cannot match); what follows is a command again.
    let mut fill = vec![b'\r'; 342 - 9];
    fill.extend_from_slice(b"AT\r");
    assert_eq!(
        bytes(&mut transceiver, &fill),
        b"\r\n2\r\n\r\nOK\r\n\r\nOK\r\n"
    );
    assert_eq!(status(&mut transceiver)["mo_buffer"], Value::Null);
}

#[test]
fn indications_wait_while_a_message_is_written() {
    let mut transceiver = quiet();
    text(&mut transceiver, "AT+CIER=1,1,1\r");
    assert_eq!(text(&mut transceiver, "AT+SBDWB=2\r"), "READY\r\n");
    assert_eq!(control(&mut transceiver, "signal 2").1, "");
    assert_eq!(control(&mut transceiver, "mt hi").1, "");
    assert_eq!(
        bytes(&mut transceiver, b"hi\x00\xd1"),
        b"\r\n0\r\n\r\nOK\r\n\r\n+CIEV:0,2\r\n\r\nSBDRING\r\n"
    );
}

#[test]
fn sbdwt_writes_text() {
    let mut transceiver = quiet();
    assert_eq!(
        text(&mut transceiver, "AT+SBDWT=Hello, World?\r"),
        "\r\nOK\r\n"
    );
    assert_eq!(
        status(&mut transceiver)["mo_buffer"],
        "48656C6C6F2C20576F726C643F"
    );
    let too_long = format!("AT+SBDWT={}\r", "x".repeat(121));
    assert_eq!(text(&mut transceiver, &too_long), "\r\nERROR\r\n");
    assert_eq!(text(&mut transceiver, "AT+SBDWT\r"), "READY\r\n");
    assert_eq!(text(&mut transceiver, "long text\r"), "\r\n0\r\n\r\nOK\r\n");
    assert_eq!(status(&mut transceiver)["mo_buffer"], "6C6F6E672074657874");
}

#[test]
fn a_session_delivers_the_mo_buffer_and_keeps_it() {
    let mut transceiver = quiet();
    text(&mut transceiver, "AT+SBDWT=hello\r");
    let (answer, events) = session(&mut transceiver, "AT+SBDIX\r");
    assert_eq!(answer, "\r\n+SBDIX: 0, 0, 0, 0, 0, 0\r\n\r\nOK\r\n");
    assert_eq!(
        events[0],
        json!({"event": "mo", "momsn": 0, "data_hex": "68656C6C6F", "text": "hello"})
    );
    assert_eq!(events[1]["event"], "session");
    assert_eq!(events[1]["command"], "+SBDIX");
    // The MO buffer stays until AT+SBDD0: a second session sends it again.
    assert_eq!(
        text(&mut transceiver, "AT+SBDS\r"),
        "\r\n+SBDS: 1, 1, 0, -1\r\n\r\nOK\r\n"
    );
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 0, 1, 0, 0, 0, 0\r\n\r\nOK\r\n"
    );
    text(&mut transceiver, "AT+SBDD0\r");
    // A mailbox check delivers nothing but counts the MOMSN up all the same.
    let (answer, events) = session(&mut transceiver, "AT+SBDIX\r");
    assert_eq!(answer, "\r\n+SBDIX: 0, 2, 0, 0, 0, 0\r\n\r\nOK\r\n");
    assert_eq!(events.len(), 1);
    let list = control(&mut transceiver, "list-mo").0;
    assert_eq!(list["event"], "mo-list");
    assert_eq!(
        list["messages"],
        json!([
            {"momsn": 0, "data_hex": "68656C6C6F", "text": "hello"},
            {"momsn": 1, "data_hex": "68656C6C6F", "text": "hello"},
        ])
    );
    assert_eq!(status(&mut transceiver)["sessions"], 3);
}

#[test]
fn scripted_failures_then_success() {
    let mut transceiver = quiet();
    text(&mut transceiver, "AT+SBDWT=retry\r");
    control(&mut transceiver, "mo-status 17 18 0");
    for expected in [
        "\r\n+SBDIX: 17, 0, 2, 0, 0, 0\r\n\r\nOK\r\n",
        "\r\n+SBDIX: 18, 0, 2, 0, 0, 0\r\n\r\nOK\r\n",
    ] {
        let (answer, events) = session(&mut transceiver, "AT+SBDIX\r");
        assert_eq!(answer, expected);
        assert_eq!(events.len(), 1, "no mo event on failure");
    }
    let (answer, events) = session(&mut transceiver, "AT+SBDIX\r");
    assert_eq!(answer, "\r\n+SBDIX: 0, 0, 0, 0, 0, 0\r\n\r\nOK\r\n");
    assert_eq!(events[0]["text"], "retry");
    // A permanent failure (access denied) is one code like the others.
    control(&mut transceiver, "mo-status 15");
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 15, 1, 2, 0, 0, 0\r\n\r\nOK\r\n"
    );
    assert_eq!(status(&mut transceiver)["mo_status_script"], json!([]));
}

#[test]
fn no_service_fails_with_32() {
    let mut transceiver = quiet();
    text(&mut transceiver, "AT+SBDWT=hi\r");
    control(&mut transceiver, "mt queued");
    control(&mut transceiver, "mo-status 17");
    control(&mut transceiver, "signal 0");
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 32, 0, 2, 0, 0, 0\r\n\r\nOK\r\n"
    );
    control(&mut transceiver, "signal 3");
    control(&mut transceiver, "service off");
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 32, 0, 2, 0, 0, 0\r\n\r\nOK\r\n"
    );
    control(&mut transceiver, "service on");
    // The scripted status was kept for the first session that reached the gateway.
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 17, 0, 2, 0, 0, 0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 0, 0, 1, 1, 6, 0\r\n\r\nOK\r\n"
    );
}

#[test]
fn sbdrb_sends_the_binary_block() {
    let mut transceiver = transceiver();
    // An empty MT buffer: length and checksum zero.
    let mut expected = b"AT+SBDRB\r\x00\x00\x00\x00\r\nOK\r\n".to_vec();
    assert_eq!(bytes(&mut transceiver, b"AT+SBDRB\r"), expected);
    text(&mut transceiver, "ATE0\r");
    control(&mut transceiver, "mt-hex 00FF10");
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 0, 0, 1, 1, 3, 0\r\n\r\nOK\r\n"
    );
    // 0x00 + 0xff + 0x10 = 0x010f.
    expected = b"\x00\x03\x00\xff\x10\x01\x0f\r\nOK\r\n".to_vec();
    assert_eq!(bytes(&mut transceiver, b"AT+SBDRB\r"), expected);
    // Reading does not clear the MT buffer; AT+SBDD1 does.
    assert_eq!(
        text(&mut transceiver, "AT+SBDS\r"),
        "\r\n+SBDS: 0, 1, 1, 1\r\n\r\nOK\r\n"
    );
    assert_eq!(text(&mut transceiver, "AT+SBDD1\r"), "\r\n0\r\n\r\nOK\r\n");
    assert_eq!(
        text(&mut transceiver, "AT+SBDS\r"),
        "\r\n+SBDS: 0, 1, 0, -1\r\n\r\nOK\r\n"
    );
}

#[test]
fn ring_alert_answered_with_sbdixa() {
    let mut transceiver = quiet();
    let (reply, unsolicited) = control(&mut transceiver, "mt Hello ground");
    assert_eq!(reply, json!({"event": "ok", "queued": 1, "rang": true}));
    assert_eq!(unsolicited, "\r\nSBDRING\r\n");
    assert_eq!(
        text(&mut transceiver, "AT+CRIS\r"),
        "\r\n+CRIS:0,1\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut transceiver, "AT+SBDSX\r"),
        "\r\n+SBDSX: 0, 0, 0, -1, 1, 0\r\n\r\nOK\r\n"
    );
    let (answer, events) = session(&mut transceiver, "AT+SBDIXA\r");
    assert_eq!(answer, "\r\n+SBDIX: 0, 0, 1, 1, 12, 0\r\n\r\nOK\r\n");
    assert_eq!(events[0]["command"], "+SBDIXA");
    assert_eq!(
        text(&mut transceiver, "AT+CRIS\r"),
        "\r\n+CRIS:0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut transceiver, "AT+SBDRT\r"),
        "\r\n+SBDRT:\r\nHello ground\r\n\r\nOK\r\n"
    );

    // Ring alerts off: the message waits silently; `ring` rings only with service.
    text(&mut transceiver, "AT+SBDMTA=0\r");
    assert_eq!(control(&mut transceiver, "mt quiet").1, "");
    text(&mut transceiver, "AT+SBDMTA=1\r");
    control(&mut transceiver, "signal 0");
    assert_eq!(
        control(&mut transceiver, "ring"),
        (json!({"event": "ok", "rang": false}), String::new())
    );
    control(&mut transceiver, "signal 1");
    assert_eq!(control(&mut transceiver, "ring").1, "\r\nSBDRING\r\n");
    control(&mut transceiver, "auto-ring off");
    assert_eq!(
        control(&mut transceiver, "mt silent"),
        (
            json!({"event": "ok", "queued": 2, "rang": false}),
            String::new()
        )
    );
}

#[test]
fn the_mt_queue_drains_one_message_per_session() {
    let mut transceiver = quiet();
    control(&mut transceiver, "auto-ring off");
    for message in ["one", "two", "three"] {
        control(&mut transceiver, &format!("mt {message}"));
    }
    assert_eq!(status(&mut transceiver)["gateway_queue"], 3);
    for (answer, buffer) in [
        ("\r\n+SBDIX: 0, 0, 1, 1, 3, 2\r\n\r\nOK\r\n", "one"),
        ("\r\n+SBDIX: 0, 1, 1, 2, 3, 1\r\n\r\nOK\r\n", "two"),
        ("\r\n+SBDIX: 0, 2, 1, 3, 5, 0\r\n\r\nOK\r\n", "three"),
    ] {
        assert_eq!(sbdix(&mut transceiver), answer);
        assert_eq!(
            text(&mut transceiver, "AT+SBDRT\r"),
            format!("\r\n+SBDRT:\r\n{buffer}\r\n\r\nOK\r\n")
        );
    }
    // A session empties the MT buffer even when nothing new arrives.
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 0, 3, 0, 0, 0, 0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        text(&mut transceiver, "AT+SBDS\r"),
        "\r\n+SBDS: 0, 4, 0, -1\r\n\r\nOK\r\n"
    );
    // MO status 1: the MT message was too big to come along.
    control(&mut transceiver, "mt four");
    control(&mut transceiver, "mo-status 1");
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 1, 4, 0, 0, 0, 1\r\n\r\nOK\r\n"
    );
    let status = status(&mut transceiver);
    assert_eq!(
        (status["momsn"].as_u64(), status["mtmsn"].as_u64()),
        (Some(5), None)
    );
}

#[test]
fn sequence_numbers_wrap_and_sbdc_clears_the_momsn() {
    let mut transceiver = quiet();
    transceiver.momsn = u16::MAX;
    assert_eq!(
        sbdix(&mut transceiver),
        "\r\n+SBDIX: 0, 65535, 0, 0, 0, 0\r\n\r\nOK\r\n"
    );
    assert_eq!(status(&mut transceiver)["momsn"], 0);
    sbdix(&mut transceiver);
    assert_eq!(text(&mut transceiver, "AT+SBDC\r"), "\r\n0\r\n\r\nOK\r\n");
    assert_eq!(
        text(&mut transceiver, "AT+SBDS\r"),
        "\r\n+SBDS: 0, 0, 0, -1\r\n\r\nOK\r\n"
    );
}

#[test]
fn input_during_a_session_is_answered_after_it() {
    let mut transceiver = quiet();
    assert_eq!(text(&mut transceiver, "AT+SBDIX\rAT+CS"), "");
    assert_eq!(text(&mut transceiver, "Q\r"), "");
    let output = transceiver.finish_session(Instant::now());
    assert_eq!(
        String::from_utf8(output.bytes).unwrap(),
        "\r\n+SBDIX: 0, 0, 0, 0, 0, 0\r\n\r\nOK\r\n\r\n+CSQ:5\r\n\r\nOK\r\n"
    );
    // Indications caused during the session follow its answer.
    text(&mut transceiver, "AT+CIER=1,1,0\r");
    text(&mut transceiver, "AT+SBDIX\r");
    assert_eq!(control(&mut transceiver, "signal 1").1, "");
    let output = transceiver.finish_session(Instant::now());
    assert_eq!(
        String::from_utf8(output.bytes).unwrap(),
        "\r\n+SBDIX: 0, 1, 0, 0, 0, 0\r\n\r\nOK\r\n\r\n+CIEV:0,1\r\n"
    );
}

#[test]
fn the_device_reports_sessions_as_work_that_takes_a_while() {
    let mut transceiver = Transceiver::new(DEFAULT_IMEI.to_owned(), false, Duration::ZERO);
    let output = SimulatedDevice::receive(&mut transceiver, b"AT+SBDIX\rAT+SBDIX\r");
    assert_eq!(String::from_utf8(output.bytes).unwrap(), "AT+SBDIX\r");
    assert_eq!(
        output.events,
        [json!({"event": "session-start", "command": "+SBDIX", "momsn": 0})]
    );
    assert_eq!(transceiver.work_in_progress(), Some(Duration::ZERO));
    // The answer, then the input that waited: the second session starts.
    let output = transceiver.finish_work();
    assert_eq!(
        String::from_utf8(output.bytes).unwrap(),
        "\r\n+SBDIX: 0, 0, 0, 0, 0, 0\r\n\r\nOK\r\nAT+SBDIX\r"
    );
    assert_eq!(output.events[0]["event"], "session");
    assert_eq!(
        output.events[1],
        json!({"event": "session-start", "command": "+SBDIX", "momsn": 1})
    );
    let output = transceiver.finish_work();
    assert_eq!(
        String::from_utf8(output.bytes).unwrap(),
        "\r\n+SBDIX: 0, 1, 0, 0, 0, 0\r\n\r\nOK\r\n"
    );
    assert_eq!(transceiver.work_in_progress(), None);
    let identity = SimulatedDevice::identity(&transceiver);
    assert_eq!(identity["imei"], DEFAULT_IMEI);
    assert!(SimulatedDevice::control(&mut transceiver, "session-delay 5", 0).is_ok());
    assert!(SimulatedDevice::control(&mut transceiver, "sms +49 hi", 0).is_err());
    assert_eq!(status(&mut transceiver)["session_delay_ms"], 5);
}
