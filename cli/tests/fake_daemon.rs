//! m2mctl against a fake m2mhald on a private bus: the wire side of every subcommand, exit codes
//! and error messages. The fake implements just enough of dbus-api-v1 to answer; the real daemon
//! is exercised by the workspace's end-to-end tests.
//!
//! Needs `dbus-daemon` on PATH; without it the tests print a note and pass.

use std::collections::HashMap;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use m2mhal_contract::{BUS_NAME, MANAGER_PATH};
use m2mhal_plugin_api::ble::normalize_uuid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, OwnedObjectPath, OwnedVariant, Variant, fdo::ObjectManager, interface};

/// A cellular modem: Device, Signal, Messaging (SMS).
const DEVICE_1: &str = "/org/m2mhal/Hal1/Devices/1";
/// A BLE thermometer: Device, Signal, Sensor, Gatt.
const DEVICE_2: &str = "/org/m2mhal/Hal1/Devices/2";
/// An Iridium terminal: Device, Signal, Messaging (short bursts).
const DEVICE_3: &str = "/org/m2mhal/Hal1/Devices/3";
const MAX_PAYLOAD: usize = 10;
const BATTERY_LEVEL: &str = "00002a19-0000-1000-8000-00805f9b34fb";
const HEART_RATE_MEASUREMENT: &str = "00002a37-0000-1000-8000-00805f9b34fb";

/// What the fake daemon was asked to do, one line per call, in order.
type CallLog = Arc<Mutex<Vec<String>>>;

/// Takes the lines logged so far.
fn drain(log: &CallLog) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// An `a{sv}` dictionary from (key, value) pairs.
fn dict(entries: Vec<(&str, Variant<'_>)>) -> HashMap<String, OwnedVariant> {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), OwnedVariant::try_from(value).unwrap()))
        .collect()
}

/// The daemon's error names.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.m2mhal.Hal1.Error")]
enum HalError {
    #[zbus(error)]
    ZBus(zbus::Error),
    PayloadTooLarge(String),
    NotAuthorized(String),
    InvalidArgument(String),
    NotSupported(String),
}

struct FakeManager {
    /// Gets `action name key=value...` of every reported kernel event.
    log: CallLog,
}

#[interface(name = "org.m2mhal.Hal1.Manager")]
impl FakeManager {
    #[zbus(property)]
    fn version(&self) -> String {
        "0.1.0-fake".to_owned()
    }

    #[zbus(property)]
    fn devices(&self) -> Vec<OwnedObjectPath> {
        [DEVICE_1, DEVICE_2, DEVICE_3]
            .into_iter()
            .map(|path| OwnedObjectPath::try_from(path).unwrap())
            .collect()
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
        vec![dict(plugin.into())]
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
        self.log.lock().unwrap().push(summary);
    }
}

struct FakeDevice {
    id: &'static str,
    kind: &'static str,
    driver: &'static str,
    model: &'static str,
    port: &'static str,
    capabilities: &'static [&'static str],
}

#[interface(name = "org.m2mhal.Hal1.Device")]
impl FakeDevice {
    #[zbus(property)]
    fn id(&self) -> String {
        self.id.to_owned()
    }
    #[zbus(property)]
    fn kind(&self) -> String {
        self.kind.to_owned()
    }
    #[zbus(property)]
    fn driver(&self) -> String {
        self.driver.to_owned()
    }
    #[zbus(property)]
    fn model(&self) -> String {
        self.model.to_owned()
    }
    #[zbus(property)]
    fn port(&self) -> String {
        self.port.to_owned()
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
        self.capabilities
            .iter()
            .map(|name| (*name).to_owned())
            .collect()
    }

    fn reset(&self) -> Result<(), HalError> {
        Err(HalError::NotAuthorized(
            "Reset needs org.m2mhal.Hal1.Control".to_owned(),
        ))
    }

    fn command(&self, command: &str, timeout_ms: u32) -> String {
        match command {
            "AT+BOGUS" => "\r\nERROR\r\n".to_owned(),
            _ => format!("{command} within {timeout_ms} ms\r\n+CSQ: 20,99\r\nOK"),
        }
    }
}

struct FakeSignal {
    quality: u32,
    rssi: i32,
    /// API 1.1; 0 (unknown) but on LTE.
    rsrp: i32,
    technology: &'static str,
}

#[interface(name = "org.m2mhal.Hal1.Signal")]
impl FakeSignal {
    #[zbus(property)]
    fn quality(&self) -> u32 {
        self.quality
    }
    #[zbus(property)]
    fn rssi(&self) -> i32 {
        self.rssi
    }
    #[zbus(property)]
    fn rsrp(&self) -> i32 {
        self.rsrp
    }
    #[zbus(property)]
    fn technology(&self) -> String {
        self.technology.to_owned()
    }
    #[zbus(property)]
    fn updated_at(&self) -> u64 {
        1_714_564_800
    }
}

struct FakeMessaging {
    /// Gets `send <destination> <payload hex>` for every accepted message.
    log: CallLog,
    /// What `List` answers.
    stored: fn() -> Vec<HashMap<String, OwnedVariant>>,
}

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
        let hex: String = payload.iter().map(|byte| format!("{byte:02x}")).collect();
        self.log
            .lock()
            .unwrap()
            .push(format!("send {destination:?} {hex}"));
        Self::state_changed(&emitter, &id, "sending", "").await?;
        if destination == "unreachable" {
            Self::state_changed(&emitter, &id, "failed", "+CMS ERROR: 38").await?;
        } else {
            Self::state_changed(&emitter, &id, "sent", "").await?;
        }
        Ok(id)
    }

    fn list(&self) -> Vec<HashMap<String, OwnedVariant>> {
        (self.stored)()
    }

    #[zbus(signal)]
    async fn state_changed(
        emitter: &SignalEmitter<'_>,
        id: &str,
        state: &str,
        error: &str,
    ) -> zbus::Result<()>;
}

/// The SMS inbox of the modem.
fn sms_inbox() -> Vec<HashMap<String, OwnedVariant>> {
    vec![dict(vec![
        ("id", Variant::from("7")),
        ("direction", Variant::from("in")),
        ("peer", Variant::from("+4915112345678")),
        ("payload", Variant::from(b"Hallo".to_vec())),
        ("text", Variant::from("Hallo")),
        ("state", Variant::from("received")),
        ("timestamp", Variant::from(1_714_564_800u64)),
        ("error", Variant::from("")),
    ])]
}

/// The messages of the Iridium terminal: one sent (MO) and one received (MT) through the gateway.
fn satellite_messages() -> Vec<HashMap<String, OwnedVariant>> {
    let mo_info = HashMap::from([("momsn", "12"), ("mo_status", "0"), ("attempts", "2")]);
    let mt_info = HashMap::from([("mtmsn", "3")]);
    vec![
        dict(vec![
            ("id", Variant::from("4")),
            ("direction", Variant::from("out")),
            ("peer", Variant::from("")),
            ("payload", Variant::from(b"pos 52.52,13.40".to_vec())),
            ("text", Variant::from("pos 52.52,13.40")),
            ("state", Variant::from("sent")),
            ("timestamp", Variant::from(1_714_564_800u64)),
            ("error", Variant::from("")),
            ("info", Variant::from(mo_info)),
        ]),
        dict(vec![
            ("id", Variant::from("5")),
            ("direction", Variant::from("in")),
            ("peer", Variant::from("")),
            ("payload", Variant::from(vec![0x01u8, 0x02, 0xfe])),
            ("state", Variant::from("received")),
            ("timestamp", Variant::from(1_714_564_860u64)),
            ("error", Variant::from("")),
            ("info", Variant::from(mt_info)),
        ]),
    ]
}

struct FakeSensor {
    /// Set by `Refresh`: the next readings are newer.
    refreshed: AtomicBool,
}

#[interface(name = "org.m2mhal.Hal1.Sensor")]
impl FakeSensor {
    #[zbus(property)]
    fn readings(&self) -> HashMap<String, OwnedVariant> {
        let temperature = if self.refreshed.load(Ordering::SeqCst) {
            22.25
        } else {
            21.5
        };
        dict(vec![
            ("temperature", Variant::from(temperature)),
            ("humidity", Variant::from(45.5)),
            ("battery", Variant::from(87.0)),
            ("pressure", Variant::from(1013.25)),
            ("motion", Variant::from(1.0)),
        ])
    }

    #[zbus(property)]
    fn updated_at(&self) -> u64 {
        if self.refreshed.load(Ordering::SeqCst) {
            1_714_564_860
        } else {
            1_714_564_800
        }
    }

    fn refresh(&self) {
        self.refreshed.store(true, Ordering::SeqCst);
    }
}

struct FakeGatt {
    connected: AtomicBool,
    /// Gets `connect`, `write ...`, `subscribe ...` and the like for every call.
    log: CallLog,
}

impl FakeGatt {
    fn log(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

/// The canonical form of a characteristic UUID, or the daemon's error.
fn characteristic(text: &str) -> Result<String, HalError> {
    normalize_uuid(text).ok_or_else(|| {
        HalError::InvalidArgument(format!(
            "{text:?} is not a UUID: use the 16-bit form (2a19) or the 128-bit form"
        ))
    })
}

#[interface(name = "org.m2mhal.Hal1.Gatt")]
impl FakeGatt {
    #[zbus(property)]
    fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    #[zbus(property)]
    fn services(&self) -> Vec<String> {
        ["00001800", "0000180f", "0000181a"]
            .into_iter()
            .map(|head| format!("{head}-0000-1000-8000-00805f9b34fb"))
            .chain(["6e400001-b5a3-f393-e0a9-e50e24dcca9e".to_owned()])
            .collect()
    }

    /// API 1.1: the characteristics of the services above (the Environmental Sensing service
    /// has none listed, as before a connection).
    #[zbus(property)]
    fn characteristics(&self) -> Vec<HashMap<String, OwnedVariant>> {
        let standard = |short: &str| format!("0000{short}-0000-1000-8000-00805f9b34fb");
        [
            (standard("1800"), standard("2a00"), vec!["read"]),
            (
                standard("180f"),
                BATTERY_LEVEL.to_owned(),
                vec!["read", "notify"],
            ),
            (
                "6e400001-b5a3-f393-e0a9-e50e24dcca9e".to_owned(),
                "6e400002-b5a3-f393-e0a9-e50e24dcca9e".to_owned(),
                vec!["write", "write-without-response"],
            ),
        ]
        .into_iter()
        .map(|(service, uuid, flags)| {
            dict(vec![
                ("service", Variant::from(service)),
                ("uuid", Variant::from(uuid)),
                ("flags", Variant::from(flags)),
            ])
        })
        .collect()
    }

    fn connect(&self) {
        self.connected.store(true, Ordering::SeqCst);
        self.log("connect".to_owned());
    }

    fn disconnect(&self) {
        self.connected.store(false, Ordering::SeqCst);
        self.log("disconnect".to_owned());
    }

    fn read(&self, characteristic_uuid: &str) -> Result<Vec<u8>, HalError> {
        match characteristic(characteristic_uuid)?.as_str() {
            BATTERY_LEVEL => Ok(vec![0x57]),
            "00002a00-0000-1000-8000-00805f9b34fb" => Ok(b"Thermo 1".to_vec()),
            "00002a01-0000-1000-8000-00805f9b34fb" => Ok(vec![0xc3, 0x28]),
            other => Err(HalError::InvalidArgument(format!(
                "no characteristic {other} on this device"
            ))),
        }
    }

    fn write(
        &self,
        characteristic_uuid: &str,
        value: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<(), HalError> {
        characteristic(characteristic_uuid)?;
        let with_response = options
            .get("with_response")
            .map(|flag| bool::try_from(flag.try_clone().unwrap()).unwrap())
            .unwrap_or(true);
        let hex: String = value.iter().map(|byte| format!("{byte:02x}")).collect();
        self.log(format!(
            "write {characteristic_uuid} {hex} with_response={with_response}"
        ));
        Ok(())
    }

    /// Notifies before replying: a client must listen before it calls.
    async fn subscribe(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        characteristic_uuid: &str,
    ) -> Result<(), HalError> {
        let canonical = characteristic(characteristic_uuid)?;
        if canonical != BATTERY_LEVEL {
            return Err(HalError::NotSupported(format!(
                "characteristic {canonical} cannot notify"
            )));
        }
        self.log(format!("subscribe {characteristic_uuid}"));
        Self::notification(&emitter, HEART_RATE_MEASUREMENT, &[0x00, 0x48]).await?;
        for level in [0x57u8, 0x56] {
            Self::notification(&emitter, BATTERY_LEVEL, &[level]).await?;
        }
        Ok(())
    }

    fn unsubscribe(&self, characteristic_uuid: &str) {
        self.log(format!("unsubscribe {characteristic_uuid}"));
    }

    #[zbus(signal)]
    async fn notification(
        emitter: &SignalEmitter<'_>,
        characteristic: &str,
        value: &[u8],
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

    /// Runs m2mctl with this bus as the system bus; fails the test if it hangs.
    async fn m2mctl(&self, args: &[&str]) -> Output {
        let run = Command::new(env!("CARGO_BIN_EXE_m2mctl"))
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .unwrap_or_else(|_| panic!("m2mctl {args:?} did not finish"))
            .unwrap()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.start_kill();
    }
}

/// Serves the fake m2mhald on `bus`; it logs what it is asked to do in `log`.
async fn serve_fake_daemon(bus: &PrivateBus, log: CallLog) -> Connection {
    let modem = FakeDevice {
        id: "imei:356938035643809",
        kind: "cellular-modem",
        driver: "cellular",
        model: "EG25",
        port: "/dev/ttyUSB2",
        capabilities: &["signal", "messaging"],
    };
    let thermometer = FakeDevice {
        id: "ble:A4:C1:38:0B:5E:11",
        kind: "ble-device",
        driver: "ble",
        model: "ATC_0B5E11",
        port: "A4:C1:38:0B:5E:11",
        capabilities: &["gatt", "sensor", "signal"],
    };
    let terminal = FakeDevice {
        id: "imei:300234063904190",
        kind: "satellite-terminal",
        driver: "iridium",
        model: "9603",
        port: "/dev/ttymxc1",
        capabilities: &["signal", "messaging"],
    };
    let signal = |quality, rssi, rsrp, technology| FakeSignal {
        quality,
        rssi,
        rsrp,
        technology,
    };
    let messaging = |stored| FakeMessaging {
        log: log.clone(),
        stored,
    };
    zbus::connection::Builder::address(bus.address.as_str())
        .serve_at(MANAGER_PATH, ObjectManager)
        .serve_at(MANAGER_PATH, FakeManager { log: log.clone() })
        .serve_at(DEVICE_1, modem)
        .serve_at(DEVICE_1, signal(73, -71, -95, "lte"))
        .serve_at(DEVICE_1, messaging(sms_inbox))
        .serve_at(DEVICE_2, thermometer)
        .serve_at(DEVICE_2, signal(60, -70, 0, "ble"))
        .serve_at(
            DEVICE_2,
            FakeSensor {
                refreshed: AtomicBool::new(false),
            },
        )
        .serve_at(
            DEVICE_2,
            FakeGatt {
                connected: AtomicBool::new(false),
                log: log.clone(),
            },
        )
        .serve_at(DEVICE_3, terminal)
        .serve_at(DEVICE_3, signal(60, 0, 0, "iridium"))
        .serve_at(DEVICE_3, messaging(satellite_messages))
        .name(BUS_NAME)
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
    let log = CallLog::default();
    let _daemon = serve_fake_daemon(&bus, log.clone()).await;

    let list = bus.m2mctl(&["list"]).await;
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert_eq!(
        stdout(&list),
        "#  ID                     KIND                DRIVER    STATE  MODEL       PORT               SIGNAL\n\
         1  imei:356938035643809   cellular-modem      cellular  ready  EG25        /dev/ttyUSB2       73% (RSSI -71 dBm, RSRP -95 dBm)\n\
         2  ble:A4:C1:38:0B:5E:11  ble-device          ble       ready  ATC_0B5E11  A4:C1:38:0B:5E:11  60% (-70 dBm)\n\
         3  imei:300234063904190   satellite-terminal  iridium   ready  9603        /dev/ttymxc1       60% (3/5 bars)\n"
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
        text.contains("    UpdatedAt   2024-05-01 12:00:00 UTC (1714564800)\n"),
        "{text}"
    );
    // Both levels, with units: RSSI (+CSQ) and RSRP (+CESQ) differ by 20-30 dB on LTE.
    assert!(
        text.contains("    Rsrp        -95 dBm\n    Rssi        -71 dBm\n"),
        "{text}"
    );

    let unknown = bus.m2mctl(&["show", "x"]).await;
    assert_eq!(unknown.status.code(), Some(4));
    assert_eq!(stderr(&unknown), "m2mctl: no device matches \"x\"\n");

    let sent = bus
        .m2mctl(&["send", "1", "+4915112345678", "Hallo", "--wait"])
        .await;
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    assert_sent_via(&stdout(&sent), "text-5", "imei:356938035643809");
    assert_eq!(drain(&log), ["send \"+4915112345678\" 48616c6c6f"]);

    let no_messaging = bus.m2mctl(&["send", "2", "+49151", "x"]).await;
    assert_eq!(no_messaging.status.code(), Some(1));
    assert_eq!(
        stderr(&no_messaging),
        "m2mctl: device 2 (ble:A4:C1:38:0B:5E:11) has no messaging\n"
    );
    assert!(drain(&log).is_empty(), "nothing is sent");

    let binary = bus
        .m2mctl(&["send", "imei:356938035643809", "", "--binary", "01ff"])
        .await;
    assert_eq!(stdout(&binary), "binary-2\n");

    let failed = bus
        .m2mctl(&["send", "1", "unreachable", "x", "--wait", "--json"])
        .await;
    assert_eq!(failed.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(json["id"], "text-1");
    assert_eq!(json["state"], "failed");
    assert_eq!(json["error"], "+CMS ERROR: 38");
    assert_eq!(json["device"], "imei:356938035643809");
    assert!(json["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{json}");
    let failed = stderr(&failed);
    assert!(
        failed.starts_with("m2mctl: message text-1 failed via imei:356938035643809 in ")
            && failed.ends_with(" s: +CMS ERROR: 38\n"),
        "{failed}"
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
    assert_eq!(command.status.code(), Some(0));

    // The device's ERROR is printed as it came, and is a failure.
    let bogus = bus.m2mctl(&["command", "1", "AT+BOGUS"]).await;
    assert_eq!(stdout(&bogus), "\r\nERROR\r\n");
    assert_eq!(bogus.status.code(), Some(1));
    assert_eq!(
        stderr(&bogus),
        "m2mctl: device 1 (imei:356938035643809) answered ERROR\n"
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
    let events = drain(&log);
    assert_eq!(
        events.last().map(String::as_str),
        Some("add tty ttyUSB0 ID_M2MHAL_CANDIDATE=1 ID_VENDOR_ID=2c7c")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensor_readings_with_units() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let _daemon = serve_fake_daemon(&bus, CallLog::default()).await;

    let sensor = bus.m2mctl(&["sensor", "ble:A4:C1:38:0B:5E:11"]).await;
    assert_eq!(sensor.status.code(), Some(0), "{}", stderr(&sensor));
    assert_eq!(
        stdout(&sensor),
        "KEY          VALUE    UNIT\n\
         battery      87       %\n\
         humidity     45.5     %\n\
         motion       1        -\n\
         pressure     1013.25  hPa\n\
         temperature  21.5     °C\n\
         UpdatedAt: 2024-05-01 12:00:00 UTC (1714564800)\n"
    );

    let json = bus.m2mctl(&["sensor", "2", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "readings": {"battery": 87.0, "humidity": 45.5, "motion": 1.0, "pressure": 1013.25,
                         "temperature": 21.5},
            "updated_at": 1_714_564_800u64,
        })
    );

    let refreshed = bus.m2mctl(&["sensor", "2", "--refresh"]).await;
    assert_eq!(refreshed.status.code(), Some(0), "{}", stderr(&refreshed));
    let text = stdout(&refreshed);
    assert!(text.contains("temperature  22.25    °C\n"), "{text}");
    assert!(
        text.ends_with("UpdatedAt: 2024-05-01 12:01:00 UTC (1714564860)\n"),
        "{text}"
    );

    let modem = bus.m2mctl(&["sensor", "1"]).await;
    assert_eq!(modem.status.code(), Some(1));
    assert_eq!(stderr(&modem), "m2mctl: device 1 has no Sensor interface\n");

    let show = bus.m2mctl(&["show", "2"]).await;
    let text = stdout(&show);
    assert!(
        text.contains(
            "  Sensor\n\
            \x20   Readings   battery=87 %\n\
            \x20              humidity=45.5 %\n\
            \x20              motion=1\n\
            \x20              pressure=1013.25 hPa\n\
            \x20              temperature=22.25 °C\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  Gatt\n\
            \x20   Characteristics  00002a00-0000-1000-8000-00805f9b34fb (Device Name): read\n\
            \x20                    00002a19-0000-1000-8000-00805f9b34fb (Battery Level): read, notify\n\
            \x20                    6e400002-b5a3-f393-e0a9-e50e24dcca9e: write, write-without-response\n\
            \x20   Connected        false\n\
            \x20   Services         00001800-0000-1000-8000-00805f9b34fb (Generic Access)\n\
            \x20                    0000180f-0000-1000-8000-00805f9b34fb (Battery)\n\
            \x20                    0000181a-0000-1000-8000-00805f9b34fb (Environmental Sensing)\n\
            \x20                    6e400001-b5a3-f393-e0a9-e50e24dcca9e\n"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatt_services_read_write_connect() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let log = CallLog::default();
    let _daemon = serve_fake_daemon(&bus, log.clone()).await;

    let services = bus.m2mctl(&["gatt", "2", "services"]).await;
    assert_eq!(services.status.code(), Some(0), "{}", stderr(&services));
    // Each service with its characteristics and their flags, as bluetoothctl lists them.
    assert_eq!(
        stdout(&services),
        "Connected: no\n\
         UUID                                    NAME                   FLAGS\n\
         00001800-0000-1000-8000-00805f9b34fb    Generic Access         -\n\
         \x20 00002a00-0000-1000-8000-00805f9b34fb  Device Name            read\n\
         0000180f-0000-1000-8000-00805f9b34fb    Battery                -\n\
         \x20 00002a19-0000-1000-8000-00805f9b34fb  Battery Level          read, notify\n\
         0000181a-0000-1000-8000-00805f9b34fb    Environmental Sensing  -\n\
         6e400001-b5a3-f393-e0a9-e50e24dcca9e    -                      -\n\
         \x20 6e400002-b5a3-f393-e0a9-e50e24dcca9e  -                      write, write-without-response\n"
    );

    let connect = bus.m2mctl(&["gatt", "A4:C1:38:0B:5E:11", "connect"]).await;
    assert_eq!(connect.status.code(), Some(0), "{}", stderr(&connect));
    assert_eq!(stdout(&connect), "");
    let services = bus.m2mctl(&["gatt", "2", "services", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&services.stdout).unwrap();
    assert_eq!(json["connected"], true);
    assert_eq!(json["services"][1], "0000180f-0000-1000-8000-00805f9b34fb");
    assert_eq!(
        json["characteristics"][1],
        serde_json::json!({
            "service": "0000180f-0000-1000-8000-00805f9b34fb",
            "uuid": BATTERY_LEVEL,
            "flags": ["read", "notify"],
        })
    );

    let read = bus.m2mctl(&["gatt", "2", "read", "2a19"]).await;
    assert_eq!(read.status.code(), Some(0), "{}", stderr(&read));
    assert_eq!(stdout(&read), "57\n");
    let read = bus.m2mctl(&["gatt", "2", "read", "2A00", "--text"]).await;
    assert_eq!(stdout(&read), "Thermo 1\n");
    let read = bus.m2mctl(&["--json", "gatt", "2", "read", "2a19"]).await;
    assert_eq!(
        stdout(&read),
        format!("{{\"characteristic\":\"{BATTERY_LEVEL}\",\"value_hex\":\"57\"}}\n")
    );
    let not_text = bus.m2mctl(&["gatt", "2", "read", "2a01", "--text"]).await;
    assert_eq!(not_text.status.code(), Some(1));
    assert_eq!(
        stderr(&not_text),
        "m2mctl: the value of 2a01 is not UTF-8 text: c328\n"
    );
    let bad_uuid = bus.m2mctl(&["gatt", "2", "read", "battery"]).await;
    assert_eq!(bad_uuid.status.code(), Some(1));
    assert_eq!(
        stderr(&bad_uuid),
        "m2mctl: InvalidArgument: \"battery\" is not a UUID: use the 16-bit form (2a19) or the \
         128-bit form\n"
    );

    let write = bus.m2mctl(&["gatt", "2", "write", "2a06", "01 ff"]).await;
    assert_eq!(write.status.code(), Some(0), "{}", stderr(&write));
    let write = bus
        .m2mctl(&[
            "gatt",
            "2",
            "write",
            "2a00",
            "--text",
            "Küche",
            "--no-response",
        ])
        .await;
    assert_eq!(write.status.code(), Some(0), "{}", stderr(&write));
    let bad_hex = bus.m2mctl(&["gatt", "2", "write", "2a06", "0g"]).await;
    assert_eq!(bad_hex.status.code(), Some(2));
    assert!(
        stderr(&bad_hex).contains("\"0g\" is not hex"),
        "{}",
        stderr(&bad_hex)
    );

    let disconnect = bus.m2mctl(&["gatt", "2", "disconnect"]).await;
    assert_eq!(disconnect.status.code(), Some(0), "{}", stderr(&disconnect));
    assert_eq!(
        drain(&log),
        [
            "connect",
            "write 2a06 01ff with_response=true",
            "write 2a00 4bc3bc636865 with_response=false",
            "disconnect",
        ]
    );

    let modem = bus.m2mctl(&["gatt", "1", "services"]).await;
    assert_eq!(modem.status.code(), Some(1));
    assert_eq!(stderr(&modem), "m2mctl: device 1 has no Gatt interface\n");
    let unknown = bus.m2mctl(&["gatt", "9", "connect"]).await;
    assert_eq!(unknown.status.code(), Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatt_subscribe_prints_notifications_then_unsubscribes() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let log = CallLog::default();
    let _daemon = serve_fake_daemon(&bus, log.clone()).await;

    // The fake notifies before Subscribe returns: both values arrive only if m2mctl listens first.
    let subscribe = bus
        .m2mctl(&["gatt", "2", "subscribe", "2A19", "--count", "2"])
        .await;
    assert_eq!(subscribe.status.code(), Some(0), "{}", stderr(&subscribe));
    assert_eq!(stdout(&subscribe), "57\n56\n");
    assert_eq!(drain(&log), ["subscribe 2A19", "unsubscribe 2A19"]);

    let json = bus
        .m2mctl(&[
            "gatt",
            "2",
            "subscribe",
            BATTERY_LEVEL,
            "--count",
            "1",
            "--json",
        ])
        .await;
    assert_eq!(
        stdout(&json),
        format!("{{\"characteristic\":\"{BATTERY_LEVEL}\",\"value_hex\":\"57\"}}\n")
    );

    // The fake notifies twice: `--count 3` ends at the timeout, with an error, unsubscribed.
    drain(&log);
    let too_few = bus
        .m2mctl(&[
            "gatt",
            "2",
            "subscribe",
            "2a19",
            "--count",
            "3",
            "--timeout",
            "1",
        ])
        .await;
    assert_eq!(too_few.status.code(), Some(1), "{}", stderr(&too_few));
    assert_eq!(stdout(&too_few), "57\n56\n");
    assert_eq!(
        stderr(&too_few),
        format!(
            "m2mctl: timed out after 1 s waiting for notifications of {BATTERY_LEVEL} \
             (2 of 3 arrived)\n"
        )
    );
    assert_eq!(drain(&log), ["subscribe 2a19", "unsubscribe 2a19"]);

    let cannot_notify = bus.m2mctl(&["gatt", "2", "subscribe", "2a00"]).await;
    assert_eq!(cannot_notify.status.code(), Some(1));
    assert_eq!(
        stderr(&cannot_notify),
        "m2mctl: NotSupported: characteristic 00002a00-0000-1000-8000-00805f9b34fb cannot notify\n"
    );
    assert_eq!(drain(&log), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatt_subscribe_stops_on_ctrl_c() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let log = CallLog::default();
    let _daemon = serve_fake_daemon(&bus, log.clone()).await;
    let mut subscribe = Command::new(env!("CARGO_BIN_EXE_m2mctl"))
        .args(["gatt", "2", "subscribe", "2a19"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(subscribe.stdout.take().unwrap()).lines();
    for expected in ["57", "56"] {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(line.as_deref(), Some(expected));
    }
    let pid = subscribe.id().unwrap().to_string();
    let interrupt = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    assert!(interrupt.success());
    let status = tokio::time::timeout(Duration::from_secs(10), subscribe.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(drain(&log), ["subscribe 2a19", "unsubscribe 2a19"]);
}

/// `send --wait` printed the message id, then "sent via ID in N.N s".
#[track_caller]
fn assert_sent_via(stdout: &str, id: &str, device: &str) {
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some(id), "{stdout}");
    let outcome = lines.next().unwrap_or_default();
    let seconds = outcome
        .strip_prefix(&format!("sent via {device} in "))
        .and_then(|rest| rest.strip_suffix(" s"));
    assert!(
        seconds.is_some_and(|s| s.parse::<f64>().is_ok()),
        "{stdout}"
    );
    assert_eq!(lines.next(), None, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn satellite_send_and_messages() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let log = CallLog::default();
    let _daemon = serve_fake_daemon(&bus, log.clone()).await;

    let sent = bus
        .m2mctl(&["send", "/dev/ttymxc1", "", "hello", "--wait"])
        .await;
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    assert_sent_via(&stdout(&sent), "text-5", "imei:300234063904190");
    assert_eq!(drain(&log), ["send \"\" 68656c6c6f"]);

    let messages = bus.m2mctl(&["messages", "3"]).await;
    assert_eq!(messages.status.code(), Some(0), "{}", stderr(&messages));
    assert_eq!(
        stdout(&messages),
        "ID  DIR  PEER     STATE     TIME                     TEXT             ERROR\n\
         4   out  gateway  sent      2024-05-01 12:00:00 UTC  pos 52.52,13.40  -\n\
         5   in   gateway  received  2024-05-01 12:01:00 UTC  0x0102fe         -\n"
    );
    let verbose = bus.m2mctl(&["messages", "3", "--verbose"]).await;
    assert_eq!(
        stdout(&verbose),
        "ID  DIR  PEER     STATE     TIME                     TEXT             ERROR  INFO\n\
         4   out  gateway  sent      2024-05-01 12:00:00 UTC  pos 52.52,13.40  -      attempts=2 mo_status=0 momsn=12\n\
         5   in   gateway  received  2024-05-01 12:01:00 UTC  0x0102fe         -      mtmsn=3\n"
    );
    let json = bus.m2mctl(&["messages", "3", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json[0]["peer"], "");
    assert_eq!(json[0]["info"]["momsn"], "12");
    assert_eq!(json[1]["info"], serde_json::json!({"mtmsn": "3"}));
    assert_eq!(json[1]["payload"], "0102fe");
}
