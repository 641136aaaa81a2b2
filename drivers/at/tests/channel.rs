//! The command channel against byte transcripts of real modem conversations.

use m2mhal_at::{
    AtChannel, AtError, ChannelBusy, ChannelConfig, ChannelEvent, ChannelOutput, CmeError, Command,
    Response, Urc,
};

fn channel() -> AtChannel {
    AtChannel::new(ChannelConfig::gsm())
}

fn ok(lines: &[&str]) -> ChannelEvent {
    ChannelEvent::Completed(Ok(Response {
        lines: lines.iter().map(|line| line.to_string()).collect(),
        binary: None,
    }))
}

fn failed(error: AtError) -> ChannelEvent {
    ChannelEvent::Completed(Err(error))
}

fn urc(line: &str) -> ChannelEvent {
    ChannelEvent::Urc(Urc {
        line: line.to_owned(),
        extra: None,
    })
}

/// Starts `line` at time 0 with a 1 s timeout, checks what is written, feeds `rx`.
fn run(channel: &mut AtChannel, line: &str, rx: &[u8]) -> Vec<ChannelEvent> {
    let tx = channel.start(Command::new(line, 1000), 0).unwrap();
    assert_eq!(tx, format!("{line}\r").as_bytes());
    channel.feed(rx).events
}

#[test]
fn csq_with_echo_on() {
    let events = run(
        &mut channel(),
        "AT+CSQ",
        b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n",
    );
    assert_eq!(events, [ok(&["+CSQ: 20,99"])]);
}

#[test]
fn csq_with_echo_off() {
    let events = run(&mut channel(), "AT+CSQ", b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    assert_eq!(events, [ok(&["+CSQ: 20,99"])]);
}

#[test]
fn lowercase_echo_is_dropped() {
    let events = run(
        &mut channel(),
        "at+cgsn",
        b"at+cgsn\r\r\n867698041234567\r\n\r\nOK\r\n",
    );
    assert_eq!(events, [ok(&["867698041234567"])]);
}

#[test]
fn echo_after_a_response_line_is_a_response_line() {
    let events = run(&mut channel(), "ATI", b"\r\nQuectel\r\nATI\r\n\r\nOK\r\n");
    assert_eq!(events, [ok(&["Quectel", "ATI"])]);
}

#[test]
fn cmti_between_csq_and_its_response() {
    let events = run(
        &mut channel(),
        "AT+CSQ",
        b"AT+CSQ\r\r\n+CMTI: \"SM\",3\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n",
    );
    assert_eq!(events, [urc("+CMTI: \"SM\",3"), ok(&["+CSQ: 20,99"])]);
}

#[test]
fn creg_urc_while_idle_and_creg_response_to_creg_query() {
    let mut channel = channel();
    assert_eq!(channel.feed(b"\r\n+CREG: 1\r\n").events, [urc("+CREG: 1")]);
    let events = run(
        &mut channel,
        "AT+CREG?",
        b"\r\n+CREG: 2,1,\"1A2B\",\"01C3D4E\",7\r\n\r\nOK\r\n",
    );
    assert_eq!(events, [ok(&["+CREG: 2,1,\"1A2B\",\"01C3D4E\",7"])]);
    let events = run(
        &mut channel,
        "AT+CSQ",
        b"\r\n+CREG: 5\r\n\r\n+CSQ: 31,0\r\n\r\nOK\r\n",
    );
    assert_eq!(events, [urc("+CREG: 5"), ok(&["+CSQ: 31,0"])]);
}

#[test]
fn unknown_lines_while_idle_are_urcs() {
    let mut channel = channel();
    let events = channel.feed(b"\r\n+QNEWTHING: 1\r\n\r\nRING\r\n").events;
    assert_eq!(events, [urc("+QNEWTHING: 1"), urc("RING")]);
}

#[test]
fn numeric_cme_error() {
    let events = run(&mut channel(), "AT+CPIN?", b"\r\n+CME ERROR: 10\r\n");
    let expected = CmeError {
        code: Some(10),
        text: "10".into(),
    };
    assert_eq!(events, [failed(AtError::Cme(expected))]);
    let ChannelEvent::Completed(Err(error)) = &events[0] else {
        unreachable!()
    };
    assert_eq!(error.to_string(), "CME error 10: SIM not inserted");
}

#[test]
fn verbose_cme_error() {
    let events = run(
        &mut channel(),
        "AT+CPIN?",
        b"\r\n+CME ERROR: SIM not inserted\r\n",
    );
    let expected = CmeError {
        code: Some(10),
        text: "SIM not inserted".into(),
    };
    assert_eq!(events, [failed(AtError::Cme(expected))]);
}

#[test]
fn cms_error_500() {
    let events = run(
        &mut channel(),
        "AT+CMGR=3",
        b"AT+CMGR=3\r\r\n+CMS ERROR: 500\r\n",
    );
    let [ChannelEvent::Completed(Err(AtError::Cms(error)))] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(error.code, Some(500));
    assert_eq!(error.to_string(), "CMS error 500: unknown error");
}

#[test]
fn plain_error_and_call_results() {
    let mut channel = channel();
    let events = run(&mut channel, "AT+CGDCONT=9", b"\r\nERROR\r\n");
    assert_eq!(events, [failed(AtError::Error)]);
    let events = run(
        &mut channel,
        "ATD+4930123456;",
        b"ATD+4930123456;\r\r\nBUSY\r\n",
    );
    assert_eq!(events, [failed(AtError::Other("BUSY".into()))]);
}

#[test]
fn blank_lines_and_bare_line_endings() {
    let events = run(
        &mut channel(),
        "AT+CGMR",
        b"\r\n\r\n\n\rEC25EFAR06A06M4G\r\r\n\nOK\n",
    );
    assert_eq!(events, [ok(&["EC25EFAR06A06M4G"])]);
}

#[test]
fn multi_line_response_keeps_its_order() {
    let events = run(
        &mut channel(),
        "AT+CMGL=4",
        b"\r\n+CMGL: 1,1,,22\r\n0791947106004034040C9194710600403400002260\r\n\
          +CMGL: 2,1,,21\r\n0791947106004034040C9194710600403400002261\r\n\r\nOK\r\n",
    );
    assert_eq!(
        events,
        [ok(&[
            "+CMGL: 1,1,,22",
            "0791947106004034040C9194710600403400002260",
            "+CMGL: 2,1,,21",
            "0791947106004034040C9194710600403400002261",
        ])]
    );
}

#[test]
fn cmgs_prompt_sends_the_pdu() {
    let pdu = b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a".to_vec();
    let mut channel = channel();
    let command = Command::new("AT+CMGS=23", 60_000).with_prompt_payload(pdu.clone());
    assert_eq!(channel.start(command, 0).unwrap(), b"AT+CMGS=23\r");

    let output = channel.feed(b"AT+CMGS=23\r\r\n> ");
    assert_eq!(
        output,
        ChannelOutput {
            events: vec![],
            tx: pdu.clone()
        }
    );

    // The modem echoes the PDU (Ctrl-Z included) before it answers.
    let mut rx = pdu;
    rx.extend_from_slice(b"\r\n+CMGS: 12\r\n\r\nOK\r\n");
    assert_eq!(
        channel.feed(&rx),
        ChannelOutput {
            events: vec![ok(&["+CMGS: 12"])],
            tx: vec![]
        }
    );
}

#[test]
fn prompt_without_payload_is_ignored() {
    let mut channel = channel();
    channel.start(Command::new("AT+CSQ", 1000), 0).unwrap();
    let output = channel.feed(b"\r\n> \r\n+CSQ: 5,99\r\nOK\r\n");
    assert_eq!(
        output,
        ChannelOutput {
            events: vec![ok(&["+CSQ: 5,99"])],
            tx: vec![]
        }
    );
}

#[test]
fn second_prompt_does_not_resend_the_payload() {
    let mut channel = channel();
    let command = Command::new("AT+CMGS=5", 1000).with_prompt_payload(b"00\x1a".to_vec());
    channel.start(command, 0).unwrap();
    assert_eq!(channel.feed(b"\r\n> ").tx, b"00\x1a");
    assert_eq!(channel.feed(b"\r\n> ").tx, b"");
}

#[test]
fn cmt_is_a_two_line_urc_while_idle_and_during_a_command() {
    let pdu = "07919471060040340404D0E474D81C0EBB010000111011315214000BE474D81C0EBB5DE3771B";
    let cmt = ChannelEvent::Urc(Urc {
        line: "+CMT: ,36".into(),
        extra: Some(pdu.into()),
    });
    let mut channel = channel();
    let idle = channel.feed(format!("\r\n+CMT: ,36\r\n{pdu}\r\n").as_bytes());
    assert_eq!(idle.events, std::slice::from_ref(&cmt));
    let rx = format!("AT+CSQ\r\r\n+CMT: ,36\r\n{pdu}\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    assert_eq!(
        run(&mut channel, "AT+CSQ", rx.as_bytes()),
        [cmt, ok(&["+CSQ: 20,99"])]
    );
}

#[test]
fn two_line_urc_without_its_second_line_is_reported_alone() {
    let mut channel = channel();
    let events = run(&mut channel, "AT", b"\r\n+CDS: 25\r\nOK\r\n");
    assert_eq!(events, [urc("+CDS: 25"), ok(&[])]);
}

#[test]
fn start_while_busy_is_refused() {
    let mut channel = channel();
    channel.start(Command::new("AT+COPS?", 1000), 0).unwrap();
    assert!(channel.is_busy());
    assert_eq!(
        channel.start(Command::new("AT+CSQ", 1000), 5),
        Err(ChannelBusy)
    );
    assert_eq!(
        channel
            .feed(b"\r\n+COPS: 0,0,\"Telekom.de\",7\r\n\r\nOK\r\n")
            .events,
        [ok(&["+COPS: 0,0,\"Telekom.de\",7"])]
    );
    assert!(!channel.is_busy());
}

#[test]
fn timeout_fires_once_at_the_deadline() {
    let mut channel = channel();
    channel
        .start(Command::new("AT+COPS=?", 180_000), 1000)
        .unwrap();
    assert_eq!(channel.deadline(), Some(181_000));
    assert_eq!(channel.check_timeout(180_999), None);
    assert_eq!(
        channel.check_timeout(181_000),
        Some(failed(AtError::Timeout))
    );
    assert!(!channel.is_busy());
    assert_eq!(channel.deadline(), None);
    assert_eq!(channel.check_timeout(200_000), None);
}

#[test]
fn late_answer_while_idle_is_not_a_response() {
    let mut channel = channel();
    channel.start(Command::new("AT+COPS?", 1000), 0).unwrap();
    assert_eq!(channel.check_timeout(1000), Some(failed(AtError::Timeout)));
    let late = channel
        .feed(b"\r\n+COPS: 0,0,\"Telekom.de\",7\r\n\r\nOK\r\n")
        .events;
    assert_eq!(late, [urc("+COPS: 0,0,\"Telekom.de\",7")]);
    assert_eq!(
        run(&mut channel, "AT+CSQ", b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
        [ok(&["+CSQ: 20,99"])]
    );
}

#[test]
fn late_answer_during_the_next_command_is_dropped() {
    let mut channel = channel();
    channel.start(Command::new("AT+COPS?", 1000), 0).unwrap();
    assert_eq!(channel.check_timeout(1000), Some(failed(AtError::Timeout)));
    channel.start(Command::new("AT+CSQ", 1000), 1001).unwrap();
    let rx = b"\r\n+COPS: 0,0,\"Telekom.de\",7\r\n\r\nOK\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n";
    assert_eq!(channel.feed(rx).events, [ok(&["+CSQ: 20,99"])]);
}

#[test]
fn late_answer_before_the_next_echo_is_dropped() {
    let mut channel = channel();
    channel.start(Command::new("AT+CMGD=1", 1000), 0).unwrap();
    assert_eq!(channel.check_timeout(1000), Some(failed(AtError::Timeout)));
    channel
        .start(Command::new("AT+CMGD=2", 1000), 1001)
        .unwrap();
    let rx = b"\r\nOK\r\nAT+CMGD=2\r\r\n+CMS ERROR: 321\r\n";
    let [ChannelEvent::Completed(Err(AtError::Cms(error)))] = &channel.feed(rx).events[..] else {
        panic!("the late OK completed AT+CMGD=2");
    };
    assert_eq!(error.meaning(), "invalid memory index");
}

#[test]
fn own_echo_shows_that_no_late_answer_is_coming() {
    let mut channel = channel();
    channel.start(Command::new("AT+CMGD=1", 1000), 0).unwrap();
    channel.check_timeout(1000).unwrap();
    let events = run(&mut channel, "AT+CMGF=0", b"AT+CMGF=0\r\r\nOK\r\n");
    assert_eq!(events, [ok(&[])]);
}

#[test]
fn a_command_the_modem_dropped_costs_one_more_timeout_and_no_more() {
    let mut channel = channel();
    channel.start(Command::new("AT+CMGF=0", 1000), 0).unwrap();
    channel.check_timeout(1000).unwrap();
    // Echo off and no information lines: this OK cannot be told from a late one.
    channel
        .start(Command::new("AT+CNMI=2,1", 1000), 1000)
        .unwrap();
    assert_eq!(channel.feed(b"\r\nOK\r\n").events, []);
    assert_eq!(channel.check_timeout(2000), Some(failed(AtError::Timeout)));
    channel
        .start(Command::new("AT+CNMI=2,1", 1000), 2000)
        .unwrap();
    assert_eq!(channel.feed(b"\r\nOK\r\n").events, [ok(&[])]);
}

#[test]
fn late_call_result_while_idle_is_a_urc() {
    let mut channel = channel();
    assert_eq!(
        channel.feed(b"\r\nOK\r\n\r\nNO CARRIER\r\n").events,
        [urc("NO CARRIER")]
    );
}

#[test]
fn reset_forgets_the_command_and_buffered_bytes() {
    let mut channel = channel();
    channel.start(Command::new("AT+CSQ", 1000), 0).unwrap();
    channel.feed(b"\r\n+CSQ: 20,");
    channel.reset();
    assert!(!channel.is_busy());
    assert_eq!(
        run(&mut channel, "AT+CSQ", b"99\r\n+CSQ: 9,99\r\nOK\r\n"),
        [ok(&["99", "+CSQ: 9,99"])]
    );
}

#[test]
fn garbage_bytes_are_ignored() {
    let mut channel = channel();
    assert_eq!(channel.feed(b"\x00\x00\xff\xff\r\n\xfe\r\n").events, []);
    let events = run(
        &mut channel,
        "AT+CSQ",
        b"\x00\r\n+CSQ: 20,99\r\n\xff\x00OK\r\n",
    );
    assert_eq!(events, [ok(&["+CSQ: 20,99"])]);
}

fn sbdrb() -> Command {
    Command::new("AT+SBDRB", 5000).with_binary_response()
}

fn binary_ok(block: &[u8]) -> ChannelEvent {
    ChannelEvent::Completed(Ok(Response {
        lines: vec![],
        binary: Some(block.to_vec()),
    }))
}

/// "hello", length 5, checksum 0x0214 (the low 16 bits of the sum of its bytes).
const HELLO_BLOCK: &[u8] = b"\x00\x05hello\x02\x14";

#[test]
fn sbdrb_with_echo_on() {
    let mut channel = channel();
    assert_eq!(channel.start(sbdrb(), 0).unwrap(), b"AT+SBDRB\r");
    let rx = [b"AT+SBDRB\r", HELLO_BLOCK, b"\r\nOK\r\n"].concat();
    assert_eq!(channel.feed(&rx).events, [binary_ok(b"hello\x02\x14")]);
}

#[test]
fn sbdrb_with_echo_off() {
    let mut channel = channel();
    channel.start(sbdrb(), 0).unwrap();
    let rx = [HELLO_BLOCK, b"\r\nOK\r\n"].concat();
    assert_eq!(channel.feed(&rx).events, [binary_ok(b"hello\x02\x14")]);
}

#[test]
fn sbdrb_block_with_line_endings_inside() {
    let mut channel = channel();
    channel.start(sbdrb(), 0).unwrap();
    // "\r\nO": 13 + 10 + 79 = 0x0066.
    let rx = b"AT+SBDRB\r\x00\x03\r\nO\x00\x66\r\nOK\r\n";
    assert_eq!(channel.feed(rx).events, [binary_ok(b"\r\nO\x00\x66")]);
}

#[test]
fn sbdrb_error_then_text_again() {
    let mut channel = channel();
    channel.start(sbdrb(), 0).unwrap();
    assert_eq!(
        channel.feed(b"AT+SBDRB\r\r\nERROR\r\n").events,
        [failed(AtError::Error)]
    );
    assert_eq!(
        run(
            &mut channel,
            "AT+SBDS",
            b"\r\n+SBDS: 0, 5, 0, -1\r\n\r\nOK\r\n"
        ),
        [ok(&["+SBDS: 0, 5, 0, -1"])]
    );
}

#[test]
fn sbdrb_timeout_drops_the_partial_block() {
    let mut channel = channel();
    channel.start(sbdrb(), 0).unwrap();
    channel.feed(b"\x00\x05hel");
    assert_eq!(channel.check_timeout(5000), Some(failed(AtError::Timeout)));
    let events = run(&mut channel, "AT+CSQ", b"AT+CSQ\r\r\n+CSQ:4\r\n\r\nOK\r\n");
    assert_eq!(events, [ok(&["+CSQ:4"])]);
}

#[test]
fn sbdwb_sends_its_payload_on_ready() {
    let mut channel = channel();
    let command = Command::new("AT+SBDWB=5", 5000).with_prompt_payload(HELLO_BLOCK[2..].to_vec());
    channel.start(command, 0).unwrap();
    let output = channel.feed(b"AT+SBDWB=5\r\r\nREADY\r\n");
    assert_eq!(output.tx, b"hello\x02\x14");
    assert_eq!(output.events, []);
    assert_eq!(channel.feed(b"0\r\n\r\nOK\r\n").events, [ok(&["0"])]);
}

#[test]
fn sbdwb_payload_that_reads_like_its_result_is_not_taken_for_an_echo() {
    // Payload 0x30 0xD0 and checksum 0x0100: as text, "0" and noise, the same as the result line
    // that follows. The terminal never echoes what it reads after READY.
    let mut channel = channel();
    let command = Command::new("AT+SBDWB=2", 5000).with_prompt_payload(b"0\xd0\x01\x00".to_vec());
    channel.start(command, 0).unwrap();
    let output = channel.feed(b"AT+SBDWB=2\r\r\nREADY\r\n");
    assert_eq!(output.tx, b"0\xd0\x01\x00");
    assert_eq!(channel.feed(b"\r\n0\r\n\r\nOK\r\n").events, [ok(&["0"])]);
}

#[test]
fn cmgs_payload_echo_is_dropped_even_when_it_reads_like_a_response() {
    // The `> ` prompt keeps its echo handling: a PDU echoed as it was sent is no response line.
    let mut channel = channel();
    let command = Command::new("AT+CMGS=1", 60_000).with_prompt_payload(b"00\x1a".to_vec());
    channel.start(command, 0).unwrap();
    assert_eq!(channel.feed(b"\r\n> ").tx, b"00\x1a");
    let events = channel.feed(b"00\x1a\r\n+CMGS: 4\r\n\r\nOK\r\n").events;
    assert_eq!(events, [ok(&["+CMGS: 4"])]);
}

#[test]
fn sbdring_is_a_urc() {
    let mut channel = channel();
    let events = run(
        &mut channel,
        "AT+SBDIX",
        b"AT+SBDIX\r\r\nSBDRING\r\n+SBDIX: 0, 12, 1, 3, 5, 0\r\n\r\nOK\r\n",
    );
    assert_eq!(events, [urc("SBDRING"), ok(&["+SBDIX: 0, 12, 1, 3, 5, 0"])]);
}

#[test]
fn a_command_that_requires_its_echo_drops_every_answer_before_it() {
    let mut channel = channel();
    channel
        .start(Command::new("AT", 1500).with_echo_required(), 0)
        .unwrap();
    let stale = b"\r\n+SBDIX: 0, 3, 0, 0, 0, 0\r\n\r\nOK\r\n\r\n2\r\n\r\nOK\r\n\r\nERROR\r\n";
    assert_eq!(channel.feed(stale).events, []);
    assert!(channel.is_busy());
    assert_eq!(channel.feed(b"AT\r\r\nOK\r\n").events, [ok(&[])]);
    // Nothing was left unanswered: the next command takes the first final result.
    assert_eq!(
        run(&mut channel, "ATE0", b"\r\nOK\r\n"),
        [ok(&[])],
        "the next command is not armed against a late answer"
    );
}

#[test]
fn urcs_still_come_out_while_the_echo_is_awaited() {
    let mut channel = channel();
    channel
        .start(Command::new("AT", 1500).with_echo_required(), 0)
        .unwrap();
    assert_eq!(
        channel.feed(b"\r\n+CMTI: \"SM\",3\r\n").events,
        [urc("+CMTI: \"SM\",3")]
    );
}
