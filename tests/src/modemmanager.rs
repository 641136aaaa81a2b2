//! Debian's real ModemManager on the test bus, in a umockdev testbed whose USB modem is an
//! `m2msim modem` pty.
//!
//! The recipe (ModemManager 1.20 of Debian 12):
//! - the bus carries ModemManager's own bus policy (the file the package installs) and polkit's;
//!   a mock polkitd (python-dbusmock) authorizes ModemManager's actions;
//! - ModemManager runs as root with the testbed's `UMOCKDEV_DIR` and `LD_PRELOAD`, and
//!   `--no-auto-scan`: this build never scans or follows udev by itself here (no "starting
//!   automatic device scan" in its log, udev events unanswered), so the rig reports each port
//!   with the manager's `ReportKernelEvent`, as a system without udev would; ModemManager then
//!   looks the port up in the testbed's sysfs and udev database (the `E:` lines of the device
//!   description stand in for its udev rules: `ID_MM_CANDIDATE`, `ID_MM_PORT_TYPE_AT_PRIMARY`);
//! - `--test-no-qrtr --test-no-suspend-resume`: no QRTR sockets and no logind on a private bus;
//! - `--debug --log-level=DEBUG --log-file=...`: every AT command and answer, printed when a
//!   test fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::process::{Child, Command};
use zbus::{Connection, Proxy};
use zbus::{OwnedObjectPath, OwnedVariant, Variant};

use crate::bus::{TestBus, wait_for_owner};
use crate::daemon::Daemon;
use crate::dbusmock::{MockPolkit, POLKIT_POLICY, dbusmock_available};
use crate::devices::wait_for_device_id;
use crate::fake_usb::FakeUsb;
use crate::python::python_has;
use crate::sim::Sim;

/// ModemManager's bus name.
pub const MM_NAME: &str = "org.freedesktop.ModemManager1";
/// ModemManager's manager object (and object manager).
pub const MM_PATH: &str = "/org/freedesktop/ModemManager1";
/// `org.freedesktop.ModemManager1.Modem`.
pub const MM_MODEM: &str = "org.freedesktop.ModemManager1.Modem";
/// `org.freedesktop.ModemManager1.Modem.Modem3gpp`.
pub const MM_MODEM_3GPP: &str = "org.freedesktop.ModemManager1.Modem.Modem3gpp";
/// `org.freedesktop.ModemManager1.Modem.Messaging`.
pub const MM_MESSAGING: &str = "org.freedesktop.ModemManager1.Modem.Messaging";
/// `org.freedesktop.ModemManager1.Sms`.
pub const MM_SMS: &str = "org.freedesktop.ModemManager1.Sms";

/// How long the rig waits for ModemManager: its port probing alone takes seconds, and a loaded
/// two-core machine stretches that.
pub const MM_WAIT: Duration = Duration::from_secs(60);

/// ModemManager's daemon, as Debian installs it.
const MM_BINARY: &str = "/usr/sbin/ModemManager";
/// ModemManager's bus policy, as Debian installs it.
const MM_POLICY_FILE: &str = "/etc/dbus-1/system.d/org.freedesktop.ModemManager1.conf";
/// The polkit actions a running ModemManager asks about.
const MM_ACTIONS: [&str; 3] = [
    "org.freedesktop.ModemManager1.Control",
    "org.freedesktop.ModemManager1.Device.Control",
    "org.freedesktop.ModemManager1.Messaging",
];

/// Whether the rig can run here: ModemManager (package modemmanager), python-dbusmock and
/// umockdev's Python bindings. Says why not.
pub fn modemmanager_available() -> bool {
    let missing = [
        (Path::new(MM_BINARY).exists(), "modemmanager"),
        (dbusmock_available(), "python3-dbusmock"),
        (python_has("gi"), "python3-gi"),
    ]
    .into_iter()
    .filter(|(present, _)| !present)
    .map(|(_, package)| package)
    .collect::<Vec<_>>();
    if !missing.is_empty() {
        eprintln!("skipping: {missing:?} not installed (scripts/install-deps.sh)");
    }
    missing.is_empty()
}

impl TestBus {
    /// Like [`TestBus::start`], with ModemManager's and polkit's bus policies as well.
    pub async fn start_with_modemmanager() -> TestBus {
        let policy = format!("<include>{MM_POLICY_FILE}</include>\n  {POLKIT_POLICY}");
        TestBus::start_with_policy(&policy).await
    }
}

/// A running ModemManager on a test bus; killed when dropped, and its debug log printed then if
/// the test is failing.
pub struct ModemManager {
    child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
    /// A connection to the test bus, for talking to ModemManager.
    pub conn: Connection,
}

impl ModemManager {
    /// Starts ModemManager on `bus` inside `usb`'s testbed and waits until it owns its name.
    pub async fn start(bus: &TestBus, usb: &FakeUsb) -> ModemManager {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("ModemManager.log");
        let child = Command::new(MM_BINARY)
            .arg("--no-auto-scan")
            .arg("--debug")
            .arg("--log-level=DEBUG")
            .arg("--log-relative-timestamps")
            .arg(format!("--log-file={}", log.display()))
            .arg("--test-no-qrtr")
            .arg("--test-no-suspend-resume")
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .envs(usb.env())
            .kill_on_drop(true)
            .spawn()
            .expect("start ModemManager (package modemmanager)");
        let conn = bus.connect().await;
        let mm = ModemManager {
            child,
            _dir: dir,
            log,
            conn,
        };
        wait_for_owner(&mm.conn, MM_NAME, "ModemManager").await;
        mm
    }

    /// Reports a kernel event of tty `name` (`add`, `remove`) to ModemManager, as udev would.
    pub async fn report_tty(&self, action: &str, name: &str) {
        let event = HashMap::from([
            ("action", Variant::from(action)),
            ("subsystem", Variant::from("tty")),
            ("name", Variant::from(name)),
        ]);
        self.conn
            .call_method(
                Some(MM_NAME),
                MM_PATH,
                Some(MM_NAME),
                "ReportKernelEvent",
                &(event,),
            )
            .await
            .unwrap_or_else(|e| panic!("ReportKernelEvent {action} {name}: {e}"));
    }

    /// ModemManager's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops ModemManager (it leaves the bus at once), as a restart or a crash would.
    pub async fn stop(&mut self) {
        self.child.kill().await.expect("stop ModemManager");
    }

    /// The debug log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until ModemManager's debug log says `needle` (it writes each line as it goes).
    pub async fn expect_log(&self, needle: &str) {
        let what = format!("ModemManager to log {needle:?}");
        crate::wait::wait_until(&what, || async { self.log().contains(needle) }).await;
    }
}

impl Drop for ModemManager {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- ModemManager's log ----\n{}", self.log());
        }
    }
}

/// ModemManager, a simulated USB modem and what they need: the rig of the ModemManager tests.
/// Fields drop in order: ModemManager first, the testbed before the simulator.
pub struct MmRig {
    /// ModemManager.
    pub mm: ModemManager,
    /// The testbed whose `/dev/ttyUSB2` is the simulator's modem.
    pub usb: FakeUsb,
    /// The simulator (device 0 is the modem).
    pub sim: Sim,
    /// polkit, authorizing what ModemManager asks about.
    pub polkit: MockPolkit,
    /// The private bus.
    pub bus: TestBus,
}

/// The testbed's name of the modem's AT port.
pub const MODEM_TTY: &str = "ttyUSB2";

/// The testbed's name of the AT port of the simulator's modem `index` (`fake_usb.py`'s).
pub fn modem_tty(index: usize) -> String {
    format!("ttyUSB{}", 2 + 4 * index)
}

impl MmRig {
    /// Starts the bus, polkit, `m2msim modem`, the testbed and ModemManager; `None` (after saying
    /// why) when a package is missing.
    pub async fn start() -> Option<MmRig> {
        MmRig::start_with(&[], 1).await
    }

    /// Like [`MmRig::start`], with `modems` simulated modems (IMEIs counting up) to plug in,
    /// started with the simulator's `options` (e.g. `["--gnss"]`).
    pub async fn start_with(options: &[&str], modems: usize) -> Option<MmRig> {
        if !modemmanager_available() {
            return None;
        }
        let bus = TestBus::start_with_modemmanager().await;
        let polkit = MockPolkit::start(&bus).await;
        polkit.set_allowed(&MM_ACTIONS).await;
        let count = modems.to_string();
        let mut args = vec!["modem", "--count", &count];
        args.extend_from_slice(options);
        let sim = Sim::start(&args, modems).await;
        let usb = FakeUsb::start().await;
        let mm = ModemManager::start(&bus, &usb).await;
        Some(MmRig {
            mm,
            usb,
            sim,
            polkit,
            bus,
        })
    }

    /// Plugs the modem in and reports its port to ModemManager; returns the object path of the
    /// modem once ModemManager has probed it.
    pub async fn plug_modem(&mut self) -> String {
        self.plug_modem_at(0).await
    }

    /// Like [`MmRig::plug_modem`] for the simulator's modem `index`.
    pub async fn plug_modem_at(&mut self, index: usize) -> String {
        let mut added = interfaces_added(&self.mm.conn).await;
        self.usb
            .ok(&format!("add-modem {} {index}", self.sim.path(index)))
            .await;
        self.mm.report_tty("add", &modem_tty(index)).await;
        next_object_with(&mut added, MM_MODEM).await
    }

    /// Enables the modem (as NetworkManager does) and waits until it is registered.
    pub async fn enable(&self, modem: &str) {
        let proxy = mm_proxy(&self.mm.conn, modem, MM_MODEM).await;
        proxy
            .call_method("Enable", &(true,))
            .await
            .unwrap_or_else(|e| panic!("Enable on {modem}: {e}"));
        wait_for_mm_property::<i32>(&self.mm.conn, modem, MM_MODEM, "State", |state| {
            *state == MM_STATE_REGISTERED
        })
        .await;
    }

    /// Plugs the modem in, has ModemManager enable it, starts m2mhald and waits until it serves
    /// the modem as device `id`, `ready`. `in_testbed`: m2mhald runs inside the umockdev testbed
    /// (it sees the fake udev), otherwise beside it, serving the modem from the bus alone.
    pub async fn serve_modem(&mut self, id: &str, in_testbed: bool) -> ServedThroughMm {
        let modem = self.plug_modem().await;
        self.enable(&modem).await;
        let daemon = if in_testbed {
            Daemon::start_with_env(&self.bus, "", &self.usb.env()).await
        } else {
            Daemon::start(&self.bus, "").await
        };
        let path = wait_for_device_id(&daemon.conn, id, "ready").await;
        ServedThroughMm {
            modem,
            daemon,
            path,
        }
    }
}

/// A modem m2mhald serves through ModemManager ([`MmRig::serve_modem`]).
pub struct ServedThroughMm {
    /// ModemManager's object path of the modem.
    pub modem: String,
    /// The daemon serving it.
    pub daemon: Daemon,
    /// The m2mhal device's object path.
    pub path: String,
}

/// `MM_MODEM_STATE_REGISTERED`.
pub const MM_STATE_REGISTERED: i32 = 8;

/// A proxy of ModemManager's `interface` on `path`.
pub async fn mm_proxy(conn: &Connection, path: &str, interface: &str) -> Proxy<'static> {
    Proxy::new(conn, MM_NAME, path.to_owned(), interface.to_owned())
        .await
        .unwrap_or_else(|e| panic!("proxy of {interface} on {path}: {e}"))
}

/// Reads a property of ModemManager's.
pub async fn mm_property<T>(conn: &Connection, path: &str, interface: &str, name: &str) -> T
where
    T: TryFrom<OwnedVariant> + zbus::Type + serde::de::DeserializeOwned,
    T::Error: Into<zbus::Error>,
{
    mm_proxy(conn, path, interface)
        .await
        .get_property(name)
        .await
        .unwrap_or_else(|e| panic!("{interface}.{name} on {path}: {e}"))
}

/// Waits until a property of ModemManager's has a value `accept` takes (from its
/// `PropertiesChanged` signals); returns it.
pub async fn wait_for_mm_property<T>(
    conn: &Connection,
    path: &str,
    interface: &str,
    name: &str,
    accept: impl Fn(&T) -> bool,
) -> T
where
    T: TryFrom<OwnedVariant> + zbus::Type + serde::de::DeserializeOwned + std::fmt::Debug + Unpin,
    T::Error: Into<zbus::Error>,
{
    let proxy = mm_proxy(conn, path, interface).await;
    let mut changes = proxy.receive_property_changed::<T>(name).await;
    let mut last = proxy.get_property::<T>(name).await.ok();
    let found = tokio::time::timeout(MM_WAIT, async {
        loop {
            if let Some(value) = last.take_if(|value| accept(value)) {
                return value;
            }
            match changes.next().await {
                Some(change) => last = change.get().await.ok(),
                None => std::future::pending().await,
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for {interface}.{name} on {path}"))
}

/// The `InterfacesAdded` signals of ModemManager's object manager.
pub async fn interfaces_added(conn: &Connection) -> zbus::fdo::InterfacesAddedStream {
    let manager = zbus::fdo::ObjectManagerProxy::builder(conn)
        .destination(MM_NAME)
        .path(MM_PATH)
        .build()
        .await
        .expect("object manager proxy");
    manager
        .receive_interfaces_added()
        .await
        .expect("subscribe to InterfacesAdded")
}

/// The `InterfacesRemoved` signals of ModemManager's object manager.
pub async fn interfaces_removed(conn: &Connection) -> zbus::fdo::InterfacesRemovedStream {
    let manager = zbus::fdo::ObjectManagerProxy::builder(conn)
        .destination(MM_NAME)
        .path(MM_PATH)
        .build()
        .await
        .expect("object manager proxy");
    manager
        .receive_interfaces_removed()
        .await
        .expect("subscribe to InterfacesRemoved")
}

/// Waits on `removed` until the object at `path` is gone.
pub async fn object_gone(removed: &mut zbus::fdo::InterfacesRemovedStream, path: &str) {
    let gone = tokio::time::timeout(MM_WAIT, async {
        while let Some(signal) = removed.next().await {
            if signal
                .args()
                .is_ok_and(|args| args.object_path().as_str() == path)
            {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        gone == Ok(true),
        "ModemManager never removed the object {path}"
    );
}

/// Waits on `added` for an object with `interface`; returns its path.
pub async fn next_object_with(
    added: &mut zbus::fdo::InterfacesAddedStream,
    interface: &str,
) -> String {
    let found = tokio::time::timeout(MM_WAIT, async {
        while let Some(signal) = added.next().await {
            let Ok(args) = signal.args() else { continue };
            if args
                .interfaces_and_properties()
                .keys()
                .any(|name| name.as_str() == interface)
            {
                return Some(args.object_path().to_string());
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("ModemManager exported no object with {interface}"))
}

/// The `Messaging.Added` signals of `modem` (ModemManager exports SMS objects outside its object
/// manager: no `InterfacesAdded` for them).
pub async fn messages_added(conn: &Connection, modem: &str) -> zbus::MessageStream {
    messaging_signals(conn, modem, "Added").await
}

/// The `Messaging.Added` (`member` "Added") or `Messaging.Deleted` ("Deleted") signals of
/// `modem`.
pub async fn messaging_signals(
    conn: &Connection,
    modem: &str,
    member: &str,
) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(MM_MESSAGING)
        .member(member.to_owned())
        .path(modem.to_owned())
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .unwrap_or_else(|e| panic!("subscribe to Messaging.{member}: {e}"))
}

/// Waits on a `Messaging.Deleted` stream for the next deleted SMS; returns its object path.
pub async fn next_deleted(deleted: &mut zbus::MessageStream) -> String {
    let found = tokio::time::timeout(MM_WAIT, async {
        while let Some(Ok(message)) = deleted.next().await {
            if let Ok(path) = message.body().deserialize::<OwnedObjectPath>() {
                return Some(path.to_string());
            }
        }
        None
    })
    .await;
    found.ok().flatten().expect("ModemManager deleted no SMS")
}

/// The devices m2mhald serves with `driver` (`cellular`: directly; `modemmanager`: through
/// ModemManager).
pub async fn devices_driven_by(conn: &Connection, driver: &str) -> Vec<String> {
    let mut driven = Vec::new();
    for path in crate::devices(conn).await {
        let device_driver: String =
            crate::property(conn, path.as_str(), crate::DEVICE, "Driver").await;
        if device_driver == driver {
            driven.push(path.to_string());
        }
    }
    driven
}

/// Waits on `added` for the next SMS; returns its object path.
pub async fn next_message(added: &mut zbus::MessageStream) -> String {
    let found = tokio::time::timeout(MM_WAIT, async {
        while let Some(Ok(message)) = added.next().await {
            if let Ok((path, _received)) = message.body().deserialize::<(OwnedObjectPath, bool)>() {
                return Some(path.to_string());
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .expect("ModemManager announced no new SMS")
}

/// The SMS objects ModemManager lists for `modem`.
pub async fn mm_messages(conn: &Connection, modem: &str) -> Vec<OwnedObjectPath> {
    mm_property(conn, modem, MM_MESSAGING, "Messages").await
}
