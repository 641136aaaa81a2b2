//! `m2mctl gatt` through the real daemon and the fake BlueZ: `services` lists every service's
//! characteristics with their flags, and `subscribe --count N` ends at the Nth notification or,
//! failing, at `--timeout`.

use std::collections::HashMap;
use std::time::Duration;

use m2mhal_tests::*;
use zbus::OwnedVariant;

/// A GATT Environmental Sensing sensor.
const ESS: &str = "C0:FF:EE:00:00:01";
/// The vendor characteristic of the simulated ESS sensor (128-bit; read, write, notify).
const LABEL: &str = "6d326d73-696d-4000-8000-000000000002";
/// Battery Level, canonical.
const BATTERY_LEVEL: &str = "00002a19-0000-1000-8000-00805f9b34fb";

/// A rig with the ESS sensor connected; its object path.
async fn connected_ess() -> (BleRig, String) {
    let rig = BleRig::start(&[&format!("add-ess {ESS}")], &ble_config("")).await;
    let path = wait_for_device_id(rig.conn(), &format!("ble:{ESS}"), "ready").await;
    wait_for_property(rig.conn(), &path, GATT, "Connected", |c: &bool| *c).await;
    (rig, path)
}

/// The row of `uuid` in the `gatt services` table, its cells joined by single spaces.
fn row_of(table: &str, uuid: &str) -> String {
    table
        .lines()
        .find(|line| line.trim_start().starts_with(uuid))
        .unwrap_or_else(|| panic!("no {uuid} in\n{table}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_lists_the_characteristics_with_their_flags() {
    let (rig, path) = connected_ess().await;
    let characteristics: Vec<HashMap<String, OwnedVariant>> =
        property(rig.conn(), &path, GATT, "Characteristics").await;
    let label = characteristics
        .iter()
        .find(|entry| field::<String>(entry, "uuid") == LABEL)
        .expect("the vendor characteristic is listed");
    assert_eq!(
        field::<String>(label, "service"),
        "6d326d73-696d-4000-8000-000000000001"
    );
    assert_eq!(
        field::<Vec<String>>(label, "flags"),
        ["read", "write-without-response", "write", "notify"]
    );

    let output = m2mctl(
        &rig.bus.address,
        &["gatt", &format!("ble:{ESS}"), "services"],
    )
    .await;
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(output.stdout.lines().next(), Some("Connected: yes"));
    assert_eq!(
        row_of(&output.stdout, BATTERY_LEVEL),
        format!("{BATTERY_LEVEL} Battery Level read, notify")
    );
    assert_eq!(
        row_of(&output.stdout, LABEL),
        format!("{LABEL} - read, write-without-response, write, notify")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_ends_at_the_count_or_fails_at_the_timeout() {
    let (mut rig, _path) = connected_ess().await;
    let bus = rig.bus.address.clone();
    let device = format!("ble:{ESS}");

    let subscribe = ["gatt", &device, "subscribe", LABEL, "--count", "3"];
    let subscriber = m2mctl(&bus, &subscribe);
    let notifier = async {
        // The first value is notified once m2mctl's subscription is armed.
        let deadline = tokio::time::Instant::now() + WAIT;
        while rig.sim.ok(&format!("value {ESS} {LABEL} 01")).await["notified"] != true {
            assert!(
                tokio::time::Instant::now() < deadline,
                "m2mctl never subscribed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for value in ["02", "03"] {
            rig.sim.ok(&format!("value {ESS} {LABEL} {value}")).await;
        }
    };
    let (output, ()) = tokio::join!(subscriber, notifier);
    assert_eq!(
        (output.code, output.stdout.as_str()),
        (Some(0), "01\n02\n03\n"),
        "{output:?}"
    );

    // Nothing notifies now: the timeout ends it, as a failure that says so.
    let output = m2mctl(
        &bus,
        &[
            "--timeout",
            "2",
            "gatt",
            &device,
            "subscribe",
            LABEL,
            "--count",
            "2",
        ],
    )
    .await;
    assert_eq!(
        (output.code, output.stdout.as_str()),
        (Some(1), ""),
        "{output:?}"
    );
    assert_eq!(
        output.stderr,
        format!(
            "m2mctl: timed out after 2 s waiting for notifications of {LABEL} (0 of 2 arrived)\n"
        )
    );
}
