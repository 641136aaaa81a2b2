//! `send`, `messages`, `delete`, `poll`: the Messaging interface.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use serde_json::{Value as Json, json};
use zbus::{Message, OwnedVariant, Variant};

use super::{print, print_json};
use crate::bus::{Hal, iface};
use crate::cli::SendArgs;
use crate::device::{Device, Properties};
use crate::error::CliError;
use crate::events::Event;
use crate::format::table::Table;
use crate::format::time::format_unix_time;
use crate::format::value::{
    bytes, dict_entries, hex, parse_hex, peer_label, preview, properties_to_json, render,
    string_entry, unsigned,
};

/// Longest text shown in the TEXT column of `messages`.
const PREVIEW_CHARS: usize = 40;

/// `m2mctl send DEVICE DESTINATION TEXT`: prints the message id, then with `--wait` its outcome.
pub async fn send(hal: &Hal, json: bool, args: &SendArgs) -> Result<(), CliError> {
    let (payload, encoding) = payload(args)?;
    let device = messaging_device(hal, &args.device).await?;
    // Subscribe before sending, so that no state change can slip by.
    let events = if args.wait {
        Some(hal.signals().await?)
    } else {
        None
    };
    let options = HashMap::from([("encoding", Variant::from(encoding))]);
    let body = (args.destination.as_str(), payload, options);
    let started = Instant::now();
    let id: String = hal
        .call(&device.path, iface::MESSAGING, "Send", &body)
        .await?;
    let Some(events) = events else {
        return if json {
            print_json(&json!({"id": id}))
        } else {
            print(&id)
        };
    };
    if !json {
        print(&id)?;
    }
    let outcome = tokio::time::timeout(hal.timeout(), outcome(events, &device.path, &id))
        .await
        .map_err(|_| CliError::Timeout {
            what: format!("message {id} to be sent"),
            after: hal.timeout(),
        })??;
    let seconds = started.elapsed().as_secs_f64();
    let via = device.device_string("Id");
    if json {
        print_json(&json!({
            "id": id,
            "state": outcome.state,
            "error": outcome.error,
            "device": via,
            "seconds": seconds,
        }))?;
    }
    let what_happened = format!("via {via} in {seconds:.1} s");
    match outcome.state.as_str() {
        "sent" if json => Ok(()),
        "sent" => print(&format!("sent {what_happened}")),
        _ if outcome.error.is_empty() => Err(CliError::Failed(format!(
            "message {id} failed {what_happened}"
        ))),
        _ => Err(CliError::Failed(format!(
            "message {id} failed {what_happened}: {}",
            outcome.error
        ))),
    }
}

/// The device named `spec`, checked to have the Messaging interface.
async fn messaging_device(hal: &Hal, spec: &str) -> Result<Device, CliError> {
    let device = hal.device(spec).await?;
    device.require(iface::MESSAGING, "messaging")?;
    Ok(device)
}

/// The final state of an outgoing message.
struct Outcome {
    /// `sent` or `failed`.
    state: String,
    /// Why it failed, or "".
    error: String,
}

/// Waits for `StateChanged(id, sent|failed, error)` from `path`.
async fn outcome(
    mut events: impl Stream<Item = Message> + Unpin,
    path: &str,
    id: &str,
) -> Result<Outcome, CliError> {
    while let Some(message) = events.next().await {
        match Event::from_message(&message) {
            Some(Event::MessageStateChanged {
                path: from,
                id: changed,
                state,
                error,
            }) if from == path && changed == id && (state == "sent" || state == "failed") => {
                return Ok(Outcome { state, error });
            }
            Some(Event::DaemonLeft) => return Err(CliError::DaemonLeft),
            _ => {}
        }
    }
    Err(CliError::Failed("the bus connection closed".to_owned()))
}

/// The bytes to send and their `encoding` option.
fn payload(args: &SendArgs) -> Result<(Vec<u8>, &'static str), CliError> {
    if let Some(file) = &args.file {
        let bytes = std::fs::read(file).map_err(|error| {
            CliError::Failed(format!("cannot read {}: {error}", file.display()))
        })?;
        return Ok((bytes, "binary"));
    }
    let text = args.text.as_deref().unwrap_or_default();
    if args.binary {
        let bytes = parse_hex(text).map_err(CliError::Usage)?;
        Ok((bytes, "binary"))
    } else {
        Ok((text.as_bytes().to_vec(), "text"))
    }
}

/// `m2mctl messages DEVICE [--verbose]`
pub async fn messages(hal: &Hal, json: bool, spec: &str, verbose: bool) -> Result<(), CliError> {
    let device = messaging_device(hal, spec).await?;
    let list: Vec<HashMap<String, OwnedVariant>> = hal
        .call(&device.path, iface::MESSAGING, "List", &())
        .await?;
    let list: Vec<Properties> = list
        .into_iter()
        .map(|entry| entry.into_iter().collect())
        .collect();
    if json {
        print_json(&Json::Array(list.iter().map(properties_to_json).collect()))
    } else if list.is_empty() {
        print("no messages")
    } else {
        print(&message_table(&list, verbose))
    }
}

/// The `messages` table: one row per stored message; `verbose` adds the INFO column.
fn message_table(messages: &[Properties], verbose: bool) -> String {
    let mut headers = vec!["ID", "DIR", "PEER", "STATE", "TIME", "TEXT", "ERROR"];
    if verbose {
        headers.push("INFO");
    }
    let mut table = Table::new(&headers);
    for message in messages {
        let time = message
            .get("timestamp")
            .and_then(|value| unsigned(value))
            .filter(|seconds| *seconds != 0)
            .map(format_unix_time)
            .unwrap_or_default();
        let mut row = vec![
            string_entry(message, "id").to_owned(),
            string_entry(message, "direction").to_owned(),
            peer_label(string_entry(message, "peer")).to_owned(),
            string_entry(message, "state").to_owned(),
            time,
            content_preview(message),
            string_entry(message, "error").to_owned(),
        ];
        if verbose {
            row.push(info_text(message));
        }
        table.push(row);
    }
    table.render()
}

/// The message's `info` dictionary as `key=value` pairs sorted by key (`attempts=1 momsn=12`).
fn info_text(message: &Properties) -> String {
    let Some(info) = message.get("info") else {
        return String::new();
    };
    let pairs: Vec<String> = dict_entries(info)
        .into_iter()
        .map(|(key, value)| format!("{key}={}", render(value)))
        .collect();
    pairs.join(" ")
}

/// The decoded text, or `0x` and the payload in hex, cut to [`PREVIEW_CHARS`].
fn content_preview(message: &Properties) -> String {
    if message.contains_key("text") {
        return preview(string_entry(message, "text"), PREVIEW_CHARS);
    }
    let payload = message
        .get("payload")
        .and_then(|value| bytes(value))
        .unwrap_or_default();
    if payload.is_empty() {
        String::new()
    } else {
        preview(&format!("0x{}", hex(&payload)), PREVIEW_CHARS)
    }
}

/// `m2mctl delete DEVICE ID`
pub async fn delete(hal: &Hal, spec: &str, id: &str) -> Result<(), CliError> {
    let device = messaging_device(hal, spec).await?;
    hal.call(&device.path, iface::MESSAGING, "Delete", &(id,))
        .await
}

/// `m2mctl poll DEVICE`
pub async fn poll(hal: &Hal, spec: &str) -> Result<(), CliError> {
    let device = messaging_device(hal, spec).await?;
    hal.call(&device.path, iface::MESSAGING, "Poll", &()).await
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::test_support::owned;

    fn send_args(text: Option<&str>, binary: bool, file: Option<PathBuf>) -> SendArgs {
        SendArgs {
            device: "1".to_owned(),
            destination: String::new(),
            text: text.map(str::to_owned),
            binary,
            file,
            wait: false,
        }
    }

    #[test]
    fn text_payload_is_utf8_with_text_encoding() {
        let (bytes, encoding) = payload(&send_args(Some("Grüße €"), false, None)).unwrap();
        assert_eq!(bytes, "Grüße €".as_bytes());
        assert_eq!(encoding, "text");
    }

    #[test]
    fn binary_payload_is_hex() {
        let (bytes, encoding) = payload(&send_args(Some("01 02 ff"), true, None)).unwrap();
        assert_eq!((bytes, encoding), (vec![1, 2, 0xff], "binary"));
        let error = payload(&send_args(Some("0g"), true, None)).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::EXIT_USAGE);
    }

    #[test]
    fn file_payload_is_binary() {
        let path = std::env::temp_dir().join(format!("m2mctl-test-{}.bin", std::process::id()));
        std::fs::write(&path, [0u8, 1, 2, 3]).unwrap();
        let result = payload(&send_args(None, false, Some(path.clone())));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(result.unwrap(), (vec![0, 1, 2, 3], "binary"));

        let missing = payload(&send_args(
            None,
            false,
            Some(PathBuf::from("/nonexistent/x")),
        ));
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .starts_with("cannot read /nonexistent/x")
        );
    }

    fn stored(entries: Vec<(&str, OwnedVariant)>) -> Properties {
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect()
    }

    #[test]
    fn message_table_shows_text_or_hex() {
        let sms = stored(vec![
            ("id", owned("7")),
            ("direction", owned("in")),
            ("peer", owned("+4915112345678")),
            ("payload", owned(b"Hallo".to_vec())),
            ("text", owned("Hallo")),
            ("state", owned("received")),
            ("timestamp", owned(1_714_564_800u64)),
            ("error", owned("")),
        ]);
        let burst = stored(vec![
            ("id", owned("8")),
            ("direction", owned("out")),
            ("peer", owned("")),
            ("payload", owned((0u8..30).collect::<Vec<u8>>())),
            ("state", owned("failed")),
            ("timestamp", owned(0u64)),
            ("error", owned("no satellite in view")),
        ]);
        assert_eq!(
            message_table(&[sms, burst], false),
            "ID  DIR  PEER            STATE     TIME                     TEXT                                      ERROR\n\
             7   in   +4915112345678  received  2024-05-01 12:00:00 UTC  Hallo                                     -\n\
             8   out  gateway         failed    -                        0x000102030405060708090a0b0c0d0e0f10111…  no satellite in view\n"
        );
    }

    #[test]
    fn verbose_table_shows_satellite_sequence_numbers() {
        let mo = stored(vec![
            ("id", owned("4")),
            ("direction", owned("out")),
            ("peer", owned("")),
            ("text", owned("hi")),
            ("state", owned("sent")),
            ("timestamp", owned(1_714_564_800u64)),
            ("error", owned("")),
            (
                "info",
                owned(HashMap::from([
                    ("momsn", "12"),
                    ("mo_status", "0"),
                    ("attempts", "1"),
                ])),
            ),
        ]);
        let mt = stored(vec![
            ("id", owned("5")),
            ("direction", owned("in")),
            ("peer", owned("")),
            ("payload", owned(vec![0x01u8, 0x02])),
            ("state", owned("received")),
            ("timestamp", owned(1_714_564_860u64)),
            ("error", owned("")),
            ("info", owned(HashMap::from([("mtmsn", "3")]))),
        ]);
        let without_info = stored(vec![("id", owned("6"))]);
        assert_eq!(
            message_table(&[mo, mt, without_info], true),
            "ID  DIR  PEER     STATE     TIME                     TEXT    ERROR  INFO\n\
             4   out  gateway  sent      2024-05-01 12:00:00 UTC  hi      -      attempts=1 mo_status=0 momsn=12\n\
             5   in   gateway  received  2024-05-01 12:01:00 UTC  0x0102  -      mtmsn=3\n\
             6   -    gateway  -         -                        -       -      -\n"
        );
    }
}
