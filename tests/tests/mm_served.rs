//! Modems served through ModemManager (issue 12): with the real ModemManager managing a
//! simulated modem (the rig of `m2mhal_tests::modemmanager`), m2mhald publishes it as its
//! `cellular-modem` device with the direct driver's `Id`, sends and takes in its SMS through
//! ModemManager, never opens its port, and survives ModemManager restarts.

use m2mhal_contract::iface::DATA;
use m2mhal_tests::modemmanager::*;
use m2mhal_tests::*;

const ID: &str = "imei:356938035643809";
const PEER: &str = "+4915123456789";

/// The states `StateChanged` reported for a message, repeats folded.
fn state_names(seen: &[StateChangedBody]) -> Vec<&str> {
    let mut names: Vec<&str> = seen.iter().map(|(_, state, _)| state.as_str()).collect();
    names.dedup();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_modem_is_served_through_modemmanager_and_m2mhal_never_opens_it() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let modem = rig.plug_modem().await;
    rig.enable(&modem).await;
    // LTE figures for ModemManager's extended signal (`AT+CESQ`, once m2mhald sets it up).
    rig.sim.ok("@0 signal 20 -95").await;
    // Enabled, ModemManager holds the port open: from now on any open is somebody else's.
    let mut opens = OpenWatch::new(&[&rig.sim.path(0)]);
    let daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "ready").await;
    let text = async |name: &str| property::<String>(conn, &path, DEVICE, name).await;
    assert_eq!(text("Driver").await, "modemmanager");
    assert_eq!(text("Kind").await, "cellular-modem");
    assert_eq!(text("Manufacturer").await, "Quectel");
    assert_eq!(text("Model").await, "EG25");
    assert_eq!(text("SerialNumber").await, "356938035643809");
    assert_eq!(text("Port").await, "/dev/ttyUSB2");
    assert_eq!(text("StateReason").await, "");

    // The simulator's +CSQ: 20 is 20/31 of the scale, as ModemManager says.
    let quality: u32 = wait_for_property(conn, &path, SIGNAL, "Quality", |q: &u32| *q > 0).await;
    assert_eq!(quality, 20 * 100 / 31);
    let registration: String = property(conn, &path, SIGNAL, "Registration").await;
    assert_eq!(registration, "home");
    let operator: String = property(conn, &path, SIGNAL, "Operator").await;
    assert_eq!(operator, "SIMNET");
    // Rsrp/Rsrq from ModemManager's Signal interface, as the simulator reports them; Sinr stays
    // unknown (NaN): ModemManager 1.20 reads a Quectel AT modem's `+CESQ`, which has none.
    let status = rig.sim.status(0).await;
    let rsrp: i32 = wait_for_property(conn, &path, SIGNAL, "Rsrp", |r: &i32| *r != 0).await;
    assert_eq!(
        i64::from(rsrp),
        status["rsrp"].as_i64().expect("rsrp"),
        "{status}"
    );
    let rsrq: f64 = property(conn, &path, SIGNAL, "Rsrq").await;
    assert_eq!(Some(rsrq), status["rsrq"].as_f64(), "{status}");
    let sinr: f64 = property(conn, &path, SIGNAL, "Sinr").await;
    assert!(sinr.is_nan(), "{sinr}");

    // m2mctl says which way the modem is served.
    let listed = m2mctl(&rig.bus.address, &["list"]).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let line = listed
        .stdout
        .lines()
        .find(|line| line.contains(ID))
        .unwrap_or_else(|| panic!("{ID} not listed: {}", listed.stdout));
    assert!(line.contains("modemmanager"), "{line}");

    // Data: ModemManager's bearer, read-only (created, not connected: no network behind it).
    let modem_proxy = mm_proxy(&rig.mm.conn, &modem, MM_MODEM).await;
    let settings = std::collections::HashMap::from([("apn", zbus::Variant::from("internet"))]);
    let _bearer: zbus::OwnedObjectPath = modem_proxy
        .call("CreateBearer", &(settings,))
        .await
        .expect("CreateBearer");
    let apn: String =
        wait_for_property(conn, &path, DATA, "Apn", |apn: &String| apn == "internet").await;
    assert_eq!(apn, "internet");
    let connected: bool = property(conn, &path, DATA, "Connected").await;
    assert!(!connected);
    let shown = m2mctl(&rig.bus.address, &["show", ID]).await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert!(shown.stdout.contains("  Data\n"), "{}", shown.stdout);
    assert!(shown.stdout.contains("internet"), "{}", shown.stdout);

    // Command goes through ModemManager's Modem.Command (the rig runs it with --debug).
    let answer: String = call(conn, &path, DEVICE, "Command", &("AT+CGSN", 0u32))
        .await
        .expect("Command");
    assert!(answer.contains("356938035643809"), "{answer:?}");

    assert_eq!(
        opens.opened(),
        Vec::<std::path::PathBuf>::new(),
        "m2mhal opened the port"
    );
    assert!(devices_driven_by(conn, "cellular").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_go_out_through_modemmanager_and_multipart_sms_come_in_whole() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    // Left disabled: m2mhald enables it, as NetworkManager would.
    let modem = rig.plug_modem().await;
    let daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "ready").await;

    let mut states = subscribe(conn, MESSAGING, "StateChanged").await;
    let id = send_text(conn, &path, PEER, "pump 3: pressure high")
        .await
        .unwrap();
    let seen = wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(
        state_names(&seen),
        ["queued", "sending", "sent"],
        "{seen:?}"
    );
    let sent = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sent["to"], PEER, "{sent}");
    assert_eq!(sent["text"], "pump 3: pressure high", "{sent}");

    let mut received = subscribe(conn, MESSAGING, "Received").await;
    let mut added = messages_added(&rig.mm.conn, &modem).await;
    let mut deleted = messaging_signals(&rig.mm.conn, &modem, "Deleted").await;
    let long_text = "a message too long for one part. ".repeat(6);
    let long_text = long_text.trim_end();
    rig.sim
        .ok(&format!("@0 sms-stepwise {PEER} {long_text}"))
        .await;
    // The first part is in ModemManager (as `receiving`): m2mhald leaves it there.
    let multipart = next_message(&mut added).await;
    rig.sim.ok("@0 next-part").await;
    let (stored, peer, payload, _info): ReceivedBody = next_signal(&mut received, |_| true).await;
    assert_eq!(peer, PEER);
    assert_eq!(payload, long_text.as_bytes());
    // Committed to m2mhal's store, then deleted from ModemManager.
    assert_eq!(next_deleted(&mut deleted).await, multipart);
    assert!(mm_messages(&rig.mm.conn, &modem).await.is_empty());
    let listed = list_messages(conn, &path).await;
    let incoming: Vec<&StoredMessage> = listed
        .iter()
        .filter(|message| field::<String>(message, "direction") == "in")
        .collect();
    assert_eq!(incoming.len(), 1, "{listed:?}");
    assert_eq!(field::<String>(incoming[0], "id"), stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modemmanager_restart_is_survived_and_a_message_queued_meanwhile_goes_out_once() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let ServedThroughMm { daemon, path, .. } = rig.serve_modem(ID, true).await;
    let conn = &daemon.conn;

    rig.mm.stop().await;
    wait_for_property(conn, &path, DEVICE, "State", |s: &String| s == "offline").await;
    let reason: String = property(conn, &path, DEVICE, "StateReason").await;
    assert_eq!(reason, "modemmanager-gone");

    // Accepted while ModemManager is away; it waits in m2mhal's outbox.
    let mut states = subscribe(conn, MESSAGING, "StateChanged").await;
    let id = send_text(conn, &path, PEER, "sent after the restart")
        .await
        .unwrap();
    let pending: u32 =
        wait_for_property(conn, &path, MESSAGING, "Pending", |p: &u32| *p == 1).await;
    assert_eq!(pending, 1);

    rig.mm = ModemManager::start(&rig.bus, &rig.usb).await;
    rig.mm.report_tty("add", MODEM_TTY).await;
    let seen = wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(
        state_names(&seen),
        ["queued", "sending", "sent"],
        "{seen:?}"
    );
    // The same object, ready again.
    assert_eq!(wait_for_device_id(conn, ID, "ready").await, path);
    let sent = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sent["text"], "sent after the restart", "{sent}");
    // Once: the next message the network sees is the next one sent.
    let next = send_text(conn, &path, PEER, "and the next one")
        .await
        .unwrap();
    wait_message_state(&mut states, &next, "sent").await;
    let sent = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sent["text"], "and the next one", "{sent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_removed_while_a_message_is_in_flight_keeps_it_queued_and_callers_hear_gone() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let ServedThroughMm { daemon, path, .. } = rig.serve_modem(ID, true).await;
    let conn = &daemon.conn;

    // The modem stops answering: ModemManager's send hangs.
    rig.sim.ok("@0 quirk silent on").await;
    let mut states = subscribe(conn, MESSAGING, "StateChanged").await;
    let id = send_text(conn, &path, PEER, "never out").await.unwrap();
    wait_message_state(&mut states, &id, "sending").await;

    rig.usb.ok("remove-modem").await;
    rig.mm.report_tty("remove", MODEM_TTY).await;
    let seen = wait_message_state(&mut states, &id, "queued").await;
    assert!(
        !seen.iter().any(|(_, state, _)| state == "failed"),
        "{seen:?}"
    );
    wait_for_property(conn, &path, DEVICE, "State", |s: &String| s == "offline").await;
    let reason: String = property(conn, &path, DEVICE, "StateReason").await;
    assert_eq!(reason, "modem-removed");
    let refused = send_text(conn, &path, PEER, "too late").await;
    assert_hal_error(refused, "DeviceGone");
    let listed = list_messages(conn, &path).await;
    let message = listed
        .iter()
        .find(|message| field::<String>(message, "id") == id)
        .expect("the message is still stored");
    assert_eq!(field::<String>(message, "state"), "queued");
}

/// A modem served through ModemManager whose message `text` is out on the network while the
/// modem holds back the acknowledgement (ModemManager is still sending it, its SMS `UNKNOWN` as
/// before the send), and m2mhald stopped meanwhile.
struct CutOff {
    rig: MmRig,
    dir: tempfile::TempDir,
    /// Keeps the subscription of `states` alive.
    _watcher: zbus::Connection,
    states: zbus::MessageStream,
    path: String,
    id: String,
}

impl CutOff {
    /// `None` where ModemManager cannot run here (the rig says why).
    async fn start(text: &str) -> Option<CutOff> {
        let mut rig = MmRig::start().await?;
        let modem = rig.plug_modem().await;
        rig.enable(&modem).await;
        let dir = daemon_dir();
        let daemon = Daemon::start_in_with_env(&rig.bus, dir.path(), "", &rig.usb.env()).await;
        let path = wait_for_device_id(&daemon.conn, ID, "ready").await;
        rig.sim.ok("@0 sms-ack hold").await;
        let watcher = rig.bus.connect().await;
        let states = subscribe(&watcher, MESSAGING, "StateChanged").await;
        let id = send_text(&daemon.conn, &path, PEER, text).await.unwrap();
        let sent = rig.sim.expect_event("sms-sent").await;
        assert_eq!(sent["text"], text, "{sent}");
        daemon.stop().await;
        Some(CutOff {
            rig,
            dir,
            _watcher: watcher,
            states,
            path,
            id,
        })
    }

    /// Starts m2mhald again on the same directory.
    async fn restart(&self) -> Daemon {
        let env = self.rig.usb.env();
        Daemon::start_in_with_env(&self.rig.bus, self.dir.path(), "", &env).await
    }

    /// Sends one more message and checks it is the next one the network sees.
    async fn next_is_sent_once(&mut self, daemon: &Daemon) {
        let next = send_text(&daemon.conn, &self.path, PEER, "and the next one")
            .await
            .unwrap();
        wait_message_state(&mut self.states, &next, "sent").await;
        let sent = self.rig.sim.expect_event("sms-sent").await;
        assert_eq!(sent["text"], "and the next one", "{sent}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_flight_when_m2mhald_stops_goes_out_once_after_its_restart() {
    let Some(mut cut) = CutOff::start("sent once").await else {
        return;
    };
    // Restarted, m2mhald waits for ModemManager's outcome instead of sending the message again.
    let mut daemon = cut.restart().await;
    daemon
        .expect_log("ModemManager may still be sending it")
        .await;
    cut.rig.sim.ok("@0 sms-ack release").await;
    wait_message_state(&mut cut.states, &cut.id, "sent").await;
    // Once: the next message the network sees is the next one sent.
    cut.next_is_sent_once(&daemon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_outcome_nobody_can_know_fails_as_maybe_sent_and_is_not_sent_again() {
    let Some(mut cut) = CutOff::start("maybe sent").await else {
        return;
    };
    // ModemManager goes away before the network's acknowledgement, which never comes: whether
    // the message went out, only the network knows.
    let rig = &mut cut.rig;
    rig.mm.stop().await;
    rig.sim.ok("@0 sms-ack drop").await;
    rig.mm = ModemManager::start(&rig.bus, &rig.usb).await;
    rig.mm.report_tty("add", MODEM_TTY).await;

    let daemon = cut.restart().await;
    let seen = wait_message_state(&mut cut.states, &cut.id, "failed").await;
    let (_, _, error) = seen.last().expect("the failed state");
    assert!(error.contains("may or may not have sent it"), "{error}");
    // Not sent again: the next message the network sees is the next one sent.
    cut.next_is_sent_once(&daemon).await;
}
