//! The receiver going silent, hanging up, and the calls it answers.

use m2mhal_plugin_api::{CallErrorKind, CallReply, FixMode, LogLevel, Request};

use crate::support::{LEA_5H_NEXT, Receiver, lea_5h};

#[test]
fn a_silent_receiver_fails_with_no_response_and_loses_its_fix_until_it_talks_again() {
    let mut receiver = lea_5h();
    receiver.advance(300);
    assert_eq!(receiver.fix().mode, FixMode::ThreeD);
    receiver.advance(9_000);
    assert_eq!(receiver.state(), ("ready", ""), "not silent before 10 s");
    receiver.advance(1_000);
    assert_eq!(receiver.state(), ("failed", "no-response"));
    assert_eq!(receiver.fix().mode, FixMode::None);
    assert!(receiver.logged(LogLevel::Warn, "no valid sentence"));
    receiver.rx(LEA_5H_NEXT);
    assert_eq!(receiver.state(), ("ready", ""));
    receiver.advance(300);
    assert_eq!(receiver.fix().mode, FixMode::ThreeD);
}

#[test]
fn garbage_at_a_wrong_baud_rate_never_makes_it_ready() {
    let mut receiver = Receiver::new();
    receiver.open();
    receiver.rx_bytes(&[0xf8, 0x80, 0x24, 0x47, 0x50, 0xfe, 0x0d, 0x0a, 0x86, 0x98]);
    receiver.rx("$GPGGA,garbled*00\r\n");
    receiver.advance(10_000);
    assert_eq!(receiver.state(), ("failed", "no-response"));
    assert!(receiver.locations.iter().all(|update| update.fix.is_none()));
}

#[test]
fn a_hangup_takes_it_offline_and_later_bytes_are_ignored() {
    let mut receiver = lea_5h();
    receiver.advance(300);
    receiver.input(m2mhal_plugin_api::Event::Hangup);
    assert_eq!(receiver.state(), ("offline", "hangup"));
    assert_eq!(receiver.fix().mode, FixMode::None);
    let updates = receiver.locations.len();
    receiver.rx(LEA_5H_NEXT);
    receiver.advance(20_000);
    assert_eq!(receiver.locations.len(), updates);
    assert_eq!(receiver.state(), ("offline", "hangup"));
}

#[test]
fn set_enabled_on_is_done_off_is_not_supported_and_messages_neither() {
    let mut receiver = lea_5h();
    let on = receiver.call(Request::SetLocationEnabled(true));
    assert_eq!(receiver.reply(on), Ok(CallReply::Done));
    let off = receiver.call(Request::SetLocationEnabled(false));
    assert_eq!(
        receiver.reply(off).unwrap_err().kind,
        CallErrorKind::NotSupported
    );
    let poll = receiver.call(Request::Poll);
    assert_eq!(
        receiver.reply(poll).unwrap_err().kind,
        CallErrorKind::NotSupported
    );
    let refresh = receiver.call(Request::Refresh);
    assert_eq!(receiver.reply(refresh), Ok(CallReply::Done));
    receiver.expect_no_tx();
}
