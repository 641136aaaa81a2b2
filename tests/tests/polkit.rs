//! Authorization through polkit (python-dbusmock's polkitd on the private bus): an unprivileged
//! caller gets exactly the actions polkit grants it, and the refusal names the action.

use std::collections::HashMap;

use m2mhal_contract::action;
use m2mhal_tests::*;
use zbus::OwnedVariant;

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
    let Some((bus, polkit)) = bus_with_mock_polkit().await else {
        return;
    };
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let daemon = Daemon::start(&bus, &port_config(&port)).await;
    wait_for_device(&daemon.conn, &port, "ready").await;
    let name = port.rsplit('/').next().unwrap().to_owned();

    let denied: [(&[&str], &str); 4] = [
        (&["send", &port, PEER, "from nobody"], action::MESSAGING),
        (&["command", &port, "AT+CFUN=0"], action::COMMAND),
        (&["reset", &port], action::CONTROL),
        (
            &["report-kernel-event", "remove", &name, "--devnode", &port],
            action::CONTROL,
        ),
    ];
    for (args, action) in denied {
        assert_refused(&bus.address, args, action).await;
    }
    assert_eq!(sim.status(0).await["cfun"], 1, "nothing reached the modem");

    polkit.set_allowed(&[action::MESSAGING]).await;
    let sent = m2mctl_as_user(&bus.address, NOBODY, &["send", &port, PEER, "from nobody"]).await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    let sms = sim.expect_event("sms-sent").await;
    assert_eq!(sms["text"], "from nobody", "{sms}");
    assert_refused(
        &bus.address,
        &["command", &port, "AT+CFUN=0"],
        action::COMMAND,
    )
    .await;
    assert_eq!(sim.status(0).await["cfun"], 1);
}

/// The `state-changed` event of message `id` reaching `state`.
fn is_state(event: &serde_json::Value, id: &str, state: &str) -> bool {
    event["event"] == "state-changed" && event["id"] == id && event["state"] == state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_private_to_root_and_authorized_readers() {
    let Some((bus, polkit)) = bus_with_mock_polkit().await else {
        return;
    };
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let daemon = Daemon::start(&bus, &port_config(&port)).await;
    let device = wait_for_device(&daemon.conn, &port, "ready").await;
    let mut received_by_root = subscribe(&daemon.conn, MESSAGING, "Received").await;
    let mut nobody = other_user::UserMonitor::start(&bus.address, NOBODY);

    // StateChanged reaches the unprivileged user: send until its monitor has subscribed.
    let mut subscribed = false;
    for _ in 0..40 {
        let id = send_text(&daemon.conn, &device, PEER, "ping")
            .await
            .unwrap();
        let wait = std::time::Duration::from_millis(500);
        if nobody
            .next_within(wait, |e| is_state(e, &id, "queued"))
            .await
            .is_some()
        {
            subscribed = true;
            break;
        }
    }
    assert!(
        subscribed,
        "the unprivileged monitor never saw StateChanged"
    );

    // An SMS comes in: root gets Received; nobody does not, but still sees StateChanged and
    // Pending of a message sent after it (the bus keeps one sender's signals in order).
    sim.ok(&format!("sms {PEER} the door code is 4711")).await;
    let (id, peer, payload, _info): (String, String, Vec<u8>, HashMap<String, OwnedVariant>) =
        next_signal(&mut received_by_root, |_: &(_, _, _, _)| true).await;
    assert_eq!(peer, PEER);
    assert_eq!(payload, b"the door code is 4711");
    let after = send_text(&daemon.conn, &device, PEER, "after")
        .await
        .unwrap();
    nobody
        .expect("the later message sent", |e| is_state(e, &after, "sent"))
        .await;
    assert!(
        !nobody.seen.iter().any(|e| e["event"] == "received"),
        "Received reached nobody: {:?}",
        nobody.seen
    );
    assert!(
        nobody
            .seen
            .iter()
            .any(|e| e["event"] == "properties-changed" && e["changed"].get("Pending").is_some()),
        "Pending changes are open: {:?}",
        nobody.seen
    );

    // List needs MessagingRead: refused, then granted by polkit.
    assert_refused(&bus.address, &["messages", &port], action::MESSAGING_READ).await;
    polkit.set_allowed(&[action::MESSAGING_READ]).await;
    let listed = m2mctl_as_user(&bus.address, NOBODY, &["--json", "messages", &port]).await;
    assert_eq!(listed.code, Some(0), "{listed:?}");
    assert!(listed.stdout.contains(&id), "{listed:?}");
    assert!(
        listed.stdout.contains("the door code is 4711"),
        "{listed:?}"
    );
}
