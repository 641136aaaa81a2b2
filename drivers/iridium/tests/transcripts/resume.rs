//! Resuming after a restart (daemon killed, driver restarted): the facts the host hands back in
//! `OutgoingMessage::progress` decide whether a message goes again.

use std::collections::BTreeMap;

use m2mhal_plugin_api::{CallReply, LogLevel, OutgoingMessage};

use crate::support::{Terminal, binary, configure, identify, sbdix, write_message};

/// A freshly opened driver whose terminal reports `momsn` as the next MOMSN.
fn restarted(momsn: u32) -> Terminal {
    let mut terminal = Terminal::new();
    terminal.open();
    terminal.resync();
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    configure(&mut terminal, &format!("+SBDS: 0, {momsn}, 0, -1"));
    assert_eq!(terminal.state(), ("ready", ""));
    terminal
}

/// What the host has recorded about `id` so far: every `MessageState` info merged, as its store does.
fn recorded(terminal: &Terminal, id: &str) -> BTreeMap<String, String> {
    let mut info = BTreeMap::new();
    for change in terminal.message_states.iter().filter(|c| c.id == id) {
        info.extend(change.info.clone());
    }
    info
}

fn with_progress(
    mut message: OutgoingMessage,
    progress: BTreeMap<String, String>,
) -> OutgoingMessage {
    message.progress = progress;
    message
}

/// The first instance writes the message and starts the session; the daemon dies before the
/// answer. Returns what the host had committed.
fn killed_during_the_session() -> BTreeMap<String, String> {
    let mut first = restarted(12);
    first.send(binary("m1", b"report"));
    write_message(&mut first, b"report");
    first.expect_tx("AT+SBDIX");
    let progress = recorded(&first, "m1");
    assert_eq!(progress["momsn_pending"], "12", "recorded before AT+SBDIX");
    assert_eq!(progress["attempt"], "1");
    progress
}

#[test]
fn a_session_that_completed_before_the_kill_is_not_sent_again() {
    let progress = killed_during_the_session();
    // The terminal finished the session on its own: its MOMSN moved on.
    let mut second = restarted(13);
    let call = second.send(with_progress(binary("m1", b"report"), progress));
    assert_eq!(
        second.reply(call),
        Ok(CallReply::Sent(BTreeMap::from([
            ("attempts".to_owned(), "1".to_owned()),
            ("momsn".to_owned(), "12".to_owned()),
        ])))
    );
    assert!(second.logged(
        LogLevel::Info,
        "reached the gateway before the restart (MOMSN 12)"
    ));
    second.expect_no_tx();
}

#[test]
fn a_session_that_did_not_complete_goes_again_and_attempts_count_on() {
    let progress = killed_during_the_session();
    // The session failed (or never started): the MOMSN is where it was.
    let mut second = restarted(12);
    let call = second.send(with_progress(binary("m1", b"report"), progress));
    write_message(&mut second, b"report");
    assert_eq!(recorded(&second, "m1")["attempt"], "2");
    assert_eq!(recorded(&second, "m1")["momsn_pending"], "12");
    second.expect_tx("AT+SBDIX");
    second.rx(&sbdix([0, 12, 0, 0, 0, 0]));
    let CallReply::Sent(info) = second.reply(call).unwrap() else {
        panic!("not sent");
    };
    assert_eq!(info["attempts"], "2");
    assert_eq!(info["momsn"], "12");
}

#[test]
fn a_message_goes_again_when_the_momsn_is_unknown() {
    let progress = killed_during_the_session();
    let mut second = Terminal::new();
    second.open();
    second.resync();
    second.ok("ATE0", &[]);
    identify(&mut second);
    second.ok("AT+SBDMTA=1", &[]);
    second.ok("AT+CIER=0", &[]);
    second.ok("AT+CIER=1,1,1", &["+CIEV:0,4", "+CIEV:1,1"]);
    second.ok("AT+SBDD0", &["0"]);
    second.fails("AT+SBDS", "ERROR");
    second.ok("AT+CSQ", &["+CSQ:4"]);
    let call = second.send(with_progress(binary("m1", b"report"), progress));
    write_message(&mut second, b"report");
    // Read once more before the session; still no answer: recorded as unknown, never guessed.
    second.fails("AT+SBDS", "ERROR");
    assert_eq!(recorded(&second, "m1")["momsn_pending"], "");
    second.expect_tx("AT+SBDIX");
    second.rx(&sbdix([0, 40, 0, 0, 0, 0]));
    assert!(second.reply(call).is_ok());
}
