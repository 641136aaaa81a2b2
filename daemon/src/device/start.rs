//! Starting a claimed device, the same way for every transport (a serial port, a BLE
//! peripheral, and next a modem ModemManager serves):
//!
//! ```text
//!   transport: claim (crate::claim) ─> OpenConfig ─> start::open ─> Opened ─> run(link) ─> task
//!                                                         └─ Err: the transport retries or not
//! ```
//!
//! The transport decides which driver claims the device and what to open it with, and what to do
//! when the driver cannot open it (a port retries with backoff; a BLE peripheral waits for its
//! next advertisement); then it gives the opened device its link and runs it, in its own task or
//! as a spawned one.

use std::sync::Arc;

use m2mhal_plugin_api::OpenConfig;
use tokio::sync::watch;

use super::task::{self, Services};
use crate::link::Link;
use crate::plugin_host::{DriverInstance, Plugin, PluginError};

/// A claimed device whose driver instance is open: it runs once it has its link.
#[derive(Debug)]
pub struct Opened {
    plugin: Arc<Plugin>,
    driver: DriverInstance,
    config: OpenConfig,
}

/// Opens an instance of `plugin`, the driver that claimed the device `config` describes (its
/// `port` names the device node or address).
pub async fn open(plugin: Arc<Plugin>, config: OpenConfig) -> Result<Opened, PluginError> {
    let driver = plugin.open(&config).await?;
    Ok(Opened {
        plugin,
        driver,
        config,
    })
}

impl Opened {
    /// Runs the device on `link` until `stop` turns true (unplug, shutdown), or until it turns
    /// out another port serves it. Run it in the device's span (`super::span`).
    pub async fn run(self, services: Services, link: Box<dyn Link>, stop: watch::Receiver<bool>) {
        let Opened {
            plugin,
            driver,
            config,
        } = self;
        task::run(services, plugin, driver, config, link, stop).await;
    }
}
