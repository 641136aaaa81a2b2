//! End-to-end test harness: a private system bus, the real `m2mhald` binary, `m2msim` ptys, and a
//! D-Bus client, exactly as an application on a gateway would see them.
//!
//! The binaries come from the workspace's target directory (`cargo build --workspace` first; the
//! test command in README.md does that).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use zbus::{Connection, OwnedObjectPath, OwnedVariant};

/// The daemon's bus name.
pub const BUS_NAME: &str = "org.m2mhal.Hal1";
/// The manager object.
pub const MANAGER_PATH: &str = "/org/m2mhal/Hal1";
/// Interface names.
pub const MANAGER: &str = "org.m2mhal.Hal1.Manager";
/// Device interface.
pub const DEVICE: &str = "org.m2mhal.Hal1.Device";
/// Signal interface.
pub const SIGNAL: &str = "org.m2mhal.Hal1.Signal";
/// Messaging interface.
pub const MESSAGING: &str = "org.m2mhal.Hal1.Messaging";

/// How long the harness waits for anything before a test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// The workspace's target directory for this profile (where the binaries and plugins are).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // Tests live in target/<profile>/deps/, binaries such as the benchmark in target/<profile>/.
    let dir = exe.parent().expect("target directory");
    if dir.ends_with("deps") {
        dir.parent().expect("target directory").to_owned()
    } else {
        dir.to_owned()
    }
}

/// Path of a workspace binary, checked to exist.
pub fn binary(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        path.display()
    );
    path
}

/// A private `dbus-daemon` configured like a system bus, with m2mhal's shipped policy included.
pub struct TestBus {
    child: Child,
    /// Holds the socket and config.
    pub dir: tempfile::TempDir,
    /// `unix:path=...` address for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub address: String,
}

impl TestBus {
    /// Starts the bus and waits until it accepts connections.
    pub async fn start() -> TestBus {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("system_bus_socket");
        let policy_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/dbus");
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
  </policy>
  <includedir>{policy}</includedir>
</busconfig>
"#,
            socket = socket.display(),
            policy = policy_dir.display()
        );
        let config_path = dir.path().join("system.conf");
        std::fs::write(&config_path, config).expect("write bus config");
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config_path.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-daemon must be installed (package dbus)");
        let address = format!("unix:path={}", socket.display());
        let bus = TestBus {
            child,
            dir,
            address,
        };
        wait_until("the private bus to accept connections", || async {
            bus.connect_raw().await.is_ok()
        })
        .await;
        bus
    }

    async fn connect_raw(&self) -> zbus::Result<Connection> {
        zbus::connection::Builder::address(self.address.as_str())
            .build()
            .await
    }

    /// A client connection.
    pub async fn connect(&self) -> Connection {
        self.connect_raw()
            .await
            .expect("connect to the private bus")
    }

    /// The bus daemon's pid (to check it is still up).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Polls `check` until it is true, failing the test after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running `m2mhald` with its own config and state directory.
pub struct Daemon {
    child: Child,
    /// Config, state and plugin directories live here.
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    /// Connection used by the test to talk to the daemon.
    pub conn: Connection,
    stderr: mpsc::UnboundedReceiver<String>,
}

/// Directory with the built driver plugins copied in, as an operator would install them.
pub fn install_plugins(dir: &Path) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugin dir");
    for entry in std::fs::read_dir(target_dir()).expect("target dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("libm2mhal_driver_") && name.ends_with(".so") {
            std::fs::copy(entry.path(), plugins.join(&name)).expect("copy plugin");
        }
    }
    plugins
}

impl Daemon {
    /// Starts the daemon with `extra` appended to a config naming a fresh plugin and state
    /// directory, and waits until it owns its bus name.
    pub async fn start(bus: &TestBus, extra: &str) -> Daemon {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_owned();
        install_plugins(&dir);
        let mut daemon = Daemon::start_in(bus, &dir, extra).await;
        daemon._temp = Some(temp);
        daemon
    }

    /// Starts the daemon in an existing directory (to restart on the same state).
    pub async fn start_in(bus: &TestBus, dir: &Path, extra: &str) -> Daemon {
        let config = format!(
            "plugin_dirs = [\"{plugins}\"]\nstate_dir = \"{state}\"\n{extra}\n",
            plugins = dir.join("plugins").display(),
            state = dir.join("state").display(),
        );
        let config_path = dir.join("m2mhald.toml");
        std::fs::write(&config_path, config).expect("write daemon config");
        let mut child = Command::new(binary("m2mhald"))
            .arg("--config")
            .arg(&config_path)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("M2MHAL_LOG", "debug")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start m2mhald");
        let stderr = forward_lines(child.stderr.take().expect("stderr"), "m2mhald");
        let conn = bus.connect().await;
        let dbus = zbus::fdo::DBusProxy::new(&conn).await.expect("bus proxy");
        wait_until("m2mhald to own org.m2mhal.Hal1", || async {
            dbus.name_has_owner(BUS_NAME.try_into().expect("name"))
                .await
                .unwrap_or(false)
        })
        .await;
        Daemon {
            child,
            dir: dir.to_owned(),
            _temp: None,
            conn,
            stderr,
        }
    }

    /// Sends SIGTERM and returns the exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("m2mhald exits after SIGTERM")
            .expect("wait for m2mhald")
    }

    /// Waits for a log line containing `needle`.
    pub async fn expect_log(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = self.stderr.recv().await {
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!("m2mhald never logged {needle:?}"),
        }
    }
}

/// Echoes a child's output lines to the test's stderr and hands them to the test.
fn forward_lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    who: &'static str,
) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{who}] {line}");
            let _ = tx.send(line);
        }
    });
    rx
}

/// A running `m2msim` with its control stdin and JSON event stdout.
pub struct Sim {
    _child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<String>,
    /// The `ready` lines, one per simulated device, in index order.
    pub ready: Vec<Value>,
}

impl Sim {
    /// Starts `m2msim <args>` and waits for `count` ready lines.
    pub async fn start(args: &[&str], count: usize) -> Sim {
        let mut child = Command::new(binary("m2msim"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start m2msim");
        let stdin = child.stdin.take().expect("stdin");
        let events = forward_lines(child.stdout.take().expect("stdout"), "m2msim");
        let mut sim = Sim {
            _child: child,
            stdin,
            events,
            ready: Vec::new(),
        };
        for _ in 0..count {
            let ready = sim.expect_event("ready").await;
            sim.ready.push(ready);
        }
        sim
    }

    /// The pty path of simulated device `index`.
    pub fn path(&self, index: usize) -> String {
        self.ready[index]["path"]
            .as_str()
            .expect("ready line has a path")
            .to_owned()
    }

    /// Sends one control command line.
    pub async fn command(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to m2msim");
        self.stdin.flush().await.expect("flush m2msim stdin");
    }

    /// Waits for the next JSON event whose `event` field is `kind`, skipping others.
    pub async fn expect_event(&mut self, kind: &str) -> Value {
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = self.events.recv().await {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && value["event"] == kind
                {
                    return Some(value);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(value)) => value,
            _ => panic!("m2msim never reported a {kind:?} event"),
        }
    }
}

/// Reads one property.
pub async fn property<T>(conn: &Connection, path: &str, interface: &str, name: &str) -> T
where
    T: TryFrom<OwnedVariant>,
    T::Error: std::fmt::Debug,
{
    let proxy = zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.to_owned())
        .build()
        .await
        .expect("properties proxy");
    let value = proxy
        .get(interface.try_into().expect("interface name"), name)
        .await
        .unwrap_or_else(|e| panic!("Get {interface}.{name} on {path}: {e}"));
    T::try_from(value).expect("property type")
}

/// Every property of one interface.
pub async fn properties(
    conn: &Connection,
    path: &str,
    interface: &str,
) -> HashMap<String, OwnedVariant> {
    let proxy = zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.to_owned())
        .build()
        .await
        .expect("properties proxy");
    proxy
        .get_all(interface.try_into().expect("interface name"))
        .await
        .unwrap_or_else(|e| panic!("GetAll {interface} on {path}: {e}"))
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Calls a method on the daemon; the error's name and message on failure.
pub async fn call<B, R>(
    conn: &Connection,
    path: &str,
    interface: &str,
    method: &str,
    body: &B,
) -> Result<R, (String, String)>
where
    B: serde::Serialize + zbus::Type,
    R: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    let reply = conn
        .call_method(Some(BUS_NAME), path, Some(interface), method, body)
        .await;
    match reply {
        Ok(message) => message
            .body()
            .deserialize::<R>()
            .map_err(|e| ("reply".to_owned(), e.to_string())),
        Err(zbus::Error::MethodError(name, text, _)) => {
            Err((name.to_string(), text.unwrap_or_default()))
        }
        Err(e) => Err(("transport".to_owned(), e.to_string())),
    }
}

/// Current device object paths.
pub async fn devices(conn: &Connection) -> Vec<OwnedObjectPath> {
    property(conn, MANAGER_PATH, MANAGER, "Devices").await
}

/// Waits for a device on `port` whose `State` is `state`; returns its object path.
pub async fn wait_for_device(conn: &Connection, port: &str, state: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        for path in devices(conn).await {
            let path = path.as_str().to_owned();
            let device_port: String = property(conn, &path, DEVICE, "Port").await;
            let device_state: String = property(conn, &path, DEVICE, "State").await;
            if device_port == port && device_state == state {
                return path;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for a device on {port} in state {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Subscribes to a signal of the daemon; returns a stream of its messages.
pub async fn subscribe(
    conn: &Connection,
    interface: &'static str,
    member: &'static str,
) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(interface)
        .member(member)
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .expect("subscribe")
}

/// Waits for the next message of `stream` matching `accept`.
pub async fn next_signal<T>(
    stream: &mut zbus::MessageStream,
    mut accept: impl FnMut(&T) -> bool,
) -> T
where
    T: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    let found = tokio::time::timeout(WAIT, async {
        while let Some(Ok(message)) = stream.next().await {
            if let Ok(body) = message.body().deserialize::<T>()
                && accept(&body)
            {
                return Some(body);
            }
        }
        None
    })
    .await;
    found.ok().flatten().expect("signal did not arrive in time")
}
