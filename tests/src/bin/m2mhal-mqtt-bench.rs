//! `m2mhal-mqtt-bench`: how fast and how small the MQTT bridge is, measured end to end: the real
//! `m2mhald` with an `m2msim` modem on a private bus, a real Mosquitto on loopback, the real
//! `m2mhal-mqtt`, and an MQTT client receiving what the broker delivers.
//!
//! Run it with `cargo build --release --workspace && cargo run --release -p m2mhal-tests --bin
//! m2mhal-mqtt-bench`; docs/benchmarks.md explains every figure. The table goes to stdout.

use std::time::{Duration, Instant};

use m2mhal_tests::bench_stats::{
    Samples, load_average, runtime_between, status_kib, thread_runtimes,
};
use m2mhal_tests::mosquitto::{Bridge, Broker, Probe, bridge_config};
use m2mhal_tests::{DEVICE, MESSAGING, ModemRig, ReceivedBody, next_signal, property, subscribe};

/// Timed SMS-to-publish runs (one untimed warm-up run comes first).
const RUNS: usize = 100;
/// Messages queued while the broker is away.
const QUEUED: usize = 1000;
/// Pause before the idle window: the bridge's last publishes acknowledged, its threads settled.
const SETTLE: Duration = Duration::from_secs(12);
/// Window over which idle CPU is measured: one default `signal_interval` of the modem (30 s).
const IDLE_WINDOW: Duration = Duration::from_secs(30);
const PREFIX: &str = "m2mhal/bench";
const PEER: &str = "+4915112345678";

/// Target: VmRSS of the idle bridge, KiB.
const RSS_TARGET_KIB: u64 = 8 * 1024;
/// Target: idle CPU, percent of one core.
const CPU_TARGET_PERCENT: f64 = 0.05;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let load_before = load_average();
    let mut rig = ModemRig::start(&["modem"], "").await;
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;
    let inbox = format!("{PREFIX}/devices/{}/messages/in", id.replace(':', "_"));
    let mut broker = Broker::plain().await;
    let status = format!("{PREFIX}/status");
    let mut probe = Probe::persistent(broker.port(0), "bench-probe", &[&inbox, &status]).await;
    let dir = tempfile::tempdir().expect("bridge dir");
    let config = bridge_config(&broker.url(0), PREFIX, &dir.path().join("state"), "");
    let mut bridge = Bridge::start(&rig.bus, dir.path(), &config);
    let pid = bridge.pid().expect("bridge pid");
    probe.expect_on(&status).await;
    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;

    eprintln!("[bench] 1. SMS to MQTT publish");
    let mut total = Vec::new();
    let mut bridge_share = Vec::new();
    for run in 0..=RUNS {
        let text = format!("latency {run}");
        let start = Instant::now();
        rig.sim.ok(&format!("sms {PEER} {text}")).await;
        next_signal(&mut received, |(_, _, payload, _): &ReceivedBody| {
            payload == text.as_bytes()
        })
        .await;
        let signalled = Instant::now();
        probe
            .expect(&text, |d| {
                d.topic == inbox && d.json()["text"] == text.as_str()
            })
            .await;
        if run > 0 {
            total.push(start.elapsed());
            bridge_share.push(signalled.elapsed());
        }
    }
    let (total, bridge_share) = (Samples(total), Samples(bridge_share));

    eprintln!("[bench] 2. {QUEUED} messages queued while the broker is away");
    let rss_before = status_kib(pid, "VmRSS");
    broker.stop().await;
    bridge.forget_logs();
    for n in 0..QUEUED {
        let text = format!("queued {n}");
        rig.sim.ok(&format!("sms {PEER} {text}")).await;
        next_signal(&mut received, |(_, _, payload, _): &ReceivedBody| {
            payload == text.as_bytes()
        })
        .await;
    }
    bridge.expect_logs("forwarding a message", QUEUED).await;
    broker.start().await;
    bridge.expect_logs("connected to the broker", 1).await;
    let connected = Instant::now();
    for n in 0..QUEUED {
        let text = format!("queued {n}");
        let delivery = probe
            .expect(&text, |d| {
                d.topic == inbox
                    && d.json()["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("queued"))
            })
            .await;
        assert_eq!(delivery.json()["text"], text.as_str(), "in order");
    }
    let drained = connected.elapsed();
    let hwm = status_kib(pid, "VmHWM");
    let rss_after = status_kib(pid, "VmRSS");

    eprintln!("[bench] 3. idle");
    tokio::time::sleep(SETTLE).await;
    let before = thread_runtimes(pid);
    tokio::time::sleep(IDLE_WINDOW).await;
    let runtime = runtime_between(&before, &thread_runtimes(pid));
    let idle_rss = status_kib(pid, "VmRSS");
    let cpu_percent =
        runtime.map(|runtime| runtime.as_secs_f64() / IDLE_WINDOW.as_secs_f64() * 100.0);

    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!(
        "| SMS delivered by the network -> MQTT publish at a subscriber, p50 / p99 / max ({RUNS} runs) | {} / {} / {} | |",
        ms(total.median()),
        ms(total.percentile(0.99)),
        ms(total.max())
    );
    println!(
        "| of which `Received` seen on D-Bus -> publish at the subscriber, p50 / p99 | {} / {} | |",
        ms(bridge_share.median()),
        ms(bridge_share.percentile(0.99))
    );
    println!(
        "| {QUEUED} queued messages drained after a broker outage (bridge connected -> last one at the subscriber, in order) | {} ({:.0} msg/s) | |",
        ms(drained),
        QUEUED as f64 / drained.as_secs_f64()
    );
    println!(
        "| bridge memory: VmRSS before the outage / after the drain, peak (VmHWM) | {} / {}, {} | |",
        mib(rss_before),
        mib(rss_after),
        mib(hwm)
    );
    println!(
        "| idle bridge: VmRSS | {} | < {} ({}) |",
        mib(idle_rss),
        mib(RSS_TARGET_KIB),
        if idle_rss < RSS_TARGET_KIB {
            "met"
        } else {
            "MISSED"
        }
    );
    match cpu_percent {
        Some(percent) => println!(
            "| idle bridge: CPU over {} s (one signal refresh, one state publish) | {percent:.4} % | < {CPU_TARGET_PERCENT} % ({}) |",
            IDLE_WINDOW.as_secs(),
            if percent < CPU_TARGET_PERCENT {
                "met"
            } else {
                "MISSED"
            }
        ),
        None => println!("| idle bridge: CPU | (a thread ended in the window; run again) | |"),
    }
    println!();
    println!(
        "Load average before: {load_before}; after: {}.",
        load_average()
    );
    drop(bridge);
}
