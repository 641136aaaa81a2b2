//! A fake BlueZ: `org.bluez` on a D-Bus bus of your choosing, with simulated BLE peripherals.
//!
//! It serves BlueZ's documented D-Bus API (`org.bluez.Adapter1`, `Device1`, `GattService1`,
//! `GattCharacteristic1`, `GattDescriptor1`, and the ObjectManager at `/`) closely enough for
//! btleplug/bluez-async, and so for m2mhald, to run against it on a private bus:
//!
//! * devices appear (InterfacesAdded) only while a client discovers and they are in range and
//!   pass that client's discovery filter; advertisements update `RSSI`, `ManufacturerData` and
//!   `ServiceData` with BlueZ's rules (RSSI delta, `DuplicateData`); RSSI is invalidated when
//!   discovery stops;
//! * `Connect` exports the GATT objects (`serviceXXXX/charYYYY/descZZZZ`, named by handle) and
//!   then sets `ServicesResolved`; disconnects and link loss undo it in reverse;
//! * reads cache `Value` and signal it, notifications are PropertiesChanged on `Value`;
//!   discovery and notify sessions are per client and end when the client leaves the bus;
//! * errors carry BlueZ's names and messages.
//!
//! Tests and `m2msim ble` drive it through [`FakeBluez`] and read what clients did from its
//! [`Event`] log; [`bus::PrivateBus`] gives them a private bus to serve it on.

pub mod bus;
mod daemon;
mod error;
mod events;
mod filter;
mod gatt;
mod objects;
pub mod script;
mod spec;
mod state;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use zbus::Connection;

pub use daemon::BUS_NAME;
pub use error::{BluezError, Error};
pub use events::Event;
pub use filter::DiscoveryFilter;
pub use gatt::WriteType;
pub use objects::{ADAPTER_PATH, device_path};
pub use spec::{Address, AddressType, AdvUpdate, CharSpec, DescSpec, PeripheralSpec, ServiceSpec};

use daemon::Daemon;

/// How long `Connect` waits for an unreachable peripheral before failing, unless configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A running fake bluetoothd. Dropping it stops watching clients; the objects stay on the
/// connection until it closes.
pub struct FakeBluez {
    daemon: Arc<Daemon>,
    watcher: tokio::task::JoinHandle<()>,
}

impl FakeBluez {
    /// Serves `org.bluez` on `conn` (which must be a bus connection, inside a Tokio runtime):
    /// the ObjectManager at `/`, the name, then a powered adapter at `/org/bluez/hci0`.
    pub async fn start(conn: Connection) -> Result<FakeBluez, Error> {
        FakeBluez::start_with_connect_timeout(conn, DEFAULT_CONNECT_TIMEOUT).await
    }

    /// Like [`FakeBluez::start`], with the time `Connect` waits for an unreachable peripheral.
    pub async fn start_with_connect_timeout(
        conn: Connection,
        connect_timeout: Duration,
    ) -> Result<FakeBluez, Error> {
        let daemon = Daemon::new(conn.clone(), connect_timeout);
        // bluetoothd serves its ObjectManager at the root.
        conn.object_server()
            .at("/", zbus::fdo::ObjectManager)
            .await?;
        let owner_changes = zbus::fdo::DBusProxy::new(&conn)
            .await?
            .receive_name_owner_changed()
            .await?;
        daemon.claim_name().await?;
        daemon.export_adapter().await?;
        let watcher = tokio::spawn(watch_clients(daemon.clone(), owner_changes));
        Ok(FakeBluez { daemon, watcher })
    }

    /// Adds a simulated peripheral, in range (so a running discovery finds it at once).
    pub async fn add_peripheral(&self, spec: PeripheralSpec) -> Result<(), Error> {
        self.daemon.add_peripheral(spec).await
    }

    /// Moves a peripheral into or out of range. Out of range while connected is a link loss
    /// (`org.bluez.Reason.Timeout`).
    pub async fn set_in_range(&self, address: Address, in_range: bool) -> Result<(), Error> {
        self.daemon.set_in_range(address, in_range).await
    }

    /// The peripheral advertises with changed RSSI or data.
    pub async fn advertise(&self, address: Address, update: AdvUpdate) -> Result<(), Error> {
        self.daemon.advertise(address, update).await
    }

    /// Sets the value a peripheral holds for a characteristic (any UUID form); notifies it if a
    /// client has notifications on. Returns whether it was notified.
    pub async fn set_value(
        &self,
        address: Address,
        characteristic: &str,
        value: Vec<u8>,
    ) -> Result<bool, Error> {
        self.daemon.set_value(address, characteristic, value).await
    }

    /// Link loss while connected; returns false if the device wasn't connected.
    pub async fn drop_link(&self, address: Address) -> Result<bool, Error> {
        self.daemon.drop_link(address).await
    }

    /// Removes the device object, as BlueZ does when a temporary device expires.
    pub async fn expire_device(&self, address: Address) -> Result<(), Error> {
        Ok(self.daemon.remove_device(address).await?)
    }

    /// Powers the adapter on or off (off drops connections and discovery first).
    pub async fn set_powered(&self, powered: bool) -> Result<(), Error> {
        Ok(self.daemon.set_powered(powered).await?)
    }

    /// Simulates a bluetoothd restart: the name and every object go, then the adapter comes
    /// back with no devices, discovery sessions or filters. Peripherals stay as they are.
    pub async fn restart(&self) -> Result<(), Error> {
        self.daemon.restart().await
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.daemon.events.snapshot()
    }

    /// Events from index `from` of the log on.
    pub fn events_since(&self, from: usize) -> Vec<Event> {
        self.daemon.events.since(from)
    }

    /// Forgets the events so far.
    pub fn clear_events(&self) {
        self.daemon.events.clear()
    }

    /// Changes whenever an event is logged; its value is the log length.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<usize> {
        self.daemon.events.subscribe()
    }

    /// The first event (already logged or still to come) that matches, within `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Event) -> bool,
    ) -> Result<Event, Error> {
        self.daemon.events.wait_for(timeout, predicate).await
    }

    /// The connection the fake serves on.
    pub fn connection(&self) -> &Connection {
        self.daemon.connection()
    }
}

impl Drop for FakeBluez {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Ends the sessions of clients that leave the bus.
async fn watch_clients(daemon: Arc<Daemon>, mut changes: zbus::fdo::NameOwnerChangedStream) {
    while let Some(signal) = changes.next().await {
        let Ok(args) = signal.args() else { continue };
        let gone = args.new_owner().is_none();
        if gone
            && args.name().starts_with(':')
            && let Err(error) = daemon.client_gone(args.name()).await
        {
            tracing::warn!(%error, "fake bluez: cleaning up after a client failed");
        }
    }
}
