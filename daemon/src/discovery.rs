//! From ports to running devices: the strict filter, then one attach task per port.
//!
//! Ports come from two sources: the config's `[[port]]` entries (started when discovery starts,
//! and on a reload), and kernel events ([`KernelEvent`]s from udev and
//! `Manager.ReportKernelEvent`). A port that passes the filter gets a task that opens it, has a
//! driver claim it ([`crate::claim`]) and runs the device until the port is removed or the daemon
//! stops.
//!
//! A reloaded config (SIGHUP, see [`crate::reload`]) is applied here: every handled port is
//! admitted again under the new config; one no longer admitted is stopped and its object removed,
//! one admitted differently (driver, baud) or served by a driver whose options changed is
//! restarted, keeping its object; new `[[port]]`s are started.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use m2mhal_host_core::backoff::Backoff;
use m2mhal_plugin_api::{ABI_MINOR, OpenConfig};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::claim::{self, Claim, PortFacts};
use crate::config::Config;
use crate::device::task::Services;
use crate::device::{span, start};
use crate::filter::{self, Admission};
use crate::kernel_event::{Action, KernelEvent};
use crate::link::serial::SerialLink;
use crate::plugin_host::PluginSet;
use crate::port;

/// First and largest delay between attempts to open or claim a port (a driver that cannot open
/// the device backs off as [`Backoff::driver_restarts`] says).
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// How many times a port that was only tagged (not configured) is tried before giving up.
const TAGGED_ATTEMPTS: u32 = 5;

/// What an attach task needs to know about its port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PortRequest {
    devnode: PathBuf,
    properties: BTreeMap<String, String>,
    driver: Option<String>,
    baud: Option<u32>,
    configured: bool,
}

/// A port with an attach task.
struct PortTask {
    /// Turns true to stop the task; closed once the task has ended.
    stop: watch::Sender<bool>,
    /// What the task was started with.
    request: PortRequest,
    /// The driver that claimed the port, once one has.
    driver: Arc<OnceLock<String>>,
}

/// Turns kernel events into attach tasks and stops them on removal.
pub struct Discovery {
    /// The config in force; a reload replaces it.
    config: watch::Receiver<Arc<Config>>,
    /// The config the handled ports were admitted under.
    applied: Arc<Config>,
    plugins: Arc<PluginSet>,
    services: Services,
    ports: HashMap<PathBuf, PortTask>,
    tasks: JoinSet<()>,
}

impl Discovery {
    /// Discovery over `plugins`, running devices with `services`, under the config `config`
    /// holds (and any it is replaced with).
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        plugins: Arc<PluginSet>,
        services: Services,
    ) -> Self {
        let applied = Arc::clone(&config.borrow());
        Discovery {
            config,
            applied,
            plugins,
            services,
            ports: HashMap::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Starts the configured ports, then handles events until `shutdown` turns true, then stops
    /// every device.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<KernelEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        self.start_configured_ports();
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
                Ok(()) = self.config.changed() => self.reconfigure(),
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
        for port in self.ports.values() {
            let _ = port.stop.send(true);
        }
        while self.tasks.join_next().await.is_some() {}
    }

    fn handle(&mut self, event: KernelEvent) {
        match event.action {
            Action::Remove => {
                if let Some(port) = self.ports.remove(&event.devnode) {
                    tracing::info!(port = %event.devnode.display(), "port removed");
                    let _ = port.stop.send(true);
                }
            }
            Action::Add | Action::Change => {
                let devnode = event.devnode.clone();
                match self.admit(event) {
                    Ok(request) => self.start(request, None),
                    Err(why) => {
                        tracing::debug!(port = %devnode.display(), "not touching port: {why}");
                    }
                }
            }
        }
    }

    /// What the filter says about `event`'s port under the config in force.
    fn admit(&self, event: KernelEvent) -> Result<PortRequest, &'static str> {
        let (driver, baud, configured) = match filter::admit(&event, &self.applied) {
            Admission::Rejected(why) => return Err(why),
            Admission::Configured { index } => {
                let port = &self.applied.ports[index];
                (port.driver.clone(), port.baud, true)
            }
            Admission::Tagged { driver } => (driver, None, false),
        };
        Ok(PortRequest {
            devnode: event.devnode,
            properties: event.properties,
            driver,
            baud,
            configured,
        })
    }

    /// Starts an attach task for `request`, once the task `previous` stopped has ended.
    fn start(&mut self, request: PortRequest, previous: Option<watch::Sender<bool>>) {
        if let Some(port) = self.ports.get(&request.devnode)
            && !port.stop.is_closed()
        {
            tracing::debug!(port = %request.devnode.display(), "port is already handled");
            return;
        }
        let (stop_tx, stop) = watch::channel(false);
        let driver = Arc::new(OnceLock::new());
        let task = PortTask {
            stop: stop_tx,
            request: request.clone(),
            driver: Arc::clone(&driver),
        };
        self.ports.insert(request.devnode.clone(), task);
        let span = span::device_span(&request.devnode.display().to_string());
        // The stable /dev/serial/by-id name says which modem this is, across replugs.
        if let Some(by_id) = stable_name(&request.properties) {
            span.in_scope(|| tracing::debug!("{by_id}"));
        }
        let attach = attach(
            self.config.clone(),
            Arc::clone(&self.plugins),
            self.services.clone(),
            request,
            stop,
            driver,
        );
        self.tasks.spawn(
            async move {
                if let Some(previous) = previous {
                    previous.closed().await;
                }
                attach.await;
            }
            .instrument(span),
        );
    }

    /// Applies a reloaded config to the handled ports and starts the new `[[port]]`s.
    fn reconfigure(&mut self) {
        let config = Arc::clone(&self.config.borrow_and_update());
        let drivers = changed_driver_options(&self.applied, &config);
        self.applied = Arc::clone(&config);
        let handled: Vec<PathBuf> = self.ports.keys().cloned().collect();
        let (mut removed, mut restarted) = (0, 0);
        for devnode in handled {
            let Some(port) = self.ports.get(&devnode) else {
                continue;
            };
            if port.stop.is_closed() {
                // Its task gave up (a tagged port no driver claimed): nothing to change.
                continue;
            }
            let claimed = port.driver.get().is_some_and(|d| drivers.contains(d));
            match self.admit(KernelEvent::tty_added(
                &devnode,
                port.request.properties.clone(),
            )) {
                Err(_) => {
                    self.retire(&devnode);
                    removed += 1;
                }
                Ok(request) if request != port.request || claimed => {
                    tracing::info!(port = %devnode.display(), "restarting for the new config");
                    if let Some(old) = self.ports.remove(&devnode) {
                        let _ = old.stop.send(true);
                        self.start(request, Some(old.stop));
                    }
                    restarted += 1;
                }
                Ok(_) => {}
            }
        }
        let added = self.start_configured_ports();
        tracing::info!(
            "config reloaded: {added} port(s) added, {removed} removed, {restarted} restarted"
        );
    }

    /// Starts the `[[port]]`s of the config in force that are not handled yet; returns how many
    /// there were.
    fn start_configured_ports(&mut self) -> usize {
        let new: Vec<PathBuf> = self
            .applied
            .ports
            .iter()
            .map(|port| port.path.clone())
            .filter(|path| !self.ports.contains_key(path))
            .collect();
        for devnode in &new {
            match self.admit(KernelEvent::tty_added(devnode, BTreeMap::new())) {
                Ok(request) => self.start(request, None),
                Err(why) => tracing::warn!(port = %devnode.display(), "not starting: {why}"),
            }
        }
        new.len()
    }

    /// Stops the port's task and, once it has ended, removes its device object.
    fn retire(&mut self, devnode: &Path) {
        let Some(port) = self.ports.remove(devnode) else {
            return;
        };
        tracing::info!(port = %devnode.display(), "port is no longer configured: removing it");
        let _ = port.stop.send(true);
        let services = self.services.clone();
        let devnode = devnode.display().to_string();
        self.tasks.spawn(async move {
            port.stop.closed().await;
            services.observer.port_removed(&devnode).await;
        });
    }
}

/// The drivers whose `[drivers.<name>]` options differ between `old` and `new`.
fn changed_driver_options(old: &Config, new: &Config) -> BTreeSet<String> {
    old.drivers
        .keys()
        .chain(new.drivers.keys())
        .filter(|name| old.drivers.get(*name) != new.drivers.get(*name))
        .cloned()
        .collect()
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
    config: watch::Receiver<Arc<Config>>,
    plugins: Arc<PluginSet>,
    services: Services,
    request: PortRequest,
    mut stop: watch::Receiver<bool>,
    claimed_by: Arc<OnceLock<String>>,
) {
    let open_baud = request.baud.unwrap_or(port::DEFAULT_BAUD);
    let mut port_delay = RETRY_FIRST;
    let mut driver_restarts = Backoff::driver_restarts();
    let started = std::time::Instant::now();
    let mut delay = Duration::ZERO;
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
        delay = port_delay;
        port_delay = (port_delay * 2).min(RETRY_MAX);
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
        tracing::debug!(probed = identity.is_some(), "claimed by {}", plugin.name());
        let _ = claimed_by.set(plugin.name().to_owned());
        let options = config.borrow().driver_options(plugin.name());
        let open = OpenConfig {
            port: request.devnode.display().to_string(),
            properties: request.properties.clone(),
            identity,
            options,
            host_abi_minor: ABI_MINOR,
        };
        let name = plugin.name().to_owned();
        let device = match start::open(plugin, open).await {
            Ok(device) => device,
            Err(e) => {
                let retry = driver_restarts.failed(started.elapsed());
                retry.log(format_args!(
                    "driver {name} cannot open the device, retrying in {:?}: {e}",
                    retry.delay
                ));
                delay = retry.delay;
                continue;
            }
        };
        let link = Box::new(SerialLink::new(request.devnode.clone(), baud, serial));
        device.run(services, link, stop).await;
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_whose_options_changed_are_the_ones_restarted() {
        let old = Config::parse(
            "[drivers.cellular]\nsignal_interval = 0\n[drivers.iridium]\nsignal_interval = 5\n",
        )
        .unwrap();
        let new = Config::parse(
            "[drivers.cellular]\nsignal_interval = 1\n[drivers.iridium]\nsignal_interval = 5\n\
             [drivers.ble]\nscan = 1\n",
        )
        .unwrap();
        let changed: Vec<String> = changed_driver_options(&old, &new).into_iter().collect();
        assert_eq!(changed, ["ble", "cellular"]);
        assert!(changed_driver_options(&new, &new).is_empty());
    }

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
