//! `org.m2mhal.Hal1.Router` with two uplinks: a simulated LTE modem and a simulated Iridium
//! terminal behind one daemon, each on its own `m2msim`.

use std::collections::HashMap;

use tempfile::TempDir;

use m2mhal_contract::MANAGER_PATH;
use m2mhal_contract::iface::{ROUTER, SIGNAL};
use zbus::{Connection, OwnedVariant, Variant};

use crate::bus::TestBus;
use crate::client::{call, field, next_signal, property, subscribe, wait_for_property};
use crate::daemon::{Daemon, daemon_dir};
use crate::devices::wait_for_device;
use crate::modem_rig::port_config;
use crate::power_cut::kill_hard;
use crate::sim::Sim;
use crate::wait::wait_until;

/// The simulated modem's IMEI (m2msim's default).
pub const LTE_IMEI: &str = "356938035643809";
/// The simulated Iridium terminal's IMEI (m2msim's default).
pub const SBD_IMEI: &str = "300234063904190";
/// The modem's uplink name in a route.
pub const LTE: &str = "imei:356938035643809";
/// The terminal's uplink name in a route.
pub const SBD: &str = "imei:300234063904190";
/// Where the route's SMS go.
pub const PHONE: &str = "+447700900123";

/// Iridium sessions of 100 ms, no power budget between them, retries within 2 s.
const IRIDIUM_OPTIONS: &str = "[drivers.iridium]\nmin_session_interval = 0\nmax_backoff = 2\n";

/// A `[[route]]` "home": LTE first, then SBD with `sbd_extra` (budget keys), failing over after
/// `failover_after` seconds.
pub fn home_route(failover_after: u64, sbd_extra: &str) -> String {
    format!(
        "[[route]]\nname = \"home\"\nfailover_after = {failover_after}\n\
         [[route.uplink]]\ndevice = \"{LTE}\"\ndestination = \"{PHONE}\"\n\
         [[route.uplink]]\ndevice = \"{SBD}\"\n{sbd_extra}\n"
    )
}

/// A `[[route]]` "home" the other way round: SBD first, then LTE, failing over after
/// `failover_after` seconds.
pub fn satellite_first_route(failover_after: u64) -> String {
    format!(
        "[[route]]\nname = \"home\"\nfailover_after = {failover_after}\n\
         [[route.uplink]]\ndevice = \"{SBD}\"\n\
         [[route.uplink]]\ndevice = \"{LTE}\"\ndestination = \"{PHONE}\"\n"
    )
}

/// A daemon with a modem (`modem`, device object `lte`) and an Iridium terminal (`iridium`,
/// device object `sbd`), both ready.
pub struct RouterRig {
    /// The private bus.
    pub bus: TestBus,
    /// The daemon.
    pub daemon: Daemon,
    /// The simulated modem.
    pub modem: Sim,
    /// The simulated Iridium terminal.
    pub iridium: Sim,
    /// The modem's object.
    pub lte: String,
    /// The terminal's object.
    pub sbd: String,
    /// The daemon's config (both ports, the iridium options and the caller's extra).
    pub config: String,
    /// The daemon's directory (kept across restarts).
    pub dir: TempDir,
}

impl RouterRig {
    /// Starts everything with `extra` config (the routes and rules).
    pub async fn start(extra: &str) -> RouterRig {
        let bus = TestBus::start().await;
        let modem = Sim::start(&["modem"], 1).await;
        let iridium = Sim::start(&["iridium", "--session-delay", "100"], 1).await;
        let config = format!(
            "{}{}{IRIDIUM_OPTIONS}{extra}",
            port_config(&modem.path(0)),
            port_config(&iridium.path(0))
        );
        Self::run(bus, modem, iridium, config, daemon_dir()).await
    }

    /// The test's connection to the daemon.
    pub fn conn(&self) -> &Connection {
        &self.daemon.conn
    }

    /// Kills the daemon with SIGKILL and starts a new one on the same directory and config;
    /// waits until both devices are ready again.
    pub async fn kill_and_restart(self) -> RouterRig {
        let RouterRig {
            bus,
            daemon,
            modem,
            iridium,
            config,
            dir,
            ..
        } = self;
        kill_hard(daemon).await;
        Self::run(bus, modem, iridium, config, dir).await
    }

    /// Starts the daemon on `dir` with `config` and waits until both devices are ready.
    async fn run(bus: TestBus, modem: Sim, iridium: Sim, config: String, dir: TempDir) -> Self {
        let daemon = Daemon::start_in(&bus, dir.path(), &config).await;
        let (lte, sbd) = ready(&daemon.conn, &modem, &iridium).await;
        RouterRig {
            bus,
            daemon,
            modem,
            iridium,
            lte,
            sbd,
            config,
            dir,
        }
    }

    /// Takes the modem off the network and waits until the daemon shows it.
    pub async fn deregister_modem(&mut self) {
        self.modem.ok("register searching").await;
        let conn = self.daemon.conn.clone();
        wait_for_property::<String>(&conn, &self.lte, SIGNAL, "Registration", |r| {
            r == "searching"
        })
        .await;
    }
}

impl RouterRig {
    /// Takes the terminal's signal away (Quality 0) and waits until the daemon shows it.
    pub async fn silence_iridium(&mut self) {
        self.iridium.ok("signal 0").await;
        let conn = self.daemon.conn.clone();
        wait_for_property::<u32>(&conn, &self.sbd, SIGNAL, "Quality", |q| *q == 0).await;
    }
}

/// `available` and `budget_left` of `uplink` on `route` in `Router.Routes`.
pub async fn uplink_view(conn: &Connection, route: &str, uplink: &str) -> Option<(bool, i64)> {
    let routes: Vec<HashMap<String, OwnedVariant>> =
        property(conn, MANAGER_PATH, ROUTER, "Routes").await;
    let route = routes
        .iter()
        .find(|r| field::<String>(r, "name") == route)?;
    let uplinks: Vec<HashMap<String, OwnedVariant>> = field(route, "uplinks");
    let found = uplinks
        .iter()
        .find(|u| field::<String>(u, "uplink") == uplink)?;
    Some((field(found, "available"), field(found, "budget_left")))
}

/// Waits until `Router.Routes` shows `uplink` on `route` as `accept` wants it.
pub async fn wait_uplink(
    conn: &Connection,
    route: &str,
    uplink: &str,
    accept: impl Fn(bool, i64) -> bool,
) {
    let what = format!("uplink {uplink} of route {route}");
    wait_until(&what, || async {
        uplink_view(conn, route, uplink)
            .await
            .is_some_and(|(available, left)| accept(available, left))
    })
    .await;
}

async fn ready(conn: &Connection, modem: &Sim, iridium: &Sim) -> (String, String) {
    let lte = wait_for_device(conn, &modem.path(0), "ready").await;
    let sbd = wait_for_device(conn, &iridium.path(0), "ready").await;
    (lte, sbd)
}

/// Options of `Router.Send`.
pub type RouteOptions<'a> = HashMap<&'a str, Variant<'a>>;

/// Calls `Router.Send` with a text payload.
pub async fn route_send(
    conn: &Connection,
    route: &str,
    text: &str,
    options: &RouteOptions<'_>,
) -> Result<String, (String, String)> {
    call(
        conn,
        MANAGER_PATH,
        ROUTER,
        "Send",
        &(route, text.as_bytes(), options),
    )
    .await
}

/// The body of `Router.StateChanged`: id, state, uplink, error.
pub type RoutedState = (String, String, String, String);

/// Subscribes to `Router.StateChanged`.
pub async fn routed_states(conn: &Connection) -> zbus::MessageStream {
    subscribe(conn, ROUTER, "StateChanged").await
}

/// Waits for `Router.StateChanged` of message `id` to `state`; returns its body.
pub async fn wait_routed(stream: &mut zbus::MessageStream, id: &str, state: &str) -> RoutedState {
    next_signal(stream, |(i, s, _, _): &RoutedState| i == id && s == state).await
}

/// `Router.List`.
pub async fn routed_list(conn: &Connection) -> Vec<HashMap<String, OwnedVariant>> {
    call(conn, MANAGER_PATH, ROUTER, "List", &())
        .await
        .expect("Router.List")
}

/// `state` and `fired` of rule `name` in `Router.Rules`.
pub async fn rule_view(conn: &Connection, name: &str) -> Option<(String, u32)> {
    let rules: Vec<HashMap<String, OwnedVariant>> =
        property(conn, MANAGER_PATH, ROUTER, "Rules").await;
    let rule = rules.iter().find(|r| field::<String>(r, "name") == name)?;
    Some((field(rule, "state"), field(rule, "fired")))
}

/// Waits until `Router.Rules` shows rule `name` in `state` after `fired` firings.
pub async fn wait_rule(conn: &Connection, name: &str, state: &str, fired: u32) {
    let what = format!("rule {name} {state} after {fired} firing(s)");
    wait_until(&what, || async {
        rule_view(conn, name).await == Some((state.to_owned(), fired))
    })
    .await;
}
