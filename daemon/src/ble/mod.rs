//! BLE through BlueZ (btleplug): the daemon owns the adapter, scans, re-filters every discovery
//! itself (BlueZ merges the discovery filters of all its clients), and gives a peripheral a device
//! object only when a BLE driver claims it or the config allows its address. Everything else that
//! walks by is never exposed.
//!
//! A session (manager, adapter, event stream, scan) is rebuilt with backoff whenever it fails:
//! bluetoothd restarting, the adapter going away, power changes. Devices keep their tasks and
//! objects across sessions; their links find the new adapter through a watch channel.

pub mod advert;
pub mod link;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use btleplug::api::{
    Central, CentralEvent, CentralState, Manager as _, Peripheral as _, ScanFilter,
};
use btleplug::platform::{Adapter, Manager, PeripheralId};
use futures_util::StreamExt;
use m2mhal_plugin_api::ble::Advertisement;
use m2mhal_plugin_api::{DeviceKind, Event, OpenConfig};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument;
use zbus::names::BusName;

use crate::config::Config;
use crate::device::link::Link;
use crate::device::task::{self, Services};
use crate::plugin_host::{Plugin, PluginSet};
use link::BleLink;

/// First and largest delay between attempts to start a BLE session.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// A session that lasted this long counts as healthy when it ends.
const HEALTHY_SESSION: Duration = Duration::from_secs(10);
/// The driver that takes allowed addresses no rule claims.
const GENERIC_DRIVER: &str = "ble";

/// Why a BLE session ended.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("{0}")]
    Bluetooth(#[from] btleplug::Error),
    #[error("no Bluetooth adapter named {0:?}")]
    NoAdapter(String),
    #[error("BlueZ's event stream ended (bluetoothd restarted?)")]
    StreamEnded,
    #[error("bluetoothd restarted")]
    BluezRestarted,
    #[error("cannot watch bluetoothd on the bus: {0}")]
    Bus(#[from] zbus::Error),
}

/// BlueZ's bus name, watched to notice restarts.
const BLUEZ: &str = "org.bluez";

/// The BLE side of the daemon.
pub struct BleHost {
    config: Arc<Config>,
    plugins: Arc<PluginSet>,
    services: Services,
    adapter: watch::Sender<Option<Adapter>>,
    devices: HashMap<String, mpsc::UnboundedSender<Event>>,
    tasks: JoinSet<()>,
    stop: watch::Receiver<bool>,
}

impl BleHost {
    /// The host for `config.ble`; devices stop when `stop` turns true.
    pub fn new(
        config: Arc<Config>,
        plugins: Arc<PluginSet>,
        services: Services,
        stop: watch::Receiver<bool>,
    ) -> Self {
        BleHost {
            config,
            plugins,
            services,
            adapter: watch::channel(None).0,
            devices: HashMap::new(),
            tasks: JoinSet::new(),
            stop,
        }
    }

    /// Runs sessions until shutdown, then waits for the device tasks.
    pub async fn run(mut self) {
        let mut delay = RETRY_FIRST;
        let mut stop = self.stop.clone();
        loop {
            let started = tokio::time::Instant::now();
            let outcome = tokio::select! {
                outcome = self.session() => outcome,
                _ = stop.wait_for(|stopped| *stopped) => break,
            };
            // A session that ran for a while was healthy: start the backoff over.
            if started.elapsed() >= HEALTHY_SESSION {
                delay = RETRY_FIRST;
            }
            self.adapter.send_replace(None);
            // Whatever ended the session took every link with it.
            for device in self.devices.values() {
                let _ = device.send(Event::LinkDown {
                    reason: "the Bluetooth session ended".into(),
                });
            }
            if let Err(e) = outcome {
                tracing::warn!("BLE unavailable, retrying in {delay:?}: {e}");
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
        while self.tasks.join_next().await.is_some() {}
    }

    /// One session: adapter, event stream, scan, until something breaks.
    async fn session(&mut self) -> Result<(), SessionError> {
        // btleplug's event stream outlives a bluetoothd restart; the bus tells when it happens.
        let dbus = zbus::fdo::DBusProxy::new(&self.services.conn).await?;
        let mut owner_changes = dbus
            .receive_name_owner_changed_with_args(&[(0, BLUEZ)])
            .await?;
        let bluez = dbus
            .get_name_owner(BusName::try_from(BLUEZ)?)
            .await
            .map_err(|e| SessionError::Bus(e.into()))?;
        let manager = Manager::new().await?;
        let adapter = find_adapter(&manager, &self.config.ble.adapter).await?;
        let mut events = adapter.events().await?;
        adapter.start_scan(ScanFilter::default()).await?;
        tracing::info!("scanning on {}", self.config.ble.adapter);
        self.adapter.send_replace(Some(adapter.clone()));
        for peripheral in adapter.peripherals().await? {
            self.discovered(&adapter, &peripheral.id()).await;
        }
        loop {
            let event = tokio::select! {
                event = events.next() => event.ok_or(SessionError::StreamEnded)?,
                change = owner_changes.next() => {
                    // Only the bluetoothd this session talks to going away ends it.
                    let gone = change.is_none_or(|signal| {
                        signal
                            .args()
                            .is_ok_and(|args| args.old_owner().as_ref() == Some(&*bluez))
                    });
                    if gone {
                        return Err(SessionError::BluezRestarted);
                    }
                    continue;
                }
            };
            match event {
                CentralEvent::DeviceDiscovered(id)
                | CentralEvent::DeviceUpdated(id)
                | CentralEvent::ManufacturerDataAdvertisement { id, .. }
                | CentralEvent::ServiceDataAdvertisement { id, .. }
                | CentralEvent::ServicesAdvertisement { id, .. }
                | CentralEvent::RssiUpdate { id, .. } => self.discovered(&adapter, &id).await,
                CentralEvent::DeviceDisconnected(id) => {
                    self.send_to_device(&adapter, &id, |_| Event::LinkDown {
                        reason: "link lost".into(),
                    })
                    .await;
                }
                CentralEvent::StateUpdate(CentralState::PoweredOn) => {
                    tracing::info!("adapter powered on; scanning again");
                    adapter.start_scan(ScanFilter::default()).await?;
                }
                CentralEvent::StateUpdate(state) => tracing::info!("adapter state: {state:?}"),
                CentralEvent::DeviceConnected(_) | CentralEvent::DeviceServicesModified(_) => {}
            }
        }
    }

    /// Sends an event built from the peripheral's advertisement to its device, if it has one.
    async fn send_to_device(
        &mut self,
        adapter: &Adapter,
        id: &PeripheralId,
        event: impl FnOnce(Advertisement) -> Event,
    ) {
        if let Some(adv) = current_advertisement(adapter, id).await
            && let Some(device) = self.devices.get(&adv.address)
        {
            let _ = device.send(event(adv));
        }
    }

    /// A peripheral was seen: hand the advertisement to its device, or decide whether one of the
    /// drivers claims it.
    async fn discovered(&mut self, adapter: &Adapter, id: &PeripheralId) {
        let Some(adv) = current_advertisement(adapter, id).await else {
            return;
        };
        if let Some(device) = self.devices.get(&adv.address) {
            let _ = device.send(Event::Advertisement(adv));
            return;
        }
        let Some(plugin) = self.claim(&adv) else {
            return;
        };
        self.start_device(plugin, adv);
    }

    /// The driver that claims `adv`: the best matching BLE rule, or the generic driver for an
    /// allowed address.
    fn claim(&self, adv: &Advertisement) -> Option<Arc<Plugin>> {
        let mut best: Option<(i32, &Arc<Plugin>)> = None;
        for plugin in self.plugins.iter() {
            let description = &plugin.description;
            if !description.kinds.contains(&DeviceKind::BleDevice) {
                continue;
            }
            let priority = description
                .ble
                .iter()
                .filter(|rule| rule.matches(adv))
                .map(|rule| rule.priority)
                .max();
            if let Some(priority) = priority
                && best.is_none_or(|(b, _)| priority > b)
            {
                best = Some((priority, plugin));
            }
        }
        if let Some((_, plugin)) = best {
            return Some(Arc::clone(plugin));
        }
        if self.config.ble.allow.contains(&adv.address) {
            let generic = self.plugins.get(GENERIC_DRIVER).cloned();
            if generic.is_none() {
                tracing::warn!(address = %adv.address, "allowed device, but no {GENERIC_DRIVER} driver is loaded");
            }
            return generic;
        }
        None
    }

    fn start_device(&mut self, plugin: Arc<Plugin>, adv: Advertisement) {
        let address = adv.address.clone();
        let mut options = self.config.driver_options(plugin.name());
        if let Some(key) = self.config.ble.bthome_keys.get(&address) {
            options.insert("bthome_key".into(), key.clone());
        }
        let config = OpenConfig {
            port: address.clone(),
            properties: BTreeMap::new(),
            identity: None,
            options,
        };
        let driver = match plugin.open(&config) {
            Ok(driver) => driver,
            Err(e) => {
                tracing::error!(address = %address, "driver {} cannot open the device: {e}", plugin.name());
                return;
            }
        };
        tracing::info!(address = %address, "driver {} claims {:?}", plugin.name(), adv.name);
        let (link, sender) = BleLink::new(address.clone(), self.adapter.subscribe());
        let _ = sender.send(Event::Advertisement(adv));
        self.devices.insert(address.clone(), sender);
        let run = task::run(
            self.services.clone(),
            plugin,
            driver,
            config,
            Link::Ble(link),
            self.stop.clone(),
        );
        let span = tracing::info_span!("ble", address = %address);
        self.tasks.spawn(run.instrument(span));
    }
}

async fn find_adapter(manager: &Manager, name: &str) -> Result<Adapter, SessionError> {
    for adapter in manager.adapters().await? {
        let info = adapter.adapter_info().await?;
        if info.split_whitespace().next() == Some(name) {
            return Ok(adapter);
        }
    }
    Err(SessionError::NoAdapter(name.to_owned()))
}

async fn current_advertisement(adapter: &Adapter, id: &PeripheralId) -> Option<Advertisement> {
    let peripheral = adapter.peripheral(id).await.ok()?;
    let properties = peripheral.properties().await.ok()??;
    Some(advert::advertisement(&properties))
}
