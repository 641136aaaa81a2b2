//! Properties: any chunking of the input gives the same result, and no input panics.

use m2mhal_at::{
    AtChannel, ChannelConfig, ChannelEvent, Command, Frame, Framer, ProbeConfig, Prober,
};
use proptest::prelude::*;

/// Splits `bytes` into chunks whose sizes cycle through `sizes` (each at least 1).
fn chunks<'a>(bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut rest = bytes;
    let mut out = Vec::new();
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

fn frames(binary: bool, input: &[&[u8]]) -> Vec<Frame> {
    let mut framer = Framer::new();
    if binary {
        framer.expect_binary();
    }
    let mut frames = Vec::new();
    for chunk in input {
        framer.push(chunk);
        frames.extend(std::iter::from_fn(|| framer.next_frame()));
    }
    frames
}

/// One step of a conversation with a modem.
enum Step {
    Start(Command),
    Rx(Vec<u8>),
    CheckTimeout(u64),
}

/// A morning in a modem's life: echo, URCs, errors, an SMS sent and one received, a binary
/// read, a timeout with a late answer, noise.
fn modem_log() -> Vec<Step> {
    let pdu = b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a".to_vec();
    let cmt_pdu = "07919471060040340404D0E474D81C0EBB010000111011315214000BE474D81C0EBB5DE3771B";
    vec![
        Step::Rx(b"\x00\xff\r\nRDY\r\n\r\n+CPIN: READY\r\n".to_vec()),
        Step::Start(Command::new("AT+CSQ", 300)),
        Step::Rx(
            b"AT+CSQ\r\r\n+CMTI: \"SM\",3\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\n+CREG: 1\r\n"
                .to_vec(),
        ),
        Step::Start(Command::new("AT+CREG?", 300)),
        Step::Rx(b"\r\n+CREG: 2,1,\"1A2B\",\"01C3D4E\",7\r\n\r\nOK\r\n".to_vec()),
        Step::Start(Command::new("AT+CPIN?", 300)),
        Step::Rx(b"\r\n+CME ERROR: SIM not inserted\r\n".to_vec()),
        Step::Start(Command::new("AT+CMGS=23", 300).with_prompt_payload(pdu.clone())),
        Step::Rx(
            [
                &b"AT+CMGS=23\r\r\n> "[..],
                &pdu,
                b"\r\n+CMGS: 12\r\n\r\nOK\r\n",
            ]
            .concat(),
        ),
        Step::Rx(format!("\r\n+CMT: ,36\r\n{cmt_pdu}\r\n").into_bytes()),
        Step::Start(Command::new("AT+SBDRB", 300).with_binary_response()),
        Step::Rx(b"AT+SBDRB\r\x00\x05hello\x02\x14\r\nOK\r\n".to_vec()),
        Step::Start(Command::new("AT+COPS?", 300)),
        Step::CheckTimeout(10_000),
        Step::Start(Command::new("AT+CMGD=1", 300)),
        Step::Rx(b"\r\n+COPS: 0,0,\"Telekom.de\",7\r\n\r\nOK\r\n\r\n+CMS ERROR: 321\r\n".to_vec()),
        Step::Rx(b"\r\nNO CARRIER\r\n\r\n+CMS ERROR: 500\r\n\xfe\xfe\r\n".to_vec()),
    ]
}

/// Everything the channel said and wrote, in order.
fn converse(log: &[Step], sizes: &[usize]) -> (Vec<ChannelEvent>, Vec<u8>) {
    let mut channel = AtChannel::new(ChannelConfig::gsm());
    let mut events = Vec::new();
    let mut tx = Vec::new();
    for step in log {
        match step {
            Step::Start(command) => tx.extend(channel.start(command.clone(), 0).unwrap()),
            Step::Rx(bytes) => {
                for chunk in chunks(bytes, sizes) {
                    let output = channel.feed(chunk);
                    events.extend(output.events);
                    tx.extend(output.tx);
                }
            }
            Step::CheckTimeout(now) => events.extend(channel.check_timeout(*now)),
        }
    }
    (events, tx)
}

/// Bytes that are mostly the interesting ones: line endings, the prompt, result codes, small
/// binary lengths, NUL and non-UTF-8.
fn modem_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop::sample::select(&b"\r\n> OKERROR+CME:1\x00\x01\x05\x07\x08\xff\xc3"[..]);
    prop::collection::vec(prop_oneof![3 => interesting, 1 => any::<u8>()], 0..300)
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..12, 1..20)
}

/// One line per event, like a log.
fn summary(event: &ChannelEvent) -> String {
    match event {
        ChannelEvent::Urc(urc) => match &urc.extra {
            Some(extra) => format!("URC {} / {}", urc.line, &extra[..8]),
            None => format!("URC {}", urc.line),
        },
        ChannelEvent::Completed(Ok(response)) => {
            format!("OK {:?} {:?}", response.lines, response.binary.as_deref())
        }
        ChannelEvent::Completed(Err(error)) => format!("FAILED {error}"),
    }
}

#[test]
fn the_modem_log_reads_as_expected_in_one_piece() {
    let (events, tx) = converse(&modem_log(), &[usize::MAX]);
    let summaries: Vec<String> = events.iter().map(summary).collect();
    assert_eq!(
        summaries,
        [
            "URC RDY",
            "URC +CPIN: READY",
            "URC +CMTI: \"SM\",3",
            "OK [\"+CSQ: 20,99\"] None",
            "URC +CREG: 1",
            "OK [\"+CREG: 2,1,\\\"1A2B\\\",\\\"01C3D4E\\\",7\"] None",
            "FAILED CME error 10: SIM not inserted",
            "OK [\"+CMGS: 12\"] None",
            "URC +CMT: ,36 / 07919471",
            "OK [] Some([104, 101, 108, 108, 111, 2, 20])",
            "FAILED no answer before the timeout",
            "FAILED CMS error 321: invalid memory index",
            "URC NO CARRIER",
        ]
    );
    assert!(tx.ends_with(b"AT+CMGD=1\r"));
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_of_the_modem_log_gives_the_same_events(sizes in chunk_sizes()) {
        let log = modem_log();
        prop_assert_eq!(converse(&log, &sizes), converse(&log, &[usize::MAX]));
    }

    #[test]
    fn any_chunking_of_any_bytes_gives_the_same_frames(
        bytes in modem_bytes(),
        sizes in chunk_sizes(),
        binary in any::<bool>(),
    ) {
        prop_assert_eq!(frames(binary, &chunks(&bytes, &sizes)), frames(binary, &[&bytes]));
    }

    #[test]
    fn any_chunking_of_any_bytes_gives_the_same_channel_events(
        bytes in modem_bytes(),
        sizes in chunk_sizes(),
        binary in any::<bool>(),
    ) {
        let mut command = Command::new("AT+CMGS=5", 100).with_prompt_payload(b"AT\x1a".to_vec());
        if binary {
            command = command.with_binary_response();
        }
        let log = [Step::Start(command), Step::Rx(bytes)];
        prop_assert_eq!(converse(&log, &sizes), converse(&log, &[usize::MAX]));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16),
    ) {
        let mut framer = Framer::new();
        let mut channel = AtChannel::new(ChannelConfig::gsm());
        let mut prober = Prober::new(ProbeConfig::default());
        prober.start(0);
        for (i, chunk) in input.iter().enumerate() {
            let now = i as u64 * 400;
            if i % 3 == 0 {
                framer.expect_binary();
                let _ = channel.start(Command::new("AT+SBDRB", 500).with_binary_response(), now);
            }
            framer.push(chunk);
            while framer.next_frame().is_some() {}
            channel.feed(chunk);
            channel.check_timeout(now);
            prober.feed(chunk, now);
            prober.on_timer(now);
        }
    }
}
