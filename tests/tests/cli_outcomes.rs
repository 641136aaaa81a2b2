//! What `m2mctl` says and returns when the device, not the bus, decides the outcome: a command the
//! modem answers with ERROR, and a message that `send --wait` saw through to the network.

use m2mhal_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_error_is_a_failed_command() {
    let rig = ModemRig::start(&["modem"], "").await;
    let address = &rig.bus.address;

    let answered = m2mctl(address, &["command", &rig.port, "AT+CSQ"]).await;
    assert_eq!(answered.code, Some(0), "{answered:?}");
    assert!(answered.stdout.contains("+CSQ:"), "{answered:?}");

    let bogus = m2mctl(address, &["command", &rig.port, "AT+BOGUS"]).await;
    assert_eq!(bogus.code, Some(1), "{bogus:?}");
    assert!(
        bogus.stdout.contains("ERROR"),
        "printed as it came: {bogus:?}"
    );
    assert!(
        bogus
            .stderr
            .contains("(imei:356938035643809) answered ERROR"),
        "{bogus:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_wait_says_how_the_message_went() {
    let rig = ModemRig::start(&["modem"], "").await;
    let sent = m2mctl(
        &rig.bus.address,
        &["send", &rig.port, "+15551234567", "hello", "--wait"],
    )
    .await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    let lines: Vec<&str> = sent.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{sent:?}");
    let outcome = lines[1]
        .strip_prefix("sent via imei:356938035643809 in ")
        .and_then(|rest| rest.strip_suffix(" s"));
    assert!(
        outcome.is_some_and(|seconds| seconds.parse::<f64>().is_ok()),
        "{sent:?}"
    );
}
