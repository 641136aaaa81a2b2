//! Restarts after `kill -9` (a power cut, an OOM kill) at the worst moments, on ports configured
//! without `driver` (so the daemon probes and identifies them): a terminal still in an SBD
//! session whose answer comes after the kill, a terminal left in `AT+SBDWB` binary entry, a modem
//! left in text entry after the `> ` prompt of `AT+CMGS`. Each time the restarted daemon must
//! identify the device as what it is and get it ready.

use m2mhal_tests::restart::write_and_vanish;
use m2mhal_tests::*;

/// Sessions long enough that the restarted daemon opens the port while one still runs.
const IRIDIUM: [&str; 3] = ["iridium", "--session-delay", "1500"];
const IRIDIUM_MANUFACTURER: &str = "Iridium";
const IRIDIUM_MODEL: &str = "IRIDIUM 9600 Family SBD Transceiver";

/// A daemon in `dir` probing `port` (no `driver =`), once the device on it is `ready`; returns
/// the daemon and the device's object path.
async fn start_ready(bus: &TestBus, dir: &std::path::Path, port: &str) -> (Daemon, String) {
    let daemon = Daemon::start_in(bus, dir, &port_config(port)).await;
    let path = wait_for_device(&daemon.conn, port, "ready").await;
    (daemon, path)
}

/// `Driver`, `Manufacturer` and `Model` of the device at `path`.
async fn identification(conn: &zbus::Connection, path: &str) -> (String, String, String) {
    let device = properties(conn, path, DEVICE).await;
    (
        field(&device, "Driver"),
        field(&device, "Manufacturer"),
        field(&device, "Model"),
    )
}

/// Starts the daemon on a 9603, kills it, leaves `last_words` on the port as the killed daemon
/// would have, lets the terminal act on them (`settle`), restarts the daemon and checks the
/// terminal is identified as itself and ready.
async fn terminal_survives_a_kill_after(last_words: &[u8], settle: impl AsyncFnOnce(&mut Sim)) {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&IRIDIUM, 1).await;
    let port = sim.path(0);
    let dir = daemon_dir();
    let (daemon, _) = start_ready(&bus, dir.path(), &port).await;
    daemon.kill().await;

    write_and_vanish(&port, last_words);
    settle(&mut sim).await;
    let (daemon, path) = start_ready(&bus, dir.path(), &port).await;
    assert_eq!(
        identification(&daemon.conn, &path).await,
        (
            "iridium".to_owned(),
            IRIDIUM_MANUFACTURER.to_owned(),
            IRIDIUM_MODEL.to_owned()
        )
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answer_left_on_the_port_does_not_shift_the_identification() {
    // Killed right after starting a session: its +SBDIX and OK come after the kill and wait on
    // the port for the restarted daemon (which read every answer one behind: Manufacturer "",
    // Model "Iridium", claimed by the cellular driver).
    terminal_survives_a_kill_after(b"AT+SBDIX\r", async |sim| {
        sim.expect_event("session").await;
        // The port's task writes the answer before it takes the next control command.
        sim.status(0).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_left_in_binary_entry_is_ready_at_once() {
    // Killed after READY and before the message: the terminal takes the next 342 bytes as the
    // message and its checksum, whatever they are, or waits 60 s.
    terminal_survives_a_kill_after(b"AT+SBDWB=340\r", async |sim| {
        sim.status(0).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_left_in_text_entry_is_escaped_and_sends_again() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let dir = daemon_dir();
    let (daemon, _) = start_ready(&bus, dir.path(), &port).await;
    daemon.kill().await;

    // Killed after the `> ` prompt, before the PDU: every line is message text until ESC.
    write_and_vanish(&port, b"AT+CMGS=20\r");
    sim.wait_status(0, "the modem in text entry", |status| {
        status["text_entry"] == true
    })
    .await;
    let (daemon, path) = start_ready(&bus, dir.path(), &port).await;
    assert_eq!(
        identification(&daemon.conn, &path).await,
        (
            "cellular".to_owned(),
            "Quectel".to_owned(),
            "EG25".to_owned()
        )
    );
    assert_eq!(sim.status(0).await["text_entry"], false);
    let mut states = subscribe(&daemon.conn, MESSAGING, "StateChanged").await;
    let id = send_text(&daemon.conn, &path, "+4915112345678", "after the restart")
        .await
        .expect("Send");
    wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(
        sim.expect_event("sms-sent").await["text"],
        "after the restart"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_of_a_committed_sms_left_by_a_kill_during_deletion_are_deleted() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let dir = daemon_dir();
    let (daemon, _) = start_ready(&bus, dir.path(), &port).await;

    // Slow answers, so that the kill lands between the deletion of the first part (after the
    // commit) and the next.
    sim.ok("@0 quirk slow 1500").await;
    let text = "Station 7 weather report, all sensors nominal. ".repeat(8);
    sim.ok(&format!("@0 sms +4917612345678 {text}")).await;
    let deleted = sim.expect_event("sms-deleted").await;
    assert_eq!(deleted["stored"], 2, "{deleted}");
    daemon.kill().await;
    sim.ok("@0 quirk slow off").await;
    assert_eq!(sim.stored(0).await.len(), 2, "two parts left on the SIM");

    let (daemon, path) = start_ready(&bus, dir.path(), &port).await;
    sim.wait_stored(0, 0).await;
    let incoming = list_messages(&daemon.conn, &path)
        .await
        .into_iter()
        .filter(|message| field::<String>(message, "direction") == "in")
        .count();
    assert_eq!(incoming, 1, "the message is stored once");
    daemon.stop().await;
}
