//! The daemon's life: readiness notification, clean shutdown, and messages that outlive a restart.

use std::os::unix::net::UnixDatagram;

use m2mhal_tests::*;

const PEER: &str = "+4915112345678";

/// Reads one notification from the systemd notify socket within [`WAIT`].
async fn notification(socket: &UnixDatagram) -> String {
    let socket = socket.try_clone().unwrap();
    tokio::task::spawn_blocking(move || {
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let mut buffer = [0u8; 256];
        let length = socket.recv(&mut buffer).expect("a notification in time");
        String::from_utf8_lossy(&buffer[..length]).into_owned()
    })
    .await
    .unwrap()
}

async fn owns_the_name(bus: &TestBus) -> bool {
    let conn = bus.connect().await;
    let dbus = zbus::fdo::DBusProxy::new(&conn).await.unwrap();
    dbus.name_has_owner(BUS_NAME.try_into().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_stopping_are_notified() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let notify_dir = tempfile::tempdir().unwrap();
    let notify_path = notify_dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&notify_path).unwrap();
    let daemon = Daemon::start_with_env(
        &bus,
        &port_config(&sim.path(0)),
        &[("NOTIFY_SOCKET", notify_path.to_str().unwrap())],
    )
    .await;
    assert_eq!(notification(&socket).await, "READY=1");
    wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let status = daemon.stop().await;
    assert!(status.success(), "{status:?}");
    assert_eq!(notification(&socket).await, "STOPPING=1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemon_cleanly() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let mut daemon = Daemon::start(&bus, &port_config(&sim.path(0))).await;
    wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let pid = daemon.pid().unwrap();
    let status = daemon.stop().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(!owns_the_name(&bus).await, "the bus name is released");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "m2mhald {pid} is gone"
    );
    // The modem is free again: another daemon can take it over at once.
    daemon = Daemon::start(&bus, &port_config(&sim.path(0))).await;
    wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    assert_eq!(sim.status(0).await["echo"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_message_is_sent_after_a_restart() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    sim.ok("sim missing").await;
    let dir = daemon_dir();
    let config = port_config(&sim.path(0));
    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "failed").await;
    let id = send_text(&daemon.conn, &path, PEER, "survives a restart")
        .await
        .unwrap();
    wait_for_property::<u32>(&daemon.conn, &path, MESSAGING, "Pending", |p| *p == 1).await;
    assert!(daemon.stop().await.success());

    sim.ok("sim ready").await;
    let watcher = bus.connect().await;
    let mut states = subscribe(&watcher, MESSAGING, "StateChanged").await;
    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    wait_message_state(&mut states, &id, "sent").await;
    let sent = sim.expect_event("sms-sent").await;
    assert_eq!(sent["text"], "survives a restart");
    assert_eq!(sent["to"], PEER);

    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let listed = list_messages(&daemon.conn, &path).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(field::<String>(&listed[0], "id"), id);
    assert_eq!(field::<String>(&listed[0], "state"), "sent");
    let pending: u32 = property(&daemon.conn, &path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_messages_outlive_a_restart_and_ids_are_not_reused() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let dir = daemon_dir();
    let config = format!(
        "{}[drivers.cellular]\nsignal_interval = 0\n",
        port_config(&sim.path(0))
    );
    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let mut received = subscribe(&daemon.conn, MESSAGING, "Received").await;
    sim.ok(&format!("sms {PEER} kept on disk")).await;
    let (incoming, ..) = next_signal(&mut received, |_: &ReceivedBody| true).await;
    let mut states = subscribe(&daemon.conn, MESSAGING, "StateChanged").await;
    let outgoing = send_text(&daemon.conn, &path, PEER, "also kept")
        .await
        .unwrap();
    wait_message_state(&mut states, &outgoing, "sent").await;
    assert_eq!(sim.expect_event("sms-sent").await["text"], "also kept");
    sim.wait_stored(0, 0).await;
    assert!(daemon.stop().await.success());

    let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let mut listed: Vec<(String, String, String)> = list_messages(&daemon.conn, &path)
        .await
        .iter()
        .map(|m| (field(m, "id"), field(m, "direction"), field(m, "text")))
        .collect();
    listed.sort();
    let mut expected = vec![
        (incoming.clone(), "in".to_owned(), "kept on disk".to_owned()),
        (outgoing.clone(), "out".to_owned(), "also kept".to_owned()),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    let newer = send_text(&daemon.conn, &path, PEER, "after the restart")
        .await
        .unwrap();
    assert!(newer != incoming && newer != outgoing, "id {newer} reused");
    // Nothing that was sent before the restart goes out again: the next message on the
    // network is the new one.
    let sent = sim.expect_event("sms-sent").await;
    assert_eq!(sent["text"], "after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_exits_with_a_named_error_and_leaves_the_first_ones_port_alone() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let mut opens = OpenWatch::new(&[rig.port.as_str()]);
    let dir = daemon_dir();
    let (status, stderr) = run_daemon_to_exit(&rig.bus, dir.path(), &port_config(&rig.port)).await;
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains(BUS_NAME), "{stderr}");
    assert!(stderr.contains("another m2mhald"), "{stderr}");
    assert_eq!(
        opens.opened(),
        Vec::<std::path::PathBuf>::new(),
        "the second daemon opened the port"
    );
    // The first one goes on serving.
    let state: String = property(rig.conn(), &rig.path, DEVICE, "State").await;
    assert_eq!(state, "ready");
    let answer: String = call(rig.conn(), &rig.path, DEVICE, "Command", &("AT", 0u32))
        .await
        .expect("Command on the first daemon's device");
    assert_eq!(answer, "OK");
    rig.sim.status(0).await;
}
