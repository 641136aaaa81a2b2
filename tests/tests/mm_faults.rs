//! ModemManager misbehaving or refusing (issue 12, "Robustness"), with the real ModemManager
//! managing a simulated modem (the rig of `m2mhal_tests::modemmanager`): a ModemManager that
//! stops answering costs its modem's callers a named `Timeout`, never a hang, and holds up no
//! other device; a reset ModemManager cannot do is refused by name, and a modem reset behind
//! its back is followed; an SMS ModemManager created after a `Messaging.Create` it did not answer
//! in time is taken by the next hand-over, not made again.

use std::future::Future;
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
    let refresh = call::<_, ()>(conn, served, SIGNAL, "Refresh", &());
    let command = call::<_, String>(conn, served, DEVICE, "Command", &("AT+CSQ", 2000u32));
    // Meanwhile the other device answers, and the daemon's objects stay readable.
    let others = async {
        let direct_refresh = call::<_, ()>(conn, direct, SIGNAL, "Refresh", &()).await;
        let listed = devices(conn).await.len();
        let state: String = property(conn, served, DEVICE, "State").await;
        (direct_refresh, listed, state)
    };
    let (refresh, command, (direct_refresh, listed, state)) =
        answered("a call while ModemManager is stopped", async {
            tokio::join!(refresh, command, others)
        })
        .await;
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
    let modem = rig.plug_modem().await;
    rig.enable(&modem).await;
    let daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "ready").await;

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
    let modem = rig.plug_modem().await;
    rig.enable(&modem).await;
    // Outside the testbed, as in `TwoDevices`: m2mhald serves the modem from the bus alone.
    let daemon = Daemon::start(&rig.bus, "").await;
    let conn = &daemon.conn;
    let path = wait_for_device_id(conn, ID, "ready").await;
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
