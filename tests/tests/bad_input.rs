//! Malformed calls, misbehaving modems, bad plugins, a damaged store and a bad config: each is
//! refused with the documented error (or handled), and the daemon goes on serving.

use std::collections::HashMap;

use m2mhal_tests::*;
use zbus::{OwnedVariant, Variant};

const PEER: &str = "+4915112345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_refuses_malformed_messages() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let (conn, path) = (rig.conn().clone(), rig.path.clone());
    let invalid_utf8 = b"caf\xc3 au lait";
    let message = assert_hal_error(
        send(&conn, &path, PEER, invalid_utf8, &encoding("text")).await,
        "InvalidArgument",
    );
    assert!(message.contains("UTF-8"), "{message}");
    // Without options the encoding is text too.
    assert_hal_error(
        send(&conn, &path, PEER, invalid_utf8, &HashMap::new()).await,
        "InvalidArgument",
    );
    let unknown_option = HashMap::from([("priority", Variant::from(1u32))]);
    let message = assert_hal_error(
        send(&conn, &path, PEER, b"hi", &unknown_option).await,
        "InvalidArgument",
    );
    assert!(message.contains("priority"), "{message}");
    let wrong_type = HashMap::from([("encoding", Variant::from(7u32))]);
    assert_hal_error(
        send(&conn, &path, PEER, b"hi", &wrong_type).await,
        "InvalidArgument",
    );
    assert_hal_error(
        send(&conn, &path, PEER, b"hi", &encoding("utf16")).await,
        "InvalidArgument",
    );
    let max_payload: u32 = property(&conn, &path, MESSAGING, "MaxPayload").await;
    let oversized = vec![b'a'; max_payload as usize + 1];
    let message = assert_hal_error(
        send(&conn, &path, PEER, &oversized, &encoding("text")).await,
        "PayloadTooLarge",
    );
    assert!(message.contains(&max_payload.to_string()), "{message}");
    assert_hal_error(
        send(&conn, &path, PEER, &oversized, &encoding("binary")).await,
        "PayloadTooLarge",
    );
    for destination in ["abc", "", "+49 151 abc"] {
        assert_hal_error(
            send_text(&conn, &path, destination, "hi").await,
            "InvalidArgument",
        );
    }
    assert!(
        list_messages(&conn, &path).await.is_empty(),
        "refused messages are not stored"
    );

    // The same bytes are fine as binary data, and the limit itself is fine.
    let mut states = subscribe(&conn, MESSAGING, "StateChanged").await;
    send(&conn, &path, PEER, invalid_utf8, &encoding("binary"))
        .await
        .unwrap();
    let largest = vec![b'a'; max_payload as usize];
    let id = send(&conn, &path, PEER, &largest, &encoding("text"))
        .await
        .unwrap();
    wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(rig.sim.expect_event("sms-sent").await["alphabet"], "8bit");
    assert_eq!(list_messages(&conn, &path).await.len(), 2);
}

/// A kernel event dictionary with `key` replaced by `value`, or removed when `value` is `None`.
fn event_with(
    key: &'static str,
    value: Option<Variant<'static>>,
) -> HashMap<&'static str, OwnedVariant> {
    let mut event = tty_event("add", "/dev/ttyUSB0", &[("ID_M2MHAL_CANDIDATE", "1")]);
    match value {
        Some(value) => event.insert(key, OwnedVariant::try_from(value).unwrap()),
        None => event.remove(key),
    };
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_kernel_event_refuses_malformed_events() {
    let bus = TestBus::start().await;
    let daemon = Daemon::start(&bus, "").await;
    let regular_file = daemon.dir.join("m2mhald.toml");
    let regular_file = regular_file.to_str().unwrap().to_owned();
    let cases: Vec<(&str, HashMap<&'static str, OwnedVariant>, &str)> = vec![
        ("missing action", event_with("action", None), "action"),
        (
            "missing subsystem",
            event_with("subsystem", None),
            "subsystem",
        ),
        ("missing name", event_with("name", None), "name"),
        (
            "unknown key",
            event_with("colour", Some(Variant::from("blue"))),
            "colour",
        ),
        (
            "unknown action",
            event_with("action", Some(Variant::from("explode"))),
            "explode",
        ),
        (
            "action of the wrong type",
            event_with("action", Some(Variant::from(1u32))),
            "action",
        ),
        (
            "properties of the wrong type",
            event_with("properties", Some(Variant::from("ID_M2MHAL_CANDIDATE=1"))),
            "properties",
        ),
        (
            "name with a slash",
            event_with("name", Some(Variant::from("pts/0"))),
            "name",
        ),
        (
            "relative devnode",
            event_with("devnode", Some(Variant::from("dev/ttyUSB0"))),
            "devnode",
        ),
        (
            "devnode with ..",
            event_with("devnode", Some(Variant::from("/dev/../dev/ttyUSB0"))),
            "devnode",
        ),
        (
            "devnode that does not exist",
            event_with("devnode", Some(Variant::from("/dev/ttyNOSUCH9"))),
            "/dev/ttyNOSUCH9",
        ),
        (
            "/dev/null is no tty",
            event_with("devnode", Some(Variant::from("/dev/null"))),
            "/dev/null",
        ),
        (
            "regular file",
            event_with("devnode", Some(Variant::from(regular_file.clone()))),
            "m2mhald.toml",
        ),
    ];
    for (case, event, named) in cases {
        let message = assert_hal_error(
            report_kernel_event(&daemon.conn, &event).await,
            "InvalidArgument",
        );
        assert!(
            message.contains(named),
            "{case}: {message:?} names no {named:?}"
        );
    }
    assert!(devices(&daemon.conn).await.is_empty());
    let version: String = property(&daemon.conn, MANAGER_PATH, MANAGER, "Version").await;
    assert!(!version.is_empty());
}

/// A call whose arguments have the wrong D-Bus types fails with zbus' `InvalidArgs` or the API's
/// `InvalidArgument`.
#[track_caller]
fn assert_wrong_arguments<T: std::fmt::Debug>(result: Result<T, (String, String)>) {
    let (name, message) = result.expect_err("a call with wrong argument types fails");
    assert!(
        name == "org.freedesktop.DBus.Error.InvalidArgs"
            || name == format!("{ERROR_PREFIX}InvalidArgument"),
        "{name}: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_argument_types_are_refused_and_the_daemon_goes_on() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let (conn, path) = (rig.conn().clone(), rig.path.clone());
    let options: HashMap<&str, Variant<'_>> = HashMap::new();
    let wrong: Result<String, _> = call(
        &conn,
        &path,
        MESSAGING,
        "Send",
        &(PEER, "text, not bytes", &options),
    )
    .await;
    assert_wrong_arguments(wrong);
    let wrong: Result<String, _> = call(&conn, &path, DEVICE, "Command", &("AT",)).await;
    assert_wrong_arguments(wrong);
    let wrong: Result<(), _> =
        call(&conn, MANAGER_PATH, MANAGER, "ReportKernelEvent", &("add",)).await;
    assert_wrong_arguments(wrong);
    let wrong: Result<(), _> = call(&conn, &path, DEVICE, "NoSuchMethod", &()).await;
    assert_eq!(
        wrong.unwrap_err().0,
        "org.freedesktop.DBus.Error.UnknownMethod"
    );

    let mut states = subscribe(&conn, MESSAGING, "StateChanged").await;
    let id = send_text(&conn, &path, PEER, "still here").await.unwrap();
    wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(rig.sim.expect_event("sms-sent").await["text"], "still here");
}

/// Starts a modem with `sim_args` and the control `quirks`, and checks that it gets ready with
/// its real identity and sends a message.
async fn assert_works_despite(sim_args: &[&str], quirks: &[&str]) {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(sim_args, 1).await;
    for quirk in quirks {
        sim.ok(quirk).await;
    }
    let daemon = Daemon::start(&bus, &port_config(&sim.path(0))).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let device = properties(&daemon.conn, &path, DEVICE).await;
    assert_eq!(field::<String>(&device, "Id"), "imei:356938035643809");
    assert_eq!(field::<String>(&device, "Manufacturer"), "Quectel");
    assert_eq!(field::<String>(&device, "Model"), "EG25");
    assert_eq!(field::<String>(&device, "Revision"), "EG25GGBR07A08M2G");
    let operator: String = property(&daemon.conn, &path, SIGNAL, "Operator").await;
    assert_eq!(operator, "SIMNET");

    let mut states = subscribe(&daemon.conn, MESSAGING, "StateChanged").await;
    let id = send_text(&daemon.conn, &path, PEER, "through the noise")
        .await
        .unwrap();
    wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(
        sim.expect_event("sms-sent").await["text"],
        "through the noise"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_noise_before_answers_is_ignored() {
    assert_works_despite(&["modem"], &["quirk garbage on"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_modem_that_keeps_echoing_gets_ready() {
    assert_works_despite(&["modem", "--echo"], &["quirk slow 100"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_noise_before_an_echo_is_ignored() {
    assert_works_despite(&["modem", "--echo"], &["quirk garbage on"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urcs_inside_answers_are_not_mistaken_for_them() {
    let mut rig = ModemRig::start(&["modem"], "[drivers.cellular]\nsignal_interval = 0").await;
    let (conn, path) = (rig.conn().clone(), rig.path.clone());
    rig.sim.ok("quirk urc-interleave on").await;
    // The +CREG/+CEREG URCs of this change wait in the modem and come out in the middle of the
    // next answer, between its information line and OK.
    rig.sim.ok("register roaming").await;
    let mut changes = properties_changed(&conn, &path).await;
    let answer: String = call(&conn, &path, DEVICE, "Command", &("AT+CGSN", 0u32))
        .await
        .unwrap();
    assert_eq!(answer, "356938035643809\nOK");
    next_property_change::<String>(&mut changes, SIGNAL, "Registration", |r| r == "roaming").await;
    let mut received = subscribe(&conn, MESSAGING, "Received").await;
    rig.sim.ok(&format!("sms {PEER} interleaved")).await;
    let reply: Result<(), _> = call(&conn, &path, SIGNAL, "Refresh", &()).await;
    reply.unwrap();
    let (_, _, payload, _): ReceivedBody =
        next_signal(&mut received, |_: &ReceivedBody| true).await;
    assert_eq!(payload, b"interleaved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_modem_fails_alone_and_recovers() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem", "--count", "2"], 2).await;
    let config = format!("{}{}", port_config(&sim.path(0)), port_config(&sim.path(1)));
    let daemon = Daemon::start(&bus, &config).await;
    let conn = daemon.conn.clone();
    let silent = wait_for_device(&conn, &sim.path(0), "ready").await;
    let healthy = wait_for_device(&conn, &sim.path(1), "ready").await;
    let mut changes = properties_changed(&conn, &silent).await;

    sim.ok("@0 quirk silent on").await;
    // Three commands in a row without an answer make the modem count as silent.
    for _ in 0..3 {
        let result: Result<String, _> =
            call(&conn, &silent, DEVICE, "Command", &("AT", 300u32)).await;
        assert_hal_error(result, "Timeout");
    }
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "failed").await;
    let reason: String = property(&conn, &silent, DEVICE, "StateReason").await;
    assert_eq!(reason, "no-response");
    let refresh: Result<(), _> = call(&conn, &silent, SIGNAL, "Refresh", &()).await;
    assert_hal_error(refresh, "NotReady");

    // The other modem does not notice.
    let answer: String = call(&conn, &healthy, DEVICE, "Command", &("AT+CGSN", 0u32))
        .await
        .unwrap();
    assert_eq!(answer, "356938035643817\nOK");
    let state: String = property(&conn, &healthy, DEVICE, "State").await;
    assert_eq!(state, "ready");

    sim.ok("@0 quirk silent off").await;
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "ready").await;
    let answer: String = call(&conn, &silent, DEVICE, "Command", &("AT+CGSN", 0u32))
        .await
        .unwrap();
    assert_eq!(answer, "356938035643809\nOK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plugins_are_refused_and_the_good_one_serves() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let dir = daemon_dir();
    let plugins = dir.path().join("plugins");
    for (source, name) in [
        ("wrong_abi.c", "wrongabi"),
        ("describe_fails.c", "describefails"),
        ("no_entry.c", "noentry"),
    ] {
        m2mhal_tests::plugin_files::build_c_plugin(&plugins, source, name);
    }
    std::fs::write(
        plugins.join("libm2mhal_driver_garbage.so"),
        b"\x7fELF but not really a shared object",
    )
    .unwrap();

    let mut daemon = Daemon::start_in(&bus, dir.path(), &port_config(&sim.path(0))).await;
    // Plugins load in file name order, so the refusals are logged in this order.
    let refused = daemon.expect_log("libm2mhal_driver_describefails.so").await;
    assert!(
        refused.contains("refusing plugin")
            && refused.contains("describe panicked: sensor table missing"),
        "{refused}"
    );
    let refused = daemon.expect_log("libm2mhal_driver_garbage.so").await;
    assert!(refused.contains("refusing plugin"), "{refused}");
    let refused = daemon.expect_log("libm2mhal_driver_noentry.so").await;
    assert!(
        refused.contains("refusing plugin") && refused.contains("m2mhal_plugin_entry"),
        "{refused}"
    );
    let refused = daemon.expect_log("libm2mhal_driver_wrongabi.so").await;
    assert!(
        refused.contains("refusing plugin") && refused.contains("v99"),
        "{refused}"
    );

    let loaded: Vec<HashMap<String, OwnedVariant>> =
        call(&daemon.conn, MANAGER_PATH, MANAGER, "ListPlugins", &())
            .await
            .unwrap();
    let names: Vec<String> = loaded.iter().map(|p| field(p, "name")).collect();
    assert!(names.contains(&"cellular".to_owned()), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| ["wrongabi", "garbage", "describefails", "noentry"].contains(&n.as_str())),
        "{names:?}"
    );
    wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_store_is_moved_aside() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let dir = daemon_dir();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let garbage = b"this is not an SQLite database, it is a shopping list".repeat(100);
    std::fs::write(state.join("messages.db"), &garbage).unwrap();

    let daemon = Daemon::start_in(&bus, dir.path(), &port_config(&sim.path(0))).await;
    let moved: Vec<std::path::PathBuf> = std::fs::read_dir(&state)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("messages.db.corrupt-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(std::fs::read(&moved[0]).unwrap(), garbage);

    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let mut states = subscribe(&daemon.conn, MESSAGING, "StateChanged").await;
    let id = send_text(&daemon.conn, &path, PEER, "fresh store")
        .await
        .unwrap();
    wait_message_state(&mut states, &id, "sent").await;
    assert_eq!(sim.expect_event("sms-sent").await["text"], "fresh store");
    let listed = list_messages(&daemon.conn, &path).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(field::<String>(&listed[0], "state"), "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_config_key_stops_the_daemon() {
    let bus = TestBus::start().await;
    let dir = daemon_dir();
    let (status, stderr) = run_daemon_to_exit(&bus, dir.path(), "colour = \"blue\"").await;
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("colour"), "{stderr}");

    let (status, stderr) = run_daemon_to_exit(
        &bus,
        dir.path(),
        "[[port]]\npath = \"/dev/ttyUSB0\"\nspeed = 9600",
    )
    .await;
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("speed"), "{stderr}");

    let conn = bus.connect().await;
    let dbus = zbus::fdo::DBusProxy::new(&conn).await.unwrap();
    let owned = dbus
        .name_has_owner(BUS_NAME.try_into().unwrap())
        .await
        .unwrap();
    assert!(!owned, "a refused config never takes the bus name");
}

/// The unprivileged user the authorization test acts as.
const NOBODY: u32 = 65534;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprivileged_callers_may_read_but_not_act() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    rig.bus.open_to_all_users();
    let address = rig.bus.address.clone();
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;
    let id = send_text(rig.conn(), &rig.path, PEER, "from root")
        .await
        .unwrap();
    wait_message_state(&mut states, &id, "sent").await;
    rig.sim.expect_event("sms-sent").await;

    let listed = m2mctl_as_user(&address, NOBODY, &["--json", "list"]).await;
    assert_eq!(
        listed.code,
        Some(0),
        "reading is open to everyone: {listed:?}"
    );
    assert!(listed.stdout.contains("imei:356938035643809"), "{listed:?}");

    let port = rig.port.clone();
    let name = port.rsplit('/').next().unwrap().to_owned();
    let privileged: [&[&str]; 5] = [
        &["send", &port, PEER, "from nobody"],
        &["command", &port, "AT+CFUN=0"],
        &["reset", &port],
        &["delete", &port, &id],
        &["report-kernel-event", "remove", &name, "--devnode", &port],
    ];
    for args in privileged {
        let refused = m2mctl_as_user(&address, NOBODY, args).await;
        assert_eq!(refused.code, Some(1), "{args:?}: {refused:?}");
        assert!(
            refused.stderr.contains("NotAuthorized"),
            "{args:?}: {refused:?}"
        );
    }
    // Nothing happened.
    assert_eq!(rig.sim.status(0).await["cfun"], 1);
    assert_eq!(list_messages(rig.conn(), &rig.path).await.len(), 1);
    let state: String = property(rig.conn(), &rig.path, DEVICE, "State").await;
    assert_eq!(state, "ready");
}
