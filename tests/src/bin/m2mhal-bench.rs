//! `m2mhal-bench`: how fast and how small `m2mhald` is, measured end to end against the real daemon
//! on a private system bus with `m2msim` modems, the way an application on a gateway sees it.
//!
//! Run it with `cargo build --release --workspace && cargo run --release -p m2mhal-tests --bin
//! m2mhal-bench`; docs/benchmarks.md explains every figure. The table goes to stdout, the
//! simulators' event lines to stderr. `m2mhal-bench --routing` measures the Router's figures
//! alone (it needs only m2mhald, m2msim and the cellular driver built).

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use m2mhal_tests::bench_routing::{
    DRAINED, Drain, SENDS, SendCost, drain, route_config, send_cost,
};
use m2mhal_tests::bench_stats::{
    Samples, cpu_ticks, load_average, runtime_between, status_kib, thread_runtimes,
    ticks_per_second,
};
use m2mhal_tests::modemmanager::{MM_MODEM, MmRig, mm_proxy, wait_for_mm_property};
use m2mhal_tests::ready_watch::{DeviceChanges, string_property};
use m2mhal_tests::{
    BUS_NAME, DEVICE, MANAGER, MANAGER_PATH, SIGNAL, Sim, TestBus, daemon_dir, port_config,
    wait_for_property,
};
use tokio::process::{Child, Command};
use zbus::{Connection, MessageStream, OwnedVariant, Variant};

/// Timed daemon starts and timed port-to-ready runs (one untimed warm-up run comes first).
const RUNS: usize = 10;
/// Sequential `Get` calls (and as many `Ping`s) timed for the latency figure.
const CALLS: usize = 5000;
/// Untimed calls of each kind before the timed ones.
const WARMUP_CALLS: usize = 200;
/// Sequential `Device.Command("AT")` calls timed for the driver round trip figure.
const DRIVER_CALLS: usize = 500;
/// The config that runs the cellular driver in worker processes.
const ISOLATED: &str = "isolated_drivers = [\"cellular\"]\n";
/// Modems of the large fleet.
const FLEET: usize = 64;
/// Window over which idle CPU is measured: one default `signal_interval` (30 s).
const IDLE_WINDOW: Duration = Duration::from_secs(30);
/// Pause between the last device becoming ready and the idle measurements: longer than the 10 s
/// tokio keeps an unused blocking thread (the store's), so the thread set is stable in the window.
const SETTLE: Duration = Duration::from_secs(12);
/// How long any single wait of the benchmark may take before it gives up.
const WAIT: Duration = Duration::from_secs(60);

/// Target: p90 of port announced to device ready.
const READY_TARGET: Duration = Duration::from_millis(500);
/// `Get` p50 may be at most this many times the `Ping` p50.
const LATENCY_TARGET_RATIO: f64 = 2.0;
/// VmRSS with one modem ready, in KiB (12 MiB).
const RSS_TARGET_KIB: u64 = 12 * 1024;
/// What the routing layer may add to a send's p50.
const ROUTING_TARGET: Duration = Duration::from_millis(1);

/// The argument that runs the Router's figures alone.
const ROUTING_ONLY: &str = "--routing";
/// The argument (followed by a number of runs) that repeats part 2 alone, the daemon logging at
/// `M2MHAL_LOG` or debug level into a directory that is kept when a run fails.
const PORT_TO_READY_ONLY: &str = "--port-to-ready";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let machine = Machine::read();
    let bus = TestBus::start().await;
    if std::env::args().any(|arg| arg == ROUTING_ONLY) {
        let routing = Routing::measure(&bus).await;
        machine.print();
        routing.print();
        return;
    }
    if let Some(runs) = repeated_runs() {
        let probed = port_to_ready(&bus, ("ID_M2MHAL_CANDIDATE", "1"), runs).await;
        let named = port_to_ready(&bus, ("ID_M2MHAL_DRIVER", "cellular"), runs).await;
        machine.print();
        println!("| figure | median | p90 / p99 | max | target |");
        println!("|---|---|---|---|---|");
        print_port_to_ready(&probed, &named, runs);
        return;
    }

    progress("1. daemon start");
    let start = daemon_start(&bus).await;
    progress("2. port to ready");
    let probed = port_to_ready(&bus, ("ID_M2MHAL_CANDIDATE", "1"), RUNS).await;
    let named = port_to_ready(&bus, ("ID_M2MHAL_DRIVER", "cellular"), RUNS).await;

    progress("4./5. one modem, idle");
    let one = Fleet::start(&bus, 1, "").await;
    let one_idle = one.idle().await;
    progress("3. Get latency");
    let latency = get_latency(&one.conn, &one.devices[0]).await;
    progress("3b. driver round trip");
    let round_trip = driver_round_trip(&one.conn, &one.devices[0]).await;
    one.stop().await;

    progress("3./3b. the same with the cellular driver isolated");
    let isolated = Fleet::start(&bus, 1, ISOLATED).await;
    let isolated_latency = get_latency(&isolated.conn, &isolated.devices[0]).await;
    let isolated_round_trip = driver_round_trip(&isolated.conn, &isolated.devices[0]).await;
    isolated.stop().await;

    progress("4./5. 64 modems, idle");
    let many = Fleet::start(&bus, FLEET, "").await;
    let many_idle = many.idle().await;
    let many_ready = many.all_ready;
    many.stop().await;

    let routing = Routing::measure(&bus).await;

    progress("7. served through ModemManager");
    let served_through_mm = served_through_modemmanager().await;

    let report = Report {
        machine,
        start,
        probed,
        named,
        latency,
        isolated_latency,
        round_trip,
        isolated_round_trip,
        one_idle,
        many_idle,
        many_ready,
        served_through_mm,
    };
    report.print();
    routing.print();
}

/// Tells the person waiting what is being measured now (on stderr, away from the table).
fn progress(what: &str) {
    eprintln!("[bench] {what}");
}

// ---------------------------------------------------------------------------------------------
// Statistics

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

// ---------------------------------------------------------------------------------------------
// The machine and the daemon process, from /proc

/// What the numbers were measured on.
struct Machine {
    cores: usize,
    cpu: String,
    kernel: String,
    profile: &'static str,
    load_before: String,
    /// The driver plugins every daemon of the run loads.
    plugins: Vec<String>,
}

impl Machine {
    fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or("unknown", |(_, name)| name.trim())
            .to_owned();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            kernel,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_before: load_average(),
            plugins: installed_plugins(),
        }
    }
}

/// File names of the driver plugins a daemon of this run loads (what `daemon_dir` installs).
fn installed_plugins() -> Vec<String> {
    let dir = daemon_dir();
    let mut plugins: Vec<String> = std::fs::read_dir(dir.path().join("plugins"))
        .expect("plugin directory")
        .filter_map(|entry| Some(entry.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    plugins.sort();
    plugins
}

// ---------------------------------------------------------------------------------------------
// The daemon under test

/// An `m2mhald` started by the benchmark, logging at its default level into `dir/m2mhald.log`.
struct BenchDaemon {
    child: Child,
    pid: u32,
}

impl BenchDaemon {
    /// Spawns the daemon with a config naming `dir`'s plugins and state plus `extra`; does not
    /// wait for anything.
    fn spawn(bus: &TestBus, dir: &Path, extra: &str) -> BenchDaemon {
        let config_path = m2mhal_tests::write_config(dir, extra);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("m2mhald.log"))
            .expect("daemon log file");
        let child = Command::new(m2mhal_tests::binary("m2mhald"))
            .arg("--config")
            .arg(&config_path)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("M2MHAL_LOG", daemon_log_level())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start m2mhald");
        let pid = child.id().expect("m2mhald pid");
        BenchDaemon { child, pid }
    }

    /// Spawns the daemon and waits until it owns its bus name.
    async fn start(bus: &TestBus, conn: &Connection, dir: &Path, extra: &str) -> BenchDaemon {
        let mut owners = name_owner_changes(conn).await;
        let daemon = BenchDaemon::spawn(bus, dir, extra);
        name_acquired(&mut owners).await;
        daemon
    }

    /// SIGTERM, then waits for the exit.
    async fn stop(mut self) {
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .expect("kill");
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("m2mhald exits after SIGTERM")
            .expect("wait for m2mhald");
    }
}

/// The daemons' log level: their default (`info`); when part 2 is repeated alone, `M2MHAL_LOG`
/// or `debug`.
fn daemon_log_level() -> String {
    if std::env::args().any(|arg| arg == PORT_TO_READY_ONLY) {
        std::env::var("M2MHAL_LOG").unwrap_or_else(|_| "debug".to_owned())
    } else {
        "info".to_owned()
    }
}

/// The number of runs after [`PORT_TO_READY_ONLY`], if part 2 is to be repeated alone.
fn repeated_runs() -> Option<usize> {
    let mut args = std::env::args().skip_while(|arg| arg != PORT_TO_READY_ONLY);
    args.next()?;
    Some(
        args.next()
            .and_then(|runs| runs.parse().ok())
            .unwrap_or_else(|| panic!("{PORT_TO_READY_ONLY} takes a number of runs")),
    )
}

// ---------------------------------------------------------------------------------------------
// Bus helpers

/// Signals matching the rule `builder` describes, subscribed now.
async fn signals(conn: &Connection, builder: zbus::match_rule::Builder<'_>) -> MessageStream {
    let rule = builder
        .msg_type(zbus::message::Type::Signal)
        .build()
        .expect("match rule");
    MessageStream::for_match_rule(rule, conn, None)
        .await
        .expect("subscribe")
}

/// `NameOwnerChanged` for the daemon's name.
async fn name_owner_changes(conn: &Connection) -> MessageStream {
    let rule = zbus::MatchRule::builder()
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .arg(0, BUS_NAME);
    signals(conn, rule).await
}

/// Waits until the daemon's name gets an owner.
async fn name_acquired(owners: &mut MessageStream) {
    let acquired = async {
        while let Some(Ok(message)) = owners.next().await {
            let (name, _old, new): (String, String, String) =
                message.body().deserialize().expect("NameOwnerChanged body");
            if name == BUS_NAME && !new.is_empty() {
                return;
            }
        }
        panic!("the bus connection closed");
    };
    tokio::time::timeout(WAIT, acquired)
        .await
        .expect("m2mhald owns its name in time");
}

/// `Manager.ReportKernelEvent` for the tty `devnode`.
async fn report_kernel_event(
    conn: &Connection,
    action: &str,
    devnode: &str,
    properties: &[(&str, &str)],
) {
    let name = Path::new(devnode)
        .file_name()
        .expect("devnode has a file name")
        .to_string_lossy()
        .into_owned();
    let properties: HashMap<&str, &str> = properties.iter().copied().collect();
    let event: HashMap<&str, Variant<'_>> = HashMap::from([
        ("action", Variant::from(action)),
        ("subsystem", Variant::from("tty")),
        ("name", Variant::from(name.as_str())),
        ("devnode", Variant::from(devnode)),
        ("properties", Variant::from(properties)),
    ]);
    let result: Result<(), _> =
        m2mhal_tests::call(conn, MANAGER_PATH, MANAGER, "ReportKernelEvent", &(event,)).await;
    result.unwrap_or_else(|e| panic!("ReportKernelEvent {action} {devnode}: {e:?}"));
}

/// Polls (every 50 ms) until `devices` devices are `ready`; returns their object paths.
async fn all_ready(conn: &Connection, devices: usize, deadline: Instant) -> Vec<String> {
    loop {
        let ready = ready_devices(conn).await;
        if ready.len() == devices {
            return ready;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {devices} devices ready in time",
            ready.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Object paths of the devices whose `State` is `ready`.
async fn ready_devices(conn: &Connection) -> Vec<String> {
    let manager = zbus::fdo::ObjectManagerProxy::builder(conn)
        .destination(BUS_NAME)
        .path(MANAGER_PATH)
        .build()
        .await
        .expect("object manager proxy");
    let objects = manager
        .get_managed_objects()
        .await
        .expect("GetManagedObjects");
    let mut ready: Vec<String> = objects
        .into_iter()
        .filter(|(_, interfaces)| {
            interfaces
                .iter()
                .find(|(name, _)| name.as_str() == DEVICE)
                .is_some_and(|(_, device)| {
                    string_property(device, "State").as_deref() == Some("ready")
                })
        })
        .map(|(path, _)| path.as_str().to_owned())
        .collect();
    ready.sort();
    ready
}

// ---------------------------------------------------------------------------------------------
// 1. Daemon start to name owned

/// Time from spawning `m2mhald` (no ports, existing state) until its name has an owner.
async fn daemon_start(bus: &TestBus) -> Samples {
    let dir = daemon_dir();
    let conn = bus.connect().await;
    let mut owners = name_owner_changes(&conn).await;
    let mut samples = Vec::new();
    // Run 0 creates the store and pages the binary in; it is not counted.
    for run in 0..=RUNS {
        let t0 = Instant::now();
        let daemon = BenchDaemon::spawn(bus, dir.path(), "");
        name_acquired(&mut owners).await;
        let elapsed = t0.elapsed();
        daemon.stop().await;
        if run > 0 {
            samples.push(elapsed);
        }
    }
    Samples(samples)
}

// ---------------------------------------------------------------------------------------------
// 2. Port announced to device ready

/// Time from `ReportKernelEvent(add)` for a fresh simulated modem (tagged with `tag`) until its
/// device is `ready`, with one daemon running throughout.
async fn port_to_ready(bus: &TestBus, tag: (&str, &str), runs: usize) -> Samples {
    let dir = daemon_dir();
    let conn = bus.connect().await;
    let daemon = BenchDaemon::start(bus, &conn, dir.path(), "").await;
    let mut changes = DeviceChanges::subscribe(&conn, BUS_NAME).await;
    let mut samples = Vec::new();
    // Run 0 pages the driver plugin in; it is not counted.
    for run in 0..=runs {
        // A different modem every run: the same IMEI would come back in its old object (a
        // replug), which is another path than a new device's.
        let imei = imei_for_run(run);
        let sim = Sim::start(&["modem", "--imei", &imei], 1).await;
        let port = sim.path(0);
        let t0 = Instant::now();
        report_kernel_event(&conn, "add", &port, &[tag]).await;
        if !changes.device_ready(&port, WAIT).await {
            let kept = dir.keep();
            panic!(
                "run {run}: the device on {port} did not become ready in time (daemon log: {})",
                kept.join("m2mhald.log").display()
            );
        }
        let elapsed = t0.elapsed();
        report_kernel_event(&conn, "remove", &port, &[]).await;
        drop(sim);
        if run > 0 {
            samples.push(elapsed);
        }
    }
    daemon.stop().await;
    Samples(samples)
}

/// A valid IMEI (Luhn check digit) that differs for every run.
fn imei_for_run(run: usize) -> String {
    let body = format!("35693803{:06}", 100_000 + run);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = digit * 2;
                doubled / 10 + doubled % 10
            } else {
                digit
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

// ---------------------------------------------------------------------------------------------
// 3. Property read latency against the bus floor

/// Sequential round trips of the two calls, interleaved so both see the same conditions.
struct Latency {
    get: Samples,
    ping: Samples,
}

/// Times `Get(Signal, Quality)` on `device` and `Peer.Ping` to the bus, alternating, on `conn`.
async fn get_latency(conn: &Connection, device: &str) -> Latency {
    let get = || async {
        let reply = conn
            .call_method(
                Some(BUS_NAME),
                device,
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &(SIGNAL, "Quality"),
            )
            .await
            .expect("Get Quality");
        let quality: OwnedVariant = reply.body().deserialize().expect("Get reply");
        u32::try_from(quality).expect("Quality is a u32");
    };
    let ping = || async {
        conn.call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus.Peer"),
            "Ping",
            &(),
        )
        .await
        .expect("Ping the bus");
    };
    for _ in 0..WARMUP_CALLS {
        get().await;
        ping().await;
    }
    let mut gets = Vec::with_capacity(CALLS);
    let mut pings = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t0 = Instant::now();
        get().await;
        gets.push(t0.elapsed());
        let t0 = Instant::now();
        ping().await;
        pings.push(t0.elapsed());
    }
    Latency {
        get: Samples(gets),
        ping: Samples(pings),
    }
}

/// 3b. `Device.Command("AT")` calls, one after the other: each goes through the driver twice (the
/// call, then the modem's `OK`), so unlike `Get` it shows what running the driver in a worker
/// process costs.
async fn driver_round_trip(conn: &Connection, device: &str) -> Samples {
    let command = || async {
        let reply = conn
            .call_method(
                Some(BUS_NAME),
                device,
                Some(DEVICE),
                "Command",
                &("AT", 0u32),
            )
            .await
            .expect("Device.Command");
        let answer: String = reply.body().deserialize().expect("Command reply");
        assert_eq!(answer, "OK");
    };
    for _ in 0..WARMUP_CALLS {
        command().await;
    }
    let mut samples = Vec::with_capacity(DRIVER_CALLS);
    for _ in 0..DRIVER_CALLS {
        let t0 = Instant::now();
        command().await;
        samples.push(t0.elapsed());
    }
    Samples(samples)
}

// ---------------------------------------------------------------------------------------------
// 4 and 5. Memory and idle CPU with 1 and with 64 modems

/// A daemon with `[[port]]` entries for every modem of one simulator, all devices ready.
struct Fleet {
    daemon: BenchDaemon,
    conn: Connection,
    /// Object paths of the ready devices.
    devices: Vec<String>,
    /// From spawning the daemon until every device was seen ready (polled every 50 ms).
    all_ready: Duration,
    sim: Sim,
    _dir: tempfile::TempDir,
}

/// The daemon's footprint while nobody calls it.
struct Idle {
    /// `VmRSS` at the end of the window.
    rss_kib: u64,
    /// `VmHWM` at the end of the window.
    hwm_kib: u64,
    /// The measuring window.
    window: Duration,
    /// CPU time from utime + stime (sampled in clock ticks).
    ticks: u64,
    /// The same in seconds.
    tick_seconds: f64,
    /// CPU time from the threads' schedstat (exact); `None` if a thread ended in the window.
    runtime: Option<Duration>,
}

impl Idle {
    /// `seconds` of CPU time in % of one core over the window.
    fn percent(&self, seconds: f64) -> f64 {
        100.0 * seconds / self.window.as_secs_f64()
    }
}

impl Fleet {
    /// Starts `m2msim` with `modems` modems and a daemon configured with `head` (top-level keys)
    /// and all their ports; waits until every device is ready.
    async fn start(bus: &TestBus, modems: usize, head: &str) -> Fleet {
        let count = modems.to_string();
        let sim = Sim::start(&["modem", "--count", &count], modems).await;
        let ports: String = (0..modems).map(|i| port_config(&sim.path(i))).collect();
        let ports = format!("{head}{ports}");
        let dir = daemon_dir();
        let conn = bus.connect().await;
        let t0 = Instant::now();
        let daemon = BenchDaemon::start(bus, &conn, dir.path(), &ports).await;
        let devices = all_ready(&conn, modems, t0 + WAIT).await;
        Fleet {
            all_ready: t0.elapsed(),
            daemon,
            conn,
            devices,
            sim,
            _dir: dir,
        }
    }

    /// Memory and CPU use over [`IDLE_WINDOW`], after [`SETTLE`].
    async fn idle(&self) -> Idle {
        tokio::time::sleep(SETTLE).await;
        let pid = self.daemon.pid;
        let ticks_before = cpu_ticks(pid);
        let runtimes_before = thread_runtimes(pid);
        let t0 = Instant::now();
        tokio::time::sleep(IDLE_WINDOW).await;
        let ticks = cpu_ticks(pid) - ticks_before;
        let runtime = runtime_between(&runtimes_before, &thread_runtimes(pid));
        Idle {
            rss_kib: status_kib(pid, "VmRSS"),
            hwm_kib: status_kib(pid, "VmHWM"),
            window: t0.elapsed(),
            ticks,
            tick_seconds: ticks as f64 / ticks_per_second() as f64,
            runtime,
        }
    }

    async fn stop(self) {
        self.daemon.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Modems served through ModemManager

/// Timed re-enablings of the ModemManager modem (one untimed warm-up run comes first).
const MM_RUNS: usize = 10;
/// The most ModemManager modems the daemon's memory is measured with (also with 0 and 1).
const MM_MODEMS: usize = 4;
/// The benchmark enables the modem, as NetworkManager would; m2mhald leaves it be.
const MM_ENABLE_OFF: &str = "[modemmanager]\nenable = false\n";
/// `MMModemState` `disabled`, `enabled` and `registered`.
const MM_DISABLED: i32 = 3;
const MM_ENABLED: i32 = 6;
const MM_REGISTERED: i32 = 8;

/// Part 7's figures.
struct ServedThroughMm {
    /// ModemManager's `State` `enabled` (or beyond) to the device's `State` `ready`.
    ready: Samples,
    /// ModemManager's `State` `registered` to the device's `Registration` `home`.
    registered: Samples,
    /// The daemon's `VmRSS` ([`SETTLE`] after its devices were ready), by ModemManager modems.
    rss_kib: Vec<(usize, u64)>,
}

/// Part 7, on a bus of its own with the real ModemManager and `m2msim` modems in a umockdev
/// testbed (the rig of the ModemManager tests); `None` (after saying why) where ModemManager,
/// umockdev or python-dbusmock is missing. m2mhald runs outside the testbed, as on a gateway:
/// it serves ModemManager's modems from the bus alone.
async fn served_through_modemmanager() -> Option<ServedThroughMm> {
    let mut rig = MmRig::start_with(&[], MM_MODEMS).await?;
    let mut rss_kib = vec![(0, mm_daemon_rss(&rig, 0).await)];
    let first = rig.plug_modem_at(0).await;
    rig.enable(&first).await;
    let (ready, registered) = enable_cycles(&rig, &first).await;
    rss_kib.push((1, mm_daemon_rss(&rig, 1).await));
    for index in 1..MM_MODEMS {
        let modem = rig.plug_modem_at(index).await;
        rig.enable(&modem).await;
    }
    rss_kib.push((MM_MODEMS, mm_daemon_rss(&rig, MM_MODEMS).await));
    Some(ServedThroughMm {
        ready,
        registered,
        rss_kib,
    })
}

/// `VmRSS` of a daemon serving the `modems` (enabled) modems ModemManager manages, [`SETTLE`]
/// after they were all ready.
async fn mm_daemon_rss(rig: &MmRig, modems: usize) -> u64 {
    let dir = daemon_dir();
    let conn = rig.bus.connect().await;
    let daemon = BenchDaemon::start(&rig.bus, &conn, dir.path(), "").await;
    all_ready(&conn, modems, Instant::now() + WAIT).await;
    tokio::time::sleep(SETTLE).await;
    let rss = status_kib(daemon.pid, "VmRSS");
    daemon.stop().await;
    rss
}

/// When each side said what, in one enabling of the modem, as the signals arrived on one
/// connection (so in the bus's order).
#[derive(Default)]
struct EnableTimeline {
    mm_enabled: Option<Instant>,
    mm_registered: Option<Instant>,
    device_ready: Option<Instant>,
    device_home: Option<Instant>,
}

impl EnableTimeline {
    /// Notes what one `PropertiesChanged` says, if it is one of the four; `modem` is
    /// ModemManager's object, `device` m2mhal's.
    fn note(&mut self, message: &zbus::Message, modem: &str, device: &str) {
        type Changed = (String, HashMap<String, OwnedVariant>, Vec<String>);
        let now = Instant::now();
        let header = message.header();
        let path = header.path().map(|path| path.as_str().to_owned());
        let Ok((interface, changed, _)) = message.body().deserialize::<Changed>() else {
            return;
        };
        match (path.as_deref(), interface.as_str()) {
            (Some(path), MM_MODEM) if path == modem => {
                let state = changed
                    .get("State")
                    .and_then(|state| state.try_clone().ok())
                    .and_then(|state| i32::try_from(state).ok());
                if state.is_some_and(|state| state >= MM_ENABLED) {
                    self.mm_enabled.get_or_insert(now);
                }
                if state.is_some_and(|state| state >= MM_REGISTERED) {
                    self.mm_registered.get_or_insert(now);
                }
            }
            (Some(path), DEVICE)
                if path == device
                    && string_property(&changed, "State").as_deref() == Some("ready") =>
            {
                self.device_ready.get_or_insert(now);
            }
            (Some(path), SIGNAL)
                if path == device
                    && string_property(&changed, "Registration").as_deref() == Some("home") =>
            {
                self.device_home.get_or_insert(now);
            }
            _ => {}
        }
    }

    /// Both latencies once all four are in.
    fn latencies(&self) -> Option<(Duration, Duration)> {
        Some((
            self.device_ready?
                .saturating_duration_since(self.mm_enabled?),
            self.device_home?
                .saturating_duration_since(self.mm_registered?),
        ))
    }
}

/// Disables and enables ModemManager's modem at `modem` ([`MM_RUNS`] timed runs) under a daemon
/// that serves it: the time from ModemManager's word to the device's, for `enabled` to `ready`
/// and `registered` to `Registration` `home`.
async fn enable_cycles(rig: &MmRig, modem: &str) -> (Samples, Samples) {
    let dir = daemon_dir();
    let conn = rig.bus.connect().await;
    let daemon = BenchDaemon::start(&rig.bus, &conn, dir.path(), MM_ENABLE_OFF).await;
    let device = all_ready(&conn, 1, Instant::now() + WAIT).await.remove(0);
    let mut changes = signals(
        &conn,
        zbus::MatchRule::builder()
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged"),
    )
    .await;
    let proxy = mm_proxy(&conn, modem, MM_MODEM).await;
    let (mut ready, mut registered) = (Vec::new(), Vec::new());
    for run in 0..=MM_RUNS {
        proxy
            .call_method("Enable", &(false,))
            .await
            .expect("Modem.Enable(false)");
        wait_for_mm_property(&conn, modem, MM_MODEM, "State", |s: &i32| *s == MM_DISABLED).await;
        wait_for_property(&conn, &device, DEVICE, "State", |s: &String| s != "ready").await;
        wait_for_property(&conn, &device, SIGNAL, "Registration", |r: &String| {
            r != "home"
        })
        .await;
        let mut timeline = EnableTimeline::default();
        let enable = async {
            proxy
                .call_method("Enable", &(true,))
                .await
                .expect("Modem.Enable(true)");
        };
        let watch = async {
            loop {
                let Some(Ok(message)) = changes.next().await else {
                    panic!("the bus connection closed");
                };
                timeline.note(&message, modem, &device);
                if let Some(latencies) = timeline.latencies() {
                    return latencies;
                }
            }
        };
        let ((), latencies) = tokio::time::timeout(WAIT, async { tokio::join!(enable, watch) })
            .await
            .expect("the modem is enabled, registered and ready again in time");
        if run > 0 {
            ready.push(latencies.0);
            registered.push(latencies.1);
        }
    }
    daemon.stop().await;
    (Samples(ready), Samples(registered))
}

// ---------------------------------------------------------------------------------------------
// The table

/// Every figure of one benchmark run.
struct Report {
    machine: Machine,
    start: Samples,
    probed: Samples,
    named: Samples,
    latency: Latency,
    isolated_latency: Latency,
    round_trip: Samples,
    isolated_round_trip: Samples,
    one_idle: Idle,
    many_idle: Idle,
    many_ready: Duration,
    /// `None` where ModemManager cannot run.
    served_through_mm: Option<ServedThroughMm>,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Part 2's two rows of the table, for `runs` runs each.
fn print_port_to_ready(probed: &Samples, named: &Samples, runs: usize) {
    for (what, samples) in [("probed", probed), ("ID_M2MHAL_DRIVER", named)] {
        let p90 = samples.percentile(0.9);
        println!(
            "| 2. port to ready, {what} ({runs} runs) | {} | p90 {} | {} | p90 <= {}: {} |",
            ms(samples.median()),
            ms(p90),
            ms(samples.max()),
            ms(READY_TARGET),
            verdict(p90 <= READY_TARGET)
        );
    }
}

impl Machine {
    /// The table's head: the build, the machine and its load before and now.
    fn print(&self) {
        println!("m2mhal benchmark ({} build)", self.profile);
        println!(
            "machine: {} x {}, Linux {}; load average before: {}, after: {}",
            self.cores,
            self.cpu,
            self.kernel,
            self.load_before,
            load_average()
        );
        println!("plugins loaded: {}", self.plugins.join(", "));
        println!();
    }
}

impl Report {
    fn print(&self) {
        self.machine.print();
        println!("| figure | median | p90 / p99 | max | target |");
        println!("|---|---|---|---|---|");
        let s = &self.start;
        println!(
            "| 1. daemon start to name owned ({RUNS} runs) | {} | p90 {} | {} | none |",
            ms(s.median()),
            ms(s.percentile(0.9)),
            ms(s.max())
        );
        print_port_to_ready(&self.probed, &self.named, RUNS);
        let (get, ping) = (&self.latency.get, &self.latency.ping);
        let ratio = get.median().as_secs_f64() / ping.median().as_secs_f64();
        println!(
            "| 3. Get(Signal.Quality) ({CALLS} calls) | {} | p99 {} | {} | p50 <= {LATENCY_TARGET_RATIO}x ping: {:.2}x, {} |",
            us(get.median()),
            us(get.percentile(0.99)),
            us(get.max()),
            ratio,
            verdict(ratio <= LATENCY_TARGET_RATIO)
        );
        println!(
            "| 3. Peer.Ping to the bus ({CALLS} calls) | {} | p99 {} | {} | floor |",
            us(ping.median()),
            us(ping.percentile(0.99)),
            us(ping.max())
        );
        let get = &self.isolated_latency.get;
        println!(
            "| 3. Get(Signal.Quality), cellular isolated ({CALLS} calls) | {} | p99 {} | {} | none |",
            us(get.median()),
            us(get.percentile(0.99)),
            us(get.max())
        );
        for (where_, samples) in [
            ("in the daemon", &self.round_trip),
            ("isolated", &self.isolated_round_trip),
        ] {
            println!(
                "| 3b. Device.Command(\"AT\"), cellular {where_} ({DRIVER_CALLS} calls) | {} | p99 {} | {} | none |",
                us(samples.median()),
                us(samples.percentile(0.99)),
                us(samples.max())
            );
        }
        println!();
        println!(
            "| idle daemon ({:.0} s window) | VmRSS | VmHWM | CPU, utime+stime | CPU, schedstat | target |",
            IDLE_WINDOW.as_secs_f64()
        );
        println!("|---|---|---|---|---|---|");
        for (modems, idle) in [(1, &self.one_idle), (FLEET, &self.many_idle)] {
            let target = if modems == 1 {
                format!(
                    "RSS <= {}: {}",
                    mib(RSS_TARGET_KIB),
                    verdict(idle.rss_kib <= RSS_TARGET_KIB)
                )
            } else {
                "none".to_owned()
            };
            let exact = match idle.runtime {
                Some(runtime) => format!(
                    "{:.4} % ({})",
                    idle.percent(runtime.as_secs_f64()),
                    us(runtime)
                ),
                None => "n/a (a thread ended)".to_owned(),
            };
            println!(
                "| 4./5. {modems} modem(s) ready | {} ({} kB) | {} | {:.3} % ({} ticks) | {exact} | {target} |",
                mib(idle.rss_kib),
                idle.rss_kib,
                mib(idle.hwm_kib),
                idle.percent(idle.tick_seconds),
                idle.ticks,
            );
        }
        println!();
        println!(
            "{FLEET} configured ports: daemon spawn to all {FLEET} devices ready: {}",
            ms(self.many_ready)
        );
        println!();
        match &self.served_through_mm {
            Some(mm) => mm.print(),
            None => println!("7. served through ModemManager: skipped (not installed here)"),
        }
    }
}

impl ServedThroughMm {
    fn print(&self) {
        println!("| 7. served through ModemManager ({MM_RUNS} runs) | median | p99 | max |");
        println!("|---|---|---|---|");
        for (what, samples) in [
            ("MM `enabled` to device `ready`", &self.ready),
            ("MM `registered` to `Registration` `home`", &self.registered),
        ] {
            println!(
                "| {what} | {} | {} | {} |",
                ms(samples.median()),
                ms(samples.percentile(0.99)),
                ms(samples.max())
            );
        }
        println!();
        println!(
            "| 7. daemon with ModemManager modems | VmRSS | per modem, over 0 modems | per modem, over the row above |"
        );
        println!("|---|---|---|---|");
        let per_modem = |(modems, kib): (usize, u64), (fewer, base): (usize, u64)| {
            let added = modems - fewer;
            format!("{:.0} KiB", (kib as f64 - base as f64) / added as f64)
        };
        let none = self.rss_kib[0];
        for (row, &(modems, kib)) in self.rss_kib.iter().enumerate() {
            let (over_none, over_above) = match row {
                0 => ("-".to_owned(), "-".to_owned()),
                _ => (
                    per_modem((modems, kib), none),
                    per_modem((modems, kib), self.rss_kib[row - 1]),
                ),
            };
            println!(
                "| {modems} modem(s) ready | {} ({kib} kB) | {over_none} | {over_above} |",
                mib(kib)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The Router

/// `Router.Send` against `Messaging.Send`, and a drain of 10,000 routed messages.
struct Routing {
    cost: SendCost,
    drain: Drain,
}

impl Routing {
    /// One ready simulated modem, the only uplink of a route.
    async fn measure(bus: &TestBus) -> Routing {
        progress("6. Router.Send against Messaging.Send");
        let mut fleet = Fleet::start(bus, 1, &route_config()).await;
        let cost = send_cost(&fleet.conn, &fleet.devices[0]).await;
        progress("6. 10,000 routed messages queued, then drained");
        let drain = drain(&fleet.conn, &mut fleet.sim, fleet.daemon.pid).await;
        fleet.stop().await;
        Routing { cost, drain }
    }

    fn print(&self) {
        println!();
        println!("| figure | median | p99 | max | target |");
        println!("|---|---|---|---|---|");
        let (messaging, router) = (&self.cost.messaging, &self.cost.router);
        for (what, samples) in [("Messaging.Send", messaging), ("Router.Send", router)] {
            println!(
                "| 6. {what} to sent, ready simulated modem ({SENDS} sends) | {} | {} | {} | none |",
                us(samples.median()),
                us(samples.percentile(0.99)),
                us(samples.max())
            );
        }
        let added = router.median().saturating_sub(messaging.median());
        println!(
            "| 6. added by the routing layer (p50 difference) | {} | {} | | < {}: {} |",
            us(added),
            us(router
                .percentile(0.99)
                .saturating_sub(messaging.percentile(0.99))),
            ms(ROUTING_TARGET),
            verdict(added < ROUTING_TARGET)
        );
        let d = &self.drain;
        println!();
        println!(
            "{DRAINED} routed messages: queued in {} ({} per Send); drained in {} ({:.0} messages/s)",
            ms(d.queueing),
            us(d.queueing / DRAINED as u32),
            ms(d.draining),
            DRAINED as f64 / d.draining.as_secs_f64()
        );
        println!(
            "m2mhald VmRSS: {} before, {} with all queued, {} after the drain",
            mib(d.rss_before_kib),
            mib(d.rss_queued_kib),
            mib(d.rss_after_kib)
        );
    }
}
