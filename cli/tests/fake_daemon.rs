//! m2mctl against a fake m2mhald on a private bus: the wire side of every subcommand, exit codes
//! and error messages. The fake implements just enough of dbus-api-v1 to answer; the real daemon
//! is exercised by the workspace's end-to-end tests.
//!
//! Needs `dbus-daemon` on PATH; without it the tests print a note and pass.

use std::collections::HashMap;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, OwnedObjectPath, OwnedVariant, Variant, fdo::ObjectManager, interface};

const DEVICE_1: &str = "/org/m2mhal/Hal1/Devices/1";
const MAX_PAYLOAD: usize = 10;

/// The daemon's error names.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.m2mhal.Hal1.Error")]
enum HalError {
    #[zbus(error)]
    ZBus(zbus::Error),
    PayloadTooLarge(String),
    NotAuthorized(String),
}

struct FakeManager {
    /// `action name key=value...` of every reported kernel event.
    kernel_events: Arc<Mutex<Vec<String>>>,
}

#[interface(name = "org.m2mhal.Hal1.Manager")]
impl FakeManager {
    #[zbus(property)]
    fn version(&self) -> String {
        "0.1.0-fake".to_owned()
    }

    #[zbus(property)]
    fn devices(&self) -> Vec<OwnedObjectPath> {
        vec![OwnedObjectPath::try_from(DEVICE_1).unwrap()]
    }

    fn list_plugins(&self) -> Vec<HashMap<String, OwnedVariant>> {
        let plugin = [
            ("name", Variant::from("cellular")),
            ("version", Variant::from("0.1.0")),
            ("abi", Variant::from(1u32)),
            (
                "path",
                Variant::from("/usr/lib/m2mhal/drivers/libm2mhal_driver_cellular.so"),
            ),
            ("kinds", Variant::from(vec!["cellular-modem"])),
        ];
        vec![
            plugin
                .into_iter()
                .map(|(key, value)| (key.to_owned(), OwnedVariant::try_from(value).unwrap()))
                .collect(),
        ]
    }

    fn report_kernel_event(&self, event: HashMap<String, OwnedVariant>) {
        let text = |key: &str| {
            event
                .get(key)
                .and_then(|value| String::try_from(value.try_clone().unwrap()).ok())
                .unwrap_or_default()
        };
        let mut summary = format!("{} {} {}", text("action"), text("subsystem"), text("name"));
        if let Some(properties) = event.get("properties") {
            let properties: HashMap<String, String> =
                properties.try_clone().unwrap().try_into().unwrap();
            let mut pairs: Vec<_> = properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.sort();
            summary.push_str(&format!(" {}", pairs.join(" ")));
        }
        self.kernel_events.lock().unwrap().push(summary);
    }
}

struct FakeDevice;

#[interface(name = "org.m2mhal.Hal1.Device")]
impl FakeDevice {
    #[zbus(property)]
    fn id(&self) -> String {
        "imei:356938035643809".to_owned()
    }
    #[zbus(property)]
    fn kind(&self) -> String {
        "cellular-modem".to_owned()
    }
    #[zbus(property)]
    fn driver(&self) -> String {
        "cellular".to_owned()
    }
    #[zbus(property)]
    fn model(&self) -> String {
        "EG25".to_owned()
    }
    #[zbus(property)]
    fn port(&self) -> String {
        "/dev/ttyUSB2".to_owned()
    }
    #[zbus(property)]
    fn state(&self) -> String {
        "ready".to_owned()
    }
    #[zbus(property)]
    fn state_reason(&self) -> String {
        String::new()
    }
    #[zbus(property)]
    fn capabilities(&self) -> Vec<String> {
        vec!["signal".to_owned(), "messaging".to_owned()]
    }

    fn reset(&self) -> Result<(), HalError> {
        Err(HalError::NotAuthorized(
            "Reset needs org.m2mhal.Hal1.Control".to_owned(),
        ))
    }

    fn command(&self, command: &str, timeout_ms: u32) -> String {
        format!("{command} within {timeout_ms} ms\r\n+CSQ: 20,99\r\nOK")
    }
}

struct FakeSignal;

#[interface(name = "org.m2mhal.Hal1.Signal")]
impl FakeSignal {
    #[zbus(property)]
    fn quality(&self) -> u32 {
        73
    }
    #[zbus(property)]
    fn rssi(&self) -> i32 {
        -71
    }
    #[zbus(property)]
    fn updated_at(&self) -> u64 {
        1_714_564_800
    }
}

struct FakeMessaging;

#[interface(name = "org.m2mhal.Hal1.Messaging")]
impl FakeMessaging {
    #[zbus(property)]
    fn max_payload(&self) -> u32 {
        MAX_PAYLOAD as u32
    }

    /// Emits the whole lifecycle before replying: a client must subscribe before it calls.
    async fn send(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        destination: &str,
        payload: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<String, HalError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(HalError::PayloadTooLarge(format!(
                "payload is {} bytes, MaxPayload is {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let encoding = options
            .get("encoding")
            .and_then(|value| String::try_from(value.try_clone().unwrap()).ok())
            .unwrap_or_default();
        let id = format!("{encoding}-{}", payload.len());
        Self::state_changed(&emitter, &id, "sending", "").await?;
        if destination == "unreachable" {
            Self::state_changed(&emitter, &id, "failed", "+CMS ERROR: 38").await?;
        } else {
            Self::state_changed(&emitter, &id, "sent", "").await?;
        }
        Ok(id)
    }

    fn list(&self) -> Vec<HashMap<String, OwnedVariant>> {
        let message = [
            ("id", Variant::from("7")),
            ("direction", Variant::from("in")),
            ("peer", Variant::from("+4915112345678")),
            ("payload", Variant::from(b"Hallo".to_vec())),
            ("text", Variant::from("Hallo")),
            ("state", Variant::from("received")),
            ("timestamp", Variant::from(1_714_564_800u64)),
            ("error", Variant::from("")),
        ];
        vec![
            message
                .into_iter()
                .map(|(key, value)| (key.to_owned(), OwnedVariant::try_from(value).unwrap()))
                .collect(),
        ]
    }

    #[zbus(signal)]
    async fn state_changed(
        emitter: &SignalEmitter<'_>,
        id: &str,
        state: &str,
        error: &str,
    ) -> zbus::Result<()>;
}

/// A private `dbus-daemon`, killed on drop.
struct PrivateBus {
    daemon: Child,
    address: String,
}

impl PrivateBus {
    async fn start() -> Option<Self> {
        let spawned = Command::new("dbus-daemon")
            .args([
                "--session",
                "--nofork",
                "--print-address=1",
                "--address=unix:tmpdir=/tmp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(mut daemon) = spawned else {
            eprintln!("dbus-daemon not found: skipping the fake-daemon tests");
            return None;
        };
        let stdout = daemon.stdout.take().unwrap();
        let mut address = String::new();
        BufReader::new(stdout)
            .read_line(&mut address)
            .await
            .unwrap();
        Some(Self {
            daemon,
            address: address.trim().to_owned(),
        })
    }

    /// Runs m2mctl with this bus as the system bus.
    async fn m2mctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_m2mctl"))
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .output()
            .await
            .unwrap()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.start_kill();
    }
}

/// Serves the fake m2mhald on `bus`.
async fn serve_fake_daemon(bus: &PrivateBus, kernel_events: Arc<Mutex<Vec<String>>>) -> Connection {
    zbus::connection::Builder::address(bus.address.as_str())
        .serve_at("/org/m2mhal/Hal1", ObjectManager)
        .serve_at("/org/m2mhal/Hal1", FakeManager { kernel_events })
        .serve_at(DEVICE_1, FakeDevice)
        .serve_at(DEVICE_1, FakeSignal)
        .serve_at(DEVICE_1, FakeMessaging)
        .name("org.m2mhal.Hal1")
        .build()
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subcommands_against_the_fake_daemon() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let kernel_events = Arc::new(Mutex::new(Vec::new()));
    let _daemon = serve_fake_daemon(&bus, kernel_events.clone()).await;

    let list = bus.m2mctl(&["list"]).await;
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert_eq!(
        stdout(&list),
        "#  ID                    KIND            DRIVER    STATE  MODEL  PORT          SIGNAL\n\
         1  imei:356938035643809  cellular-modem  cellular  ready  EG25   /dev/ttyUSB2  73%\n"
    );

    let list = bus.m2mctl(&["list", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(json[0]["path"], DEVICE_1);
    assert_eq!(
        json[0]["interfaces"]["org.m2mhal.Hal1.Messaging"]["MaxPayload"],
        10
    );

    let show = bus.m2mctl(&["show", "/dev/ttyUSB2"]).await;
    let text = stdout(&show);
    assert!(
        text.starts_with("/org/m2mhal/Hal1/Devices/1\n  Device\n"),
        "{text}"
    );
    assert!(
        text.contains("    Capabilities  [signal, messaging]\n"),
        "{text}"
    );
    assert!(
        text.contains("    UpdatedAt  2024-05-01 12:00:00 UTC (1714564800)\n"),
        "{text}"
    );

    let unknown = bus.m2mctl(&["show", "x"]).await;
    assert_eq!(unknown.status.code(), Some(4));
    assert_eq!(stderr(&unknown), "m2mctl: no device matches \"x\"\n");

    let sent = bus
        .m2mctl(&["send", "1", "+4915112345678", "Hallo", "--wait"])
        .await;
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    assert_eq!(stdout(&sent), "text-5\n");

    let binary = bus
        .m2mctl(&["send", "imei:356938035643809", "", "--binary", "01ff"])
        .await;
    assert_eq!(stdout(&binary), "binary-2\n");

    let failed = bus
        .m2mctl(&["send", "1", "unreachable", "x", "--wait", "--json"])
        .await;
    assert_eq!(failed.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"id": "text-1", "state": "failed", "error": "+CMS ERROR: 38"})
    );
    assert_eq!(
        stderr(&failed),
        "m2mctl: message text-1 failed: +CMS ERROR: 38\n"
    );

    let too_large = bus.m2mctl(&["send", "1", "+49151", "eleven char"]).await;
    assert_eq!(too_large.status.code(), Some(1));
    assert_eq!(
        stderr(&too_large),
        "m2mctl: PayloadTooLarge: payload is 11 bytes, MaxPayload is 10\n"
    );

    let messages = bus.m2mctl(&["messages", "1"]).await;
    assert_eq!(
        stdout(&messages),
        "ID  DIR  PEER            STATE     TIME                     TEXT   ERROR\n\
         7   in   +4915112345678  received  2024-05-01 12:00:00 UTC  Hallo  -\n"
    );

    let reset = bus.m2mctl(&["reset", "1"]).await;
    assert_eq!(reset.status.code(), Some(1));
    assert_eq!(
        stderr(&reset),
        "m2mctl: NotAuthorized: Reset needs org.m2mhal.Hal1.Control\n"
    );

    let command = bus
        .m2mctl(&["command", "1", "AT+CSQ", "--timeout-ms", "300"])
        .await;
    assert_eq!(
        stdout(&command),
        "AT+CSQ within 300 ms\r\n+CSQ: 20,99\r\nOK\n"
    );

    let plugins = bus.m2mctl(&["plugins"]).await;
    assert!(stdout(&plugins).contains("cellular  0.1.0    1    cellular-modem  /usr/lib/"));

    let report = bus
        .m2mctl(&[
            "report-kernel-event",
            "add",
            "ttyUSB0",
            "--property",
            "ID_M2MHAL_CANDIDATE=1",
            "--property",
            "ID_VENDOR_ID=2c7c",
        ])
        .await;
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    assert_eq!(
        *kernel_events.lock().unwrap(),
        ["add tty ttyUSB0 ID_M2MHAL_CANDIDATE=1 ID_VENDOR_ID=2c7c"]
    );

    let wait = bus.m2mctl(&["wait", "any", "--timeout", "2"]).await;
    assert_eq!(wait.status.code(), Some(0), "{}", stderr(&wait));
    assert_eq!(stdout(&wait), format!("{DEVICE_1}\n"));

    let wait = bus
        .m2mctl(&["wait", "1", "--state", "failed", "--timeout", "0.3"])
        .await;
    assert_eq!(wait.status.code(), Some(1));
    assert_eq!(
        stderr(&wait),
        "m2mctl: timed out after 0.3 s waiting for device \"1\" to be failed (it is ready)\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_prints_signals_as_they_come() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let daemon = serve_fake_daemon(&bus, Arc::default()).await;
    let monitor = Command::new(env!("CARGO_BIN_EXE_m2mctl"))
        .args(["monitor", "--count", "2", "--json"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let emitter = SignalEmitter::new(&daemon, DEVICE_1).unwrap();
    // The monitor subscribes at some point after it starts: keep emitting until it has seen two.
    let emitting = async {
        loop {
            FakeMessaging::state_changed(&emitter, "9", "sent", "")
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let output = tokio::select! {
        output = monitor.wait_with_output() => output.unwrap(),
        () = emitting => unreachable!(),
    };
    assert_eq!(output.status.code(), Some(0));
    let line = r#"{"error":"","event":"state-changed","id":"9","path":"/org/m2mhal/Hal1/Devices/1","state":"sent"}"#;
    assert_eq!(stdout(&output), format!("{line}\n{line}\n"));
}

#[tokio::test]
async fn daemon_not_running() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let list = bus.m2mctl(&["list"]).await;
    assert_eq!(list.status.code(), Some(3));
    assert_eq!(
        stderr(&list),
        "m2mctl: m2mhald is not running on the system bus (org.m2mhal.Hal1 not found)\n"
    );
    let monitor = bus.m2mctl(&["monitor"]).await;
    assert_eq!(monitor.status.code(), Some(3));

    let wait = bus.m2mctl(&["wait", "any", "--timeout", "0.3"]).await;
    assert_eq!(wait.status.code(), Some(1));
    assert_eq!(
        stderr(&wait),
        "m2mctl: timed out after 0.3 s waiting for any device to be ready (m2mhald is not running)\n"
    );
}

#[tokio::test]
async fn no_bus_at_all() {
    let output = Command::new(env!("CARGO_BIN_EXE_m2mctl"))
        .arg("list")
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/m2mctl-test-bus",
        )
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).starts_with("m2mctl: cannot connect to the system bus: "));
}
