//! Raw command pass-through (`Device.Command`).

use m2mhal_plugin_api::{CallErrorKind, CallReply, Request};

use crate::support::{Modem, ready_modem};

fn command(line: &str) -> Request {
    Request::Command {
        line: line.into(),
        timeout_ms: 2000,
    }
}

#[test]
fn answer_lines_and_final_result_come_back_as_text() {
    let mut modem = ready_modem();
    let ati = modem.call(command("ATI"));
    modem.ok("ATI", &["Quectel", "EG25", "Revision: EG25GGBR07A08M2G"]);
    assert_eq!(
        modem.reply(ati),
        Ok(CallReply::Text(
            "Quectel\nEG25\nRevision: EG25GGBR07A08M2G\nOK".into()
        ))
    );

    let cme = modem.call(command("AT+CFUN=7"));
    modem.fails("AT+CFUN=7", "+CME ERROR: 3");
    assert_eq!(
        modem.reply(cme),
        Ok(CallReply::Text("+CME ERROR: 3".into()))
    );

    let error = modem.call(command("AT+BOGUS"));
    modem.fails("AT+BOGUS", "ERROR");
    assert_eq!(modem.reply(error), Ok(CallReply::Text("ERROR".into())));

    let cms = modem.call(command("AT+CMGR=99"));
    modem.fails("AT+CMGR=99", "+CMS ERROR: 321");
    assert_eq!(
        modem.reply(cms),
        Ok(CallReply::Text("+CMS ERROR: 321".into()))
    );
}

#[test]
fn raw_commands_queue_behind_others() {
    let mut modem = ready_modem();
    let first = modem.call(command("AT+CGMI"));
    let second = modem.call(command("AT+CGMM"));
    modem.ok("AT+CGMI", &["Quectel"]);
    modem.ok("AT+CGMM", &["EG25"]);
    assert_eq!(
        modem.reply(first),
        Ok(CallReply::Text("Quectel\nOK".into()))
    );
    assert_eq!(modem.reply(second), Ok(CallReply::Text("EG25\nOK".into())));
}

#[test]
fn only_single_at_lines_are_accepted() {
    let mut modem = ready_modem();
    for line in ["ATZ\rAT+CFUN=0", "hello", "", "AT+CMGS=20\u{1a}"] {
        let call = modem.call(command(line));
        assert_eq!(
            modem.reply(call).unwrap_err().kind,
            CallErrorKind::InvalidArgument,
            "{line:?}"
        );
    }
    modem.expect_no_tx();
}

#[test]
fn timeout_and_closed_port() {
    let mut modem = ready_modem();
    let call = modem.call(command("AT+COPS=?"));
    modem.expect_tx("AT+COPS=?");
    modem.advance(2_000);
    assert_eq!(modem.reply(call).unwrap_err().kind, CallErrorKind::Timeout);

    let mut closed = Modem::new();
    let early = closed.call(command("AT"));
    assert_eq!(
        closed.reply(early).unwrap_err().kind,
        CallErrorKind::NotReady
    );
}

#[test]
fn a_command_without_a_timeout_gets_ten_seconds() {
    let mut modem = ready_modem();
    let call = modem.call(Request::Command {
        line: "AT+QENG=\"servingcell\"".into(),
        timeout_ms: 0,
    });
    modem.expect_tx("AT+QENG=\"servingcell\"");
    modem.advance(9_999);
    assert!(!modem.answered(call));
    modem.advance(1);
    assert_eq!(modem.reply(call).unwrap_err().kind, CallErrorKind::Timeout);
}
