//! The identification probe against simulated devices on a virtual clock.

use m2mhal_at::{Identity, ProbeConfig, ProbeOutcome, ProbeStep, Prober};

/// What a probe did: its outcome, the lines it wrote and when it ended.
#[derive(Debug)]
struct Run {
    outcome: ProbeOutcome,
    written: Vec<String>,
    ended_at: u64,
}

/// What the first write starts with: the escape of a pending prompt or binary entry.
const ESCAPE_PREAMBLE: &str = "<escape>";

/// Probes `device` (what was written -> what it answers, empty for silence); a device answers
/// 50 ms after it is written to, a silent one lets the prober's timers run out. The escape
/// preamble is written as [`ESCAPE_PREAMBLE`] in `written` (the device gets the real bytes).
fn probe(mut device: impl FnMut(&str) -> Vec<u8>) -> Run {
    let mut prober = Prober::new(ProbeConfig::default());
    let mut now = 0;
    let mut written = Vec::new();
    let mut step = prober.start(now);
    loop {
        if let Some(outcome) = step.outcome {
            assert_eq!(step.deadline, None, "an ended probe needs no timer");
            return Run {
                outcome,
                written,
                ended_at: now,
            };
        }
        if !step.tx.is_empty() {
            let tx = String::from_utf8(step.tx).unwrap();
            let answer = device(&tx);
            written.push(shown(&tx));
            if !answer.is_empty() {
                now += 50;
                step = prober.feed(&answer, now);
                continue;
            }
        }
        now = step.deadline.expect("a probe in progress has a deadline");
        step = prober.on_timer(now);
    }
}

/// `tx` with the escape preamble (ESC and 341 carriage returns) shown as [`ESCAPE_PREAMBLE`].
fn shown(tx: &str) -> String {
    let preamble = format!("\x1b{}", "\r".repeat(341));
    match tx.strip_prefix(&preamble) {
        Some(rest) => format!("{ESCAPE_PREAMBLE}{rest}"),
        None => tx.to_owned(),
    }
}

fn identified(manufacturer: &str, model: &str) -> ProbeOutcome {
    ProbeOutcome::Identified(Identity {
        manufacturer: manufacturer.into(),
        model: model.into(),
    })
}

/// A modem answering `answers` (command line -> response lines), echo on or off at first;
/// `ATE0`/`ATE1` switch echo and answer `OK`, `AT` answers `OK` unless `answers` says otherwise,
/// empty lines (the escape preamble) are ignored.
fn modem(echo: bool, answers: &'static [(&str, &str)]) -> impl FnMut(&str) -> Vec<u8> {
    let mut echo = echo;
    move |written| {
        let echoed = if echo { written } else { "" };
        let line = written.trim_start_matches(['\x1b', '\r']).trim_end();
        let response = match answers.iter().find(|(command, _)| *command == line) {
            Some((_, response)) => response,
            None if line == "ATE1" || line == "ATE0" => {
                echo = line == "ATE1";
                "\r\nOK\r\n"
            }
            None if line == "AT" => "\r\nOK\r\n",
            None => "\r\nERROR\r\n",
        };
        format!("{echoed}{response}").into_bytes()
    }
}

const QUECTEL: &[(&str, &str)] = &[
    ("AT", "\r\nOK\r\n"),
    ("AT+CGMI", "\r\nQuectel\r\n\r\nOK\r\n"),
    ("AT+CGMM", "\r\nEC25\r\n\r\nOK\r\n"),
];

#[test]
fn responsive_modem_with_echo_off() {
    let run = probe(modem(false, QUECTEL));
    assert_eq!(run.outcome, identified("Quectel", "EC25"));
    assert_eq!(
        run.written,
        ["<escape>ATE1\r", "AT\r", "AT+CGMI\r", "AT+CGMM\r"]
    );
    assert_eq!(run.ended_at, 200);
}

#[test]
fn responsive_modem_with_echo_on() {
    let run = probe(modem(true, QUECTEL));
    assert_eq!(run.outcome, identified("Quectel", "EC25"));
}

#[test]
fn prefixed_and_quoted_answers() {
    const UBLOX: &[(&str, &str)] = &[
        ("AT", "\r\nOK\r\n"),
        ("AT+CGMI", "\r\n+CGMI: \"u-blox\"\r\n\r\nOK\r\n"),
        ("AT+CGMM", "\r\n+CGMM: \"SARA-R410M-02B\"\r\n\r\nOK\r\n"),
    ];
    assert_eq!(
        probe(modem(false, UBLOX)).outcome,
        identified("u-blox", "SARA-R410M-02B")
    );
}

#[test]
fn iridium_9603_with_its_default_echo() {
    const IRIDIUM: &[(&str, &str)] = &[
        ("AT", "\r\nOK\r\n"),
        ("AT+CGMI", "\r\nIridium\r\n\r\nOK\r\n"),
        (
            "AT+CGMM",
            "\r\nIRIDIUM 9600 Family SBD Transceiver\r\n\r\nOK\r\n",
        ),
    ];
    assert_eq!(
        probe(modem(true, IRIDIUM)).outcome,
        identified("Iridium", "IRIDIUM 9600 Family SBD Transceiver")
    );
}

#[test]
fn identification_errors_give_empty_strings() {
    const TERSE: &[(&str, &str)] = &[("AT+CGMM", "\r\n+CME ERROR: 4\r\n")];
    assert_eq!(probe(modem(false, TERSE)).outcome, identified("", ""));
}

#[test]
fn first_at_swallowed_while_the_modem_boots() {
    let mut booted = false;
    let mut quectel = modem(true, QUECTEL);
    let run = probe(move |written| {
        if booted {
            quectel(written)
        } else {
            booted = true;
            b"\x00\xff\r\nRDY\r\n".to_vec()
        }
    });
    assert_eq!(run.outcome, identified("Quectel", "EC25"));
    assert_eq!(
        run.written,
        ["<escape>ATE1\r", "ATE1\r", "AT\r", "AT+CGMI\r", "AT+CGMM\r"]
    );
}

#[test]
fn urcs_during_identification_are_not_the_answer() {
    const BUSY_BOOT: &[(&str, &str)] = &[
        ("ATE1", "\r\n+CPIN: READY\r\n\r\nOK\r\n"),
        ("AT+CGMI", "\r\n+QUSIM: 1\r\n\r\nQuectel\r\n\r\nOK\r\n"),
        (
            "AT+CGMM",
            "\r\nSMS DONE\r\n\r\nEG91\r\n\r\nOK\r\n\r\nPB DONE\r\n",
        ),
    ];
    assert_eq!(
        probe(modem(false, BUSY_BOOT)).outcome,
        identified("Quectel", "EG91")
    );
}

#[test]
fn silent_port_gives_no_response_after_all_attempts() {
    let run = probe(|_| Vec::new());
    assert_eq!(run.outcome, ProbeOutcome::NoResponse);
    assert_eq!(run.written[0], "<escape>ATE1\r");
    assert_eq!(run.written[1..], ["ATE1\r"; 3]);
    assert_eq!(run.ended_at, 4 * 600);
}

#[test]
fn loopback_port_only_echoes_and_gives_no_response() {
    let run = probe(|written| written.as_bytes().to_vec());
    assert_eq!(run.outcome, ProbeOutcome::NoResponse);
    assert_eq!(run.written.len(), 4);
}

#[test]
fn garbage_only_gives_no_response() {
    let run = probe(|_| b"\xff\x00\xfe\r\n~~\x80\r\x1b[0m".to_vec());
    assert_eq!(run.outcome, ProbeOutcome::NoResponse);
}

#[test]
fn steps_carry_the_timers() {
    let mut prober = Prober::new(ProbeConfig {
        attempts: 2,
        ..ProbeConfig::default()
    });
    let step = |tx: &[u8], deadline: Option<u64>| ProbeStep {
        tx: tx.to_vec(),
        deadline,
        outcome: None,
    };
    let first = prober.start(1000);
    assert!(first.tx.starts_with(b"\x1b\r\r") && first.tx.ends_with(b"\rATE1\r"));
    assert_eq!(first.deadline, Some(1600));
    assert_eq!(prober.on_timer(1599), step(b"", Some(1600)));
    assert_eq!(prober.feed(b"\r\nRDY\r\n", 1500), step(b"", Some(1600)));
    assert_eq!(prober.on_timer(1600), step(b"ATE1\r", Some(2200)));
    assert_eq!(
        prober.feed(b"ATE1\r\r\nOK\r\n", 1700),
        step(b"AT\r", Some(3200))
    );
    assert_eq!(
        prober.feed(b"AT\r\r\nOK\r\n", 1750),
        step(b"AT+CGMI\r", Some(3750))
    );
    assert_eq!(prober.on_timer(3750), step(b"AT+CGMM\r", Some(5750)));
    // AT+CGMI timed out, so its answer might still come: the echo shows this is AT+CGMM's.
    let done = prober.feed(b"AT+CGMM\r\r\nBG96\r\n\r\nOK\r\n", 3800);
    assert_eq!(done.outcome, Some(identified("", "BG96")));
    assert_eq!(done.deadline, None);
    assert_eq!(prober.feed(b"\r\nOK\r\n", 3900), ProbeStep::default());
}

const IRIDIUM_9603: &[(&str, &str)] = &[
    ("AT+CGMI", "\r\nIridium\r\n\r\nOK\r\n"),
    (
        "AT+CGMM",
        "\r\nIRIDIUM 9600 Family SBD Transceiver\r\n\r\nOK\r\n",
    ),
];

#[test]
fn a_stale_session_answer_does_not_shift_the_identification() {
    // The host was killed during AT+SBDIX (echo off since its ATE0): the terminal's answer comes
    // before the answer to anything the new host writes.
    let mut stale = Some("\r\n+SBDIX: 0, 3, 0, 0, 0, 0\r\n\r\nOK\r\n");
    let mut terminal = modem(false, IRIDIUM_9603);
    let run = probe(move |written| {
        let answer = terminal(written);
        match stale.take() {
            Some(stale) => [stale.as_bytes(), &answer].concat(),
            None => answer,
        }
    });
    assert_eq!(
        run.outcome,
        identified("Iridium", "IRIDIUM 9600 Family SBD Transceiver")
    );
}

#[test]
fn a_late_session_answer_between_the_first_commands_is_dropped() {
    // The stale answer comes in two pieces, the OK only after the answer to ATE1.
    let mut writes = 0;
    let mut terminal = modem(false, IRIDIUM_9603);
    let run = probe(move |written| {
        writes += 1;
        let answer = terminal(written);
        match writes {
            1 => [
                &b"\r\n+SBDIX: 0, 3, 0, 0, 0, 0\r\n"[..],
                &answer,
                b"\r\nOK\r\n",
            ]
            .concat(),
            _ => answer,
        }
    });
    assert_eq!(
        run.outcome,
        identified("Iridium", "IRIDIUM 9600 Family SBD Transceiver")
    );
}

/// `device` behind a pending text entry (after `AT+CMGS`'s `> ` prompt): everything is message
/// text until ESC, which cancels it (answering `OK`, as many modems do).
fn in_text_entry(mut device: impl FnMut(&str) -> Vec<u8>) -> impl FnMut(&str) -> Vec<u8> {
    let mut entering = true;
    move |written| {
        if !entering {
            return device(written);
        }
        match written.split_once('\x1b') {
            Some((_, rest)) => {
                entering = false;
                [&b"\r\nOK\r\n"[..], &device(rest)].concat()
            }
            None => Vec::new(),
        }
    }
}

#[test]
fn a_pending_sms_prompt_is_escaped() {
    let run = probe(in_text_entry(modem(false, QUECTEL)));
    assert_eq!(run.outcome, identified("Quectel", "EC25"));
    assert_eq!(run.ended_at, 200, "no attempt lost to the text entry");
}

#[test]
fn a_pending_sbd_binary_entry_is_filled_and_ends_at_once() {
    // AT+SBDWB=340 took READY and then nothing: the terminal reads 342 bytes whatever they are,
    // answers 2 (checksum wrong) and takes commands again.
    let mut missing = 342;
    let mut terminal = modem(false, IRIDIUM_9603);
    let run = probe(move |written| {
        if missing == 0 {
            return terminal(written);
        }
        let taken = missing.min(written.len());
        missing -= taken;
        if missing > 0 {
            return Vec::new();
        }
        let rest = &written[taken..];
        let answer = if rest.is_empty() {
            Vec::new()
        } else {
            terminal(rest)
        };
        [&b"\r\n2\r\n\r\nOK\r\n"[..], &answer].concat()
    });
    assert_eq!(
        run.outcome,
        identified("Iridium", "IRIDIUM 9600 Family SBD Transceiver")
    );
    assert_eq!(run.ended_at, 200, "no attempt lost to the binary entry");
}

#[test]
fn zero_attempts_ends_at_once() {
    let mut prober = Prober::new(ProbeConfig {
        attempts: 0,
        ..ProbeConfig::default()
    });
    let step = prober.start(0);
    assert_eq!(step.tx, b"");
    assert_eq!(step.outcome, Some(ProbeOutcome::NoResponse));
}
