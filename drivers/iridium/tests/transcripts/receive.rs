//! Mobile-terminated messages: mailbox sessions, ring alerts, `AT+SBDRB` and the commit before
//! `AT+SBDD1`.

use std::collections::BTreeMap;

use m2mhal_plugin_api::{CallErrorKind, CallReply, LogLevel, Request};

use crate::support::{
    EPOCH, Terminal, binary, configure, identify, momsn_read, read_block, ready_terminal, sbdix,
    write_message,
};

/// FNV-1a 64 of "hello".
const HELLO_KEY: &str = "mtmsn:1093:a430d84680aabd0b";

#[test]
fn poll_downloads_a_message_and_clears_it_after_the_commit() {
    let mut terminal = ready_terminal();
    let poll = terminal.call(Request::Poll);
    // The MO buffer was cleared at initialisation: straight to the session.
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 24, 1, 1093, 5, 0]));
    assert_eq!(terminal.reply(poll), Ok(CallReply::Done));
    terminal.expect_tx("AT+SBDRB");
    terminal.rx_bytes(&read_block(b"hello"));
    let received = terminal.received.last().unwrap().clone();
    assert_eq!(received.key, HELLO_KEY);
    assert_eq!(received.peer, "");
    assert_eq!(received.payload, b"hello");
    assert_eq!(received.text.as_deref(), Some("hello"));
    assert_eq!(received.timestamp, EPOCH);
    assert_eq!(
        received.info,
        BTreeMap::from([
            ("mt_queued".to_owned(), "0".to_owned()),
            ("mtmsn".to_owned(), "1093".to_owned()),
        ])
    );
    // Nothing is cleared before the host has the message.
    terminal.advance(60_000);
    terminal.expect_no_tx();
    terminal.commit("mtmsn:1093:0000000000000000");
    terminal.expect_no_tx();
    terminal.commit(HELLO_KEY);
    terminal.ok("AT+SBDD1", &["0"]);
    terminal.expect_no_tx();
}

#[test]
fn binary_message_read_with_echo_on() {
    let mut terminal = ready_terminal();
    terminal.call(Request::Poll);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 24, 1, 7, 4, 0]));
    terminal.expect_tx("AT+SBDRB");
    let payload = [0x00, 0xff, b'\r', b'\n'];
    let answer = [b"AT+SBDRB\r".as_slice(), &read_block(&payload)].concat();
    terminal.rx_bytes(&answer);
    let received = terminal.received.last().unwrap();
    assert_eq!(received.payload, payload);
    assert_eq!(received.text, None, "not UTF-8");
    assert!(received.key.starts_with("mtmsn:7:"));
}

#[test]
fn bad_checksum_is_read_again_once() {
    let mut terminal = ready_terminal();
    terminal.call(Request::Poll);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 24, 1, 1093, 5, 0]));
    terminal.expect_tx("AT+SBDRB");
    terminal.rx_bytes(b"\x00\x05hellO\x02\x14\r\nOK\r\n");
    assert!(terminal.logged(LogLevel::Warn, "checksum mismatch"));
    assert!(terminal.received.is_empty());
    terminal.expect_tx("AT+SBDRB");
    terminal.rx_bytes(&read_block(b"hello"));
    assert_eq!(terminal.received[0].key, HELLO_KEY);
}

#[test]
fn a_copy_bad_twice_is_given_up_and_sessions_go_on() {
    let mut terminal = ready_terminal();
    terminal.call(Request::Poll);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 24, 1, 1093, 5, 0]));
    for _ in 0..2 {
        terminal.expect_tx("AT+SBDRB");
        terminal.rx_bytes(b"\x00\x05hellO\x02\x14\r\nOK\r\n");
    }
    assert!(terminal.logged(LogLevel::Warn, "giving up on this copy"));
    assert!(terminal.received.is_empty());
    let call = terminal.send(binary("m1", b"next"));
    terminal.advance(15_000);
    write_message(&mut terminal, b"next");
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 25, 0, 0, 0, 0]));
    assert!(terminal.reply(call).is_ok());
}

#[test]
fn queued_messages_are_fetched_one_session_each_after_each_commit() {
    let mut terminal = ready_terminal();
    terminal.call(Request::Poll);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 24, 1, 100, 1, 2]));
    for (mtmsn, queued) in [(100, 2), (101, 1), (102, 0)] {
        terminal.expect_tx("AT+SBDRB");
        terminal.rx_bytes(&read_block(&[mtmsn as u8]));
        let received = terminal.received.last().unwrap().clone();
        assert_eq!(received.info["mtmsn"], mtmsn.to_string());
        assert_eq!(received.info["mt_queued"], queued.to_string());
        // No other session before the commit, however long it takes.
        terminal.advance(120_000);
        terminal.expect_no_tx();
        terminal.commit(&received.key);
        terminal.ok("AT+SBDD1", &["0"]);
        if queued > 0 {
            // The minimum interval since the last session has passed: the next starts now.
            terminal.expect_tx("AT+SBDIX");
            terminal.rx(&sbdix([0, 24, 1, mtmsn + 1, 1, queued - 1]));
        }
    }
    terminal.advance(600_000);
    terminal.expect_no_tx();
    assert_eq!(terminal.received.len(), 3);
}

#[test]
fn queued_messages_respect_the_minimum_session_interval() {
    let mut terminal = ready_terminal();
    terminal.call(Request::Poll);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 24, 1, 100, 1, 1]));
    terminal.expect_tx("AT+SBDRB");
    terminal.rx_bytes(&read_block(b"a"));
    let key = terminal.received[0].key.clone();
    terminal.commit(&key);
    terminal.ok("AT+SBDD1", &["0"]);
    terminal.advance(14_999);
    terminal.expect_no_tx();
    terminal.advance(1);
    terminal.expect_tx("AT+SBDIX");
}

#[test]
fn ring_alert_is_answered_with_sbdixa() {
    let mut terminal = ready_terminal();
    terminal.rx("\r\nSBDRING\r\n");
    terminal.expect_tx("AT+SBDIXA");
    terminal.rx("\r\n+SBDIX: 0, 24, 1, 55, 5, 0\r\n\r\nOK\r\n");
    terminal.expect_tx("AT+SBDRB");
    terminal.rx_bytes(&read_block(b"hello"));
    assert_eq!(terminal.received[0].info["mtmsn"], "55");
    assert!(terminal.replies.is_empty(), "no client call involved");
}

#[test]
fn ring_alert_during_a_session_waits_for_its_turn() {
    let mut terminal = ready_terminal();
    terminal.send(binary("m1", b"x"));
    terminal.expect_tx("AT+SBDWB=1");
    terminal.rx("\r\nSBDRING\r\n\r\nREADY\r\n");
    terminal.expect_bytes(b"x\x00\x78");
    terminal.rx("\r\n0\r\n\r\nOK\r\n");
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 1, 0, 0, 0, 0]));
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.advance(15_000);
    terminal.expect_tx("AT+SBDIXA");
}

#[test]
fn poll_with_a_message_in_backoff_rides_on_its_session() {
    let mut terminal = ready_terminal();
    let send = terminal.send(binary("m1", b"x"));
    write_message(&mut terminal, b"x");
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([17, 1, 2, 0, 0, 0]));
    terminal.advance(15_000);
    momsn_read(&mut terminal, 1);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([17, 1, 2, 0, 0, 0]));
    // The message waits 30 s now; a poll goes at the minimum interval, carrying it along
    // (the MO buffer is neither cleared nor written again).
    let poll = terminal.call(Request::Poll);
    terminal.advance(15_000);
    momsn_read(&mut terminal, 1);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 1, 0, 0, 0, 0]));
    assert_eq!(terminal.reply(poll), Ok(CallReply::Done));
    assert!(terminal.reply(send).is_ok());
}

#[test]
fn failed_mailbox_check_fails_the_poll_and_is_retried() {
    let mut terminal = ready_terminal();
    let poll = terminal.call(Request::Poll);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([32, 1, 2, 0, 0, 0]));
    let error = terminal.reply(poll).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::Failed);
    assert!(
        error.message.contains("MO status 32: no network service"),
        "{}",
        error.message
    );
    terminal.advance(15_000);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 1, 0, 0, 0, 0]));
    terminal.advance(600_000);
    terminal.expect_no_tx();
}

#[test]
fn mailbox_check_after_a_message_clears_the_mo_buffer_first() {
    let mut terminal = ready_terminal();
    terminal.send(binary("m1", b"x"));
    write_message(&mut terminal, b"x");
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 1, 0, 0, 0, 0]));
    // AT+SBDD0 after the message fails: the next mailbox check clears first.
    terminal.ok("AT+SBDD0", &["1"]);
    let poll = terminal.call(Request::Poll);
    terminal.advance(15_000);
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.expect_tx("AT+SBDIX");
    terminal.rx(&sbdix([0, 2, 0, 0, 0, 0]));
    assert_eq!(terminal.reply(poll), Ok(CallReply::Done));
}

#[test]
fn message_left_in_the_mt_buffer_is_read_again_after_a_restart() {
    let mut terminal = Terminal::new();
    terminal.open();
    terminal.resync();
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    configure(&mut terminal, "+SBDS: 0, 12, 1, 1093");
    terminal.expect_tx("AT+SBDRB");
    terminal.rx_bytes(&read_block(b"hello"));
    assert_eq!(
        terminal.received[0].key, HELLO_KEY,
        "the same key as the first time"
    );
    terminal.commit(HELLO_KEY);
    terminal.ok("AT+SBDD1", &["0"]);
    terminal.expect_no_tx();
}
