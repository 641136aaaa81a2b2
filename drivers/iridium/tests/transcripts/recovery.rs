//! Silence, hangups, resets, raw commands and garbage.

use m2mhal_plugin_api::{CallErrorKind, CallReply, Event, Request};
use proptest::prelude::*;

use crate::support::{
    Terminal, binary, configure, identify, momsn_read, ready_terminal, sbdix, write_message,
};

#[test]
fn three_timeouts_fail_the_terminal_and_probing_brings_it_back() {
    let mut terminal = ready_terminal();
    let send = terminal.send(binary("m1", b"x"));
    terminal.expect_tx("AT+SBDWB=1");
    terminal.advance(15_000); // no READY: timeout 1, written again
    terminal.expect_tx("AT+SBDWB=1");
    let command = terminal.call(Request::Command {
        line: "AT+CSQF".into(),
        timeout_ms: 1000,
    });
    terminal.advance(15_000); // timeout 2
    terminal.expect_tx("AT+SBDWB=1");
    assert_eq!(
        terminal.state().0,
        "ready",
        "two timeouts are not yet silence"
    );
    terminal.advance(15_000); // timeout 3
    assert_eq!(terminal.state(), ("failed", "no-response"));
    assert_eq!(
        terminal.reply(send).unwrap_err().kind,
        CallErrorKind::Timeout
    );
    assert_eq!(
        terminal.reply(command).unwrap_err().kind,
        CallErrorKind::Timeout
    );
    terminal.expect_no_tx();

    // Probes back off: 2 s, then 4 s.
    terminal.advance(2_000);
    terminal.expect_tx("AT");
    terminal.advance(2_000);
    terminal.advance(3_999);
    terminal.expect_no_tx();
    terminal.advance(1);
    terminal.expect_tx("AT");
    terminal.rx("\r\nOK\r\n");
    assert_eq!(terminal.state(), ("initializing", ""));
    terminal.resync();
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    configure(&mut terminal, "+SBDS: 0, 12, 0, -1");
    assert_eq!(terminal.state(), ("ready", ""));
}

#[test]
fn session_timeout_is_retried_later() {
    let mut terminal = ready_terminal();
    let call = terminal.send(binary("m1", b"x"));
    write_message(&mut terminal, b"x");
    terminal.expect_tx("AT+SBDIX");
    terminal.advance(90_000);
    assert!(!terminal.answered(call));
    terminal.advance(15_000);
    // The timed-out session may have counted the MOMSN up: it is read again.
    momsn_read(&mut terminal, 3);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 3, 0, 0, 0, 0]));
    assert!(terminal.reply(call).is_ok());
}

#[test]
fn hangup_goes_offline_and_fails_waiting_work() {
    let mut terminal = ready_terminal();
    terminal.rx("\r\n+CIEV:1,0\r\n");
    let send = terminal.send(binary("m1", b"x"));
    terminal.input(Event::Hangup);
    assert_eq!(terminal.state(), ("offline", "hangup"));
    assert_eq!(
        terminal.reply(send).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    let refused = terminal.send(binary("m2", b"y"));
    assert_eq!(
        terminal.reply(refused).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    terminal.rx("\r\nSBDRING\r\n");
    terminal.expect_no_tx();
    terminal.open();
    terminal.resync();
    terminal.expect_tx("ATE0");
}

#[test]
fn a_hangup_during_a_session_never_answers_its_message_not_ready() {
    let mut terminal = ready_terminal();
    let carried = terminal.send(binary("m1", b"x"));
    let waiting = terminal.send(binary("m2", b"y"));
    write_message(&mut terminal, b"x");
    terminal.expect_tx("AT+SBDIX");
    terminal.input(Event::Hangup);
    // The session may have delivered m1: Timeout, so the host never sends it elsewhere.
    let error = terminal.reply(carried).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::Timeout, "{error:?}");
    assert!(
        error.message.contains("may have reached the gateway"),
        "{error:?}"
    );
    assert_eq!(
        terminal.reply(waiting).unwrap_err().kind,
        CallErrorKind::NotReady
    );
}

#[test]
fn reopen_keeps_waiting_messages_and_sends_them_after_init() {
    let mut terminal = ready_terminal();
    let first = terminal.send(binary("m0", b"w"));
    write_message(&mut terminal, b"w");
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 11, 0, 0, 0, 0]));
    assert!(terminal.reply(first).is_ok());
    terminal.ok("AT+SBDD0", &["0"]);
    // The next one waits for the minimum interval between sessions.
    let call = terminal.send(binary("m1", b"x"));
    terminal.expect_no_tx();
    terminal.open();
    assert!(!terminal.answered(call));
    terminal.resync();
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    configure(&mut terminal, "+SBDS: 0, 12, 0, -1");
    terminal.advance(15_000);
    write_message(&mut terminal, b"x");
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 13, 0, 0, 0, 0]));
    assert!(terminal.reply(call).is_ok());
}

#[test]
fn raw_commands_pass_through_and_refresh_is_csq() {
    let mut terminal = ready_terminal();
    let call = terminal.call(Request::Command {
        line: "AT+CSQF".into(),
        timeout_ms: 0,
    });
    terminal.ok("AT+CSQF", &["+CSQF:3"]);
    assert_eq!(
        terminal.reply(call),
        Ok(CallReply::Text("+CSQF:3\nOK".into()))
    );
    let bad = terminal.call(Request::Command {
        line: "AT\rATZ".into(),
        timeout_ms: 0,
    });
    assert_eq!(
        terminal.reply(bad).unwrap_err().kind,
        CallErrorKind::InvalidArgument
    );
    let refresh = terminal.call(Request::Refresh);
    terminal.expect_tx("AT+CSQ");
    terminal.advance(60_000);
    assert_eq!(
        terminal.reply(refresh).unwrap_err().kind,
        CallErrorKind::Timeout
    );
}

#[test]
fn calls_other_than_messaging_and_signal_are_not_supported() {
    let mut terminal = ready_terminal();
    let call = terminal.call(Request::Connect);
    assert_eq!(
        terminal.reply(call).unwrap_err().kind,
        CallErrorKind::NotSupported
    );
}

proptest! {
    #[test]
    fn garbage_never_panics_and_the_terminal_still_answers(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)
    ) {
        let mut terminal = ready_terminal();
        terminal.send(binary("m1", b"x"));
        terminal.call(Request::Poll);
        for chunk in &chunks {
            terminal.rx_bytes(chunk);
        }
        terminal.advance(200_000);
        terminal.rx_bytes(b"\r\nOK\r\n0\r\nSBDRING\r\n+CIEV:1,1\r\n");
        terminal.advance(200_000);
        let state = terminal.state().0;
        prop_assert!(state == "ready" || state == "failed", "{state}");
    }
}

#[test]
fn rx_before_open_is_ignored() {
    let mut terminal = Terminal::new();
    terminal.rx("\r\nSBDRING\r\n");
    terminal.expect_no_tx();
    assert!(terminal.devices.is_empty());
}
