//! `m2mhal-mqtt` against a real Mosquitto: the daemon's devices, readings and incoming messages
//! mirrored to the broker, Home Assistant discovery (and again on Home Assistant's birth), device
//! removal, and send commands with their results (also for commands that cannot be carried out).

use m2mhal_tests::mosquitto::{Bridge, Broker, Probe, bridge_config, mosquitto_available};
use m2mhal_tests::*;
use serde_json::{Value, json};

const PREFIX: &str = "m2mhal/gw-test";
const PEER: &str = "+4915112345678";
/// Config line of the tests that do not look at Home Assistant discovery.
const NO_HA: &str = "ha_discovery = false";

/// `<node>` of a device Id in topics.
fn node(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn topic(id: &str, leaf: &str) -> String {
    format!("{PREFIX}/devices/{}/{leaf}", node(id))
}

/// A broker, a probe subscribed to everything, and a bridge on the rig's bus with `extra`
/// config, online.
async fn bridge_on(bus: &TestBus, dir: &std::path::Path, extra: &str) -> (Broker, Probe, Bridge) {
    let broker = Broker::plain().await;
    let mut probe = Probe::connect(broker.port(0), "probe", &["#"]).await;
    let config = bridge_config(&broker.url(0), PREFIX, &dir.join("state"), extra);
    let bridge = Bridge::start(bus, dir, &config);
    let status = probe.expect_on(&format!("{PREFIX}/status")).await;
    assert_eq!(status.text(), "online");
    (broker, probe, bridge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_and_its_incoming_messages_are_mirrored() {
    if !mosquitto_available() {
        return;
    }
    let mut rig = ModemRig::start(&["modem"], "").await;
    let dir = tempfile::tempdir().unwrap();
    let (broker, mut probe, _bridge) = bridge_on(&rig.bus, dir.path(), NO_HA).await;
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;

    let state = probe
        .expect_json(&topic(&id, "state"), |state| {
            state["Device"]["State"] == "ready"
        })
        .await;
    assert_eq!(state["Device"]["Id"], id.as_str());
    assert_eq!(state["Device"]["Kind"], "cellular-modem");
    assert!(state["Signal"]["Quality"].is_u64(), "{state}");
    assert!(
        state["Messaging"]["MaxPayload"].as_u64() > Some(0),
        "{state}"
    );

    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    rig.sim.ok(&format!("sms {PEER} Tank 2 level 81%")).await;
    let (message_id, _, _, info): ReceivedBody =
        next_signal(&mut received, |_: &ReceivedBody| true).await;
    let message = probe.expect_on(&topic(&id, "messages/in")).await;
    assert!(!message.retain);
    let body = message.json();
    assert_eq!(body["id"], message_id.as_str());
    assert_eq!(body["peer"], PEER);
    assert_eq!(body["text"], "Tank 2 level 81%");
    assert_eq!(body["timestamp"], field::<u64>(&info, "timestamp"));
    assert_eq!(body["info"]["text"], "Tank 2 level 81%");
    assert!(body.get("payload_b64").is_none(), "{body}");

    // State is retained: a client that comes later gets it at once.
    let mut late = Probe::connect(broker.port(0), "late", &[&topic(&id, "state")]).await;
    let retained = late.expect_on(&topic(&id, "state")).await;
    assert!(retained.retain);
    assert_eq!(retained.json()["Device"]["Id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ble_sensor_is_discovered_rediscovered_on_birth_and_removed() {
    if !mosquitto_available() {
        return;
    }
    const SENSOR: &str = "A4:C1:38:00:00:07";
    let config = format!("{}\n[drivers.ble]\nabsent_after = 2\n", ble_config(""));
    let mut rig = BleRig::start(&[&format!("add-bthome {SENSOR} Garden")], &config).await;
    let id = format!("ble:{SENSOR}");
    let path = wait_for_device_id(rig.conn(), &id, "ready").await;
    let dir = tempfile::tempdir().unwrap();
    let (_broker, mut probe, _bridge) = bridge_on(&rig.bus, dir.path(), "").await;

    let readings = probe
        .expect_json(&topic(&id, "readings"), |readings| {
            readings["temperature"].is_f64()
        })
        .await;
    assert!(readings["UpdatedAt"].as_u64() > Some(0), "{readings}");
    let config_topic = format!("homeassistant/sensor/{}/temperature/config", node(&id));
    let discovery = probe.expect_on(&config_topic).await.json();
    assert_eq!(discovery["unique_id"], format!("{}_temperature", node(&id)));
    assert_eq!(discovery["device"]["identifiers"], json!([id]));
    assert_eq!(discovery["state_topic"], topic(&id, "readings"));
    assert_eq!(discovery["unit_of_measurement"], "°C");
    assert_eq!(discovery["availability_topic"], format!("{PREFIX}/status"));
    let quality_topic = format!("homeassistant/sensor/{}/signal_quality/config", node(&id));
    let quality = probe.expect_on(&quality_topic).await.json();
    assert_eq!(quality["value_template"], "{{ value_json.Signal.Quality }}");

    // Home Assistant restarted: it says so, and gets every config again.
    probe.take_kept(&config_topic);
    probe.publish("homeassistant/status", "online", false).await;
    let again = probe.expect_on(&config_topic).await;
    assert_eq!(again.json(), discovery);

    // Gone for good: announced, and its retained topics emptied.
    rig.sim.ok(&format!("range {SENSOR} off")).await;
    wait_for_property(rig.conn(), &path, DEVICE, "State", |s: &String| {
        s == "offline"
    })
    .await;
    let forgotten: Result<(), _> = call(rig.conn(), &path, DEVICE, "Forget", &()).await;
    assert_eq!(forgotten, Ok(()));
    let removed = probe.expect_on(&format!("{PREFIX}/removed")).await;
    assert_eq!(removed.json(), json!({"id": id}));
    // (The retained flag of these empty publishes is checked in the bridge's unit tests: a
    // broker clears it on delivery to a client subscribed already.)
    probe
        .expect(&config_topic, |d| {
            d.topic == config_topic && d.payload.is_empty()
        })
        .await;
    probe
        .expect("the state emptied", |d| {
            d.topic == topic(&id, "state") && d.payload.is_empty()
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_commands_go_out_and_their_results_come_back() {
    if !mosquitto_available() {
        return;
    }
    let mut rig = ModemRig::start(&["modem"], "").await;
    let dir = tempfile::tempdir().unwrap();
    let (broker, mut probe, bridge) = bridge_on(&rig.bus, dir.path(), NO_HA).await;
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;
    // Commands go to devices the bridge has mirrored.
    probe.expect_on(&topic(&id, "state")).await;
    let send = topic(&id, "send");
    let result = topic(&id, "send/result");

    let command = json!({"request_id": "r1", "destination": PEER, "text": "Valve 4 open"});
    probe.publish(&send, command.to_string(), false).await;
    let accepted = probe
        .expect_json(&result, |r| {
            r["request_id"] == "r1" && r["state"] == "accepted"
        })
        .await;
    let message_id = accepted["id"].as_str().expect("an id").to_owned();
    assert_eq!(accepted["error"], "");
    let sent = probe
        .expect_json(&result, |r| r["request_id"] == "r1" && r["state"] == "sent")
        .await;
    assert_eq!(sent["id"], message_id.as_str());
    let on_air = rig.sim.expect_event("sms-sent").await;
    assert_eq!(on_air["to"], PEER);
    assert_eq!(on_air["text"], "Valve 4 open");

    // Not JSON: an error result, request_id null.
    probe.publish(&send, "{not json", false).await;
    let malformed = probe
        .expect_json(&result, |r| {
            r["state"] == "failed" && r["request_id"].is_null()
        })
        .await;
    assert!(
        malformed["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed"),
        "{malformed}"
    );

    // A device the daemon does not have.
    let unknown_result = format!("{PREFIX}/devices/imei_000000000000000/send/result");
    let command = json!({"request_id": 7, "destination": PEER, "text": "x"});
    probe
        .publish(
            &format!("{PREFIX}/devices/imei_000000000000000/send"),
            command.to_string(),
            false,
        )
        .await;
    let unknown = probe
        .expect_json(&unknown_result, |r| r["request_id"] == 7)
        .await;
    assert_eq!(unknown["state"], "failed");
    assert!(
        unknown["error"]
            .as_str()
            .unwrap()
            .contains("unknown device"),
        "{unknown}"
    );

    // Larger than the device takes: the daemon's error, echoed.
    let max: u32 = property(rig.conn(), &rig.path, MESSAGING, "MaxPayload").await;
    let long = "a".repeat(max as usize + 1);
    let command = json!({"request_id": "big", "destination": PEER, "text": long});
    probe.publish(&send, command.to_string(), false).await;
    let too_large = probe
        .expect_json(&result, |r| r["request_id"] == "big")
        .await;
    assert_eq!(too_large["state"], "failed");
    assert_eq!(too_large["id"], Value::Null);
    assert!(
        too_large["error"]
            .as_str()
            .unwrap()
            .starts_with("PayloadTooLarge"),
        "{too_large}"
    );

    // Retained: carried out as it comes, but refused when the broker hands it again to a bridge
    // that subscribes anew, or it would go out at every reconnect.
    let command = json!({"request_id": "kept", "destination": PEER, "text": "only once"});
    probe.publish(&send, command.to_string(), true).await;
    probe
        .expect_json(&result, |r| {
            r["request_id"] == "kept" && r["state"] == "sent"
        })
        .await;
    assert_eq!(rig.sim.expect_event("sms-sent").await["text"], "only once");
    assert!(bridge.stop().await.success());
    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), NO_HA);
    let _bridge = Bridge::start(&rig.bus, dir.path(), &config);
    let retained = probe
        .expect_json(&result, |r| {
            r["request_id"] == "kept" && r["state"] == "failed"
        })
        .await;
    assert!(
        retained["error"].as_str().unwrap().contains("retained"),
        "{retained}"
    );
    probe.publish(&send, "", true).await;

    // The bridge goes on: binary payloads too.
    let command = json!({"request_id": "r2", "destination": PEER, "payload_b64": "AAF/gP7/"});
    probe.publish(&send, command.to_string(), false).await;
    probe
        .expect_json(&result, |r| r["request_id"] == "r2" && r["state"] == "sent")
        .await;
    let on_air = rig.sim.expect_event("sms-sent").await;
    assert_eq!(on_air["data_hex"], "00017F80FEFF");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mqtt_5_messages_commands_and_the_last_will_work_the_same() {
    if !mosquitto_available() {
        return;
    }
    let mut rig = ModemRig::start(&["modem"], "").await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("protocol = \"5\"\n{NO_HA}");
    let (_broker, mut probe, bridge) = bridge_on(&rig.bus, dir.path(), &extra).await;
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;
    probe.expect_on(&topic(&id, "state")).await;

    rig.sim.ok(&format!("sms {PEER} over five")).await;
    let message = probe.expect_on(&topic(&id, "messages/in")).await.json();
    assert_eq!(message["text"], "over five");

    let command = json!({"request_id": "v5", "destination": PEER, "text": "five back"});
    probe
        .publish(&topic(&id, "send"), command.to_string(), false)
        .await;
    probe
        .expect_json(&topic(&id, "send/result"), |r| {
            r["request_id"] == "v5" && r["state"] == "sent"
        })
        .await;
    assert_eq!(rig.sim.expect_event("sms-sent").await["text"], "five back");

    bridge.kill().await;
    let status = probe.expect_on(&format!("{PREFIX}/status")).await;
    assert_eq!(status.text(), "offline", "the Last Will");
}
