//! From kernel events to running devices: the strict filter, then one attach task per port.
//!
//! Static `[[port]]` entries, `Manager.ReportKernelEvent` and (later) udev all arrive here as
//! [`KernelEvent`]s. A port that passes the filter gets a task that opens it, has a driver claim
//! it and runs the device until the port is removed or the daemon stops.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::OpenConfig;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::claim::{self, Claim, PortFacts};
use crate::config::Config;
use crate::device::link::{Link, SerialLink};
use crate::device::span;
use crate::device::task::{self, Services};
use crate::filter::{self, Admission};
use crate::kernel_event::{Action, KernelEvent};
use crate::plugin_host::PluginSet;
use crate::port;

/// First and largest delay between attempts to open or claim a port.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// How many times a port that was only tagged (not configured) is tried before giving up.
const TAGGED_ATTEMPTS: u32 = 5;

/// What an attach task needs to know about its port.
#[derive(Debug, Clone)]
struct PortRequest {
    devnode: PathBuf,
    properties: BTreeMap<String, String>,
    driver: Option<String>,
    baud: Option<u32>,
    configured: bool,
}

/// Turns kernel events into attach tasks and stops them on removal.
pub struct Discovery {
    config: Arc<Config>,
    plugins: Arc<PluginSet>,
    services: Services,
    ports: HashMap<PathBuf, watch::Sender<bool>>,
    tasks: JoinSet<()>,
}

impl Discovery {
    /// Discovery over `plugins`, running devices with `services`.
    pub fn new(config: Arc<Config>, plugins: Arc<PluginSet>, services: Services) -> Self {
        Discovery {
            config,
            plugins,
            services,
            ports: HashMap::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Handles events until `shutdown` turns true, then stops every device.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<KernelEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.handle(event),
                    None => break,
                },
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
        for stop in self.ports.values() {
            let _ = stop.send(true);
        }
        while self.tasks.join_next().await.is_some() {}
    }

    fn handle(&mut self, event: KernelEvent) {
        match event.action {
            Action::Remove => {
                if let Some(stop) = self.ports.remove(&event.devnode) {
                    tracing::info!(port = %event.devnode.display(), "port removed");
                    let _ = stop.send(true);
                }
            }
            Action::Add | Action::Change => {
                let request = match filter::admit(&event, &self.config) {
                    Admission::Rejected(why) => {
                        tracing::debug!(port = %event.devnode.display(), "not touching port: {why}");
                        return;
                    }
                    Admission::Configured { index } => {
                        let port = &self.config.ports[index];
                        PortRequest {
                            devnode: event.devnode.clone(),
                            properties: event.properties.clone(),
                            driver: port.driver.clone(),
                            baud: port.baud,
                            configured: true,
                        }
                    }
                    Admission::Tagged { driver } => PortRequest {
                        devnode: event.devnode.clone(),
                        properties: event.properties.clone(),
                        driver,
                        baud: None,
                        configured: false,
                    },
                };
                self.start(request);
            }
        }
    }

    fn start(&mut self, request: PortRequest) {
        if let Some(stop) = self.ports.get(&request.devnode)
            && !stop.is_closed()
        {
            tracing::debug!(port = %request.devnode.display(), "port is already handled");
            return;
        }
        let (stop_tx, stop) = watch::channel(false);
        self.ports.insert(request.devnode.clone(), stop_tx);
        let span = span::device_span(&request.devnode.display().to_string());
        // The stable /dev/serial/by-id name says which modem this is, across replugs.
        if let Some(by_id) = stable_name(&request.properties) {
            span.in_scope(|| tracing::debug!("{by_id}"));
        }
        let attach = attach(
            Arc::clone(&self.config),
            Arc::clone(&self.plugins),
            self.services.clone(),
            request,
            stop,
        );
        self.tasks.spawn(attach.instrument(span));
    }
}

/// The `/dev/serial/by-id/...` link udev made for the port, if any.
fn stable_name(properties: &BTreeMap<String, String>) -> Option<&str> {
    properties
        .get("DEVLINKS")?
        .split_whitespace()
        .find(|link| link.starts_with("/dev/serial/by-id/"))
}

/// Waits `delay`, or less if `stop` turns true; returns whether to go on.
async fn wait_or_stop(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => !*stop.borrow(),
        changed = stop.changed() => changed.is_ok() && !*stop.borrow(),
    }
}

/// Opens a port, has it claimed and runs the device; retries with backoff while it makes sense.
async fn attach(
    config: Arc<Config>,
    plugins: Arc<PluginSet>,
    services: Services,
    request: PortRequest,
    mut stop: watch::Receiver<bool>,
) {
    let open_baud = request.baud.unwrap_or(port::DEFAULT_BAUD);
    let mut delay = RETRY_FIRST;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if !request.configured && attempt > TAGGED_ATTEMPTS {
            tracing::info!("giving up on this port after {TAGGED_ATTEMPTS} attempts");
            return;
        }
        if attempt > 1 && !wait_or_stop(delay, &mut stop).await {
            return;
        }
        delay = (delay * 2).min(RETRY_MAX);
        let mut serial = match port::open(&request.devnode, open_baud) {
            Ok(serial) => serial,
            Err(e) => {
                if attempt == 1 {
                    tracing::warn!("{e}; will retry");
                } else {
                    tracing::debug!("{e}");
                }
                continue;
            }
        };
        let facts = PortFacts {
            properties: &request.properties,
            driver: request.driver.as_deref(),
            baud: request.baud,
        };
        let (plugin, identity, baud) = match claim::claim(&plugins, &mut serial, facts).await {
            Claim::Driver {
                plugin,
                identity,
                baud,
            } => (plugin, identity, baud),
            Claim::Unclaimed(why) => {
                if attempt == 1 {
                    tracing::info!("no driver claims this port: {why}");
                }
                continue;
            }
        };
        let open = OpenConfig {
            port: request.devnode.display().to_string(),
            properties: request.properties.clone(),
            identity,
            options: config.driver_options(plugin.name()),
        };
        let driver = match plugin.open(&open).await {
            Ok(driver) => driver,
            Err(e) => {
                tracing::error!("driver {} cannot open the device: {e}", plugin.name());
                continue;
            }
        };
        let link = Link::Serial(SerialLink::new(request.devnode.clone(), baud, serial));
        task::run(services, plugin, driver, open, link, stop).await;
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_by_id_link_names_the_port() {
        let properties = BTreeMap::from([(
            "DEVLINKS".to_owned(),
            "/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.2-port0 \
             /dev/serial/by-id/usb-Quectel_EG25-G-if02-port0"
                .to_owned(),
        )]);
        assert_eq!(
            stable_name(&properties),
            Some("/dev/serial/by-id/usb-Quectel_EG25-G-if02-port0")
        );
        assert_eq!(stable_name(&BTreeMap::new()), None);
    }
}
