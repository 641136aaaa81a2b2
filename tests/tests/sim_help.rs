//! `m2msim` tells what it can do: `help` on its control socket lists the control commands, and
//! `m2msim <kind> --help` names them.

use std::process::Command;

use m2mhal_tests::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// The usages a `help` reply lists.
fn usages(reply: &Value) -> Vec<String> {
    reply["commands"]
        .as_array()
        .expect("a commands list")
        .iter()
        .map(|command| {
            assert!(command["summary"].as_str().is_some_and(|s| !s.is_empty()));
            command["usage"].as_str().expect("usage").to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_socket_answers_help() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control");
    let socket_arg = socket.to_string_lossy().into_owned();
    // The socket is bound before the ready line.
    let _sim = Sim::start(&["modem", "--control", &socket_arg], 1).await;

    let stream = UnixStream::connect(&socket).await.expect("connect");
    let (reader, mut writer) = stream.into_split();
    writer.write_all(b"help\n").await.unwrap();
    let mut lines = BufReader::new(reader).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("help is answered in time")
        .unwrap()
        .expect("a reply line");
    let reply: Value = serde_json::from_str(&line).expect("JSON reply");
    assert_eq!(reply["event"], "help", "{reply}");
    let usages = usages(&reply);
    for expected in ["sms <from> <text>", "hangup", "help", "quit"] {
        assert!(
            usages.iter().any(|u| u == expected),
            "{expected}: {usages:?}"
        );
    }
    assert!(
        usages.iter().any(|u| u.starts_with("signal ")),
        "{usages:?}"
    );

    // The socket still works after help.
    writer.write_all(b"signal 20\n").await.unwrap();
    let line = lines.next_line().await.unwrap().expect("a reply line");
    assert!(line.contains("\"ok\""), "{line}");
}

#[test]
fn kind_help_names_the_control_commands() {
    for (kind, expected) in [
        ("modem", ["sms <from> <text>", "register <home"]),
        ("iridium", ["mt <text>", "session-delay <ms>"]),
        ("gnss", ["position <lat> <lon> [alt]", "fix <none|2d|3d>"]),
        ("ble", ["add-bthome <ADDR>", "power on|off"]),
    ] {
        let output = Command::new(binary("m2msim"))
            .args([kind, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Control commands"), "{kind}: {help}");
        for usage in expected.iter().chain(&["help", "quit"]) {
            assert!(help.contains(usage), "{kind} --help lacks {usage}: {help}");
        }
    }
}
