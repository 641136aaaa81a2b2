//! m2mhald: the m2mhal hardware abstraction daemon.
//!
//! The path of a device is one straight line: a source ([`udev_monitor`] and
//! `Manager.ReportKernelEvent` as [`kernel_event`]s, the config's `[[port]]`s, the [`ble`]
//! scanner) -> [`filter`] -> [`claim`] -> driver instance ([`plugin_host`]) -> [`device::task`]
//! (over a [`link`], around the host core `m2mhal_host_core`) -> D-Bus ([`dbus`]). Messages are
//! kept in the [`store`]; the [`router`] sends messages over routes of uplinks and runs the
//! rules. An isolated driver's instances run in [`worker`] processes. See
//! docs/architecture.md.

pub mod ble;
pub mod claim;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dbus;
pub mod device;
pub mod discovery;
pub mod filter;
pub mod kernel_event;
pub mod link;
pub mod modemmanager;
pub mod notify;
pub mod plugin_check;
pub mod plugin_file;
pub mod plugin_host;
pub mod port;
pub mod reload;
pub mod route_config;
pub mod router;
pub mod store;
pub mod udev_monitor;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::ble::BleHost;
use crate::config::Config;
use crate::dbus::manager::ManagerInterface;
use crate::dbus::observer::BusObserver;
use crate::dbus::registry::Registry;
use crate::dbus::router_iface::{BusRouterSignals, Published, RouterInterface};
use crate::dbus::strict::Strict;
use crate::dbus::uplink_registry::UplinkRegistry;
use crate::device::observer::DeviceObserver;
use crate::device::task::Services;
use crate::discovery::Discovery;
use crate::plugin_host::{Placement, PluginSet};
use crate::reload::Reloader;
use crate::router::observer::RoutingObserver;
use crate::router::service::RouterSetup;
use crate::store::{Store, StoreHandle};
use m2mhal_contract::{BUS_NAME, MANAGER_PATH};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The bus could not be reached.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    /// Another process owns the daemon's bus name: another m2mhald runs. This one leaves it
    /// be and opens no port.
    #[error(
        "{BUS_NAME} is already owned on the bus: another m2mhald runs \
         (this one leaves it its name and its ports, and exits)"
    )]
    AlreadyRunning,
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[from] std::io::Error),
    /// A `[[route]]` or `[[rule]]` does not hold together.
    #[error(transparent)]
    Routing(#[from] route_config::RouteConfigError),
}

/// Depth of the kernel event queue.
const EVENT_QUEUE: usize = 256;

/// Runs the daemon until SIGTERM or SIGINT; on SIGHUP it reads `config_path`, which gave
/// `config`, again (see [`reload`]).
pub async fn run(config: Config, config_path: PathBuf) -> Result<(), DaemonError> {
    let config = Arc::new(config);
    let store = StoreHandle::new(Store::open(&config.state_dir)?);
    let placement = Placement {
        isolated: &config.isolated_drivers,
        in_process: &config.in_process_drivers,
    };
    let plugins = Arc::new(PluginSet::load(&config.plugin_dirs, placement).await);
    let ble_drivers = plugins
        .iter()
        .filter(|plugin| config.ble.enabled && claim::serves_ble(plugin))
        .map(|plugin| plugin.name().to_owned())
        .collect();
    let reloader = Reloader::new(config_path, Arc::clone(&config), ble_drivers);
    let registry = Arc::new(Registry::new(store.clone(), config.forget_after()));
    let (events, events_rx) = mpsc::channel(EVENT_QUEUE);
    let routes = route_config::routes(&config.routes)?;
    let rules = route_config::rules(&config.rules, &routes)?;
    let (router, router_inputs) = router::service::channel();
    let uplinks = Arc::new(UplinkRegistry::new(router.clone()));
    let manager = ManagerInterface::new(
        Arc::clone(&registry),
        Arc::clone(&plugins),
        events.clone(),
        Arc::clone(&uplinks),
    );
    let published = Arc::new(std::sync::Mutex::new(Published::default()));
    let router_iface = RouterInterface::new(router.clone(), store.clone(), Arc::clone(&published));
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let conn = zbus::connection::Builder::system()
        .serve_at(MANAGER_PATH, zbus::fdo::ObjectManager)
        .serve_at(MANAGER_PATH, Strict::new(manager))
        .serve_at(MANAGER_PATH, Strict::new(router_iface))
        .name(BUS_NAME)
        // Never take the name from a running daemon, nor let a second one take it.
        .allow_name_replacements(false)
        .replace_existing_names(false)
        .build()
        .await
        .map_err(|e| match e {
            zbus::Error::NameTaken => DaemonError::AlreadyRunning,
            e => DaemonError::Bus(e),
        })?;
    tracing::info!(
        "m2mhald {} owns {BUS_NAME} with {} driver plugin(s)",
        env!("CARGO_PKG_VERSION"),
        plugins.iter().count()
    );
    let bus_observer: Arc<dyn DeviceObserver> = Arc::new(BusObserver::new(conn.clone(), registry));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let router_setup = RouterSetup {
        routes,
        rules,
        store: store.clone(),
        observer: Arc::clone(&bus_observer),
        signals: Arc::new(BusRouterSignals::new(conn.clone(), published)),
        remote: uplinks,
    };
    let router_task = tokio::spawn(router::service::run(
        router_setup,
        router_inputs,
        shutdown_rx.clone(),
    ));
    let services = Services {
        store,
        observer: Arc::new(RoutingObserver::new(bus_observer, router)),
    };
    let ble = config.ble.enabled.then(|| {
        let host = BleHost::new(
            conn.clone(),
            Arc::clone(&config),
            Arc::clone(&plugins),
            services.clone(),
            shutdown_rx.clone(),
        );
        tokio::spawn(host.run())
    });
    let events_rx = modemmanager::start(&config.modemmanager, &conn, &services, events_rx);
    let discovery = Discovery::new(reloader.subscribe(), plugins, services);
    let discovery = tokio::spawn(discovery.run(events_rx, shutdown_rx));
    udev_monitor::spawn(events);
    notify::notify("READY=1");
    loop {
        tokio::select! {
            _ = terminate.recv() => break tracing::info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => break tracing::info!("SIGINT: shutting down"),
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading the config");
                reloader.reload();
            }
        }
    }
    notify::notify("STOPPING=1");
    let _ = shutdown.send(true);
    if let Err(e) = discovery.await {
        tracing::error!("discovery task ended abnormally: {e}");
    }
    if let Some(ble) = ble
        && let Err(e) = ble.await
    {
        tracing::error!("BLE task ended abnormally: {e}");
    }
    if let Err(e) = router_task.await {
        tracing::error!("router task ended abnormally: {e}");
    }
    let _ = conn.release_name(BUS_NAME).await;
    Ok(())
}
