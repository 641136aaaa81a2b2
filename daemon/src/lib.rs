//! m2mhald: the m2mhal hardware abstraction daemon.
//!
//! The path of a device is one straight line: [`kernel_event`] -> [`filter`] -> [`claim`] (probe)
//! -> driver instance ([`plugin_host`]) -> [`device::task`] -> D-Bus ([`dbus`]). Messages are kept
//! in the [`store`]. An isolated driver's instances run in [`worker`] processes.

pub mod backoff;
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
pub mod modemmanager;
pub mod notify;
pub mod plugin_file;
pub mod plugin_host;
pub mod port;
pub mod registry;
pub mod reload;
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
use crate::dbus::strict::Strict;
use crate::device::task::Services;
use crate::discovery::Discovery;
use crate::kernel_event::KernelEvent;
use crate::plugin_host::PluginSet;
use crate::registry::Registry;
use crate::reload::Reloader;
use crate::store::{Store, StoreHandle};
use m2mhal_contract::{BUS_NAME, MANAGER_PATH};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The bus could not be reached or the name is taken.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[from] std::io::Error),
}

/// Depth of the kernel event queue.
const EVENT_QUEUE: usize = 256;

/// Runs the daemon until SIGTERM or SIGINT; on SIGHUP it reads `config_path`, which gave
/// `config`, again (see [`reload`]).
pub async fn run(config: Config, config_path: PathBuf) -> Result<(), DaemonError> {
    let config = Arc::new(config);
    let store = StoreHandle::new(Store::open(&config.state_dir)?);
    let plugins = Arc::new(PluginSet::load(&config.plugin_dirs, &config.isolated_drivers).await);
    let ble_drivers = plugins
        .iter()
        .filter(|plugin| config.ble.enabled && ble::serves_ble(plugin))
        .map(|plugin| plugin.name().to_owned())
        .collect();
    let reloader = Reloader::new(config_path, Arc::clone(&config), ble_drivers);
    let registry = Arc::new(Registry::new(store.clone(), config.forget_after()));
    let (events, events_rx) = mpsc::channel(EVENT_QUEUE);
    let manager =
        ManagerInterface::new(Arc::clone(&registry), Arc::clone(&plugins), events.clone());
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let conn = zbus::connection::Builder::system()
        .serve_at(MANAGER_PATH, zbus::fdo::ObjectManager)
        .serve_at(MANAGER_PATH, Strict::new(manager))
        .name(BUS_NAME)
        .build()
        .await?;
    tracing::info!(
        "m2mhald {} owns {BUS_NAME} with {} driver plugin(s)",
        env!("CARGO_PKG_VERSION"),
        plugins.iter().count()
    );
    let services = Services {
        conn: conn.clone(),
        store,
        registry,
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let ble = config.ble.enabled.then(|| {
        let host = BleHost::new(
            Arc::clone(&config),
            Arc::clone(&plugins),
            services.clone(),
            shutdown_rx.clone(),
        );
        tokio::spawn(host.run())
    });
    let events_rx = modemmanager::gate(&config.modemmanager, &conn, events_rx);
    let discovery = Discovery::new(reloader.subscribe(), plugins, services);
    let discovery = tokio::spawn(discovery.run(events_rx, shutdown_rx));
    udev_monitor::spawn(events.clone());
    for port in &config.ports {
        let event = KernelEvent::tty_added(&port.path, Default::default());
        // The receiver lives in the discovery task, which runs until shutdown.
        let _ = events.send(event).await;
    }
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
    let _ = conn.release_name(BUS_NAME).await;
    Ok(())
}
