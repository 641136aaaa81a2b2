//! Feeds arbitrary bytes in arbitrary chunks to the AT framer and command channel: nothing may
//! panic, and the framer must give the same frames however its input is split.

#![no_main]

use libfuzzer_sys::fuzz_target;
use m2mhal_at::{AtChannel, ChannelConfig, Command, Frame, Framer};

/// Splits `bytes` into chunks whose sizes cycle through `sizes` (0 counts as 1).
fn chunks<'a>(bytes: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let sizes = if sizes.is_empty() { &[1][..] } else { sizes };
    let mut rest = bytes;
    let mut out = Vec::new();
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(usize::from(*size).clamp(1, rest.len()));
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

fuzz_target!(|input: (bool, Vec<u8>, Vec<u8>)| {
    let (binary, sizes, bytes) = input;
    let chunked = chunks(&bytes, &sizes);
    assert_eq!(frames(binary, &chunked), frames(binary, &[&bytes]));

    let mut channel = AtChannel::new(ChannelConfig::gsm());
    let mut command = Command::new("AT+CMGS=5", 1000).with_prompt_payload(b"00\x1a".to_vec());
    if binary {
        command = command.with_binary_response();
    }
    let mut now = 0;
    let _ = channel.start(command, now);
    for chunk in chunked {
        channel.feed(chunk);
        now += 100;
        if channel.check_timeout(now).is_some() {
            let _ = channel.start(Command::new("AT+CSQ", 1000), now);
        }
    }
});
