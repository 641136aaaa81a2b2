//! Silence, hangups and garbage.

use m2mhal_driver_testkit::outgoing;
use m2mhal_plugin_api::{CallErrorKind, CallReply, Encoding, Event, OutgoingMessage, Request};
use proptest::prelude::*;

use crate::support::{Modem, answer_sim_ready, configure_until_listing, identify, ready_modem};

fn hello() -> OutgoingMessage {
    outgoing("m1", "+4915112345678", b"hello", Encoding::Text)
}

#[test]
fn three_timeouts_fail_the_modem_and_probing_brings_it_back() {
    let mut modem = ready_modem();
    modem.advance(30_000);
    modem.expect_tx("AT+CSQ");
    let command = modem.call(Request::Command {
        line: "ATI".into(),
        timeout_ms: 1000,
    });
    modem.advance(5_000);
    modem.expect_tx("AT+CESQ");
    let send = modem.call(Request::Send(hello()));
    modem.advance(5_000);
    modem.expect_tx("AT+CREG?");
    assert_eq!(modem.state().0, "ready", "two timeouts are not yet silence");
    modem.advance(5_000);

    assert_eq!(modem.state(), ("failed", "no-response"));
    assert_eq!(
        modem.reply(command).unwrap_err().kind,
        CallErrorKind::Timeout
    );
    assert_eq!(modem.reply(send).unwrap_err().kind, CallErrorKind::Timeout);
    modem.expect_no_tx();
    let refused = modem.call(Request::Command {
        line: "AT".into(),
        timeout_ms: 1000,
    });
    assert_eq!(
        modem.reply(refused).unwrap_err().kind,
        CallErrorKind::NotReady
    );

    // Probes back off: 2 s, then 4 s, 8 s, ... up to 30 s between them.
    modem.advance(2_000);
    modem.expect_tx("AT");
    modem.advance(2_000); // probe timeout
    modem.advance(3_999);
    modem.expect_no_tx();
    modem.advance(1);
    modem.expect_tx("AT");
    modem.advance(2_000);
    modem.advance(8_000);
    modem.expect_tx("AT");
    modem.rx("\r\nOK\r\n");

    // It answers again: initialise from scratch; a message sent meanwhile waits for it.
    let later = modem.call(Request::Send(hello()));
    assert_eq!(modem.state(), ("initializing", ""));
    identify(&mut modem);
    answer_sim_ready(&mut modem);
    configure_until_listing(&mut modem);
    modem.ok("AT+CMGL=4", &[]);
    assert_eq!(modem.state(), ("ready", ""));
    modem.expect_tx("AT+CMGS=19");
    modem.rx("\r\n> ");
    assert!(modem.take_tx().is_some());
    modem.rx("\r\n+CMGS: 3\r\n\r\nOK\r\n");
    assert!(matches!(modem.reply(later), Ok(CallReply::Sent(_))));
}

#[test]
fn silence_during_initialisation_retries_then_fails() {
    let mut modem = Modem::new();
    modem.open();
    modem.resync();
    modem.expect_tx("ATE0");
    modem.advance(5_000);
    modem.expect_tx("ATE0");
    modem.advance(5_000);
    modem.expect_tx("ATE0");
    modem.advance(5_000);
    assert_eq!(modem.state(), ("failed", "no-response"));
    modem.advance(2_000);
    // A modem that just booted echoes.
    modem.exchange("AT", "AT\r\r\nOK\r\n");
    modem.resync();
    modem.expect_tx("ATE0");
}

#[test]
fn probes_of_a_silent_modem_back_off_to_thirty_seconds() {
    let mut modem = Modem::new();
    modem.open();
    // The resynchronisation goes unanswered too; its timeouts do not count as silence.
    assert!(modem.take_tx().is_some_and(|tx| tx.ends_with(b"ATE1\r")));
    modem.advance(1_000);
    for _ in 0..3 {
        modem.expect_tx("AT");
        modem.advance(1_500);
    }
    assert_eq!(modem.state(), ("initializing", ""));
    for _ in 0..3 {
        modem.expect_tx("ATE0");
        modem.advance(5_000);
    }
    assert_eq!(modem.state(), ("failed", "no-response"));
    // Each probe waits 2 s for its answer; the waits between them double up to 30 s.
    for wait_ms in [2_000, 4_000, 8_000, 16_000, 30_000, 30_000] {
        modem.advance(wait_ms - 1);
        modem.expect_no_tx();
        modem.advance(1);
        modem.expect_tx("AT");
        modem.advance(2_000);
    }
    modem.expect_no_tx();
    assert_eq!(modem.state().1, "no-response");
}

#[test]
fn one_timeout_fails_only_that_command() {
    let mut modem = ready_modem();
    let slow = modem.call(Request::Command {
        line: "AT+COPS=?".into(),
        timeout_ms: 3000,
    });
    modem.expect_tx("AT+COPS=?");
    modem.advance(3_000);
    assert_eq!(modem.reply(slow).unwrap_err().kind, CallErrorKind::Timeout);
    // The late answer comes while the next command is in flight: it is not taken for its answer.
    let next = modem.call(Request::Command {
        line: "AT+CSQ".into(),
        timeout_ms: 3000,
    });
    modem.expect_tx("AT+CSQ");
    modem.rx("\r\n+COPS: (2,\"Telekom.de\",\"TDG\",\"26201\",7),,(0-4),(0-2)\r\n\r\nOK\r\n");
    modem.rx("\r\n+CSQ: 18,99\r\n\r\nOK\r\n");
    assert_eq!(
        modem.reply(next),
        Ok(CallReply::Text("+CSQ: 18,99\nOK".into()))
    );
    assert_eq!(modem.state().0, "ready");
}

#[test]
fn hangup_fails_pending_calls_and_waits_for_the_port() {
    let mut modem = ready_modem();
    let send = modem.call(Request::Send(hello()));
    modem.expect_tx("AT+CMGS=19");
    let command = modem.call(Request::Command {
        line: "ATI".into(),
        timeout_ms: 1000,
    });
    modem.input(Event::Hangup);
    assert_eq!(modem.state(), ("offline", "hangup"));
    assert_eq!(modem.reply(send).unwrap_err().kind, CallErrorKind::NotReady);
    assert_eq!(
        modem.reply(command).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    for id in 1..=4 {
        assert!(!modem.timer_armed(id), "timer {id} still armed");
    }
    modem.rx("\r\nOK\r\n");
    modem.advance(60_000);
    modem.expect_no_tx();
    let closed = modem.call(Request::Send(hello()));
    assert_eq!(
        modem.reply(closed).unwrap_err().kind,
        CallErrorKind::NotReady
    );

    modem.open();
    assert_eq!(modem.state(), ("initializing", ""));
    modem.resync();
    modem.expect_tx("ATE0");
}

#[test]
fn garbage_between_and_inside_answers() {
    let mut modem = ready_modem();
    // Line noise, a baud-rate mismatch, a stray final result, a line that never ends.
    modem.input(Event::Rx(vec![
        0x00, 0xFF, 0xFE, 0x80, b'\r', b'\n', 0x1B, b'O', b'K',
    ]));
    modem.rx("\r\nOK\r\n\r\nERROR\r\n+CME ERROR: 10\r\n> ");
    modem.input(Event::Rx(vec![b'x'; 10_000]));
    modem.rx("\r\n");
    modem.rx("\r\n+CMTI: \"ME\",nonsense\r\n+CREG: ,,,\r\n+CMT: ,7\r\nnot hex\r\n");
    modem.expect_no_tx();
    assert!(modem.received.is_empty());
    assert_eq!(modem.state().0, "ready");

    let call = modem.call(Request::Command {
        line: "AT+CSQ".into(),
        timeout_ms: 1000,
    });
    modem.expect_tx("AT+CSQ");
    modem.input(Event::Rx(b"\xff\xfe\r\n+CSQ: 2".to_vec()));
    modem.rx("0,99\r\n\r\nOK\r\n");
    assert_eq!(
        modem.reply(call),
        Ok(CallReply::Text("+CSQ: 20,99\nOK".into()))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the modem sends, at any point of its life, the driver neither panics nor stops
    /// writing well-formed commands.
    #[test]
    fn random_bytes_never_break_the_driver(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..24), opened in any::<bool>()) {
        let mut modem = if opened { ready_modem() } else { Modem::new() };
        for chunk in chunks {
            modem.input(Event::Rx(chunk));
            modem.advance(1_000);
        }
        let call = modem.call(Request::CheckMessage(hello()));
        prop_assert_eq!(modem.reply(call), Ok(CallReply::Done));
    }
}
