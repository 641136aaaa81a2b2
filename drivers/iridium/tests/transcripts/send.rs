//! Mobile-originated messages: `AT+SBDWB`, `READY`, message and checksum, `AT+SBDIX`, and what
//! each MO status does.

use std::collections::BTreeMap;

use m2mhal_plugin_api::{CallErrorKind, CallReply, Encoding, LogLevel, MessageState, Request};
use proptest::prelude::*;

use crate::support::{
    EPOCH, Terminal, binary, message, momsn_read, ready_terminal, ready_with, sbdix, with_checksum,
    write_message,
};

fn sent(
    momsn: u32,
    mo_status: u32,
    attempts: u32,
) -> Result<CallReply, m2mhal_plugin_api::CallError> {
    Ok(CallReply::Sent(BTreeMap::from([
        ("attempts".to_owned(), attempts.to_string()),
        ("mo_status".to_owned(), mo_status.to_string()),
        ("momsn".to_owned(), momsn.to_string()),
    ])))
}

/// `AT+SBDIX` is written and answered with `fields`.
#[track_caller]
fn session(terminal: &mut Terminal, fields: [u32; 6]) {
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix(fields));
}

#[test]
fn text_message_goes_out_with_its_checksum() {
    let mut terminal = ready_terminal();
    let call = terminal.call(Request::Send(message("m1", b"hello", Encoding::Text)));
    terminal.expect_tx("AT+SBDWB=5");
    terminal.rx("\r\nREADY\r\n");
    // "hello" sums to 0x0214: the checksum follows, high byte first.
    terminal.expect_bytes(b"hello\x02\x14");
    assert!(terminal.message_states.is_empty(), "no session yet");
    terminal.rx("\r\n0\r\n\r\nOK\r\n");
    // Recorded before AT+SBDIX: the attempt and the MOMSN it uses (12, from AT+SBDS at init).
    assert_eq!(terminal.message_states[0].id, "m1");
    assert_eq!(terminal.message_states[0].state, MessageState::Sending);
    assert_eq!(terminal.message_states[0].info["attempt"], "1");
    assert_eq!(terminal.message_states[0].info["momsn_pending"], "12");
    terminal.expect_tx("AT+SBDIX");
    terminal.rx("\r\n+SBDIX: 0, 23, 0, 0, 0, 0\r\n\r\nOK\r\n");
    assert_eq!(terminal.reply(call), sent(23, 0, 1));
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.expect_no_tx();
    assert_eq!(terminal.state(), ("ready", ""));
}

#[test]
fn binary_message_of_340_bytes_with_line_endings_and_nuls() {
    let mut terminal = ready_terminal();
    let payload: Vec<u8> = (0..340u32)
        .map(|i| [0x00, b'\r', b'\n', 0xff][i as usize % 4])
        .collect();
    let call = terminal.send(binary("m1", &payload));
    write_message(&mut terminal, &payload);
    session(&mut terminal, [1, 7, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(7, 1, 1));
    assert!(terminal.logged(LogLevel::Warn, "MT message too big"));
}

#[test]
fn payload_that_reads_like_the_write_result_is_not_taken_for_an_echo() {
    // 0x30 0xD0 with its checksum 0x0100 reads "0" as text, like the result line that follows;
    // the terminal never echoes what it reads after READY, so that line is the result.
    let mut terminal = ready_terminal();
    let call = terminal.send(binary("m1", &[0x30, 0xD0]));
    terminal.expect_tx("AT+SBDWB=2");
    terminal.rx("\r\nREADY\r\n");
    terminal.expect_bytes(b"0\xD0\x01\x00");
    terminal.rx("\r\n0\r\n\r\nOK\r\n");
    session(&mut terminal, [0, 31, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(31, 0, 1));
    let warnings: Vec<_> = terminal
        .logs
        .iter()
        .filter(|(level, _)| *level == LogLevel::Warn)
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn sbdwb_results_1_and_2_are_retried_once() {
    let mut terminal = ready_terminal();
    let first = terminal.send(binary("m1", b"abc"));
    terminal.expect_tx("AT+SBDWB=3");
    terminal.rx("\r\nREADY\r\n");
    terminal.expect_bytes(&with_checksum(b"abc"));
    terminal.rx("\r\n2\r\n\r\nOK\r\n");
    assert!(terminal.logged(
        LogLevel::Warn,
        "SBDWB result 2: the checksum does not match"
    ));
    write_message(&mut terminal, b"abc");
    session(&mut terminal, [0, 8, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(first), sent(8, 0, 1));
    terminal.ok("AT+SBDD0", &["0"]);

    // Result 1 twice: the message fails, naming the result.
    let second = terminal.send(binary("m2", b"xyz"));
    terminal.advance(15_000);
    for _ in 0..2 {
        terminal.expect_tx("AT+SBDWB=3");
        terminal.rx("\r\nREADY\r\n");
        terminal.expect_bytes(&with_checksum(b"xyz"));
        terminal.rx("\r\n1\r\n\r\nOK\r\n");
    }
    let error = terminal.reply(second).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::Failed);
    assert!(
        error.message.contains("SBDWB result 1: write timeout"),
        "{}",
        error.message
    );
    terminal.expect_no_tx();
    assert_eq!(terminal.state().0, "ready");
}

#[test]
fn sbdwb_result_3_fails_the_size_at_once() {
    let mut terminal = ready_terminal();
    let call = terminal.send(binary("m1", &[1; 300]));
    terminal.expect_tx("AT+SBDWB=300");
    // An older terminal with a smaller MO buffer refuses the size without READY.
    terminal.rx("\r\n3\r\n\r\nOK\r\n");
    let error = terminal.reply(call).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::PayloadTooLarge);
    assert!(
        error.message.starts_with("SBDWB result 3"),
        "{}",
        error.message
    );
    terminal.expect_no_tx();
}

#[test]
fn transient_failures_retry_with_doubling_delays_without_rewriting() {
    let mut terminal = ready_terminal();
    let call = terminal.send(binary("m1", b"position 1"));
    write_message(&mut terminal, b"position 1");
    session(&mut terminal, [18, 9, 2, 0, 0, 0]);
    assert!(terminal.logged(LogLevel::Warn, "MO status 18: connection lost (RF drop)"));
    let retry = terminal.message_states.last().unwrap().clone();
    assert_eq!(retry.state, MessageState::Sending);
    assert_eq!(retry.info["attempt"], "1");
    assert_eq!(
        retry.info["last_error"],
        "MO status 18: connection lost (RF drop)"
    );
    assert_eq!(retry.info["next_attempt_at"], (EPOCH + 15).to_string());

    // 15 s, then 30 s, then 60 s; the message stays in the MO buffer.
    for (wait_s, status, meaning) in [
        (15, 17, "gateway not responding"),
        (30, 10, "did not complete in the allowed time"),
        (60, 35, "busy"),
    ] {
        terminal.advance(wait_s * 1000 - 1);
        terminal.expect_no_tx();
        terminal.advance(1);
        momsn_read(&mut terminal, 9);
        session(&mut terminal, [status, 9, 2, 0, 0, 0]);
        assert!(terminal.logged(LogLevel::Warn, meaning), "{status}");
    }
    assert!(!terminal.answered(call));
    terminal.advance(120_000);
    momsn_read(&mut terminal, 9);
    session(&mut terminal, [0, 9, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(9, 0, 5));
    terminal.ok("AT+SBDD0", &["0"]);
    let attempts: Vec<&str> = terminal
        .message_states
        .iter()
        .map(|change| change.info["attempt"].as_str())
        .collect();
    assert_eq!(attempts, ["1", "1", "2", "2", "3", "3", "4", "4", "5"]);

    // Success resets the backoff: the next message only waits the minimum interval.
    let next = terminal.send(binary("m2", b"position 2"));
    terminal.advance(14_999);
    terminal.expect_no_tx();
    terminal.advance(1);
    write_message(&mut terminal, b"position 2");
    session(&mut terminal, [0, 10, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(next), sent(10, 0, 1));
}

#[test]
fn backoff_stops_at_max_backoff() {
    let mut terminal = ready_with(&[("min_session_interval", "10"), ("max_backoff", "25")]);
    terminal.send(binary("m1", b"x"));
    write_message(&mut terminal, b"x");
    session(&mut terminal, [13, 1, 2, 0, 0, 0]);
    for wait_s in [10, 20, 25, 25] {
        terminal.advance(wait_s * 1000 - 1);
        terminal.expect_no_tx();
        terminal.advance(1);
        momsn_read(&mut terminal, 1);
        session(&mut terminal, [13, 1, 2, 0, 0, 0]);
    }
}

#[test]
fn mo_status_36_waits_three_minutes() {
    let mut terminal = ready_terminal();
    let call = terminal.send(binary("m1", b"x"));
    write_message(&mut terminal, b"x");
    session(&mut terminal, [36, 1, 2, 0, 0, 0]);
    terminal.advance(179_999);
    terminal.expect_no_tx();
    terminal.advance(1);
    momsn_read(&mut terminal, 1);
    session(&mut terminal, [0, 1, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(1, 0, 2));
}

#[test]
fn access_denied_fails_the_message_and_the_terminal() {
    let mut terminal = ready_terminal();
    let first = terminal.send(binary("m1", b"one"));
    let second = terminal.send(binary("m2", b"two"));
    write_message(&mut terminal, b"one");
    session(&mut terminal, [15, 4, 2, 0, 0, 0]);
    let error = terminal.reply(first).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::Failed);
    assert_eq!(error.message, "MO status 15: access is denied");
    assert_eq!(terminal.state(), ("failed", "access-denied"));
    assert!(terminal.logged(LogLevel::Error, "MO status 15: access is denied"));
    let error = terminal.reply(second).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::NotReady);
    assert!(error.message.contains("access-denied"), "{}", error.message);
    let later = terminal.send(binary("m3", b"three"));
    assert_eq!(
        terminal.reply(later).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    // The buffer is cleared; nothing else goes out until a Reset.
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.advance(3_600_000);
    terminal.expect_no_tx();
    let reset = terminal.call(Request::Reset);
    assert_eq!(terminal.reply(reset), Ok(CallReply::Done));
    terminal.resync();
    terminal.expect_tx("ATE0");
}

#[test]
fn every_terminal_failure_names_its_reason() {
    for (status, reason) in [
        (16, "locked"),
        (33, "antenna-fault"),
        (34, "radio-disabled"),
        (64, "band-violation"),
        (65, "hardware-failure"),
    ] {
        let mut terminal = ready_terminal();
        let call = terminal.send(binary("m1", b"x"));
        write_message(&mut terminal, b"x");
        session(&mut terminal, [status, 1, 2, 0, 0, 0]);
        let error = terminal.reply(call).unwrap_err();
        assert!(error.message.starts_with(&format!("MO status {status}: ")));
        assert_eq!(terminal.state(), ("failed", reason));
    }
}

#[test]
fn rejected_message_fails_alone_and_the_next_one_goes() {
    let mut terminal = ready_terminal();
    let first = terminal.send(binary("m1", b"one"));
    let second = terminal.send(binary("m2", b"two"));
    write_message(&mut terminal, b"one");
    session(&mut terminal, [14, 4, 0, 0, 0, 0]);
    let error = terminal.reply(first).unwrap_err();
    assert_eq!(error.message, "MO status 14: invalid segment size");
    assert_eq!(terminal.state().0, "ready");
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.advance(15_000);
    write_message(&mut terminal, b"two");
    momsn_read(&mut terminal, 4);
    session(&mut terminal, [0, 4, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(second), sent(4, 0, 1));
}

/// The terminal has no service: a message is answered `NotReady` at once (nothing went on the
/// air; the host keeps it, and the router may hand it to another uplink).
#[track_caller]
fn handed_back(terminal: &mut Terminal, id: &str, payload: &[u8]) {
    let call = terminal.send(binary(id, payload));
    assert_eq!(
        terminal.reply(call).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    terminal.expect_no_tx();
}

#[test]
fn no_session_without_service_until_ciev_1_1() {
    let mut terminal = ready_terminal();
    terminal.rx("\r\n+CIEV:1,0\r\n");
    handed_back(&mut terminal, "m1", b"sos");
    // After a message was handed back, the signal is polled (60 s by default).
    terminal.advance(60_000);
    terminal.ok("AT+CSQ", &["+CSQ:0"]);
    terminal.expect_no_tx();
    let poll = terminal.call(Request::Poll);
    assert_eq!(
        terminal.reply(poll).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    terminal.rx("\r\n+CIEV:1,1\r\n");
    // The poll asked earlier: the mailbox is checked now that service is back.
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 3, 0, 0, 0, 0]));
    // Service is back: the bars are read, news for the host that holds the message.
    terminal.ok("AT+CSQ", &["+CSQ:4"]);
    let call = terminal.send(binary("m1", b"sos"));
    terminal.advance(15_000);
    write_message(&mut terminal, b"sos");
    session(&mut terminal, [0, 4, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(4, 0, 1));
}

#[test]
fn bars_do_not_override_the_terminals_no_service_indication() {
    let mut terminal = ready_terminal();
    terminal.rx("\r\n+CIEV:1,0\r\n");
    handed_back(&mut terminal, "m1", b"sos");
    terminal.advance(60_000);
    terminal.ok("AT+CSQ", &["+CSQ:5"]);
    handed_back(&mut terminal, "m1", b"sos");
    terminal.rx("\r\n+CIEV:1,1\r\n");
    terminal.ok("AT+CSQ", &["+CSQ:5"]);
    let call = terminal.send(binary("m1", b"sos"));
    write_message(&mut terminal, b"sos");
    session(&mut terminal, [0, 3, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(3, 0, 1));
}

#[test]
fn service_lost_during_the_session_hands_the_message_back() {
    let mut terminal = ready_terminal();
    let call = terminal.send(binary("m1", b"sos"));
    write_message(&mut terminal, b"sos");
    // MO status 32: the call could not start; the gateway does not have the message.
    session(&mut terminal, [32, 3, 0, 0, 0, 0]);
    assert_eq!(
        terminal.reply(call).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    // Its record of the session is cleared before the answer: when it comes back, its MOMSN
    // must not read as sent.
    let cleared = terminal.message_states.last().unwrap().clone();
    assert_eq!(
        (cleared.id.as_str(), cleared.state),
        ("m1", MessageState::Sending)
    );
    assert_eq!(cleared.info["momsn_pending"], "");
    assert_eq!(cleared.info["attempt"], "1");
    // The signal poll (60 s) finds bars again; the message comes back and goes.
    terminal.advance(60_000);
    terminal.ok("AT+CSQ", &["+CSQ:3"]);
    terminal.expect_no_tx();
    let call = terminal.send(binary("m1", b"sos"));
    write_message(&mut terminal, b"sos");
    momsn_read(&mut terminal, 3);
    session(&mut terminal, [0, 3, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(3, 0, 1));
}

#[test]
fn a_message_whose_session_gave_no_result_is_kept_when_service_goes() {
    let mut terminal = ready_terminal();
    let kept = terminal.send(binary("m1", b"maybe"));
    write_message(&mut terminal, b"maybe");
    terminal.expect_tx("AT+SBDIX");
    // No answer within 90 s: the gateway may have it.
    terminal.advance(90_000);
    terminal.rx("\r\n+CIEV:1,0\r\n");
    handed_back(&mut terminal, "m2", b"two");
    assert!(!terminal.answered(kept), "it may have gone: it stays");
}

#[test]
fn csq_poll_finds_service_back_without_an_indication() {
    let mut terminal = ready_terminal();
    terminal.rx("\r\n+CIEV:0,0\r\n");
    handed_back(&mut terminal, "m1", b"sos");
    terminal.advance(60_000);
    terminal.ok("AT+CSQ", &["+CSQ:2"]);
    let call = terminal.send(binary("m1", b"sos"));
    write_message(&mut terminal, b"sos");
    session(&mut terminal, [0, 3, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(call), sent(3, 0, 1));
    // Service is back and nothing waits: no more polling.
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.advance(600_000);
    terminal.expect_no_tx();
}

#[test]
fn messages_go_in_order_one_session_at_a_time() {
    let mut terminal = ready_terminal();
    let first = terminal.send(binary("m1", b"1"));
    let second = terminal.send(binary("m2", b"2"));
    write_message(&mut terminal, b"1");
    session(&mut terminal, [0, 1, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(first), sent(1, 0, 1));
    assert!(!terminal.answered(second));
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.advance(14_999);
    terminal.expect_no_tx();
    terminal.advance(1);
    write_message(&mut terminal, b"2");
    session(&mut terminal, [0, 2, 0, 0, 0, 0]);
    assert_eq!(terminal.reply(second), sent(2, 0, 1));
}

proptest! {
    #[test]
    fn any_payload_is_written_with_its_checksum(payload in proptest::collection::vec(any::<u8>(), 1..=340)) {
        let mut terminal = ready_terminal();
        let call = terminal.send(binary("m1", &payload));
        write_message(&mut terminal, &payload);
        session(&mut terminal, [0, 42, 0, 0, 0, 0]);
        prop_assert_eq!(terminal.reply(call), sent(42, 0, 1));
    }
}
