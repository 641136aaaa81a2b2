//! An Iridium 9603 SBD transceiver (`m2msim iridium`) behind the real daemon with the cellular
//! and iridium plugins both installed: who claims it, what it reports, and short burst messages
//! both ways through `org.m2mhal.Hal1.Messaging` (and `m2mctl`), exactly as for SMS.

use m2mhal_tests::*;
use serde_json::Value;

/// The simulator with short sessions, so that tests take seconds.
const SIM: [&str; 3] = ["iridium", "--session-delay", "100"];
/// No power budget between sessions; retries wait 2 s at most.
const OPTIONS: &str = "[drivers.iridium]\nmin_session_interval = 0\nmax_backoff = 2\n";
/// The simulator's default IMEI.
const IMEI: &str = "300234063904190";
/// The largest MO message of a 9602/9603.
const MAX_PAYLOAD: usize = 340;

/// A bus, the simulated terminal and a daemon configured with its port and [`OPTIONS`].
async fn start() -> ModemRig {
    ModemRig::start(&SIM, OPTIONS).await
}

/// `Device.Command`: one AT line through the driver's command queue.
async fn at(conn: &zbus::Connection, path: &str, line: &str) -> String {
    call(conn, path, DEVICE, "Command", &(line, 0u32))
        .await
        .unwrap_or_else(|e| panic!("Command {line:?}: {e:?}"))
}

/// The names of the states in a `wait_message_state` result.
fn state_names(seen: &[StateChangedBody]) -> Vec<&str> {
    seen.iter().map(|(_, state, _)| state.as_str()).collect()
}

/// The message with `id` in `List`.
async fn listed(conn: &zbus::Connection, path: &str, id: &str) -> StoredMessage {
    list_messages(conn, path)
        .await
        .into_iter()
        .find(|message| field::<String>(message, "id") == id)
        .unwrap_or_else(|| panic!("message {id} is not listed"))
}

/// One entry of the `info` dictionary of a listed message.
fn info(message: &StoredMessage, key: &str) -> String {
    let info: std::collections::HashMap<String, String> = field(message, "info");
    info.get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no {key:?} in info {info:?}"))
}

/// Upper-case hex, as the simulator prints data.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probed_9603_is_claimed_by_the_iridium_driver() {
    let imei = "300534060123458";
    let bus = TestBus::start().await;
    let sim = Sim::start(&["iridium", "--imei", imei], 1).await;
    let port = sim.path(0);
    // No `driver =`: the daemon probes the port with every plugin installed.
    let daemon = Daemon::start(&bus, &port_config(&port)).await;
    let plugins: Vec<std::collections::HashMap<String, zbus::OwnedVariant>> =
        call(&daemon.conn, MANAGER_PATH, MANAGER, "ListPlugins", &())
            .await
            .unwrap();
    let names: Vec<String> = plugins.iter().map(|p| field(p, "name")).collect();
    assert!(
        names.contains(&"cellular".to_owned()) && names.contains(&"iridium".to_owned()),
        "{names:?}"
    );

    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    let device = properties(&daemon.conn, &path, DEVICE).await;
    assert_eq!(field::<String>(&device, "Driver"), "iridium");
    assert_eq!(field::<String>(&device, "Kind"), "satellite-terminal");
    assert_eq!(field::<String>(&device, "Id"), format!("imei:{imei}"));
    assert_eq!(field::<String>(&device, "SerialNumber"), imei);
    assert_eq!(field::<String>(&device, "Manufacturer"), "Iridium");
    assert_eq!(
        field::<String>(&device, "Model"),
        "IRIDIUM 9600 Family SBD Transceiver"
    );
    let revision: String = field(&device, "Revision");
    assert!(revision.contains("TA19002"), "{revision:?}");
    assert_eq!(field::<String>(&device, "StateReason"), "");
    let capabilities: Vec<String> = field(&device, "Capabilities");
    for capability in ["signal", "messaging"] {
        assert!(
            capabilities.contains(&capability.to_owned()),
            "{capabilities:?}"
        );
    }
    let max_payload: u32 = property(&daemon.conn, &path, MESSAGING, "MaxPayload").await;
    assert_eq!(max_payload, MAX_PAYLOAD as u32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_bars_are_reported_as_quality_in_steps_of_20() {
    let mut rig = start().await;
    // A clear sky: 5 bars, read at the end of initialisation.
    let quality: u32 =
        wait_for_property(rig.conn(), &rig.path, SIGNAL, "Quality", |q| *q == 100).await;
    assert_eq!(quality, 100);
    let technology: String = property(rig.conn(), &rig.path, SIGNAL, "Technology").await;
    assert_eq!(technology, "iridium");
    let updated_at: u64 = property(rig.conn(), &rig.path, SIGNAL, "UpdatedAt").await;
    assert!(updated_at > 0);

    // The +CIEV signal indication reaches the bus without a Refresh.
    let mut changes = properties_changed(rig.conn(), &rig.path).await;
    rig.sim.ok("signal 2").await;
    let quality: u32 = next_property_change(&mut changes, SIGNAL, "Quality", |_| true).await;
    assert_eq!(quality, 40);
    rig.sim.ok("signal 0").await;
    let quality: u32 = next_property_change(&mut changes, SIGNAL, "Quality", |_| true).await;
    assert_eq!(quality, 0);
    let technology: String = property(rig.conn(), &rig.path, SIGNAL, "Technology").await;
    assert_eq!(technology, "iridium");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_goes_to_the_gateway_in_one_session() {
    let mut rig = start().await;
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    // The largest message, every byte value: what arrives must be exactly what was sent.
    let payload: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i % 256) as u8).collect();
    let id = send(rig.conn(), &rig.path, "", &payload, &encoding("binary"))
        .await
        .unwrap();
    let seen = wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(
        state_names(&seen),
        ["queued", "sending", "sent"],
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|(_, _, error)| error.is_empty()),
        "{seen:?}"
    );

    let mo = rig.sim.expect_event("mo").await;
    assert_eq!(mo["data_hex"], hex(&payload));
    let session = rig.sim.expect_event("session").await;
    assert_eq!(session["command"], "+SBDIX");
    assert_eq!(session["mo_status"], 0);
    let momsn = mo["momsn"].as_u64().unwrap();
    assert_eq!(session["momsn"], momsn);

    let message = listed(rig.conn(), &rig.path, &id).await;
    assert_eq!(field::<String>(&message, "direction"), "out");
    assert_eq!(field::<String>(&message, "peer"), "");
    assert_eq!(field::<String>(&message, "state"), "sent");
    assert_eq!(field::<String>(&message, "error"), "");
    assert_eq!(field::<Vec<u8>>(&message, "payload"), payload);
    assert_eq!(info(&message, "momsn"), momsn.to_string());
    assert_eq!(info(&message, "attempts"), "1");
    let pending: u32 = property(rig.conn(), &rig.path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
    // The MO buffer is cleared after the session: the message cannot go twice.
    rig.sim
        .wait_status(0, "the MO buffer to be cleared", |s| {
            s["mo_buffer"].is_null()
        })
        .await;
    assert_eq!(rig.sim.gateway_mo(0).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_service_a_message_waits_for_service() {
    let mut rig = start().await;
    rig.sim.ok("service off").await;
    rig.daemon
        .expect_log("network service is unavailable")
        .await;
    let sessions = rig.sim.status(0).await["sessions"].clone();

    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    let id = send_text(rig.conn(), &rig.path, "", "waiting for the sky")
        .await
        .unwrap();
    let seen = wait_message_state(&mut states, &id, "sending").await;
    assert_eq!(state_names(&seen), ["queued", "sending"], "{seen:?}");
    // The driver hands it back (nothing went on the air): it waits in the daemon.
    let seen = wait_message_state(&mut states, &id, "queued").await;
    assert_eq!(state_names(&seen), ["queued"], "{seen:?}");
    // A command through the same queue: had a session started for the message, its SBDWB and
    // SBDIX would have run before this answer.
    assert_eq!(at(rig.conn(), &rig.path, "AT").await, "OK");
    let status = rig.sim.status(0).await;
    assert_eq!(status["sessions"], sessions, "no session without service");
    assert_eq!(status["mo_buffer"], Value::Null, "{status}");
    let pending: u32 = property(rig.conn(), &rig.path, MESSAGING, "Pending").await;
    assert_eq!(pending, 1);
    assert!(rig.sim.gateway_mo(0).await.is_empty());

    rig.sim.ok("service on").await;
    let seen = wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(state_names(&seen), ["sending", "sent"], "{seen:?}");
    let mo = rig.sim.expect_event("mo").await;
    assert_eq!(mo["text"], "waiting for the sky");
    let message = listed(rig.conn(), &rig.path, &id).await;
    assert_eq!(info(&message, "attempts"), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_until_sent() {
    let mut rig = start().await;
    // Gateway not responding twice, then success.
    rig.sim.ok("mo-status 17 17 0").await;
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    let id = send_text(rig.conn(), &rig.path, "", "third time lucky")
        .await
        .unwrap();
    let seen = wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(
        state_names(&seen),
        ["queued", "sending", "sent"],
        "{seen:?}"
    );

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(rig.sim.expect_event("session").await["mo_status"].clone());
    }
    assert_eq!(statuses, [17, 17, 0]);
    let mo = rig.sim.expect_event("mo").await;
    assert_eq!(mo["text"], "third time lucky");
    assert_eq!(rig.sim.gateway_mo(0).await.len(), 1, "sent once");

    let message = listed(rig.conn(), &rig.path, &id).await;
    assert_eq!(field::<String>(&message, "state"), "sent");
    assert_eq!(field::<String>(&message, "error"), "");
    assert_eq!(info(&message, "attempts"), "3");
    assert_eq!(info(&message, "mo_status"), "0");
    assert_eq!(info(&message, "momsn"), mo["momsn"].to_string());
    let state: String = property(rig.conn(), &rig.path, DEVICE, "State").await;
    assert_eq!(state, "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_fails_the_message_and_the_terminal() {
    let mut rig = start().await;
    rig.sim.ok("mo-status 15").await;
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    let id = send_text(rig.conn(), &rig.path, "", "no subscription")
        .await
        .unwrap();
    let seen = wait_message_state(&mut states, &id, "failed").await;
    assert_eq!(
        state_names(&seen),
        ["queued", "sending", "failed"],
        "{seen:?}"
    );
    let (_, _, error) = seen.last().unwrap();
    assert!(
        error.contains("15") && error.to_lowercase().contains("access is denied"),
        "{error:?}"
    );
    assert_eq!(rig.sim.expect_event("session").await["mo_status"], 15);
    assert!(rig.sim.gateway_mo(0).await.is_empty());

    let state: String = wait_for_property(rig.conn(), &rig.path, DEVICE, "State", |s: &String| {
        s == "failed"
    })
    .await;
    assert_eq!(state, "failed");
    let reason: String = property(rig.conn(), &rig.path, DEVICE, "StateReason").await;
    assert_eq!(reason, "access-denied");
    let message = listed(rig.conn(), &rig.path, &id).await;
    assert_eq!(field::<String>(&message, "state"), "failed");
    assert_eq!(&field::<String>(&message, "error"), error);
    let pending: u32 = property(rig.conn(), &rig.path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_alert_brings_the_message_without_a_call() {
    let mut rig = start().await;
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    rig.sim.ok("auto-ring on").await;
    let queued = rig.sim.ok("mt valve 7 open").await;
    assert_eq!(queued["rang"], true, "{queued}");

    let (id, peer, payload, info) = next_signal(&mut received, |_: &ReceivedBody| true).await;
    assert_eq!(peer, "");
    assert_eq!(payload, b"valve 7 open");
    assert_eq!(field::<String>(&info, "text"), "valve 7 open");
    assert!(field::<u64>(&info, "timestamp") > 0);
    let session = rig.sim.expect_event("session").await;
    assert_eq!(session["command"], "+SBDIXA", "the ring alert is answered");
    assert_eq!(session["mt_status"], 1);

    // Committed, then cleared from the terminal; nothing waits at the gateway.
    let status = rig
        .sim
        .wait_status(0, "the MT buffer to be cleared", |s| {
            s["mt_buffer"].is_null()
        })
        .await;
    assert_eq!(status["gateway_queue"], 0, "{status}");
    let message = listed(rig.conn(), &rig.path, &id).await;
    assert_eq!(field::<String>(&message, "direction"), "in");
    assert_eq!(field::<String>(&message, "text"), "valve 7 open");
    assert_eq!(field::<Vec<u8>>(&message, "payload"), b"valve 7 open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_fetches_every_queued_message_in_order() {
    let mut rig = start().await;
    rig.sim.ok("auto-ring off").await;
    let texts = ["first", "second", "third"];
    for (at, text) in texts.iter().enumerate() {
        let reply = rig.sim.ok(&format!("mt {text}")).await;
        assert_eq!(reply["queued"], at + 1, "{reply}");
        assert_eq!(reply["rang"], false, "{reply}");
    }
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    let polled: Result<(), _> = call(rig.conn(), &rig.path, MESSAGING, "Poll", &()).await;
    polled.unwrap();

    let mut got = Vec::new();
    for _ in &texts {
        let (_, _, payload, info) = next_signal(&mut received, |_: &ReceivedBody| true).await;
        got.push((
            String::from_utf8(payload).unwrap(),
            field::<String>(&info, "text"),
        ));
    }
    let expected: Vec<(String, String)> = texts
        .iter()
        .map(|t| ((*t).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(got, expected);
    rig.sim
        .wait_status(0, "the gateway queue and MT buffer to empty", |s| {
            s["gateway_queue"] == 0 && s["mt_buffer"].is_null()
        })
        .await;
    let incoming: Vec<String> = list_messages(rig.conn(), &rig.path)
        .await
        .iter()
        .filter(|m| field::<String>(m, "direction") == "in")
        .map(|m| field(m, "text"))
        .collect();
    assert_eq!(incoming, texts, "each stored once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_sends_store_nothing() {
    let mut rig = start().await;
    let oversize = vec![b'x'; MAX_PAYLOAD + 1];
    let result = send(rig.conn(), &rig.path, "", &oversize, &encoding("binary")).await;
    let message = assert_hal_error(result, "PayloadTooLarge");
    assert!(message.contains("341"), "{message}");

    let result = send_text(rig.conn(), &rig.path, "+4915112345678", "to a phone").await;
    let message = assert_hal_error(result, "InvalidArgument");
    assert!(message.contains("destination"), "{message}");

    assert!(list_messages(rig.conn(), &rig.path).await.is_empty());
    let pending: u32 = property(rig.conn(), &rig.path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
    let status = rig.sim.status(0).await;
    assert_eq!(status["mo_buffer"], Value::Null, "{status}");
    assert!(rig.sim.gateway_mo(0).await.is_empty());
}

/// Runs a daemon with `config` in `dir` on the terminal of `sim`, takes the network service
/// away, queues `text` and stops the daemon with the message still pending; returns its id.
async fn queue_without_service_then_stop(
    bus: &TestBus,
    sim: &mut Sim,
    dir: &std::path::Path,
    config: &str,
    text: &str,
) -> String {
    let mut daemon = Daemon::start_in(bus, dir, config).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    sim.ok("service off").await;
    daemon.expect_log("network service is unavailable").await;
    let id = send_text(&daemon.conn, &path, "", text).await.unwrap();
    wait_for_property::<u32>(&daemon.conn, &path, MESSAGING, "Pending", |p| *p == 1).await;
    assert!(daemon.stop().await.success());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_queued_without_service_survives_a_restart_and_goes_once() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&SIM, 1).await;
    let port = sim.path(0);
    let dir = daemon_dir();
    let config = format!("{}{OPTIONS}", port_config(&port));
    let id =
        queue_without_service_then_stop(&bus, &mut sim, dir.path(), &config, "survives a restart")
            .await;

    let watcher = bus.connect().await;
    let mut states = subscribe(&watcher, MESSAGING, "StateChanged").await;
    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    let state: String = field(&listed(&daemon.conn, &path, &id).await, "state");
    assert_ne!(state, "sent", "not sent without service");
    sim.ok("service on").await;
    wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(sim.expect_event("mo").await["text"], "survives a restart");

    let copies: Vec<Value> = sim.gateway_mo(0).await;
    assert_eq!(copies.len(), 1, "exactly once: {copies:?}");
    let listed = list_messages(&daemon.conn, &path).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(field::<String>(&listed[0], "id"), id);
    assert_eq!(field::<String>(&listed[0], "state"), "sent");
    let pending: u32 = property(&daemon.conn, &path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_without_service_no_session_is_attempted() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&SIM, 1).await;
    let port = sim.path(0);
    let dir = daemon_dir();
    // A power budget of 1 s leaves the command queue free between sessions.
    let config = format!(
        "{}[drivers.iridium]\nmin_session_interval = 1\nmax_backoff = 2\n",
        port_config(&port)
    );
    let id =
        queue_without_service_then_stop(&bus, &mut sim, dir.path(), &config, "no sky yet").await;
    let sessions = sim.status(0).await["sessions"].clone();

    let watcher = bus.connect().await;
    let mut states = subscribe(&watcher, MESSAGING, "StateChanged").await;
    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    wait_message_state(&mut states, &id, "sending").await;
    // The message is with the driver; a session for it would run before this command.
    assert_eq!(at(&daemon.conn, &path, "AT").await, "OK");
    let status = sim.status(0).await;
    assert_eq!(
        status["sessions"], sessions,
        "the terminal still has no service: {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2mctl_sends_and_lists_satellite_messages() {
    let mut rig = start().await;
    let port = rig.port.clone();
    let sent = m2mctl(&rig.bus.address, &["send", &port, "", "hello", "--wait"]).await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    // The id, then what happened.
    let mut lines = sent.stdout.lines();
    let id = lines.next().unwrap_or_default().to_owned();
    assert!(!id.is_empty(), "{sent:?}");
    let outcome = lines.next().unwrap_or_default();
    assert!(
        outcome.starts_with(&format!("sent via imei:{IMEI} in ")),
        "{sent:?}"
    );
    assert_eq!(rig.sim.expect_event("mo").await["text"], "hello");

    let binary = m2mctl(
        &rig.bus.address,
        &[
            "--json", "send", "--binary", &port, "", "CAFE0042", "--wait",
        ],
    )
    .await;
    assert_eq!(binary.code, Some(0), "{binary:?}");
    let binary: Value = serde_json::from_str(&binary.stdout).unwrap();
    assert_eq!(binary["state"], "sent", "{binary}");
    assert_eq!(rig.sim.expect_event("mo").await["data_hex"], "CAFE0042");

    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    rig.sim.ok("mt from the sky").await;
    next_signal(&mut received, |_: &ReceivedBody| true).await;

    let table = m2mctl(&rig.bus.address, &["messages", &port]).await;
    assert_eq!(table.code, Some(0), "{table:?}");
    for text in ["hello", "from the sky", "0xCAFE0042"] {
        assert!(
            table.stdout.to_uppercase().contains(&text.to_uppercase()),
            "{text} missing in {}",
            table.stdout
        );
    }
    // The terminal is found by its Id as well as by its port.
    let by_id = format!("imei:{IMEI}");
    let listed = m2mctl(&rig.bus.address, &["--json", "messages", &by_id]).await;
    assert_eq!(listed.code, Some(0), "{listed:?}");
    let messages: Value = serde_json::from_str(&listed.stdout).unwrap();
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let hello = messages.iter().find(|m| m["id"] == id.as_str()).unwrap();
    assert_eq!(hello["direction"], "out");
    assert_eq!(hello["peer"], "");
    assert_eq!(hello["state"], "sent");
    let incoming = messages.iter().find(|m| m["direction"] == "in").unwrap();
    assert_eq!(incoming["text"], "from the sky");

    let polled = m2mctl(&rig.bus.address, &["poll", &port]).await;
    assert_eq!(polled.code, Some(0), "{polled:?}");
}
