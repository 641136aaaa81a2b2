//! Starts the real `m2msim ble` on a private bus and looks at `org.bluez` like a BLE client would.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use m2mhal_fake_bluez::bus::PrivateBus;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use zbus::{Connection, OwnedObjectPath, OwnedVariant};

const PATIENCE: Duration = Duration::from_secs(5);

/// `GetManagedObjects`: path -> interface -> properties.
type ManagedObjects = HashMap<OwnedObjectPath, HashMap<String, HashMap<String, OwnedVariant>>>;

/// `m2msim ble --bus <bus>` with its control stdin and JSON stdout.
struct Simulator {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Simulator {
    fn start(bus: &str) -> Simulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_m2msim"))
            .args(["ble", "--bus", bus, "--adv-interval", "100"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Simulator {
            child,
            stdin,
            lines,
        }
    }

    async fn next_line(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("m2msim answers in time")
            .unwrap()
            .expect("m2msim is still running");
        serde_json::from_str(&line).unwrap()
    }

    async fn command(&mut self, line: &str) -> Value {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.next_line().await
    }
}

async fn managed_objects(conn: &Connection) -> ManagedObjects {
    conn.call_method(
        Some("org.bluez"),
        "/",
        Some("org.freedesktop.DBus.ObjectManager"),
        "GetManagedObjects",
        &(),
    )
    .await
    .unwrap()
    .body()
    .deserialize()
    .unwrap()
}

#[tokio::test]
async fn serves_org_bluez_with_an_adapter_and_advertising_peripherals() {
    let bus = PrivateBus::start().await.unwrap();
    let mut sim = Simulator::start(bus.address());
    let ready = sim.next_line().await;
    assert_eq!(ready["event"], "ready", "{ready}");
    assert_eq!(ready["bus"], bus.address());
    assert_eq!(ready["adapter"], "/org/bluez/hci0");

    let conn = bus.connect().await.unwrap();
    let objects = managed_objects(&conn).await;
    let adapter = objects
        .iter()
        .find(|(path, _)| path.as_str() == "/org/bluez/hci0")
        .map(|(_, interfaces)| interfaces)
        .expect("org.bluez has /org/bluez/hci0");
    assert!(adapter.contains_key("org.bluez.Adapter1"), "{adapter:?}");

    let added = sim.command("add-bthome A4:C1:38:00:11:22 Garden").await;
    assert_eq!(added["event"], "ok", "{added}");
    assert_eq!(added["peripheral"]["kind"], "bthome");
    let measured = sim
        .command("measure A4:C1:38:00:11:22 temperature=25 humidity=50.55")
        .await;
    assert_eq!(measured["event"], "ok", "{measured}");

    // A client discovers: the device object carries the BTHome service data: packet id 2 (the
    // second measurement), battery 100 %, 25.00 C, 50.55 %.
    conn.call_method(
        Some("org.bluez"),
        "/org/bluez/hci0",
        Some("org.bluez.Adapter1"),
        "StartDiscovery",
        &(),
    )
    .await
    .unwrap();
    let objects = managed_objects(&conn).await;
    let (_, device) = objects
        .iter()
        .find(|(path, _)| path.as_str() == "/org/bluez/hci0/dev_A4_C1_38_00_11_22")
        .expect("the BTHome sensor was discovered");
    let service_data: HashMap<String, OwnedVariant> = device["org.bluez.Device1"]["ServiceData"]
        .try_clone()
        .unwrap()
        .try_into()
        .unwrap();
    let bthome: Vec<u8> = service_data["0000fcd2-0000-1000-8000-00805f9b34fb"]
        .try_clone()
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        bthome,
        [
            0x40, 0x00, 0x02, 0x01, 0x64, 0x02, 0xc4, 0x09, 0x03, 0xbf, 0x13
        ]
    );

    let events = sim.command("events").await;
    assert_eq!(events["event"], "events", "{events}");
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["event"].as_str())
        .collect();
    assert!(kinds.contains(&"discovery_started"), "{kinds:?}");
    assert!(kinds.contains(&"device_found"), "{kinds:?}");

    let refused = sim.command("measure A4:C1:38:00:11:99 battery=5").await;
    assert_eq!(refused["event"], "error", "{refused}");
    assert_eq!(refused["message"], "no peripheral A4:C1:38:00:11:99");

    assert_eq!(sim.command("quit").await["event"], "ok");
    let status = tokio::time::timeout(PATIENCE, sim.child.wait())
        .await
        .expect("m2msim exits after quit")
        .unwrap();
    assert!(status.success());
}
