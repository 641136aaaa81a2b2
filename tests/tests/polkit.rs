//! Authorization through polkit (python-dbusmock's polkitd on the private bus): an unprivileged
//! caller gets exactly the actions polkit grants it, and the refusal names the action.

use m2mhal_tests::*;

/// uid of `nobody`.
const NOBODY: u32 = 65534;
const PEER: &str = "+4915112345678";

/// `m2mctl` as `nobody` must fail with NotAuthorized for polkit action `action`, after polkit
/// was asked.
async fn assert_refused(address: &str, args: &[&str], action: &str) {
    let refused = m2mctl_as_user(address, NOBODY, args).await;
    assert_eq!(refused.code, Some(1), "{args:?}: {refused:?}");
    for needle in [
        "NotAuthorized",
        action,
        &format!("polkit denied it to uid {NOBODY}"),
    ] {
        assert!(refused.stderr.contains(needle), "{args:?}: {refused:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polkit_decides_what_an_unprivileged_caller_may_do() {
    if !dbusmock_available() {
        eprintln!("skipping: python3-dbusmock is not installed (scripts/install-deps.sh)");
        return;
    }
    let bus = TestBus::start_with_polkit().await;
    bus.open_to_all_users();
    let polkit = MockPolkit::start(&bus).await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let daemon = Daemon::start(&bus, &port_config(&port)).await;
    wait_for_device(&daemon.conn, &port, "ready").await;
    let name = port.rsplit('/').next().unwrap().to_owned();

    let denied: [(&[&str], &str); 4] = [
        (
            &["send", &port, PEER, "from nobody"],
            "org.m2mhal.Hal1.Messaging",
        ),
        (&["command", &port, "AT+CFUN=0"], "org.m2mhal.Hal1.Command"),
        (&["reset", &port], "org.m2mhal.Hal1.Control"),
        (
            &["report-kernel-event", "remove", &name, "--devnode", &port],
            "org.m2mhal.Hal1.Control",
        ),
    ];
    for (args, action) in denied {
        assert_refused(&bus.address, args, action).await;
    }
    assert_eq!(sim.status(0).await["cfun"], 1, "nothing reached the modem");

    polkit.set_allowed(&["org.m2mhal.Hal1.Messaging"]).await;
    let sent = m2mctl_as_user(&bus.address, NOBODY, &["send", &port, PEER, "from nobody"]).await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    let sms = sim.expect_event("sms-sent").await;
    assert_eq!(sms["text"], "from nobody", "{sms}");
    assert_refused(
        &bus.address,
        &["command", &port, "AT+CFUN=0"],
        "org.m2mhal.Hal1.Command",
    )
    .await;
    assert_eq!(sim.status(0).await["cfun"], 1);
}
