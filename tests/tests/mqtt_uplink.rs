//! `m2mhal-mqtt` as a Router uplink (`[[route.uplink]] mqtt = "fleet"`) against a real Mosquitto:
//! - a routed message goes out on `<p>/routes/<route>/out` and is `sent` via `mqtt:fleet` only
//!   after the broker's PUBACK; with the broker away the next message fails over to the modem,
//!   and with the broker back it takes MQTT again; the bridge's budget counts what it carried;
//! - a bridge killed -9 holding an unacknowledged routed message publishes it after its restart,
//!   and the daemon reports it sent once, through MQTT only; so does a daemon killed -9 while the
//!   bridge held one (the bridge registers again and is offered it again);
//! - failover_after while the broker hangs: what the bridge handed waits for the broker and goes
//!   out via MQTT once, what it stored but never handed goes via the modem once;
//! - a publish the broker refuses under MQTT 5 (ACL, PUBACK 0x87) fails over to the modem; under
//!   MQTT 3.1.1 the broker acknowledges a denied publish and it counts as sent;
//! - a command on `<p>/routes/<route>/send` goes through `Router.Send`, results beside it;
//! - a device command the broker delivers again after a bridge kill (it is acknowledged only once
//!   m2mhald answered it) and the same command published twice are sent once; a result that came
//!   while the bridge was away is published after its restart;
//! - registering an uplink takes polkit's `org.m2mhal.Hal1.MessagingRead`.

use m2mhal_mqtt::flight::WINDOW;
use m2mhal_tests::mosquitto::{Bridge, Broker, Probe, bridge_config, mosquitto_available};
use m2mhal_tests::power_cut::kill_hard;
use m2mhal_tests::router::{
    LTE, PHONE, RouteOptions, RoutedState, route_send, routed_list, routed_states, wait_routed,
    wait_uplink,
};
use m2mhal_tests::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

const PREFIX: &str = "m2mhal/gw-uplink";
const FLEET: &str = "mqtt:fleet";
/// The bridge's config: the uplink name, no Home Assistant.
const UPLINK: &str = "uplink = \"fleet\"\nha_discovery = false";

/// Route "home": the bridge first, then the modem by SMS.
fn route() -> String {
    route_with(120, "")
}

/// Route "home" failing over after `failover_after` seconds, with `fleet_extra` keys on the
/// bridge's uplink (a budget).
fn route_with(failover_after: u64, fleet_extra: &str) -> String {
    format!(
        "[[route]]\nname = \"home\"\nfailover_after = {failover_after}\n\
         [[route.uplink]]\nmqtt = \"fleet\"\n{fleet_extra}\
         [[route.uplink]]\ndevice = \"{LTE}\"\ndestination = \"{PHONE}\"\n"
    )
}

fn out_topic() -> String {
    format!("{PREFIX}/routes/home/out")
}

/// A daemon with a ready modem and route "home", a broker, a probe on `<p>/routes/#`
/// (a session the broker keeps across its restarts) and the bridge, registered and connected.
async fn fleet(dir: &std::path::Path) -> (ModemRig, Broker, Probe, Bridge) {
    fleet_on(dir, &route()).await
}

/// Like [`fleet`], with the daemon's `routes` config.
async fn fleet_on(dir: &std::path::Path, routes: &str) -> (ModemRig, Broker, Probe, Bridge) {
    fleet_with(dir, routes, Broker::plain().await, UPLINK).await
}

/// Like [`fleet_on`], on `broker`, with the bridge's `[mqtt]` keys `bridge_keys`.
async fn fleet_with(
    dir: &std::path::Path,
    routes: &str,
    broker: Broker,
    bridge_keys: &str,
) -> (ModemRig, Broker, Probe, Bridge) {
    let rig = ModemRig::start(&["modem"], routes).await;
    let filter = format!("{PREFIX}/routes/#");
    let probe = Probe::persistent(broker.port(0), "fleet-probe", &[&filter]).await;
    let config = bridge_config(&broker.url(0), PREFIX, &dir.join("state"), bridge_keys);
    let bridge = Bridge::start(&rig.bus, dir, &config);
    wait_uplink(rig.conn(), "home", FLEET, |available, _| available).await;
    (rig, broker, probe, bridge)
}

/// Waits for the routed message `id` on `<p>/routes/home/out`.
async fn published(probe: &mut Probe, id: &str) -> Value {
    probe
        .expect_json(&out_topic(), |body| body["id"] == id)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_messages_go_through_the_broker_and_fail_over_to_the_modem_while_it_is_away() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut rig, mut broker, mut probe, _bridge) = fleet(dir.path()).await;
    let mut states = routed_states(rig.conn()).await;
    let options = RouteOptions::new();

    let first = route_send(rig.conn(), "home", "over mqtt", &options)
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &first, "sent").await;
    assert_eq!(uplink, FLEET);
    let body = published(&mut probe, &first).await;
    assert_eq!(body["route"], "home");
    assert_eq!(body["text"], "over mqtt");
    assert!(body["timestamp"].as_u64() > Some(0), "{body}");

    broker.stop().await;
    wait_uplink(rig.conn(), "home", FLEET, |available, _| !available).await;
    let second = route_send(rig.conn(), "home", "over sms", &options)
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &second, "sent").await;
    assert_eq!(uplink, LTE);
    let sms = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sms["text"], "over sms", "{sms}");

    broker.start().await;
    wait_uplink(rig.conn(), "home", FLEET, |available, _| available).await;
    let third = route_send(rig.conn(), "home", "mqtt again", &options)
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &third, "sent").await;
    assert_eq!(uplink, FLEET);
    assert_eq!(published(&mut probe, &third).await["text"], "mqtt again");
    assert!(
        probe
            .take_kept(&out_topic())
            .iter()
            .all(|d| d.json()["id"] != second),
        "the message the modem carried never went to the broker"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_message_the_killed_bridge_held_unacknowledged_goes_out_after_its_restart() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut rig, broker, mut probe, mut bridge) = fleet(dir.path()).await;
    let mut states = routed_states(rig.conn()).await;

    // The broker hangs: the bridge takes the message and writes it, no PUBACK comes.
    broker.pause();
    bridge.forget_logs();
    let id = route_send(rig.conn(), "home", "held", &RouteOptions::new())
        .await
        .unwrap();
    wait_routed(&mut states, &id, "sending").await;
    bridge
        .expect_logs("routed message(s) handed to the broker", 1)
        .await;
    bridge.kill().await;
    wait_uplink(rig.conn(), "home", FLEET, |available, _| !available).await;
    broker.resume();

    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), UPLINK);
    let _bridge = Bridge::start(&rig.bus, dir.path(), &config);
    let (_, _, uplink, _) = wait_routed(&mut states, &id, "sent").await;
    assert_eq!(uplink, FLEET);
    assert_eq!(published(&mut probe, &id).await["text"], "held");

    let listed = routed_list(rig.conn()).await;
    let message = listed
        .iter()
        .find(|m| field::<String>(m, "id") == id)
        .expect("listed");
    assert_eq!(field::<String>(message, "state"), "sent");
    assert_eq!(field::<String>(message, "uplink"), FLEET);
    assert_eq!(
        field::<u32>(message, "attempts"),
        1,
        "one attempt, never the modem"
    );
    assert!(
        rig.sim.events_so_far("sms-sent").await.is_empty(),
        "nothing through the modem"
    );
    // At least once on the broker, and only this message's id (a copy the killed bridge had
    // written may come before the one re-published).
    for copy in probe.take_kept(&out_topic()) {
        assert_eq!(copy.json()["id"], id.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_command_goes_through_router_send_with_its_results_beside_it() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_rig, _broker, mut probe, _bridge) = fleet(dir.path()).await;
    let results = format!("{PREFIX}/routes/home/send/result");
    let command = r#"{"request_id": "r1", "text": "pump 3 on"}"#;
    probe
        .publish(&format!("{PREFIX}/routes/home/send"), command, false)
        .await;
    let accepted = probe
        .expect_json(&results, |r| r["state"] == "accepted")
        .await;
    assert_eq!(accepted["request_id"], "r1");
    let id = accepted["id"].as_str().expect("a routed id").to_owned();
    let sent = probe.expect_json(&results, |r| r["state"] == "sent").await;
    assert_eq!(sent["id"], id.as_str());
    assert_eq!(sent["request_id"], "r1");
    assert_eq!(sent["uplink"], FLEET);
    assert_eq!(published(&mut probe, &id).await["text"], "pump 3 on");

    probe
        .publish(&format!("{PREFIX}/routes/nowhere/send"), command, false)
        .await;
    let refused = probe
        .expect_json(&format!("{PREFIX}/routes/nowhere/send/result"), |_| true)
        .await;
    assert_eq!(refused["state"], "failed");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("InvalidArgument"),
        "{refused}"
    );
}

/// The modem's command topic, its result topic, and a client on the results.
async fn commander(rig: &ModemRig, broker: &Broker) -> (String, String, Probe) {
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;
    let node: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let send = format!("{PREFIX}/devices/{node}/send");
    let results = format!("{send}/result");
    let probe = Probe::connect(broker.port(0), "commander", &[&results]).await;
    (send, results, probe)
}

/// Freezes (SIGSTOP) or thaws (SIGCONT) the daemon.
fn signal_daemon(rig: &ModemRig, signal: Signal) {
    let pid = rig.daemon.pid().expect("the daemon runs");
    kill(Pid::from_raw(i32::try_from(pid).expect("pid")), signal).expect("signal m2mhald");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_delivered_again_after_a_bridge_kill_is_sent_once() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut rig, broker, _probe, mut bridge) = fleet(dir.path()).await;
    let (send, results, mut commander) = commander(&rig, &broker).await;
    let command = format!(r#"{{"request_id": "c1", "destination": "{PHONE}", "text": "once"}}"#);

    // The bridge hands the command to a frozen daemon and is killed before any answer: the
    // command's publish is not acknowledged, so the broker delivers it again to the next bridge.
    signal_daemon(&rig, Signal::SIGSTOP);
    bridge.forget_logs();
    commander.publish(&send, command.as_str(), false).await;
    bridge.expect_logs("carrying out a command", 1).await;
    bridge.kill().await;
    signal_daemon(&rig, Signal::SIGCONT);
    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), UPLINK);
    let _bridge = Bridge::start(&rig.bus, dir.path(), &config);

    let sent = commander
        .expect_json(&results, |r| {
            r["request_id"] == "c1" && r["state"] == "sent"
        })
        .await;
    let message = sent["id"].as_str().expect("a message id").to_owned();
    assert_eq!(rig.sim.expect_event("sms-sent").await["text"], "once");
    commander.take_kept(&results);

    // Published again by its sender: the first result and the latest again, nothing sent.
    commander.publish(&send, command.as_str(), false).await;
    let first = commander.expect_on(&results).await.json();
    assert_eq!(first["state"], "accepted");
    assert_eq!(first["id"], message.as_str());
    let last = commander.expect_on(&results).await.json();
    assert_eq!(last["state"], "sent");
    assert_eq!(last["id"], message.as_str());
    assert!(
        rig.sim.events_so_far("sms-sent").await.is_empty(),
        "the command went out once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_that_came_while_the_bridge_was_away_is_published_after_its_restart() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut rig, broker, _probe, bridge) = fleet(dir.path()).await;
    let (send, results, mut commander) = commander(&rig, &broker).await;
    let mut states = subscribe(rig.conn(), MESSAGING, "StateChanged").await;

    // The SMS goes out but the modem's answer waits: the message stays `sending`.
    rig.sim.ok("sms-ack hold").await;
    let command = format!(r#"{{"request_id": "c2", "destination": "{PHONE}", "text": "late"}}"#);
    commander.publish(&send, command.as_str(), false).await;
    let sending = commander
        .expect_json(&results, |r| {
            r["request_id"] == "c2" && r["state"] == "sending"
        })
        .await;
    let message = sending["id"].as_str().expect("a message id").to_owned();
    bridge.kill().await;

    rig.sim.ok("sms-ack release").await;
    let (_, state, _): (String, String, String) =
        next_signal(&mut states, |(id, state, _): &(String, String, String)| {
            *id == message && state == "sent"
        })
        .await;
    assert_eq!(state, "sent");
    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), UPLINK);
    let _bridge = Bridge::start(&rig.bus, dir.path(), &config);
    let sent = commander
        .expect_json(&results, |r| {
            r["request_id"] == "c2" && r["state"] == "sent"
        })
        .await;
    assert_eq!(sent["id"], message.as_str());
    assert_eq!(rig.sim.expect_event("sms-sent").await["text"], "late");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_message_the_bridge_held_while_the_daemon_was_killed_is_sent_once() {
    if !mosquitto_available() {
        return;
    }
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    let daemon_dir = daemon_dir();
    let config = format!("{}\n{}", port_config(&sim.path(0)), route());
    let daemon = Daemon::start_in(&bus, daemon_dir.path(), &config).await;
    wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let broker = Broker::plain().await;
    let mut probe = Probe::persistent(broker.port(0), "fleet-probe", &[&out_topic()]).await;
    let dir = tempfile::tempdir().unwrap();
    let bridge_toml = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), UPLINK);
    let mut bridge = Bridge::start(&bus, dir.path(), &bridge_toml);
    wait_uplink(&daemon.conn, "home", FLEET, |available, _| available).await;
    let mut states = routed_states(&daemon.conn).await;

    // Handed to the bridge, not acknowledged by the hanging broker, when m2mhald dies.
    broker.pause();
    let id = route_send(&daemon.conn, "home", "kept", &RouteOptions::new())
        .await
        .unwrap();
    wait_routed(&mut states, &id, "sending").await;
    bridge
        .expect_logs("routed message(s) handed to the broker", 1)
        .await;
    kill_hard(daemon).await;
    // The broker acknowledges it while no daemon listens.
    broker.resume();
    assert_eq!(published(&mut probe, &id).await["text"], "kept");

    let daemon = Daemon::start_in(&bus, daemon_dir.path(), &config).await;
    let conn = daemon.conn.clone();
    wait_until("the routed message to be sent via mqtt:fleet", || async {
        routed_list(&conn).await.iter().any(|m| {
            field::<String>(m, "id") == id
                && field::<String>(m, "state") == "sent"
                && field::<String>(m, "uplink") == FLEET
                && field::<u32>(m, "attempts") == 1
        })
    })
    .await;
    assert!(
        sim.events_so_far("sms-sent").await.is_empty(),
        "nothing through the modem"
    );
}

/// `Manager.RegisterUplink("fleet", <the bridge's path>)` by `busctl` as `nobody`: its stderr.
async fn register_as_nobody(bus: &TestBus) -> String {
    let output = tokio::process::Command::new("busctl")
        .arg(format!("--address={}", bus.address))
        .args([
            "call",
            BUS_NAME,
            MANAGER_PATH,
            MANAGER,
            "RegisterUplink",
            "so",
        ])
        .args(["fleet", "/org/m2mhal/Mqtt1/Uplink"])
        .uid(65534)
        .gid(65534)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(WAIT, output)
        .await
        .expect("busctl finishes")
        .expect("run busctl");
    assert!(!output.status.success(), "nobody serves no uplink object");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_an_uplink_takes_the_messaging_read_action() {
    let Some((bus, polkit)) = bus_with_mock_polkit().await else {
        return;
    };
    let daemon = Daemon::start(&bus, &route()).await;
    let refused = register_as_nobody(&bus).await;
    assert!(
        refused.contains("org.m2mhal.Hal1.MessagingRead requires authorization"),
        "{refused}"
    );
    polkit
        .set_allowed(&[m2mhal_contract::action::MESSAGING_READ])
        .await;
    // Authorized now; the caller serves no uplink object, so it is not registered.
    let failed = register_as_nobody(&bus).await;
    assert!(failed.contains("cannot follow the uplink"), "{failed}");
    wait_uplink(&daemon.conn, "home", FLEET, |available, _| !available).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brokers_budget_counts_what_it_acknowledged() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let budget = "budget_bytes = 12\nbudget_period = 86400\n";
    let (mut rig, _broker, mut probe, _bridge) =
        fleet_on(dir.path(), &route_with(120, budget)).await;
    let mut states = routed_states(rig.conn()).await;
    let options = RouteOptions::new();

    let first = route_send(rig.conn(), "home", "ten bytes!", &options)
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &first, "sent").await;
    assert_eq!(uplink, FLEET);
    published(&mut probe, &first).await;
    wait_uplink(rig.conn(), "home", FLEET, |_, left| left == 2).await;

    let second = route_send(rig.conn(), "home", "over budget", &options)
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &second, "sent").await;
    assert_eq!(uplink, LTE);
    assert_eq!(
        rig.sim.expect_event("sms-sent").await["text"],
        "over budget"
    );
}

/// Routed message `id` as `Router.List` shows it when final: its state, uplink and attempts.
async fn listed_final(conn: &zbus::Connection, id: &str) -> Option<(String, String, u32)> {
    routed_list(conn)
        .await
        .iter()
        .find(|m| field::<String>(m, "id") == id)
        .map(|m| {
            (
                field::<String>(m, "state"),
                field::<String>(m, "uplink"),
                field::<u32>(m, "attempts"),
            )
        })
        .filter(|(state, _, _)| state == "sent" || state == "failed")
}

/// Waits until routed message `id` is final; its state, uplink and attempts.
async fn wait_final(conn: &zbus::Connection, id: &str) -> (String, String, u32) {
    wait_until(&format!("routed message {id} to be final"), || async {
        listed_final(conn, id).await.is_some()
    })
    .await;
    listed_final(conn, id).await.expect("final stays final")
}

/// failover_after on the bridge while its broker hangs: a publish the bridge handed may be out,
/// so that message waits for the broker and goes out through MQTT once; a message the bridge took
/// durably but never handed (its window of unacknowledged publishes was full) is given back and
/// the modem carries it once. Nothing goes through both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_hanging_broker_may_have_waits_for_it_and_one_never_handed_fails_over() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut rig, broker, mut probe, mut bridge) = fleet_on(dir.path(), &route_with(2, "")).await;
    let options = RouteOptions::new();

    // The broker hangs: the bridge hands it publishes up to its window, none is acknowledged;
    // the last message finds the window full and stays in the bridge's store.
    broker.pause();
    bridge.forget_logs();
    let mut ids = Vec::new();
    for n in 0..=WINDOW {
        let id = route_send(rig.conn(), "home", &format!("m{n}"), &options)
            .await
            .unwrap();
        ids.push(id);
    }
    // failover_after passes: the bridge says what it handed may be out ...
    bridge.expect_logs("withdrawn=false", 1).await;
    // ... and gives back what it never handed: the modem carries it, the broker still hangs.
    let last = ids.last().expect("sent").clone();
    let (state, uplink, attempts) = wait_final(rig.conn(), &last).await;
    assert_eq!(
        (state.as_str(), uplink.as_str(), attempts),
        ("sent", LTE, 2)
    );

    broker.resume();
    let mut by_modem = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let (state, uplink, attempts) = wait_final(rig.conn(), id).await;
        assert_eq!(state, "sent", "{id}");
        if uplink == FLEET {
            assert_eq!(attempts, 1, "{id}: never tried elsewhere");
            assert_eq!(published(&mut probe, id).await["text"], format!("m{n}"));
        } else {
            assert_eq!(uplink, LTE, "{id}");
            by_modem.push(format!("m{n}"));
        }
    }
    assert!(
        !by_modem.contains(&"m0".to_owned()),
        "the first, handed at once, waited for the broker: {by_modem:?}"
    );
    let mut texts = Vec::new();
    for _ in &by_modem {
        let sms = rig.sim.expect_event("sms-sent").await;
        texts.push(sms["text"].as_str().unwrap_or_default().to_owned());
    }
    texts.sort();
    by_modem.sort();
    assert_eq!(texts, by_modem, "each one the modem carried, once");
    assert!(rig.sim.events_so_far("sms-sent").await.is_empty());
    for copy in probe.take_kept(&out_topic()) {
        let text = copy.json()["text"].as_str().unwrap_or_default().to_owned();
        assert!(!by_modem.contains(&text), "{text} went through both");
    }
}

/// Mosquitto's ACL: no access to the routed messages' topic, every other topic.
fn acl_denying_routed_messages() -> String {
    format!("topic deny {PREFIX}/routes/+/out\ntopic readwrite #\n")
}

/// Under MQTT 5 Mosquitto answers a publish its ACL denies with PUBACK reason 0x87 (not
/// authorized): the bridge signals `Failed`, the Router fails over to the modem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_the_broker_refuses_under_mqtt_5_fails_over_to_the_modem() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::plain_with_acl(&acl_denying_routed_messages()).await;
    let keys = format!("{UPLINK}\nprotocol = \"5\"");
    let (mut rig, _broker, _probe, _bridge) = fleet_with(dir.path(), &route(), broker, &keys).await;
    let mut states = routed_states(rig.conn()).await;

    let id = route_send(rig.conn(), "home", "refused", &RouteOptions::new())
        .await
        .unwrap();
    let (_, _, _, error) = next_signal(&mut states, |(i, s, _, e): &RoutedState| {
        *i == id && s == "queued" && !e.is_empty()
    })
    .await;
    assert!(error.starts_with(FLEET), "{error}");
    assert!(error.contains("NotAuthorized"), "{error}");
    let (_, _, uplink, _) = wait_routed(&mut states, &id, "sent").await;
    assert_eq!(uplink, LTE);
    assert_eq!(rig.sim.expect_event("sms-sent").await["text"], "refused");
    let (_, _, attempts) = wait_final(rig.conn(), &id).await;
    assert_eq!(attempts, 2);
}

/// Under MQTT 3.1.1 Mosquitto acknowledges a publish its ACL denies like any other (the protocol
/// has no way to say no): the bridge cannot know, and the message counts as sent through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_the_broker_drops_under_mqtt_3_1_1_counts_as_sent() {
    if !mosquitto_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::plain_with_acl(&acl_denying_routed_messages()).await;
    let (mut rig, _broker, _probe, _bridge) =
        fleet_with(dir.path(), &route(), broker, UPLINK).await;
    let mut states = routed_states(rig.conn()).await;

    let id = route_send(rig.conn(), "home", "dropped", &RouteOptions::new())
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &id, "sent").await;
    assert_eq!(uplink, FLEET);
    assert!(rig.sim.events_so_far("sms-sent").await.is_empty());
}
