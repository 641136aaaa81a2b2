//! The journal at the default log level (info): an SMS in and out leaves no phone number and no
//! message text in it, and every line is short, naming the port once.

use m2mhal_tests::*;

const PEER: &str = "+4915112345678";
/// How the daemon logs `PEER`.
const MASKED_PEER: &str = "+49151******78";
const TEXT_IN: &str = "meet me at the north gate";
const TEXT_OUT: &str = "the pump is running again";
/// Lines longer than this do not fit a terminal-wide journal view.
const MAX_LINE: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_log_level_keeps_numbers_and_texts_out_and_lines_short() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let mut daemon =
        Daemon::start_with_env(&bus, &port_config(&port), &[("M2MHAL_LOG", "info")]).await;
    let device = wait_for_device(&daemon.conn, &port, "ready").await;

    let mut received = subscribe(&daemon.conn, MESSAGING, "Received").await;
    sim.ok(&format!("sms {PEER} {TEXT_IN}")).await;
    let (_, peer, _, _): (
        String,
        String,
        Vec<u8>,
        std::collections::HashMap<String, zbus::OwnedVariant>,
    ) = next_signal(&mut received, |_: &(_, _, _, _)| true).await;
    assert_eq!(peer, PEER);
    let mut states = subscribe(&daemon.conn, MESSAGING, "StateChanged").await;
    let id = send_text(&daemon.conn, &device, PEER, TEXT_OUT)
        .await
        .unwrap();
    wait_message_state(&mut states, &id, "sent").await;

    // Everything logged from the start until the device is detached at shutdown.
    let pid = daemon.pid().expect("m2mhald runs");
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    let lines = daemon.log_until("device detached").await;

    assert!(
        lines.iter().any(|line| line.contains(MASKED_PEER)),
        "the sender is logged masked: {lines:#?}"
    );
    for line in &lines {
        for secret in [PEER, &PEER[1..], TEXT_IN, TEXT_OUT] {
            assert!(!line.contains(secret), "{secret:?} logged: {line}");
        }
        assert!(line.len() < MAX_LINE, "{} characters: {line}", line.len());
        assert!(line.matches(&port).count() <= 1, "port twice: {line}");
    }
}
