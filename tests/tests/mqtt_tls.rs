//! `m2mhal-mqtt` over TLS with mutual authentication: a test CA made by the test signs the
//! broker's and the bridge's certificates; the broker requires a client certificate.

use m2mhal_tests::mosquitto::{
    Bridge, Broker, Listener, Probe, TestCa, bridge_config, mosquitto_available,
};
use m2mhal_tests::*;

const PREFIX: &str = "m2mhal/gw-tls";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_talks_tls_with_a_client_certificate() {
    if !mosquitto_available() {
        return;
    }
    let rig = ModemRig::start(&["modem"], "").await;
    let ca = TestCa::make();
    let tls = Listener::Tls {
        ca: ca.file("ca.pem"),
        cert: ca.file("server.pem"),
        key: ca.file("server.key"),
    };
    // The bridge on the TLS listener, the test's probe on the plain one.
    let broker = Broker::start_with(&[Listener::Plain, tls]).await;
    let mut probe = Probe::connect(broker.port(0), "tls-probe", &[&format!("{PREFIX}/#")]).await;
    let dir = tempfile::tempdir().unwrap();
    let tls_config = format!(
        "ca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\nha_discovery = false",
        ca.file("ca.pem").display(),
        ca.file("client.pem").display(),
        ca.file("client.key").display()
    );
    assert!(broker.url(1).starts_with("mqtts://"));
    let config = bridge_config(
        &broker.url(1),
        PREFIX,
        &dir.path().join("state"),
        &tls_config,
    );
    let _bridge = Bridge::start(&rig.bus, dir.path(), &config);

    assert_eq!(
        probe.expect_on(&format!("{PREFIX}/status")).await.text(),
        "online"
    );
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;
    let state_topic = format!("{PREFIX}/devices/{}/state", id.replace(':', "_"));
    let state = probe.expect_on(&state_topic).await.json();
    assert_eq!(state["Device"]["Id"], id.as_str());
}
