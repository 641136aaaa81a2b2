//! BLE through BlueZ (btleplug): the daemon owns the adapter, scans, re-filters every discovery
//! itself (BlueZ merges the discovery filters of all its clients), and gives a peripheral a device
//! object only when a BLE driver claims it or the config allows its address. Everything else that
//! walks by is never exposed.
//!
//! A session (manager, adapter, event stream, scan) is rebuilt whenever it fails: at once when
//! bluetoothd (re)appears on the bus, with backoff after other failures (no adapter, say), not at
//! all while nobody owns `org.bluez`. An adapter that powers off keeps its session; powering on
//! starts the scan again. Devices keep their tasks and objects across sessions; their links find
//! the new adapter through a watch channel. A failure that repeats is logged once.

pub mod advert;
pub mod bluez_watch;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use btleplug::api::{
    Central, CentralEvent, CentralState, Manager as _, Peripheral as _, ScanFilter,
};
use btleplug::platform::{Adapter, Manager, PeripheralId};
use futures_util::StreamExt;
use m2mhal_plugin_api::ble::Advertisement;
use m2mhal_plugin_api::{ABI_MINOR, Event, OpenConfig};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::claim;
use crate::config::Config;
use crate::device::task::Services;
use crate::device::{span, start};
use crate::link::ble::BleLink;
use crate::plugin_host::{Plugin, PluginSet};
use bluez_watch::BluezWatch;

/// First and largest delay between attempts to start a BLE session.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// A session that lasted this long counts as healthy when it ends.
const HEALTHY_SESSION: Duration = Duration::from_secs(10);
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
    #[error("bluetoothd is not running (nobody owns org.bluez)")]
    NoBluez,
}

/// The BLE side of the daemon.
pub struct BleHost {
    /// The bus bluetoothd is on.
    conn: zbus::Connection,
    config: Arc<Config>,
    plugins: Arc<PluginSet>,
    services: Services,
    adapter: watch::Sender<Option<Adapter>>,
    devices: HashMap<String, mpsc::UnboundedSender<Event>>,
    /// The address of each device's peripheral: BlueZ may have removed the object by the time
    /// its link loss is handled, and then it can no longer be asked.
    addresses: HashMap<PeripheralId, String>,
    tasks: JoinSet<()>,
    stop: watch::Receiver<bool>,
}

impl BleHost {
    /// The host for `config.ble`, watching bluetoothd on `conn`; devices stop when `stop` turns
    /// true.
    pub fn new(
        conn: zbus::Connection,
        config: Arc<Config>,
        plugins: Arc<PluginSet>,
        services: Services,
        stop: watch::Receiver<bool>,
    ) -> Self {
        BleHost {
            conn,
            config,
            plugins,
            services,
            adapter: watch::channel(None).0,
            devices: HashMap::new(),
            addresses: HashMap::new(),
            tasks: JoinSet::new(),
            stop,
        }
    }

    /// Runs sessions until shutdown, then waits for the device tasks.
    pub async fn run(mut self) {
        let mut delay = RETRY_FIRST;
        let mut stop = self.stop.clone();
        let mut bluez = loop {
            match BluezWatch::new(&self.conn).await {
                Ok(watch) => break watch,
                Err(e) => {
                    tracing::warn!(
                        "BLE unavailable, retrying in {delay:?}: cannot watch bluetoothd on the bus: {e}"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = stop.wait_for(|stopped| *stopped) => return,
                    }
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        };
        let mut failures = FailureLog::default();
        loop {
            let started = tokio::time::Instant::now();
            let outcome = tokio::select! {
                outcome = self.session(&mut bluez) => outcome,
                _ = stop.wait_for(|stopped| *stopped) => break,
            };
            // A session that ran for a while was healthy: start the backoff over.
            if started.elapsed() >= HEALTHY_SESSION {
                delay = RETRY_FIRST;
                failures = FailureLog::default();
            }
            self.adapter.send_replace(None);
            // Whatever ended the session took every link with it.
            for device in self.devices.values() {
                let _ = device.send(Event::LinkDown {
                    reason: "the Bluetooth session ended".into(),
                });
            }
            // Without bluetoothd only its appearance helps: no retries meanwhile.
            let retry = match &outcome {
                Err(SessionError::NoBluez) => None,
                _ => Some(delay),
            };
            if let Err(e) = outcome {
                failures.report(&e, retry);
            }
            tokio::select! {
                () = sleep_or_wait_forever(retry) => delay = (delay * 2).min(RETRY_MAX),
                // A bluetoothd that (re)starts is worth trying at once.
                () = bluez.appeared() => {
                    tracing::info!("bluetoothd appeared on the bus");
                    delay = RETRY_FIRST;
                }
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
        }
        while self.tasks.join_next().await.is_some() {}
    }

    /// One session: adapter, event stream, scan, until something breaks.
    async fn session(&mut self, bluez: &mut BluezWatch) -> Result<(), SessionError> {
        let owner = bluez.owner().await.ok_or(SessionError::NoBluez)?;
        let manager = Manager::new().await?;
        let adapter = find_adapter(&manager, &self.config.ble.adapter).await?;
        let mut events = adapter.events().await?;
        // An adapter that is off is waited for: its StateUpdate starts the scan.
        let mut scanning = adapter.adapter_state().await? == CentralState::PoweredOn;
        if scanning {
            self.start_scan(&adapter).await?;
        } else {
            tracing::info!("{} is powered off; waiting for it", self.config.ble.adapter);
        }
        self.adapter.send_replace(Some(adapter.clone()));
        for peripheral in adapter.peripherals().await? {
            self.discovered(&adapter, &peripheral.id()).await;
        }
        loop {
            let event = tokio::select! {
                event = events.next() => event.ok_or(SessionError::StreamEnded)?,
                () = bluez.gone(&owner) => return Err(SessionError::BluezRestarted),
            };
            match event {
                CentralEvent::DeviceDiscovered(id)
                | CentralEvent::DeviceUpdated(id)
                | CentralEvent::ManufacturerDataAdvertisement { id, .. }
                | CentralEvent::ServiceDataAdvertisement { id, .. }
                | CentralEvent::ServicesAdvertisement { id, .. }
                | CentralEvent::RssiUpdate { id, .. } => self.discovered(&adapter, &id).await,
                CentralEvent::DeviceDisconnected(id) => {
                    if let Some(device) = self.addresses.get(&id).and_then(|a| self.devices.get(a))
                    {
                        let _ = device.send(Event::LinkDown {
                            reason: "link lost".into(),
                        });
                    }
                }
                // Powering off ends BlueZ's discovery sessions: scan again once it is back.
                // (Starting a scan sets Powered, and some BlueZ fakes report that as a change.)
                CentralEvent::StateUpdate(CentralState::PoweredOn) if !scanning => {
                    self.start_scan(&adapter).await?;
                    scanning = true;
                }
                CentralEvent::StateUpdate(CentralState::PoweredOn) => {}
                CentralEvent::StateUpdate(state) => {
                    tracing::info!("{}: {state:?}", self.config.ble.adapter);
                    scanning = false;
                }
                CentralEvent::DeviceConnected(_) | CentralEvent::DeviceServicesModified(_) => {}
            }
        }
    }

    /// Starts discovery on `adapter` (btleplug powers it on first).
    async fn start_scan(&self, adapter: &Adapter) -> Result<(), SessionError> {
        adapter.start_scan(ScanFilter::default()).await?;
        tracing::info!("scanning on {}", self.config.ble.adapter);
        Ok(())
    }

    /// A peripheral was seen: hand the advertisement to its device, or decide whether one of the
    /// drivers claims it.
    async fn discovered(&mut self, adapter: &Adapter, id: &PeripheralId) {
        let Some(adv) = current_advertisement(adapter, id).await else {
            return;
        };
        let address = adv.address.clone();
        if let Some(device) = self.devices.get(&address) {
            let _ = device.send(Event::Advertisement(adv));
        } else if let Some(plugin) = claim::by_advertisement(
            &self.plugins,
            &adv,
            self.config.ble.allow.contains(&address),
        ) {
            self.start_device(plugin, adv).await;
        } else {
            return;
        }
        self.addresses.insert(id.clone(), address);
    }

    async fn start_device(&mut self, plugin: Arc<Plugin>, adv: Advertisement) {
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
            host_abi_minor: ABI_MINOR,
        };
        let name = plugin.name().to_owned();
        let device = match start::open(plugin, config).await {
            Ok(device) => device,
            Err(e) => {
                tracing::error!(address = %address, "driver {name} cannot open the device: {e}");
                return;
            }
        };
        tracing::info!(address = %address, "driver {name} claims {:?}", adv.name);
        let (link, sender) = BleLink::new(address.clone(), self.adapter.subscribe());
        let _ = sender.send(Event::Advertisement(adv));
        self.devices.insert(address.clone(), sender);
        let run = device.run(self.services.clone(), Box::new(link), self.stop.clone());
        let span = span::device_span(&address);
        self.tasks.spawn(run.instrument(span));
    }
}

/// Logs why sessions end: a warning for a new kind of failure, a debug line when the same kind
/// repeats (its text may differ in details such as a bus name), so that a gateway whose Bluetooth
/// is missing does not fill the journal.
#[derive(Default)]
struct FailureLog {
    last: Option<std::mem::Discriminant<SessionError>>,
}

impl FailureLog {
    /// Logs `error`; `retry` is when the next session starts (`None`: when bluetoothd appears).
    fn report(&mut self, error: &SessionError, retry: Option<Duration>) {
        let failure = match retry {
            Some(delay) => format!("BLE unavailable, retrying in {delay:?}: {error}"),
            None => format!("BLE unavailable until bluetoothd starts: {error}"),
        };
        let kind = std::mem::discriminant(error);
        if self.last == Some(kind) {
            tracing::debug!("{failure}");
        } else {
            tracing::warn!("{failure}");
            self.last = Some(kind);
        }
    }
}

/// Sleeps for `delay`; without one, never returns.
async fn sleep_or_wait_forever(delay: Option<Duration>) {
    match delay {
        Some(delay) => tokio::time::sleep(delay).await,
        None => std::future::pending().await,
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
