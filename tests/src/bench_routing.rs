//! The Router's figures of `m2mhal-bench`: what `Router.Send` adds over `Messaging.Send` on the
//! same ready simulated modem, and how one route drains 10,000 queued messages.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use m2mhal_contract::iface::{MESSAGING, ROUTER};
use zbus::{Connection, MessageStream};

use crate::bench_stats::{Samples, status_kib};
use crate::client::subscribe;
use crate::messaging::send_text;
use crate::router::{LTE, PHONE, RouteOptions, route_send, wait_uplink};
use crate::sim::Sim;

/// Timed sends of each kind (after [`WARMUP_SENDS`] untimed ones).
pub const SENDS: usize = 200;
/// Untimed sends of each kind first.
const WARMUP_SENDS: usize = 20;
/// Routed messages queued while the route's only uplink is down, then drained.
pub const DRAINED: usize = 10_000;
/// The longest a single message's state may take to come.
const WAIT: Duration = Duration::from_secs(120);
/// The route of the benchmark.
const ROUTE: &str = "bench";

/// Top-level config: route [`ROUTE`] over the simulated modem alone.
pub fn route_config() -> String {
    format!(
        "[[route]]\nname = \"{ROUTE}\"\n[[route.uplink]]\ndevice = \"{LTE}\"\ndestination = \"{PHONE}\"\n"
    )
}

/// `Messaging.Send` and `Router.Send`, each to its `sent` signal.
pub struct SendCost {
    /// `Messaging.Send` call to `Messaging.StateChanged` `sent`.
    pub messaging: Samples,
    /// `Router.Send` call to `Router.StateChanged` `sent`.
    pub router: Samples,
}

/// Times sequential sends through `Messaging.Send` on `device`, then `Router.Send` on the route
/// over the same modem.
pub async fn send_cost(conn: &Connection, device: &str) -> SendCost {
    let mut messaging = subscribe(conn, MESSAGING, "StateChanged").await;
    let mut routed = subscribe(conn, ROUTER, "StateChanged").await;
    let mut through_messaging = Vec::new();
    let mut through_router = Vec::new();
    for round in 0..WARMUP_SENDS + SENDS {
        let text = format!("bench {round}");
        let t0 = Instant::now();
        let id = send_text(conn, device, PHONE, &text)
            .await
            .expect("Messaging.Send");
        wait_sent(&mut messaging, &id).await;
        let messaging_time = t0.elapsed();
        let t0 = Instant::now();
        let id = route_send(conn, ROUTE, &text, &RouteOptions::new())
            .await
            .expect("Router.Send");
        wait_sent(&mut routed, &id).await;
        if round >= WARMUP_SENDS {
            through_messaging.push(messaging_time);
            through_router.push(t0.elapsed());
        }
    }
    SendCost {
        messaging: Samples(through_messaging),
        router: Samples(through_router),
    }
}

/// Waits for `StateChanged(id, "sent", ...)` (either interface: the first two fields match).
async fn wait_sent(stream: &mut MessageStream, id: &str) {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(Ok(message)) = stream.next().await {
            let body = message.body();
            let Ok((changed, state)) = body
                .deserialize::<(String, String, String)>()
                .map(|(i, s, _)| (i, s))
                .or_else(|_| {
                    body.deserialize::<(String, String, String, String)>()
                        .map(|(i, s, _, _)| (i, s))
                })
            else {
                continue;
            };
            if changed == id {
                assert_ne!(state, "failed", "message {id} failed");
                if state == "sent" {
                    return;
                }
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("message {id} was not sent within {WAIT:?}"));
}

/// 10,000 routed messages queued, then drained.
pub struct Drain {
    /// The sequential `Router.Send` calls, all answered.
    pub queueing: Duration,
    /// From the uplink's return to the last `sent`.
    pub draining: Duration,
    /// The daemon's VmRSS before the messages were queued (KiB).
    pub rss_before_kib: u64,
    /// With every message queued.
    pub rss_queued_kib: u64,
    /// Once every message was sent.
    pub rss_after_kib: u64,
}

/// Takes the modem off the network, queues [`DRAINED`] routed messages, puts it back and times
/// the drain; `pid` is the daemon's.
pub async fn drain(conn: &Connection, modem: &mut Sim, pid: u32) -> Drain {
    modem.ok("register searching").await;
    wait_uplink(conn, ROUTE, LTE, |available, _| !available).await;
    let rss_before_kib = status_kib(pid, "VmRSS");
    let t0 = Instant::now();
    for n in 0..DRAINED {
        route_send(conn, ROUTE, &format!("queued {n}"), &RouteOptions::new())
            .await
            .expect("Router.Send");
    }
    let queueing = t0.elapsed();
    let rss_queued_kib = status_kib(pid, "VmRSS");
    // Subscribed only now: a stream nobody reads while the Sends are answered would fill and
    // hold up the connection.
    let mut routed = subscribe(conn, ROUTER, "StateChanged").await;
    modem.ok("register home").await;
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < DRAINED {
        let message = tokio::time::timeout(WAIT, routed.next())
            .await
            .unwrap_or_else(|_| {
                panic!("only {sent} of {DRAINED} sent within {WAIT:?} of each other")
            })
            .expect("the bus stays up")
            .expect("a signal");
        let (_, state, _, _): (String, String, String, String) =
            message.body().deserialize().expect("StateChanged body");
        assert_ne!(state, "failed", "a routed message failed");
        sent += usize::from(state == "sent");
    }
    let draining = t0.elapsed();
    Drain {
        queueing,
        draining,
        rss_before_kib,
        rss_queued_kib,
        rss_after_kib: status_kib(pid, "VmRSS"),
    }
}
