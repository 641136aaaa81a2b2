//! `m2mhal-mqtt` loses nothing: messages that arrive while the broker is away wait in the
//! bridge's queue and go out in order when it returns; messages that arrive while the bridge
//! itself is dead (killed -9) are caught up from `Messaging.List` when it starts again; the
//! broker announces a killed bridge with its Last Will; a full queue drops its oldest and says so.

use m2mhal_tests::mosquitto::{Bridge, Broker, Probe, bridge_config, mosquitto_available};
use m2mhal_tests::*;

const PREFIX: &str = "m2mhal/gw-durable";
const PEER: &str = "+4915112345678";

/// `<p>/devices/<node>/messages/in` of the modem of `rig`.
async fn inbox_topic(rig: &ModemRig) -> String {
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;
    let node: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{PREFIX}/devices/{node}/messages/in")
}

/// Has the simulated network deliver `text`, and waits until the daemon stored it.
async fn deliver(rig: &mut ModemRig, received: &mut zbus::MessageStream, text: &str) {
    rig.sim.ok(&format!("sms {PEER} {text}")).await;
    next_signal(received, |(_, _, payload, _): &ReceivedBody| {
        payload == text.as_bytes()
    })
    .await;
}

/// The texts of the next `count` messages on `topic` that are not `skip` (a message forwarded
/// before may come again: delivery is at least once).
async fn next_texts(probe: &mut Probe, topic: &str, skip: &str, count: usize) -> Vec<String> {
    let mut texts = Vec::new();
    for _ in 0..count {
        let message = probe
            .expect(topic, |d| d.topic == topic && d.json()["text"] != skip)
            .await;
        texts.push(
            message.json()["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_wait_for_a_broker_that_went_away_and_go_out_in_order() {
    if !mosquitto_available() {
        return;
    }
    let mut rig = ModemRig::start(&["modem"], "").await;
    let inbox = inbox_topic(&rig).await;
    let mut broker = Broker::plain().await;
    let status = format!("{PREFIX}/status");
    // A session the broker keeps across its restart: what the bridge publishes waits there.
    let mut probe = Probe::persistent(broker.port(0), "outage-probe", &[&inbox, &status]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), "");
    let mut bridge = Bridge::start(&rig.bus, dir.path(), &config);
    assert_eq!(probe.expect_on(&status).await.text(), "online");

    broker.stop().await;
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    let texts = ["outage 1", "outage 2", "outage 3"];
    for text in texts {
        deliver(&mut rig, &mut received, text).await;
    }
    bridge
        .expect_logs("forwarding a message", texts.len())
        .await;

    broker.start().await;
    assert_eq!(next_texts(&mut probe, &inbox, "", texts.len()).await, texts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_bridge_is_announced_and_catches_up_when_it_starts_again() {
    if !mosquitto_available() {
        return;
    }
    let mut rig = ModemRig::start(&["modem"], "").await;
    let inbox = inbox_topic(&rig).await;
    let broker = Broker::plain().await;
    let status = format!("{PREFIX}/status");
    let mut probe = Probe::connect(broker.port(0), "kill-probe", &[&inbox, &status]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), "");
    let bridge = Bridge::start(&rig.bus, dir.path(), &config);
    assert_eq!(probe.expect_on(&status).await.text(), "online");
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    deliver(&mut rig, &mut received, "before").await;
    assert_eq!(next_texts(&mut probe, &inbox, "", 1).await, ["before"]);

    bridge.kill().await;
    assert_eq!(
        probe.expect_on(&status).await.text(),
        "offline",
        "the Last Will"
    );
    let texts = ["while dead 1", "while dead 2"];
    for text in texts {
        deliver(&mut rig, &mut received, text).await;
    }

    let _bridge = Bridge::start(&rig.bus, dir.path(), &config);
    assert_eq!(probe.expect_on(&status).await.text(), "online");
    assert_eq!(
        next_texts(&mut probe, &inbox, "before", texts.len()).await,
        texts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_the_oldest_and_counts_them() {
    if !mosquitto_available() {
        return;
    }
    // No signal refreshes: the only publishes queued during the outage are the messages.
    let mut rig = ModemRig::start(&["modem"], "[drivers.cellular]\nsignal_interval = 0\n").await;
    let inbox = inbox_topic(&rig).await;
    let mut broker = Broker::plain().await;
    let stats = format!("{PREFIX}/stats");
    let mut probe = Probe::persistent(broker.port(0), "full-probe", &[&inbox, &stats]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = bridge_config(
        &broker.url(0),
        PREFIX,
        &dir.path().join("state"),
        "queue_limit = 2\nha_discovery = false",
    );
    let mut bridge = Bridge::start(&rig.bus, dir.path(), &config);
    let connected = probe.expect_on(&stats).await.json();
    assert_eq!(connected["dropped"], 0, "{connected}");

    broker.stop().await;
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    for text in ["full 1", "full 2", "full 3"] {
        deliver(&mut rig, &mut received, text).await;
    }
    bridge.expect_logs("forwarding a message", 3).await;
    broker.start().await;
    // At least "full 1" was dropped (and the modem's state, if its PUBACK had not come back
    // before the broker went).
    let after = probe.expect_json(&stats, |s| s["dropped"] != 0).await;
    assert!(after["dropped"].as_u64() >= Some(1), "{after}");
    assert_eq!(
        next_texts(&mut probe, &inbox, "", 2).await,
        ["full 2", "full 3"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_follows_m2mhald_across_its_restart() {
    if !mosquitto_available() {
        return;
    }
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    let daemon_state = daemon_dir();
    let daemon = Daemon::start_in(&bus, daemon_state.path(), &port_config(&port)).await;
    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    let id: String = property(&daemon.conn, &path, DEVICE, "Id").await;
    let node: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let inbox = format!("{PREFIX}/devices/{node}/messages/in");
    let broker = Broker::plain().await;
    let status = format!("{PREFIX}/status");
    let mut probe = Probe::connect(broker.port(0), "restart-probe", &[&inbox, &status]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), "");
    let _bridge = Bridge::start(&bus, dir.path(), &config);
    assert_eq!(probe.expect_on(&status).await.text(), "online");

    // The daemon goes; a message waits on the SIM; the daemon comes back (a new unique name on
    // the bus), reads it and signals it: the bridge forwards it.
    assert!(daemon.stop().await.success());
    sim.ok(&format!("sms {PEER} while m2mhald restarted")).await;
    let daemon = Daemon::start_in(&bus, daemon_state.path(), &port_config(&port)).await;
    wait_for_device(&daemon.conn, &port, "ready").await;
    assert_eq!(
        next_texts(&mut probe, &inbox, "", 1).await,
        ["while m2mhald restarted"]
    );
}
