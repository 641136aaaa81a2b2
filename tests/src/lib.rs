//! End-to-end test harness: a private system bus, the real `m2mhald` binary, `m2msim` ptys, and a
//! D-Bus client, exactly as an application on a gateway would see them.
//!
//! The binaries come from the workspace's target directory (`cargo build --workspace` first; the
//! test command in README.md does that).

pub mod reload;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use m2mhal_fake_bluez::bus::{BLUEZ_POLICY, PrivateBus};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use zbus::{Connection, OwnedObjectPath, OwnedVariant, Variant};

pub mod device_objects;
pub mod other_user;
pub mod plugin_files;
pub mod power_cut;
pub mod restart;

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
/// Gatt interface (BLE devices).
pub const GATT: &str = "org.m2mhal.Hal1.Gatt";
/// Sensor interface.
pub const SENSOR: &str = "org.m2mhal.Hal1.Sensor";

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
    bus: PrivateBus,
    /// `unix:path=...` address for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub address: String,
}

/// The default policy of a system bus (Debian's `system.conf`): everyone may connect and get
/// replies and signals, nobody may own a name or call a method unless a policy file allows it.
const SYSTEM_POLICY: &str = r#"<policy context="default">
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
  </policy>"#;

impl TestBus {
    /// Starts the bus and waits until it accepts connections.
    pub async fn start() -> TestBus {
        TestBus::start_with_policy("").await
    }

    /// Like [`TestBus::start`], with BlueZ's bus policy as well, for `m2msim ble`.
    pub async fn start_with_bluez() -> TestBus {
        TestBus::start_with_policy(BLUEZ_POLICY).await
    }

    /// Starts the bus with `extra` (`<policy>` elements) after the shipped policy.
    async fn start_with_policy(extra: &str) -> TestBus {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/dbus");
        let policy = format!(
            "{SYSTEM_POLICY}\n  <includedir>{}</includedir>\n  {extra}",
            shipped.display()
        );
        let bus = PrivateBus::start_with_policy(&policy)
            .await
            .expect("start the private bus");
        TestBus {
            address: bus.address().to_owned(),
            bus,
        }
    }

    /// A client connection.
    pub async fn connect(&self) -> Connection {
        self.bus
            .connect()
            .await
            .expect("connect to the private bus")
    }

    /// Lets every local user reach the bus socket (its directory is private by default), as on a
    /// real system bus.
    pub fn open_to_all_users(&self) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.bus.dir(), std::fs::Permissions::from_mode(0o755))
            .expect("open the bus directory");
    }
}

/// Polls `check` until it is true, failing the test after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll(
        what,
        async || if check().await { Ok(()) } else { Err(None) },
    )
    .await
}

/// Polls `probe` every 20 ms until it gives `Ok`; fails the test after [`WAIT`], naming `what`
/// it waited for and what `probe` saw last (its `Err`, if it says).
async fn poll<T>(what: &str, mut probe: impl AsyncFnMut() -> Result<T, Option<String>>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = match probe().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if tokio::time::Instant::now() >= deadline {
            match seen {
                Some(seen) => panic!("timed out waiting for {what}; last {seen}"),
                None => panic!("timed out waiting for {what}"),
            }
        }
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

/// Installs the test-only plugin `libm2mhal_<driver>.so` (built by a workspace member under
/// `tests/plugins/`) into `dir/plugins` as `libm2mhal_driver_<driver>.so`. Its built name is one
/// the daemon never loads, so no other test and no `make install` ever sees it.
pub fn install_test_plugin(dir: &Path, driver: &str) {
    let built = target_dir().join(format!("libm2mhal_{driver}.so"));
    assert!(
        built.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        built.display()
    );
    let installed = dir
        .join("plugins")
        .join(format!("libm2mhal_driver_{driver}.so"));
    std::fs::copy(&built, installed).expect("copy the test plugin");
}

/// A fresh directory for a daemon, with the built driver plugins installed in `plugins/`. Tests
/// that need more in the directory (extra plugin files, a damaged store) prepare it and use
/// [`Daemon::start_in`].
pub fn daemon_dir() -> tempfile::TempDir {
    let temp = tempfile::tempdir().expect("temp dir");
    install_plugins(temp.path());
    temp
}

/// Writes `m2mhald.toml` in `dir`: its `plugins/` and `state/` directories, then `extra`;
/// returns its path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let config = format!(
        "plugin_dirs = [\"{plugins}\"]\nstate_dir = \"{state}\"\n{extra}\n",
        plugins = dir.join("plugins").display(),
        state = dir.join("state").display(),
    );
    let config_path = dir.join("m2mhald.toml");
    std::fs::write(&config_path, config).expect("write daemon config");
    config_path
}

/// The `m2mhald` command for the config in `dir`, on `bus`, with debug logs on stderr.
fn daemon_command(bus: &TestBus, dir: &Path, extra: &str, env: &[(&str, &str)]) -> Command {
    let config_path = write_config(dir, extra);
    let mut command = Command::new(binary("m2mhald"));
    command
        .arg("--config")
        .arg(&config_path)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env("M2MHAL_LOG", "debug")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `m2mhald` with `extra` config in `dir` until it exits by itself (for configurations it
/// must refuse); returns its exit status and stderr. Fails the test if it is still running after
/// [`WAIT`].
pub async fn run_daemon_to_exit(
    bus: &TestBus,
    dir: &Path,
    extra: &str,
) -> (std::process::ExitStatus, String) {
    let child = daemon_command(bus, dir, extra, &[])
        .spawn()
        .expect("start m2mhald");
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("m2mhald exits by itself")
        .expect("wait for m2mhald");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("[m2mhald] {stderr}");
    (output.status, stderr)
}

impl Daemon {
    /// Starts the daemon with `extra` appended to a config naming a fresh plugin and state
    /// directory, and waits until it owns its bus name.
    pub async fn start(bus: &TestBus, extra: &str) -> Daemon {
        Daemon::start_with_env(bus, extra, &[]).await
    }

    /// Like [`Daemon::start`], with extra environment variables (e.g. `NOTIFY_SOCKET`).
    pub async fn start_with_env(bus: &TestBus, extra: &str, env: &[(&str, &str)]) -> Daemon {
        let temp = daemon_dir();
        let mut daemon = Daemon::start_in_with_env(bus, temp.path(), extra, env).await;
        daemon._temp = Some(temp);
        daemon
    }

    /// Starts the daemon in an existing directory (to restart on the same state).
    pub async fn start_in(bus: &TestBus, dir: &Path, extra: &str) -> Daemon {
        Daemon::start_in_with_env(bus, dir, extra, &[]).await
    }

    /// Like [`Daemon::start_in`], with extra environment variables.
    pub async fn start_in_with_env(
        bus: &TestBus,
        dir: &Path,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Daemon {
        let mut child = daemon_command(bus, dir, extra, env)
            .spawn()
            .expect("start m2mhald");
        let stderr = forward_lines(child.stderr.take().expect("stderr"), "m2mhald");
        let conn = bus.connect().await;
        wait_for_owner(&conn, BUS_NAME, "m2mhald").await;
        Daemon {
            child,
            dir: dir.to_owned(),
            _temp: None,
            conn,
            stderr,
        }
    }

    /// The daemon's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
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
        let mut lines = self.log_until(needle).await;
        lines.pop().unwrap_or_default()
    }

    /// Waits for a log line containing `needle`; returns the lines logged until then, that one
    /// last.
    pub async fn log_until(&mut self, needle: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = self.stderr.recv().await {
                let found = line.contains(needle);
                lines.push(line);
                if found {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(found == Ok(true), "m2mhald never logged {needle:?}");
        lines
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

/// A child process driven by command lines on its stdin, printing lines on its stdout (echoed to
/// the test's stderr); killed when dropped.
struct LineChild {
    _child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<String>,
    who: &'static str,
}

impl LineChild {
    /// Spawns `command` with its stdin and stdout piped; `who` names it in the log.
    fn spawn(command: &mut Command, who: &'static str) -> std::io::Result<LineChild> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let lines = forward_lines(child.stdout.take().expect("stdout is piped"), who);
        Ok(LineChild {
            _child: child,
            stdin,
            lines,
            who,
        })
    }

    /// Writes `line` and a newline.
    async fn send(&mut self, line: &str) {
        let who = self.who;
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap_or_else(|e| panic!("write to {who}: {e}"));
        self.stdin
            .flush()
            .await
            .unwrap_or_else(|e| panic!("flush {who} stdin: {e}"));
    }
}

/// Waits until `name` has an owner on the bus of `conn` (`who` is what should own it).
async fn wait_for_owner(conn: &Connection, name: &str, who: &str) {
    let dbus = zbus::fdo::DBusProxy::new(conn).await.expect("bus proxy");
    let bus_name = zbus::names::BusName::try_from(name).expect("bus name");
    wait_until(&format!("{who} to own {name}"), || async {
        dbus.name_has_owner(bus_name.clone()).await.unwrap_or(false)
    })
    .await;
}

/// The kinds of JSON line `m2msim` prints in answer to a control command (everything else is an
/// event such as `ready` or `sms-sent`).
const SIM_REPLY_KINDS: [&str; 6] = ["ok", "error", "status", "sms-list", "mo-list", "events"];

/// A running `m2msim` with its control stdin and JSON event stdout.
pub struct Sim {
    child: LineChild,
    /// Lines read while looking for something else, oldest first, for later `expect_*` calls.
    backlog: VecDeque<Value>,
    /// The `ready` lines, one per simulated device, in index order.
    pub ready: Vec<Value>,
}

impl Sim {
    /// Starts `m2msim <args>` and waits for `count` ready lines.
    pub async fn start(args: &[&str], count: usize) -> Sim {
        let child = LineChild::spawn(Command::new(binary("m2msim")).args(args), "m2msim")
            .expect("start m2msim");
        let mut sim = Sim {
            child,
            backlog: VecDeque::new(),
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

    /// Sends one control command line and returns the simulator's JSON reply to it. Commands are
    /// answered in order, so the reply is the next `ok`/`error`/`status`/`sms-list` line.
    pub async fn command(&mut self, line: &str) -> Value {
        self.child.send(line).await;
        self.next_line(&format!("the reply to {line:?}"), |value| {
            SIM_REPLY_KINDS.iter().any(|kind| value["event"] == *kind)
        })
        .await
    }

    /// Sends a control command that must succeed; returns the reply.
    pub async fn ok(&mut self, line: &str) -> Value {
        let reply = self.command(line).await;
        assert_ne!(reply["event"], "error", "m2msim refused {line:?}: {reply}");
        reply
    }

    /// The `status` of simulated device `index` (SIM, network, settings, stored messages).
    pub async fn status(&mut self, index: usize) -> Value {
        let reply = self.ok(&format!("@{index} status")).await;
        assert_eq!(reply["event"], "status", "{reply}");
        reply
    }

    /// The messages in the SIM storage of device `index` (the `messages` of `list`).
    pub async fn stored(&mut self, index: usize) -> Vec<Value> {
        let reply = self.ok(&format!("@{index} list")).await;
        assert_eq!(reply["event"], "sms-list", "{reply}");
        reply["messages"].as_array().expect("messages").clone()
    }

    /// Waits until the SIM storage of device `index` holds `count` messages.
    pub async fn wait_stored(&mut self, index: usize, count: usize) {
        let what = format!("the modem's storage to hold {count} messages");
        poll(&what, async || {
            let stored = self.stored(index).await;
            (stored.len() == count)
                .then_some(())
                .ok_or_else(|| Some(format!("storage {stored:?}")))
        })
        .await
    }

    /// Polls the `status` of device `index` until `accept` takes it; returns it.
    pub async fn wait_status(
        &mut self,
        index: usize,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        poll(what, async || {
            let status = self.status(index).await;
            if accept(&status) {
                Ok(status)
            } else {
                Err(Some(format!("status {status}")))
            }
        })
        .await
    }

    /// The mobile-originated messages the gateway of Iridium transceiver `index` received so
    /// far, oldest first (the `messages` of `list-mo`: `momsn`, `data_hex`, `text`).
    pub async fn gateway_mo(&mut self, index: usize) -> Vec<Value> {
        let reply = self.ok(&format!("@{index} list-mo")).await;
        assert_eq!(reply["event"], "mo-list", "{reply}");
        reply["messages"].as_array().expect("messages").clone()
    }

    /// Hangs up device `index` (the host reads end of file); returns the new pty path.
    pub async fn hangup(&mut self, index: usize) -> String {
        self.ok(&format!("@{index} hangup")).await;
        let ready = self
            .next_line("the ready line after hangup", |value| {
                value["event"] == "ready" && value["index"] == index
            })
            .await;
        self.ready[index] = ready;
        self.path(index)
    }

    /// Waits for the next JSON event whose `event` field is `kind`; other lines are kept for
    /// later calls.
    pub async fn expect_event(&mut self, kind: &str) -> Value {
        self.next_line(&format!("a {kind:?} event"), |value| value["event"] == kind)
            .await
    }

    /// The oldest line (kept or new) that `accept` takes; the others stay kept.
    async fn next_line(&mut self, what: &str, accept: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.backlog.iter().position(&accept) {
            return self.backlog.remove(at).expect("position is in range");
        }
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = self.child.lines.recv().await {
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if accept(&value) {
                    return Some(value);
                }
                self.backlog.push_back(value);
            }
            None
        })
        .await;
        match found {
            Ok(Some(value)) => value,
            _ => panic!("m2msim never printed {what}"),
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
        Err(zbus::Error::FDO(error)) => {
            use zbus::DBusError;
            Err((
                error.name().to_string(),
                error.description().unwrap_or_default().to_owned(),
            ))
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
    poll(
        &format!("a device on {port} in state {state}"),
        async || {
            for path in devices(conn).await {
                let path = path.as_str().to_owned();
                let device_port: String = property(conn, &path, DEVICE, "Port").await;
                let device_state: String = property(conn, &path, DEVICE, "State").await;
                if device_port == port && device_state == state {
                    return Ok(path);
                }
            }
            Err(None)
        },
    )
    .await
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

/// Prefix of the API's error names.
pub const ERROR_PREFIX: &str = "org.m2mhal.Hal1.Error.";

/// Asserts that `result` is the API error `org.m2mhal.Hal1.Error.<kind>`; returns its message,
/// which the API promises is never empty.
#[track_caller]
pub fn assert_hal_error<T: std::fmt::Debug>(
    result: Result<T, (String, String)>,
    kind: &str,
) -> String {
    match result {
        Ok(value) => panic!("expected {ERROR_PREFIX}{kind}, got success {value:?}"),
        Err((name, message)) => {
            assert_eq!(name, format!("{ERROR_PREFIX}{kind}"), "message: {message}");
            assert!(!message.is_empty(), "{name} carries no message");
            message
        }
    }
}

/// One simulated modem on a configured port of a running daemon, ready to use.
pub struct ModemRig {
    /// The daemon.
    pub daemon: Daemon,
    /// The simulator (device 0 is the modem of `path`).
    pub sim: Sim,
    /// The private bus.
    pub bus: TestBus,
    /// The pty of the modem.
    pub port: String,
    /// The device object of the modem.
    pub path: String,
}

impl ModemRig {
    /// Starts a bus, `m2msim <sim_args>` and a daemon whose config names device 0's port, plus
    /// `extra` config; waits until the device is `ready`.
    pub async fn start(sim_args: &[&str], extra: &str) -> ModemRig {
        let bus = TestBus::start().await;
        let sim = Sim::start(sim_args, 1).await;
        let port = sim.path(0);
        let daemon = Daemon::start(&bus, &format!("{}\n{extra}", port_config(&port))).await;
        let path = wait_for_device(&daemon.conn, &port, "ready").await;
        ModemRig {
            daemon,
            sim,
            bus,
            port,
            path,
        }
    }

    /// The test's connection to the daemon.
    pub fn conn(&self) -> &Connection {
        &self.daemon.conn
    }
}

/// A `[[port]]` table for `path`.
pub fn port_config(path: &str) -> String {
    format!("[[port]]\npath = \"{path}\"\n")
}

/// Polls a property until `accept` takes its value; returns it.
pub async fn wait_for_property<T>(
    conn: &Connection,
    path: &str,
    interface: &str,
    name: &str,
    accept: impl Fn(&T) -> bool,
) -> T
where
    T: TryFrom<OwnedVariant> + std::fmt::Debug,
    T::Error: std::fmt::Debug,
{
    poll(&format!("{interface}.{name} on {path}"), async || {
        accepted(property(conn, path, interface, name).await, &accept)
    })
    .await
}

/// `value` if `accept` takes it, else what it is (for the failure message of [`poll`]).
fn accepted<T: std::fmt::Debug>(
    value: T,
    accept: impl Fn(&T) -> bool,
) -> Result<T, Option<String>> {
    if accept(&value) {
        Ok(value)
    } else {
        Err(Some(format!("{value:?}")))
    }
}

/// The `PropertiesChanged` signals of the object at `path`.
pub async fn properties_changed(conn: &Connection, path: &str) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .path(path.to_owned())
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .expect("subscribe to PropertiesChanged")
}

/// The body of `PropertiesChanged`.
type PropertiesChangedBody = (String, HashMap<String, OwnedVariant>, Vec<String>);

/// Waits for a `PropertiesChanged` of `interface` on `stream` that carries property `name` with
/// a value `accept` takes; returns that value.
pub async fn next_property_change<T>(
    stream: &mut zbus::MessageStream,
    interface: &str,
    name: &str,
    accept: impl Fn(&T) -> bool,
) -> T
where
    T: TryFrom<OwnedVariant>,
{
    let (_, mut changed, _) = next_signal(stream, |(iface, changed, _): &PropertiesChangedBody| {
        iface == interface
            && changed
                .get(name)
                .and_then(|value| value.try_clone().ok())
                .and_then(|value| T::try_from(value).ok())
                .is_some_and(|value| accept(&value))
    })
    .await;
    let value = changed
        .remove(name)
        .expect("accepted change has the property");
    T::try_from(value).ok().expect("accepted change converts")
}

/// Options of `Messaging.Send`.
pub type SendOptions<'a> = HashMap<&'a str, Variant<'a>>;

/// `{"encoding": encoding}`.
pub fn encoding(encoding: &str) -> SendOptions<'_> {
    HashMap::from([("encoding", Variant::from(encoding))])
}

/// Calls `Messaging.Send`; the message id.
pub async fn send(
    conn: &Connection,
    path: &str,
    destination: &str,
    payload: &[u8],
    options: &SendOptions<'_>,
) -> Result<String, (String, String)> {
    call(
        conn,
        path,
        MESSAGING,
        "Send",
        &(destination, payload, options),
    )
    .await
}

/// Calls `Messaging.Send` with a text payload; the message id.
pub async fn send_text(
    conn: &Connection,
    path: &str,
    destination: &str,
    text: &str,
) -> Result<String, (String, String)> {
    send(conn, path, destination, text.as_bytes(), &encoding("text")).await
}

/// One message of `Messaging.List`.
pub type StoredMessage = HashMap<String, OwnedVariant>;

/// `Messaging.List`.
pub async fn list_messages(conn: &Connection, path: &str) -> Vec<StoredMessage> {
    call(conn, path, MESSAGING, "List", &())
        .await
        .expect("Messaging.List")
}

/// A value of a D-Bus dictionary, converted; fails the test when absent or of another type.
pub fn field<T>(dict: &HashMap<String, OwnedVariant>, key: &str) -> T
where
    T: TryFrom<OwnedVariant>,
    T::Error: std::fmt::Debug,
{
    let value = dict
        .get(key)
        .unwrap_or_else(|| panic!("no {key:?} in {dict:?}"))
        .try_clone()
        .expect("clone variant");
    T::try_from(value).expect("dictionary value type")
}

/// The body of `Messaging.Received`: id, peer, payload, info.
pub type ReceivedBody = (String, String, Vec<u8>, HashMap<String, OwnedVariant>);
/// The body of `Messaging.StateChanged`: id, state, error.
pub type StateChangedBody = (String, String, String);

/// Waits until the outgoing message `id` reaches `state` on a `StateChanged` stream; returns the
/// states seen for it, in order, including `state`.
pub async fn wait_message_state(
    stream: &mut zbus::MessageStream,
    id: &str,
    state: &str,
) -> Vec<StateChangedBody> {
    let mut seen = Vec::new();
    loop {
        let change: StateChangedBody =
            next_signal(stream, |(changed, _, _): &StateChangedBody| changed == id).await;
        let done = change.1 == state;
        seen.push(change);
        if done {
            return seen;
        }
    }
}

/// A `ReportKernelEvent` dictionary for a tty: `name` is the last component of `devnode`.
pub fn tty_event(
    action: &str,
    devnode: &str,
    properties: &[(&str, &str)],
) -> HashMap<&'static str, OwnedVariant> {
    let name = Path::new(devnode)
        .file_name()
        .expect("devnode has a name")
        .to_string_lossy()
        .into_owned();
    let properties: HashMap<String, String> = properties
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let owned = |value: Variant<'_>| OwnedVariant::try_from(value).expect("owned variant");
    HashMap::from([
        ("action", owned(Variant::from(action))),
        ("subsystem", owned(Variant::from("tty"))),
        ("name", owned(Variant::from(name))),
        ("devnode", owned(Variant::from(devnode))),
        ("properties", owned(Variant::from(properties))),
    ])
}

/// Calls `Manager.ReportKernelEvent`.
pub async fn report_kernel_event(
    conn: &Connection,
    event: &HashMap<&str, OwnedVariant>,
) -> Result<(), (String, String)> {
    call(conn, MANAGER_PATH, MANAGER, "ReportKernelEvent", &(event,)).await
}

/// What a finished `m2mctl` run printed and returned.
#[derive(Debug)]
pub struct CtlOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `m2mctl <args>` against `bus_address` (as `DBUS_SYSTEM_BUS_ADDRESS`) and waits for it.
pub async fn m2mctl(bus_address: &str, args: &[&str]) -> CtlOutput {
    run_m2mctl(bus_address, None, args).await
}

/// Like [`m2mctl`], as the unprivileged user `uid` (the test must run as root, and the bus must
/// be open to that user: [`TestBus::open_to_all_users`]).
pub async fn m2mctl_as_user(bus_address: &str, uid: u32, args: &[&str]) -> CtlOutput {
    run_m2mctl(bus_address, Some(uid), args).await
}

async fn run_m2mctl(bus_address: &str, uid: Option<u32>, args: &[&str]) -> CtlOutput {
    let as_user = uid.map(|uid| (uid, other_user::ReachableBinary::new("m2mctl")));
    let mut command = match &as_user {
        Some((uid, m2mctl)) => {
            let mut command = Command::new(m2mctl.path());
            command.current_dir(m2mctl.dir()).uid(*uid).gid(*uid);
            command
        }
        None => Command::new(binary("m2mctl")),
    };
    let child = command
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start m2mctl");
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("m2mctl {args:?} did not finish"))
        .expect("wait for m2mctl");
    let output = CtlOutput {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!("[m2mctl {args:?}] {output:?}");
    output
}

/// Watches files for being opened by anybody (inotify `IN_OPEN`), to prove a port was or was
/// never touched.
pub struct OpenWatch {
    inotify: nix::sys::inotify::Inotify,
    watches: HashMap<nix::sys::inotify::WatchDescriptor, PathBuf>,
    opened: Vec<PathBuf>,
}

impl OpenWatch {
    /// Starts watching `paths`.
    pub fn new(paths: &[&str]) -> OpenWatch {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let inotify =
            Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).expect("inotify");
        let watches = paths
            .iter()
            .map(|path| {
                let watch = inotify
                    .add_watch(*path, AddWatchFlags::IN_OPEN)
                    .expect("watch a path");
                (watch, PathBuf::from(path))
            })
            .collect();
        OpenWatch {
            inotify,
            watches,
            opened: Vec::new(),
        }
    }

    /// Every watched path opened since the watch began (each once).
    pub fn opened(&mut self) -> Vec<PathBuf> {
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for event in events {
                if let Some(path) = self.watches.get(&event.wd)
                    && !self.opened.contains(path)
                {
                    self.opened.push(path.clone());
                }
            }
        }
        self.opened.clone()
    }
}

/// The `Id` of every current device object, with its path.
pub async fn device_ids(conn: &Connection) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    for path in devices(conn).await {
        let id: String = property(conn, path.as_str(), DEVICE, "Id").await;
        ids.push((id, path.as_str().to_owned()));
    }
    ids
}

/// Waits for the device with `Id` = `id` to be in `state`; returns its object path.
pub async fn wait_for_device_id(conn: &Connection, id: &str, state: &str) -> String {
    poll(&format!("device {id} in state {state}"), async || {
        for (device_id, path) in device_ids(conn).await {
            if device_id == id {
                let device_state: String = property(conn, &path, DEVICE, "State").await;
                if device_state == state {
                    return Ok(path);
                }
            }
        }
        Err(None)
    })
    .await
}

/// `Sensor.Readings` of the device at `path`, as numbers.
pub async fn readings(conn: &Connection, path: &str) -> HashMap<String, f64> {
    let readings: HashMap<String, OwnedVariant> = property(conn, path, SENSOR, "Readings").await;
    readings
        .into_iter()
        .map(|(key, value)| {
            let value = f64::try_from(value).expect("readings are doubles");
            (key, value)
        })
        .collect()
}

/// Polls `Sensor.Readings` until `accept` takes them; returns them.
pub async fn wait_for_readings(
    conn: &Connection,
    path: &str,
    accept: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    poll(&format!("readings on {path}"), async || {
        accepted(readings(conn, path).await, &accept)
    })
    .await
}

/// `[ble]` config scanning adapter `hci0`, with `extra` after it (`allow = [...]`, more tables).
pub fn ble_config(extra: &str) -> String {
    format!("[ble]\nenabled = true\nadapter = \"hci0\"\n{extra}\n")
}

/// A private bus with BlueZ's policy, `m2msim ble` serving org.bluez on it, and a daemon with
/// BLE enabled.
pub struct BleRig {
    /// The daemon.
    pub daemon: Daemon,
    /// The simulator; add peripherals and drive them with its control commands.
    pub sim: Sim,
    /// The private bus.
    pub bus: TestBus,
}

impl BleRig {
    /// Starts the bus and `m2msim ble` (peripherals advertise every 200 ms), runs the control
    /// commands `setup` (each must succeed), then starts the daemon with `config` (which should
    /// hold a `[ble]` table, see [`ble_config`]).
    pub async fn start(setup: &[&str], config: &str) -> BleRig {
        let bus = TestBus::start_with_bluez().await;
        let mut sim = Sim::start(&["ble", "--bus", &bus.address, "--adv-interval", "200"], 1).await;
        for line in setup {
            sim.ok(line).await;
        }
        let daemon = Daemon::start(&bus, config).await;
        BleRig { daemon, sim, bus }
    }

    /// The test's connection to the daemon.
    pub fn conn(&self) -> &Connection {
        &self.daemon.conn
    }
}

/// The distribution's Python, which has the `gi` (umockdev) and `dbusmock` modules; a `python3`
/// found first in `PATH` (pyenv's, say) may lack them.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Whether [`SYSTEM_PYTHON`] can import `module`.
pub fn python_has(module: &str) -> bool {
    std::process::Command::new(SYSTEM_PYTHON)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// umockdev's preload library: it shows a process the testbed's `/sys` and `/dev` and its
/// uevents instead of the system's.
const UMOCKDEV_PRELOAD: &str = "libumockdev-preload.so.0";

/// A umockdev testbed run by `tests/umockdev/fake_usb.py` (see its doc string): a fake USB
/// modem whose `/dev/ttyUSB2` is a pty of `m2msim`, and a fake untagged Arduino. The helper
/// bind-mounts ptys into the testbed, so the tests must run as root.
pub struct FakeUsb {
    child: LineChild,
    /// The testbed's root directory (`UMOCKDEV_DIR`).
    pub root: String,
    /// The pty behind the Arduino's `/dev/ttyACM0`: opening the node opens it.
    pub arduino_pty: String,
}

impl FakeUsb {
    /// Starts the helper and waits for its testbed.
    pub async fn start() -> FakeUsb {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("umockdev/fake_usb.py");
        let mut command = Command::new(SYSTEM_PYTHON);
        command.arg(script).env("LD_PRELOAD", UMOCKDEV_PRELOAD);
        let child = LineChild::spawn(&mut command, "fake_usb")
            .expect("start fake_usb.py (packages umockdev, gir1.2-umockdev-1.0, python3-gi)");
        let mut fake = FakeUsb {
            child,
            root: String::new(),
            arduino_pty: String::new(),
        };
        let ready = fake.next_line().await;
        assert_eq!(ready["event"], "ready", "{ready}");
        fake.root = ready["root"].as_str().expect("root").to_owned();
        fake.arduino_pty = ready["arduino"].as_str().expect("arduino").to_owned();
        fake
    }

    /// The environment that puts a process (the daemon) into the testbed.
    pub fn env(&self) -> [(&str, &str); 2] {
        [
            ("UMOCKDEV_DIR", self.root.as_str()),
            ("LD_PRELOAD", UMOCKDEV_PRELOAD),
        ]
    }

    /// Runs one helper command (`add-modem PTY`, `remove-modem`, `add-arduino`), which must
    /// succeed.
    pub async fn ok(&mut self, line: &str) {
        self.child.send(line).await;
        let reply = self.next_line().await;
        assert_eq!(
            reply["event"], "ok",
            "fake_usb.py refused {line:?}: {reply}"
        );
    }

    async fn next_line(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.child.lines.recv())
            .await
            .ok()
            .flatten()
            .expect("fake_usb.py answers");
        serde_json::from_str(&line).expect("fake_usb.py prints JSON")
    }
}

impl Drop for FakeUsb {
    /// Undoes what the helper cannot once it is killed: its bind mounts and its testbed.
    fn drop(&mut self) {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let inside = format!("{}/", self.root);
        for point in mounts
            .lines()
            .filter_map(|line| line.split(' ').nth(1))
            .filter(|point| point.starts_with(&inside))
        {
            let _ = std::process::Command::new("umount")
                .args(["-l", point])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// What polkit's own bus policy grants: root owns `org.freedesktop.PolicyKit1`, everyone may
/// call it (for the mock polkitd of [`MockPolkit`]).
const POLKIT_POLICY: &str = r#"<policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>"#;

impl TestBus {
    /// Like [`TestBus::start`], with polkit's bus policy as well, for [`MockPolkit`].
    pub async fn start_with_polkit() -> TestBus {
        TestBus::start_with_policy(POLKIT_POLICY).await
    }
}

/// A python-dbusmock template serving `name` on a private bus.
struct DbusMock {
    child: Child,
    conn: Connection,
}

impl DbusMock {
    /// Starts `python3 -m dbusmock --system --template <template>` on `bus` and waits until it
    /// owns `name`.
    async fn start(bus: &TestBus, template: &str, name: &str) -> DbusMock {
        let child = Command::new(SYSTEM_PYTHON)
            .args(["-m", "dbusmock", "--system", "--template", template])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start python3 -m dbusmock");
        let conn = bus.connect().await;
        wait_for_owner(&conn, name, &format!("dbusmock's {template} template")).await;
        DbusMock { child, conn }
    }

    /// Stops the mock and waits until it is gone (and with it the names it owned).
    async fn stop(mut self) {
        self.child.kill().await.expect("stop dbusmock");
    }

    /// Calls `method` of `interface` on `path` of the mock, which must succeed.
    async fn call<B>(&self, name: &str, path: &str, interface: &str, method: &str, body: &B)
    where
        B: serde::Serialize + zbus::Type,
    {
        self.conn
            .call_method(Some(name), path, Some(interface), method, body)
            .await
            .unwrap_or_else(|e| panic!("{interface}.{method} on the mock {path}: {e}"));
    }
}

/// Whether python-dbusmock is installed (package python3-dbusmock).
pub fn dbusmock_available() -> bool {
    python_has("dbusmock")
}

/// python-dbusmock's polkitd template on a private bus: it denies every action until told
/// otherwise with [`MockPolkit::set_allowed`].
pub struct MockPolkit {
    mock: DbusMock,
}

/// polkit's bus name.
const POLKIT_NAME: &str = "org.freedesktop.PolicyKit1";

impl MockPolkit {
    /// Starts the mock on `bus` (started with [`TestBus::start_with_polkit`]) and waits until it
    /// owns polkit's name.
    pub async fn start(bus: &TestBus) -> MockPolkit {
        MockPolkit {
            mock: DbusMock::start(bus, "polkitd", POLKIT_NAME).await,
        }
    }

    /// Makes polkit authorize exactly `actions` (for any subject).
    pub async fn set_allowed(&self, actions: &[&str]) {
        self.mock
            .call(
                POLKIT_NAME,
                "/org/freedesktop/PolicyKit1/Authority",
                "org.freedesktop.DBus.Mock",
                "SetAllowed",
                &(actions,),
            )
            .await;
    }
}

/// BlueZ's bus name.
const BLUEZ_NAME: &str = "org.bluez";

/// python-dbusmock's bluez5 template: a BlueZ fake written by others from BlueZ's documented
/// API, to check the daemon against more than the project's own fake.
pub struct MockBluez {
    mock: DbusMock,
}

impl MockBluez {
    /// Starts the mock on `bus` (started with [`TestBus::start_with_bluez`]) with adapter
    /// `hci0` and no devices.
    pub async fn start(bus: &TestBus) -> MockBluez {
        let bluez = MockBluez {
            mock: DbusMock::start(bus, "bluez5", BLUEZ_NAME).await,
        };
        bluez
            .mock
            .call(
                BLUEZ_NAME,
                "/org/bluez",
                "org.bluez.Mock",
                "AddAdapter",
                &("hci0", "gateway"),
            )
            .await;
        bluez
    }

    /// Stops the mock, as bluetoothd stopping: `org.bluez` loses its owner.
    pub async fn stop(self) {
        self.mock.stop().await;
    }

    /// A device object for `address` named `name` appears on `hci0`.
    pub async fn add_device(&self, address: &str, name: &str) {
        self.mock
            .call(
                BLUEZ_NAME,
                "/org/bluez",
                "org.bluez.Mock",
                "AddDevice",
                &("hci0", address, name),
            )
            .await;
    }

    /// How often the adapter's `method` was called so far.
    pub async fn adapter_calls(&self, method: &str) -> usize {
        type Call = (u64, String, Vec<zbus::OwnedVariant>);
        let reply = self
            .mock
            .conn
            .call_method(
                Some(BLUEZ_NAME),
                "/org/bluez/hci0",
                Some("org.freedesktop.DBus.Mock"),
                "GetCalls",
                &(),
            )
            .await
            .expect("GetCalls on the mock adapter");
        let calls: Vec<Call> = reply.body().deserialize().expect("GetCalls reply");
        calls.iter().filter(|(_, name, _)| name == method).count()
    }

    /// The device advertises `data` as service data of the 128-bit `uuid`: its `ServiceData`
    /// property changes, as BlueZ changes it.
    pub async fn set_service_data(&self, address: &str, uuid: &str, data: &[u8]) {
        let path = format!("/org/bluez/hci0/dev_{}", address.replace(':', "_"));
        let service_data = HashMap::from([(uuid, zbus::Variant::from(data))]);
        self.mock
            .call(
                BLUEZ_NAME,
                &path,
                "org.freedesktop.DBus.Properties",
                "Set",
                &(
                    "org.bluez.Device1",
                    "ServiceData",
                    zbus::Variant::from(service_data),
                ),
            )
            .await;
    }
}
