//! SMS through `org.m2mhal.Hal1.Messaging`: what `Send` puts on the (simulated) network, what
//! the network delivers to `Received`, and the durable store behind `List`, `Delete` and `Pending`.

use m2mhal_tests::*;
use serde_json::Value;

const PEER: &str = "+4915112345678";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends `text` and returns the id and the `sms-sent` events of its parts, in order.
async fn send_and_capture(rig: &mut ModemRig, text: &str, parts: usize) -> (String, Vec<Value>) {
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    let id = send_text(rig.conn(), &rig.path, PEER, text).await.unwrap();
    let seen = wait_message_state(&mut states, &id, "sent").await;
    let mut names: Vec<&str> = seen.iter().map(|(_, state, _)| state.as_str()).collect();
    // A repeated state is finding 3, checked by `state_changes_once_per_state`.
    names.dedup();
    assert_eq!(names, ["queued", "sending", "sent"], "{seen:?}");
    assert!(
        seen.iter().all(|(_, _, error)| error.is_empty()),
        "{seen:?}"
    );
    let mut sent = Vec::new();
    for _ in 0..parts {
        sent.push(rig.sim.expect_event("sms-sent").await);
    }
    (id, sent)
}

/// The message with `id` in `List`.
async fn listed(rig: &ModemRig, id: &str) -> StoredMessage {
    list_messages(rig.conn(), &rig.path)
        .await
        .into_iter()
        .find(|message| field::<String>(message, "id") == id)
        .unwrap_or_else(|| panic!("message {id} is not listed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsm_text_is_sent_in_one_part() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let text = "Pump 3 alarm: pressure 5.2 bar [limit 5] ~ 12€";
    let before = unix_now();
    let (id, sent) = send_and_capture(&mut rig, text, 1).await;
    let part = &sent[0];
    assert_eq!(part["to"], PEER);
    assert_eq!(part["alphabet"], "gsm7");
    assert_eq!(part["text"], text);
    assert!(part.get("concat").is_none(), "{part}");

    let message = listed(&rig, &id).await;
    assert_eq!(field::<String>(&message, "direction"), "out");
    assert_eq!(field::<String>(&message, "peer"), PEER);
    assert_eq!(field::<Vec<u8>>(&message, "payload"), text.as_bytes());
    assert_eq!(field::<String>(&message, "text"), text);
    assert_eq!(field::<String>(&message, "state"), "sent");
    assert_eq!(field::<String>(&message, "error"), "");
    let timestamp: u64 = field(&message, "timestamp");
    assert!((before..=unix_now()).contains(&timestamp), "{timestamp}");
    let pending: u32 = property(rig.conn(), &rig.path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_once_per_state() {
    let rig = ModemRig::start(&["modem"], "").await;
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    let id = send_text(rig.conn(), &rig.path, PEER, "once")
        .await
        .unwrap();
    let seen = wait_message_state(&mut states, &id, "sent").await;
    let names: Vec<&str> = seen.iter().map(|(_, state, _)| state.as_str()).collect();
    assert_eq!(names, ["queued", "sending", "sent"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_outside_gsm_goes_as_ucs2() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let text = "Grüße aus Köln 😀 — 東京";
    let (_, sent) = send_and_capture(&mut rig, text, 1).await;
    assert_eq!(sent[0]["alphabet"], "ucs2");
    assert_eq!(sent[0]["text"], text);
}

/// Checks that `parts` are the concatenated parts of `text`, in order, with one reference.
fn assert_concatenated(parts: &[Value], text: &str, alphabet: &str) {
    let total = parts.len();
    let reference = &parts[0]["concat"]["reference"];
    for (at, part) in parts.iter().enumerate() {
        assert_eq!(part["alphabet"], alphabet, "{part}");
        assert_eq!(part["concat"]["total"], total, "{part}");
        assert_eq!(part["concat"]["sequence"], at + 1, "{part}");
        assert_eq!(&part["concat"]["reference"], reference, "{part}");
    }
    let joined: String = parts
        .iter()
        .map(|part| part["text"].as_str().unwrap())
        .collect();
    assert_eq!(joined, text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_texts_are_split_into_concatenated_parts() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    // 153 GSM 7-bit characters fit in a part with a concatenation header: 200 need two.
    let gsm: String = "0123456789".repeat(20);
    let (_, gsm_parts) = send_and_capture(&mut rig, &gsm, 2).await;
    assert_concatenated(&gsm_parts, &gsm, "gsm7");
    assert_eq!(gsm_parts[0]["text"].as_str().unwrap().chars().count(), 153);

    // 67 UCS-2 characters per part: 100 need two.
    let ucs2: String = "日本".repeat(50);
    let (_, parts) = send_and_capture(&mut rig, &ucs2, 2).await;
    assert_concatenated(&parts, &ucs2, "ucs2");
    assert_ne!(
        parts[0]["concat"]["reference"], gsm_parts[0]["concat"]["reference"],
        "every message has its own reference"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_payload_is_sent_as_8bit_data() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    let payload = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
    let id = send(rig.conn(), &rig.path, PEER, &payload, &encoding("binary"))
        .await
        .unwrap();
    wait_message_state(&mut states, &id, "sent").await;
    let sent = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sent["alphabet"], "8bit");
    assert_eq!(sent["data_hex"], "00017F80FEFF");
    let message = listed(&rig, &id).await;
    assert_eq!(field::<Vec<u8>>(&message, "payload"), payload);
    assert!(
        !message.contains_key("text"),
        "binary has no text: {message:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_counts_messages_waiting_for_the_modem() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    sim.ok("sim missing").await;
    let daemon = Daemon::start(&bus, &port_config(&sim.path(0))).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "failed").await;
    let reason: String = property(&daemon.conn, &path, DEVICE, "StateReason").await;
    assert_eq!(reason, "sim-missing");

    let mut changes = properties_changed(&daemon.conn, &path).await;
    let mut states = subscribe(&daemon.conn, MESSAGING, "StateChanged").await;
    let first = send_text(&daemon.conn, &path, PEER, "first").await.unwrap();
    let second = send_text(&daemon.conn, &path, PEER, "second")
        .await
        .unwrap();
    assert_ne!(first, second);
    next_property_change::<u32>(&mut changes, MESSAGING, "Pending", |p| *p == 2).await;
    let queued: Vec<String> = list_messages(&daemon.conn, &path)
        .await
        .iter()
        .map(|message| field::<String>(message, "state"))
        .collect();
    assert_eq!(queued, ["queued", "queued"]);

    sim.ok("sim ready").await;
    wait_message_state(&mut states, &second, "sent").await;
    next_property_change::<u32>(&mut changes, MESSAGING, "Pending", |p| *p == 0).await;
    let texts = [
        sim.expect_event("sms-sent").await,
        sim.expect_event("sms-sent").await,
    ]
    .map(|sent| sent["text"].as_str().unwrap().to_owned());
    assert_eq!(texts, ["first", "second"], "sent in the order accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_forgets_one_message() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let (kept, _) = send_and_capture(&mut rig, "keep me", 1).await;
    let (gone, _) = send_and_capture(&mut rig, "delete me", 1).await;
    let ids = |messages: Vec<StoredMessage>| -> Vec<String> {
        messages.iter().map(|m| field::<String>(m, "id")).collect()
    };
    let mut all = ids(list_messages(rig.conn(), &rig.path).await);
    all.sort();
    let mut expected = vec![kept.clone(), gone.clone()];
    expected.sort();
    assert_eq!(all, expected);

    let deleted: Result<(), _> = call(rig.conn(), &rig.path, MESSAGING, "Delete", &(&gone,)).await;
    deleted.unwrap();
    assert_eq!(ids(list_messages(rig.conn(), &rig.path).await), [kept]);
    for unknown in [gone.as_str(), "no-such-id", ""] {
        let again: Result<(), _> =
            call(rig.conn(), &rig.path, MESSAGING, "Delete", &(unknown,)).await;
        assert_hal_error(again, "InvalidArgument");
    }
}

/// Has the simulator deliver a message with `command`, and checks the `Received` signal, the
/// stored copy and that the modem's storage is emptied afterwards. Returns the signal's info.
async fn receive(
    rig: &mut ModemRig,
    command: &str,
    payload: &[u8],
    text: Option<&str>,
    parts: u32,
) {
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    let before = unix_now();
    rig.sim.ok(command).await;
    let (id, peer, got, info): ReceivedBody =
        next_signal(&mut received, |_: &ReceivedBody| true).await;
    assert_eq!(peer, PEER);
    assert_eq!(got, payload);
    match text {
        Some(text) => assert_eq!(field::<String>(&info, "text"), text),
        None => assert!(!info.contains_key("text"), "{info:?}"),
    }
    assert_eq!(field::<String>(&info, "parts"), parts.to_string());
    let timestamp: u64 = field(&info, "timestamp");
    assert!((before..=unix_now()).contains(&timestamp), "{timestamp}");

    let message = listed(rig, &id).await;
    assert_eq!(field::<String>(&message, "direction"), "in");
    assert_eq!(field::<String>(&message, "peer"), PEER);
    assert_eq!(field::<Vec<u8>>(&message, "payload"), payload);
    assert_eq!(field::<u64>(&message, "timestamp"), timestamp);
    if let Some(text) = text {
        assert_eq!(field::<String>(&message, "text"), text);
    }
    rig.sim.wait_stored(0, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_gsm_text() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let text = "Reboot node 7 {now} please";
    receive(
        &mut rig,
        &format!("sms {PEER} {text}"),
        text.as_bytes(),
        Some(text),
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_ucs2_text() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let text = "Ölstand niedrig 🛢️ 残り10%";
    receive(
        &mut rig,
        &format!("sms {PEER} {text}"),
        text.as_bytes(),
        Some(text),
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_multipart_text_is_reassembled() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    // The simulator trims its control lines, so the text must not end in a space.
    let text: String = (0..40)
        .map(|n| format!(" line{n:02}"))
        .collect::<String>()
        .trim_start()
        .to_owned();
    assert_eq!(text.len(), 279);
    receive(
        &mut rig,
        &format!("sms {PEER} {text}"),
        text.as_bytes(),
        Some(&text),
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_multipart_in_reverse_order_is_reassembled() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let text: String = "ünïcödé ✓ ".repeat(16) + "end";
    assert!(text.chars().count() > 134, "three UCS-2 parts");
    let command = format!("sms-parts-reversed {PEER} {text}");
    receive(&mut rig, &command, text.as_bytes(), Some(&text), 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_binary_message() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let payload = [0xde, 0xad, 0xbe, 0xef, 0x00, 0x42];
    receive(
        &mut rig,
        &format!("sms-binary {PEER} DEADBEEF0042"),
        &payload,
        None,
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stored_while_the_daemon_was_down_are_received() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    sim.ok(&format!("store {PEER} while you were away")).await;
    let long = "long ".repeat(40) + "end";
    sim.ok(&format!("store {PEER} {long}")).await;
    assert_eq!(
        sim.stored(0).await.len(),
        3,
        "one single and one two-part message"
    );

    let daemon_dir = daemon_dir();
    // Subscribe before the daemon exists: the messages are read during its first initialisation.
    let watcher = bus.connect().await;
    let mut received = subscribe(&watcher, MESSAGING, "Received").await;
    let daemon = Daemon::start_in(&bus, daemon_dir.path(), &port_config(&sim.path(0))).await;
    let mut texts = Vec::new();
    for _ in 0..2 {
        let (_, peer, _, info): ReceivedBody =
            next_signal(&mut received, |_: &ReceivedBody| true).await;
        assert_eq!(peer, PEER);
        texts.push(field::<String>(&info, "text"));
    }
    texts.sort();
    assert_eq!(texts, [long, "while you were away".to_owned()]);

    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let mut listed: Vec<String> = list_messages(&daemon.conn, &path)
        .await
        .iter()
        .map(|message| field::<String>(message, "text"))
        .collect();
    listed.sort();
    assert_eq!(listed, texts);
    sim.wait_stored(0, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_reads_messages_the_modem_did_not_announce() {
    let mut rig = ModemRig::start(&["modem"], "[drivers.cellular]\nsignal_interval = 0").await;
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    // `store` puts the message in the SIM without any +CMTI, like one that arrived unannounced.
    rig.sim.ok(&format!("store {PEER} found by polling")).await;
    assert_eq!(rig.sim.stored(0).await.len(), 1);
    let polled: Result<(), _> = call(rig.conn(), &rig.path, MESSAGING, "Poll", &()).await;
    polled.unwrap();
    let (_, peer, payload, _): ReceivedBody =
        next_signal(&mut received, |_: &ReceivedBody| true).await;
    assert_eq!(peer, PEER);
    assert_eq!(payload, b"found by polling");
    rig.sim.wait_stored(0, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_message_missing_a_part_is_received_incomplete_and_frees_the_sim() {
    let mut rig = ModemRig::start(&["modem"], "[drivers.cellular]\nmultipart_timeout = 2").await;
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    // 359 characters: GSM 7-bit parts of 153, 153 and 53. The network loses part 2.
    let text = (0..72)
        .map(|n| format!("r{n:03}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(text.len(), 359);
    let reply = rig.sim.ok(&format!("sms-lose-part 2 {PEER} {text}")).await;
    assert_eq!(reply["slots"].as_array().map(Vec::len), Some(2), "{reply}");

    // Two seconds after the first part was read, the parts that came are one message.
    let (id, peer, payload, info): ReceivedBody =
        next_signal(&mut received, |_: &ReceivedBody| true).await;
    let expected = format!("{}{}", &text[..153], &text[306..]);
    assert_eq!(peer, PEER);
    assert_eq!(payload, expected.as_bytes());
    assert_eq!(field::<String>(&info, "text"), expected);
    assert_eq!(field::<String>(&info, "incomplete"), "true");
    assert_eq!(field::<String>(&info, "parts"), "2");
    assert_eq!(field::<String>(&info, "parts_total"), "3");
    assert_eq!(field::<String>(&info, "parts_missing"), "2");

    let message = listed(&rig, &id).await;
    assert_eq!(field::<String>(&message, "direction"), "in");
    assert_eq!(field::<String>(&message, "text"), expected);
    let stored_info: std::collections::HashMap<String, String> = field(&message, "info");
    assert_eq!(
        stored_info.get("incomplete").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        stored_info.get("parts_missing").map(String::as_str),
        Some("2")
    );

    // Stored by the host, the parts leave the SIM.
    rig.sim.wait_stored(0, 0).await;
    assert_eq!(rig.sim.status(0).await["stored"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_refuses_a_destination_that_is_no_phone_number() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    // Letters (semi-octets an address field could carry), too few or too many digits for E.164.
    for destination in ["+1555abc", "+12", "+1234567890123456", "0151-1234567"] {
        let message = assert_hal_error(
            send_text(rig.conn(), &rig.path, destination, "hi").await,
            "InvalidArgument",
        );
        assert!(message.contains(destination), "{message}");
    }
    assert!(
        list_messages(rig.conn(), &rig.path).await.is_empty(),
        "refused messages are not stored"
    );
    // Nothing reached the network: the first SMS the simulator sees is the valid one after them.
    let (_, sent) = send_and_capture(&mut rig, "valid", 1).await;
    assert_eq!(sent[0]["to"], PEER);
    assert_eq!(list_messages(rig.conn(), &rig.path).await.len(), 1);
}
