//! ModemManager misbehaving or refusing (issue 12, "Robustness"), with the real ModemManager
//! managing a simulated modem (the rig of `m2mhal_tests::modemmanager`): a ModemManager that
//! stops answering costs its modem's callers a named `Timeout`, never a hang, and holds up no
//! other device; a reset ModemManager cannot do is refused by name, and a modem reset behind
//! its back is followed; an SMS ModemManager created after a `Messaging.Create` it did not answer
//! in time is taken by the next hand-over, not made again; a modem without a SIM is `failed`
//! (`sim-missing`), refuses messages by name and is served again once a SIM is inserted; an SMS
//! ModemManager cannot parse, or exports without a sender, is not stored and holds up nothing.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use m2mhal_tests::modemmanager::*;
use m2mhal_tests::paused::Paused;
use m2mhal_tests::*;

const ID: &str = "imei:356938035643809";

/// The longest a caller may wait for any answer here: `Signal.Refresh`'s own deadline (30 s)
/// and a margin for a loaded machine. Past it, the call hangs.
const NEVER_HANGS: Duration = Duration::from_secs(45);

/// Awaits a call; fails the test if it hangs.
async fn answered<T>(what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(NEVER_HANGS, call)
        .await
        .unwrap_or_else(|_| panic!("{what} hangs"))
}

/// ModemManager serving the simulated modem (registered), an Iridium terminal on a `[[port]]`
/// of its own, and m2mhald serving both: the modem through ModemManager, the terminal directly.
struct TwoDevices {
    rig: MmRig,
    /// Keeps the terminal's pty open.
    _iridium: Sim,
    daemon: Daemon,
    /// The modem's device object (served through ModemManager).
    served: String,
    /// The terminal's device object (served directly).
    direct: String,
}

impl TwoDevices {
    async fn start() -> Option<TwoDevices> {
        let mut rig = MmRig::start().await?;
        let modem = rig.plug_modem().await;
        rig.enable(&modem).await;
        let iridium = Sim::start(&["iridium"], 1).await;
        let port = iridium.path(0);
        // Outside the testbed: the testbed's ioctls all go through one handler, which a stopped
        // ModemManager can hold up in the middle of one of its own (a real kernel would not).
        // m2mhald serves ModemManager's modem from the bus alone.
        let daemon = Daemon::start(&rig.bus, &port_config(&port)).await;
        let served = wait_for_device_id(&daemon.conn, ID, "ready").await;
        let direct = wait_for_device(&daemon.conn, &port, "ready").await;
        Some(TwoDevices {
            rig,
            _iridium: iridium,
            daemon,
            served,
            direct,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modemmanager_that_stops_answering_costs_a_timeout_and_holds_up_no_other_device() {
    let Some(two) = TwoDevices::start().await else {
        return;
    };
    let conn = &two.daemon.conn;
    let (served, direct) = (two.served.as_str(), two.direct.as_str());
    let pid = two.rig.mm.pid().expect("ModemManager runs");

    // ModemManager hangs: it keeps its name on the bus and answers nothing.
    let paused = Paused::stop(pid);
    let refreshed = AtomicBool::new(false);
    let refresh = async {
        let answer = call::<_, ()>(conn, served, SIGNAL, "Refresh", &()).await;
        refreshed.store(true, Ordering::SeqCst);
        answer
    };
    let command = call::<_, String>(conn, served, DEVICE, "Command", &("AT+CSQ", 2000u32));
    // Meanwhile the other device answers, the daemon's objects stay readable, and the served
    // modem itself takes a message into its outbox before the Refresh is answered (its check
    // needs nothing from ModemManager, so it does not wait behind the reading).
    let others = async {
        let direct_refresh = call::<_, ()>(conn, direct, SIGNAL, "Refresh", &()).await;
        let listed = devices(conn).await.len();
        let state: String = property(conn, served, DEVICE, "State").await;
        let sent = send_text(conn, served, "+4915123456789", "while stopped").await;
        let sent_first = !refreshed.load(Ordering::SeqCst);
        (direct_refresh, listed, state, (sent, sent_first))
    };
    let (refresh, command, (direct_refresh, listed, state, (sent, sent_first))) =
        answered("a call while ModemManager is stopped", async {
            tokio::join!(refresh, command, others)
        })
        .await;
    sent.expect("Messaging.Send on the served modem while ModemManager is stopped");
    assert!(
        sent_first,
        "the Send waited for the Refresh that waits for ModemManager"
    );
    let message = assert_hal_error(refresh, "Timeout");
    assert!(message.contains("ModemManager"), "{message}");
    assert_hal_error(command, "Timeout");
    direct_refresh.expect("the directly served device answers while ModemManager is stopped");
    assert_eq!(listed, 2);
    assert_eq!(state, "ready");

    // ModemManager answers again: so does its modem.
    paused.resume();
    let refresh = call::<_, ()>(conn, served, SIGNAL, "Refresh", &());
    answered("Signal.Refresh", refresh)
        .await
        .expect("Signal.Refresh once ModemManager answers again");
    let command = call::<_, String>(conn, served, DEVICE, "Command", &("AT+CSQ", 0u32));
    let answer = answered("Device.Command", command)
        .await
        .expect("Command once ModemManager answers again");
    assert!(answer.contains("+CSQ: 20"), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_modemmanager_cannot_do_is_refused_by_name_and_one_behind_its_back_is_followed() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let ServedThroughMm { daemon, path, .. } = rig.serve_modem(ID, true).await;
    let conn = &daemon.conn;

    // ModemManager 1.20's Quectel plugin has no reset for an AT modem: it says so, and so does
    // m2mhal, by name; the modem stays as it was.
    let reset = call::<_, ()>(conn, &path, DEVICE, "Reset", &()).await;
    let message = assert_hal_error(reset, "NotSupported");
    assert!(
        message.contains("ModemManager cannot reset the modem"),
        "{message}"
    );
    let state: String = property(conn, &path, DEVICE, "State").await;
    assert_eq!(state, "ready");

    // The modem resets all the same (the AT command a Quectel module resets with, passed
    // through ModemManager): its `RDY` tells ModemManager, which drops the modem and probes it
    // again; the device goes offline and comes back ready on its object.
    let mut changes = properties_changed(conn, &path).await;
    let restart: Result<String, _> =
        call(conn, &path, DEVICE, "Command", &("AT+CFUN=1,1", 0u32)).await;
    rig.sim.expect_event("restart").await;
    // The `OK` and the `RDY` come together: ModemManager may drop the modem before it answers.
    if let Err((name, message)) = restart {
        assert_eq!(name, format!("{ERROR_PREFIX}NotReady"), "{message}");
    }
    next_property_change(&mut changes, DEVICE, "State", |s: &String| s == "offline").await;
    let reason: String = property(conn, &path, DEVICE, "StateReason").await;
    assert_eq!(reason, "modem-removed");
    assert_eq!(wait_for_device_id(conn, ID, "ready").await, path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_modemmanager_gives_no_messaging_refuses_sms_by_name_and_keeps_nothing() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    // A data-only module: ModemManager finds no SMS support (`AT+CNMI=?` fails) and gives the
    // modem no Messaging interface.
    rig.sim.ok("@0 quirk no-sms on").await;
    let modem = rig.plug_modem().await;
    rig.enable(&modem).await;
    let messaging = mm_proxy(&rig.mm.conn, &modem, MM_MESSAGING).await;
    let messages = messaging
        .get_property::<Vec<zbus::OwnedObjectPath>>("Messages")
        .await;
    assert!(messages.is_err(), "{messages:?}");
    let daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "ready").await;

    let refused = send_text(conn, &path, "+4915123456789", "never stored").await;
    let message = assert_hal_error(refused, "NotSupported");
    assert!(message.contains("no Messaging interface"), "{message}");
    // Refused, not taken: nothing waits in the outbox, nothing is stored.
    assert!(list_messages(conn, &path).await.is_empty());
    let pending: u32 = property(conn, &path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
    let state: String = property(conn, &path, DEVICE, "State").await;
    assert_eq!(state, "ready");
}

/// How long a message ModemManager did not take waits before it is handed over again
/// (`served.rs`'s 30 s), with a margin for a loaded machine.
const HANDED_OVER_AGAIN: Duration = Duration::from_secs(90);

/// Waits on a `StateChanged` stream for message `id` in `state` with an error (`Some(true)`),
/// without (`Some(false)`) or either (`None`), for at most [`HANDED_OVER_AGAIN`].
async fn next_state(
    states: &mut zbus::MessageStream,
    id: &str,
    state: &str,
    with_error: Option<bool>,
) {
    let accept = |(changed, new, error): &StateChangedBody| {
        changed == id && new == state && with_error.is_none_or(|e| e != error.is_empty())
    };
    let seen = tokio::time::timeout(HANDED_OVER_AGAIN, async {
        while let Some(Ok(signal)) = states.next().await {
            if signal.body().deserialize().is_ok_and(|body| accept(&body)) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "message {id} never got to {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_modemmanager_created_after_its_create_timed_out_is_taken_not_made_again() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    // Outside the testbed, as in `TwoDevices`: m2mhald serves the modem from the bus alone.
    let ServedThroughMm {
        modem,
        daemon,
        path,
    } = rig.serve_modem(ID, false).await;
    let conn = &daemon.conn;
    let mut states = subscribe(conn, MESSAGING, "StateChanged").await;
    let mut added = messages_added(&rig.mm.conn, &modem).await;

    // ModemManager hangs while m2mhald asks it to create the SMS: the Create times out and the
    // message stays queued.
    let paused = Paused::stop(rig.mm.pid().expect("ModemManager runs"));
    let id = send_text(conn, &path, "+4915123456789", "created late")
        .await
        .expect("Send while ModemManager is stopped");
    next_state(&mut states, &id, "queued", Some(true)).await;
    // Continued, ModemManager creates the SMS all the same: an orphan, never sent.
    paused.resume();
    let orphan = next_message(&mut added).await;

    // Handed over again, the message goes out once, as the orphan, which is then deleted:
    // ModemManager holds no SMS for it any more.
    next_state(&mut states, &id, "sent", None).await;
    let sent = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sent["text"], "created late", "{sent}");
    let listed = mm_messages(&rig.mm.conn, &modem).await;
    assert!(listed.is_empty(), "{orphan} left behind: {listed:?}");
}

/// `MM_MODEM_STATE_FAILED`.
const MM_STATE_FAILED: i32 = -1;
/// `MM_MODEM_STATE_FAILED_REASON_SIM_MISSING`.
const MM_FAILED_SIM_MISSING: u32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_without_a_sim_is_failed_refuses_sms_by_name_and_is_ready_once_one_is_inserted() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    // No SIM in the slot: `AT+CPIN?` answers `+CME ERROR: 10`, and ModemManager gives up on the
    // modem (`failed`, sim-missing) while it keeps watching the slot.
    rig.sim.ok("@0 sim missing").await;
    let modem = rig.plug_modem().await;
    let mm = &rig.mm.conn;
    wait_for_mm_property::<i32>(mm, &modem, MM_MODEM, "State", |s| *s == MM_STATE_FAILED).await;
    let reason: u32 = mm_property(mm, &modem, MM_MODEM, "StateFailedReason").await;
    assert_eq!(reason, MM_FAILED_SIM_MISSING);
    let iridium = Sim::start(&["iridium"], 1).await;
    let port = iridium.path(0);
    // Outside the testbed, as in `TwoDevices`: m2mhald serves the modem from the bus alone.
    let daemon = Daemon::start(&rig.bus, &port_config(&port)).await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "failed").await;
    let text = async |name: &str| property::<String>(conn, &path, DEVICE, name).await;
    assert_eq!(text("StateReason").await, "sim-missing");
    assert_eq!(text("Driver").await, "modemmanager");

    // A message is refused by name, and nothing is kept of it.
    let refused = send_text(conn, &path, "+4915123456789", "no SIM, no SMS").await;
    let message = assert_hal_error(refused, "NotReady");
    assert!(message.contains("failed (sim-missing)"), "{message}");
    assert!(list_messages(conn, &path).await.is_empty());
    let pending: u32 = property(conn, &path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
    // The other device is served as before.
    let direct = wait_for_device(conn, &port, "ready").await;
    call::<_, ()>(conn, &direct, SIGNAL, "Refresh", &())
        .await
        .expect("the directly served device answers beside the failed modem");

    // A SIM is inserted: the modem says so (`+QUSIM: 1`), ModemManager probes it again, and
    // the device comes back on its object, enabled by m2mhald, ready; messages go out.
    rig.sim.ok("@0 sim ready").await;
    assert_eq!(wait_for_device_id(conn, ID, "ready").await, path);
    assert_eq!(text("StateReason").await, "");
    let mut states = subscribe(conn, MESSAGING, "StateChanged").await;
    let id = send_text(conn, &path, "+4915123456789", "SIM in")
        .await
        .expect("Send once the SIM is in");
    wait_message_state(&mut states, &id, "sent").await;
    let sent = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sent["text"], "SIM in", "{sent}");
}

/// An SMS-DELIVER cut off in its sender's address (after the SMSC address, the first octet and
/// the address length): ModemManager 1.20 cannot parse it.
const CUT_OFF_PDU: &str = "0791947101670000040B";
/// An SMS-DELIVER whose sender's address is empty (length 0), text "A": ModemManager 1.20
/// parses it and exports a received SMS with an empty `Number`.
const SENDERLESS_PDU: &str = "07919471016700000400810000622170025231000141";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_modemmanager_cannot_parse_or_name_a_sender_for_are_not_stored_and_block_nothing() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    // Outside the testbed, as in `TwoDevices`: m2mhald serves the modem from the bus alone.
    let ServedThroughMm {
        modem,
        mut daemon,
        path,
    } = rig.serve_modem(ID, false).await;
    let mut received = subscribe(&daemon.conn, MESSAGING, "Received").await;
    let mut added = messages_added(&rig.mm.conn, &modem).await;

    // ModemManager reads the damaged PDU, cannot parse it, and makes nothing of it: no SMS
    // object, nothing for m2mhal to see. (ModemManager drops an indication that comes while it
    // reads another message, so the next one waits for it to be done.)
    rig.sim.ok(&format!("@0 sms-raw {CUT_OFF_PDU}")).await;
    rig.mm.expect_log("error parsing PDU").await;
    // One without a sender ModemManager exports as received: m2mhal stores no message for it and
    // leaves it to ModemManager.
    rig.sim.ok(&format!("@0 sms-raw {SENDERLESS_PDU}")).await;
    let senderless = next_message(&mut added).await;
    daemon.expect_log("received SMS without a sender").await;

    // The next message comes in as usual, once.
    rig.sim.ok("@0 sms +4915123456789 after the damage").await;
    let (stored, peer, payload, _info): ReceivedBody = next_signal(&mut received, |_| true).await;
    assert_eq!(peer, "+4915123456789");
    assert_eq!(payload, b"after the damage");
    // Taken in again (Poll lists ModemManager's messages), nothing more is stored.
    call::<_, ()>(&daemon.conn, &path, MESSAGING, "Poll", &())
        .await
        .expect("Poll");
    let listed = list_messages(&daemon.conn, &path).await;
    let ids: Vec<String> = listed.iter().map(|m| field::<String>(m, "id")).collect();
    assert_eq!(ids, [stored], "{listed:?}");
    // ModemManager keeps the one without a sender; the good one it was told to delete.
    let left = mm_messages(&rig.mm.conn, &modem).await;
    let left: Vec<&str> = left.iter().map(|path| path.as_str()).collect();
    assert_eq!(left, [senderless.as_str()]);
    let state: String = property(&daemon.conn, &path, DEVICE, "State").await;
    assert_eq!(state, "ready");
}
