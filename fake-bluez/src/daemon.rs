//! The fake bluetoothd: every operation that changes state, in the order BlueZ signals it.
//!
//! State sits in a `std` mutex that property getters read briefly; operations that change it and
//! emit signals hold the `ops` lock for their whole sequence, so one operation's signals never
//! interleave with another's. Signals carry values read back through the objects' own getters,
//! so a property that stops existing (RSSI after discovery) goes out as invalidated, like
//! libgdbus does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use zbus::object_server::{Interface, SignalEmitter};
use zbus::{Connection, Variant, fdo};

use crate::error::{BluezError, Error};
use crate::events::{Event, EventLog, lock};
use crate::filter::DiscoveryFilter;
use crate::gatt::{self, ValueOptions};
use crate::objects::{
    ADAPTER_PATH, AdapterObject, CharacteristicObject, DescriptorObject, DeviceObject,
    GattLocation, ServiceObject, device_path,
};
use crate::spec::{Address, AdvUpdate, PeripheralSpec};
use crate::state::{Device, Link, Peripheral, World};

/// The well-known name BlueZ owns.
pub const BUS_NAME: &str = "org.bluez";
/// What a `Connect` that never reached the peripheral fails with (BlueZ 5.6x and later).
const CONNECT_ABORTED: &str = "le-connection-abort-by-local";

/// Why a link went down, as the `Device1.Disconnected` signal names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// `Disconnect()` or the adapter powering off.
    Local,
    /// Link supervision timeout: the peripheral went away.
    Timeout,
}

impl DisconnectReason {
    fn name(self) -> &'static str {
        match self {
            DisconnectReason::Local => "org.bluez.Reason.Local",
            DisconnectReason::Timeout => "org.bluez.Reason.Timeout",
        }
    }

    fn message(self) -> &'static str {
        match self {
            DisconnectReason::Local => "Connection terminated by local host",
            DisconnectReason::Timeout => "Connection timed out",
        }
    }
}

/// The daemon behind every object.
pub struct Daemon {
    conn: Connection,
    world: Mutex<World>,
    ops: tokio::sync::Mutex<()>,
    /// What happened, for tests.
    pub events: EventLog,
    /// Wakes `Connect` calls waiting for their peripheral.
    link_changes: Notify,
    connect_timeout: Duration,
}

/// A GATT object to export or remove, with the type it has on the bus.
enum GattObject {
    Service(GattLocation),
    Characteristic(GattLocation),
    Descriptor(GattLocation),
}

impl GattObject {
    /// Its object path.
    fn path(&self) -> String {
        match self {
            GattObject::Service(at) => at.service_path(),
            GattObject::Characteristic(at) => at.characteristic_path(),
            GattObject::Descriptor(at) => at.descriptor_path(),
        }
    }
}

impl Daemon {
    /// A daemon serving on `conn`; `Connect` gives up after `connect_timeout` without the
    /// peripheral.
    pub fn new(conn: Connection, connect_timeout: Duration) -> Arc<Daemon> {
        Arc::new(Daemon {
            conn,
            world: Mutex::new(World::default()),
            ops: tokio::sync::Mutex::new(()),
            events: EventLog::default(),
            link_changes: Notify::new(),
            connect_timeout,
        })
    }

    /// The state, locked (briefly: never across an await).
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// The connection the daemon serves on.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The device a `RemoveDevice` path names, if it is one of our device objects.
    pub fn address_of_device_path(&self, path: &str) -> Option<Address> {
        self.world()
            .peripherals
            .iter()
            .find(|(address, p)| p.device.is_some() && device_path(address) == path)
            .map(|(address, _)| *address)
    }

    // ----- bus plumbing -------------------------------------------------------------------

    /// Emits PropertiesChanged for `names` of interface `I` at `path`, with the values its
    /// getters give now; a getter that fails (property absent) makes the name invalidated.
    async fn emit_changed<I: Interface>(&self, path: &str, names: &[&str]) -> zbus::Result<()> {
        let server = self.conn.object_server();
        let iface = server.interface::<_, I>(path).await?;
        let emitter = iface.signal_emitter();
        let mut values = HashMap::new();
        let mut invalidated = Vec::new();
        {
            let object = iface.get().await;
            for name in names {
                match Interface::get(&*object, name, server, &self.conn, None, emitter).await {
                    Some(Ok(value)) => {
                        values.insert(*name, value);
                    }
                    _ => invalidated.push(*name),
                }
            }
        }
        let changed = values
            .iter()
            .map(|(name, value)| Ok((*name, Variant::try_from(value)?)))
            .collect::<zbus::Result<HashMap<&str, Variant<'_>>>>()?;
        fdo::Properties::properties_changed(emitter, I::name(), changed, invalidated.into()).await
    }

    /// Emits PropertiesChanged for `names` of the device object of `address`.
    async fn device_changed(&self, address: Address, names: &[&str]) -> zbus::Result<()> {
        self.emit_changed::<DeviceObject>(&device_path(&address), names)
            .await
    }

    /// Emits PropertiesChanged for `names` of the characteristic at `at`.
    async fn characteristic_changed(&self, at: GattLocation, names: &[&str]) -> zbus::Result<()> {
        self.emit_changed::<CharacteristicObject>(&at.characteristic_path(), names)
            .await
    }

    /// After a client's notify session on `at` began or ended: `Notifying` is signalled if the
    /// session was the first or the last (`toggled`), then `event` is logged.
    async fn notify_session_changed(
        &self,
        at: GattLocation,
        toggled: bool,
        event: Event,
    ) -> zbus::Result<()> {
        if toggled {
            self.characteristic_changed(at, &["Notifying"]).await?;
        }
        self.events.push(event);
        Ok(())
    }

    /// Requests `org.bluez` (refusing to queue behind another owner).
    pub async fn claim_name(&self) -> Result<(), Error> {
        use zbus::fdo::{RequestNameFlags, RequestNameReply};
        match self
            .conn
            .request_name_with_flags(BUS_NAME, RequestNameFlags::DO_NOT_QUEUE)
            .await?
        {
            RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner => Ok(()),
            _ => Err(Error::NameTaken),
        }
    }

    /// Puts the adapter object on the bus.
    pub async fn export_adapter(self: &Arc<Self>) -> zbus::Result<()> {
        self.conn
            .object_server()
            .at(ADAPTER_PATH, AdapterObject::new(self.clone()))
            .await?;
        Ok(())
    }

    async fn export_device(self: &Arc<Self>, address: Address) -> zbus::Result<()> {
        self.conn
            .object_server()
            .at(
                device_path(&address),
                DeviceObject::new(self.clone(), address),
            )
            .await?;
        Ok(())
    }

    /// The GATT objects of a peripheral, parents first.
    fn gatt_objects(&self, address: Address) -> Vec<GattObject> {
        let world = self.world();
        let Some(peripheral) = world.peripherals.get(&address) else {
            return Vec::new();
        };
        let mut objects = Vec::new();
        for service in &peripheral.gatt {
            let mut at = GattLocation {
                address,
                service: service.handle,
                characteristic: 0,
                descriptor: 0,
            };
            objects.push(GattObject::Service(at));
            for characteristic in &service.characteristics {
                at.characteristic = characteristic.handle;
                objects.push(GattObject::Characteristic(at));
                for descriptor in &characteristic.descriptors {
                    at.descriptor = descriptor.handle;
                    objects.push(GattObject::Descriptor(at));
                }
            }
        }
        objects
    }

    async fn export_gatt(self: &Arc<Self>, address: Address) -> zbus::Result<()> {
        let server = self.conn.object_server();
        for object in self.gatt_objects(address) {
            let path = object.path();
            let daemon = self.clone();
            match object {
                GattObject::Service(at) => {
                    server.at(path, ServiceObject::new(daemon, at)).await?;
                }
                GattObject::Characteristic(at) => {
                    server
                        .at(path, CharacteristicObject::new(daemon, at))
                        .await?;
                }
                GattObject::Descriptor(at) => {
                    server.at(path, DescriptorObject::new(daemon, at)).await?;
                }
            }
        }
        Ok(())
    }

    async fn unexport_gatt(&self, address: Address) -> zbus::Result<()> {
        let server = self.conn.object_server();
        for object in self.gatt_objects(address).into_iter().rev() {
            let path = object.path();
            match object {
                GattObject::Service(_) => server.remove::<ServiceObject, _>(path).await?,
                GattObject::Characteristic(_) => {
                    server.remove::<CharacteristicObject, _>(path).await?
                }
                GattObject::Descriptor(_) => server.remove::<DescriptorObject, _>(path).await?,
            };
        }
        Ok(())
    }

    // ----- adapter --------------------------------------------------------------------------

    /// `StartDiscovery` from `client`.
    pub async fn start_discovery(self: &Arc<Self>, client: String) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let first = {
            let mut world = self.world();
            if !world.adapter.powered {
                return Err(BluezError::not_ready());
            }
            if !world.discovery_sessions.insert(client.clone()) {
                return Err(BluezError::busy());
            }
            world.discovery_sessions.len() == 1
        };
        if first {
            self.emit_changed::<AdapterObject>(ADAPTER_PATH, &["Discovering"])
                .await?;
        }
        self.events.push(Event::DiscoveryStarted { client });
        self.report_all().await?;
        Ok(())
    }

    /// `StopDiscovery` from `client`.
    pub async fn stop_discovery(&self, client: String) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let last = {
            let mut world = self.world();
            if !world.adapter.powered {
                return Err(BluezError::not_ready());
            }
            if !world.discovery_sessions.remove(&client) {
                return Err(BluezError::failed("No discovery started"));
            }
            world.discovery_sessions.is_empty()
        };
        self.events.push(Event::DiscoveryStopped { client });
        if last {
            self.end_discovery().await?;
        }
        Ok(())
    }

    /// Discovery is over: `Discovering` goes false and devices lose their RSSI and TX power.
    async fn end_discovery(&self) -> zbus::Result<()> {
        self.emit_changed::<AdapterObject>(ADAPTER_PATH, &["Discovering"])
            .await?;
        let stale: Vec<(Address, Vec<&str>)> = {
            let mut world = self.world();
            world
                .peripherals
                .iter_mut()
                .filter_map(|(address, p)| {
                    let device = p.device.as_mut()?;
                    let mut names = Vec::new();
                    if device.rssi.take().is_some() {
                        names.push("RSSI");
                    }
                    if device.tx_power.take().is_some() {
                        names.push("TxPower");
                    }
                    (!names.is_empty()).then_some((*address, names))
                })
                .collect()
        };
        for (address, names) in stale {
            self.device_changed(address, &names).await?;
        }
        Ok(())
    }

    /// `SetDiscoveryFilter` from `client` (`None` clears it).
    pub async fn set_discovery_filter(
        self: &Arc<Self>,
        client: String,
        filter: Option<DiscoveryFilter>,
    ) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        {
            let mut world = self.world();
            match &filter {
                Some(filter) => world.filters.insert(client.clone(), filter.clone()),
                None => world.filters.remove(&client),
            };
        }
        self.events.push(Event::DiscoveryFilter { client, filter });
        self.report_all().await?;
        Ok(())
    }

    /// A client left the bus: its discovery session, filter and notify sessions go, as BlueZ's
    /// disconnect watches do.
    pub async fn client_gone(&self, client: &str) -> zbus::Result<()> {
        let _ops = self.ops.lock().await;
        let (was_discovering, last, stopped_notify) = {
            let mut world = self.world();
            world.filters.remove(client);
            let was_discovering = world.discovery_sessions.remove(client);
            let last = was_discovering && world.discovery_sessions.is_empty();
            let mut stopped = Vec::new();
            for (address, peripheral) in &mut world.peripherals {
                for service in &mut peripheral.gatt {
                    for characteristic in &mut service.characteristics {
                        if let Some(last) = end_notify_session(characteristic, client) {
                            let at = GattLocation {
                                address: *address,
                                service: service.handle,
                                characteristic: characteristic.handle,
                                descriptor: 0,
                            };
                            stopped.push((at, characteristic.uuid.clone(), last));
                        }
                    }
                }
            }
            (was_discovering, last, stopped)
        };
        if was_discovering {
            self.events.push(Event::DiscoveryStopped {
                client: client.into(),
            });
        }
        if last {
            self.end_discovery().await?;
        }
        for (at, characteristic, last) in stopped_notify {
            let event = Event::NotifyStopped {
                address: at.address,
                characteristic,
                client: client.into(),
            };
            self.notify_session_changed(at, last, event).await?;
        }
        Ok(())
    }

    /// Powers the adapter on or off (the `Powered` property, or the test API). Off drops every
    /// connection and discovery session first.
    pub async fn set_powered(&self, powered: bool) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        if self.world().adapter.powered == powered {
            return Ok(());
        }
        if !powered {
            let (connected, sessions) = {
                let mut world = self.world();
                let sessions = std::mem::take(&mut world.discovery_sessions);
                let mut connected = Vec::new();
                for (address, peripheral) in &mut world.peripherals {
                    match peripheral.device.as_mut().map(|d| &mut d.link) {
                        Some(Link::Up) => connected.push(*address),
                        Some(link @ Link::Connecting) => *link = Link::Down,
                        _ => {}
                    }
                }
                (connected, sessions)
            };
            self.link_changes.notify_waiters();
            for address in connected {
                self.take_link_down(address, DisconnectReason::Local)
                    .await?;
            }
            for client in &sessions {
                self.events.push(Event::DiscoveryStopped {
                    client: client.clone(),
                });
            }
            if !sessions.is_empty() {
                self.end_discovery().await?;
            }
        }
        self.world().adapter.powered = powered;
        self.emit_changed::<AdapterObject>(ADAPTER_PATH, &["Powered", "PowerState"])
            .await?;
        self.events.push(Event::Powered { powered });
        Ok(())
    }

    /// Removes a device object (`RemoveDevice`, or BlueZ expiring a temporary device),
    /// disconnecting it first.
    pub async fn remove_device(&self, address: Address) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let link = self
            .world()
            .device(&address)
            .map(|d| d.link)
            .ok_or_else(BluezError::does_not_exist)?;
        if link == Link::Up {
            self.take_link_down(address, DisconnectReason::Local)
                .await?;
        }
        if let Some(peripheral) = self.world().peripherals.get_mut(&address) {
            peripheral.device = None;
        }
        self.link_changes.notify_waiters();
        self.conn
            .object_server()
            .remove::<DeviceObject, _>(device_path(&address))
            .await?;
        self.events.push(Event::DeviceRemoved { address });
        Ok(())
    }

    // ----- advertisements ---------------------------------------------------------------------

    /// Lets discovery see every peripheral in range (after discovery or filters changed).
    async fn report_all(self: &Arc<Self>) -> zbus::Result<()> {
        let addresses: Vec<Address> = self.world().peripherals.keys().copied().collect();
        for address in addresses {
            self.observe(address).await?;
        }
        Ok(())
    }

    /// One advertisement from `address` reaches the adapter: BlueZ creates the device object or
    /// updates its properties, if discovery reports it.
    async fn observe(self: &Arc<Self>, address: Address) -> zbus::Result<()> {
        let changed = {
            let mut world = self.world();
            if !world.reports(&address) {
                return Ok(());
            }
            let duplicate_data = world.duplicate_data();
            let rssi_delta = world.rssi_delta();
            let Some(peripheral) = world.peripherals.get_mut(&address) else {
                return Ok(());
            };
            match &mut peripheral.device {
                Some(device) => {
                    Some(device.apply_advertisement(&peripheral.spec, duplicate_data, rssi_delta))
                }
                None => {
                    peripheral.device = Some(Device::discovered(&peripheral.spec));
                    None
                }
            }
        };
        match changed {
            None => {
                self.export_device(address).await?;
                self.events.push(Event::DeviceFound { address });
            }
            Some(names) if !names.is_empty() => self.device_changed(address, &names).await?,
            Some(_) => {}
        }
        Ok(())
    }

    /// Adds a simulated peripheral, in range.
    pub async fn add_peripheral(self: &Arc<Self>, mut spec: PeripheralSpec) -> Result<(), Error> {
        spec.uuids = spec
            .uuids
            .iter()
            .map(|u| gatt::canonical(u))
            .collect::<Result<_, _>>()?;
        spec.service_data = canonical_keys(std::mem::take(&mut spec.service_data))?;
        let gatt = gatt::build(&spec.address.to_string(), &spec.services)?;
        let address = spec.address;
        let _ops = self.ops.lock().await;
        {
            let mut world = self.world();
            if world.peripherals.contains_key(&address) {
                return Err(Error::DuplicatePeripheral(address.to_string()));
            }
            let peripheral = Peripheral {
                spec,
                in_range: true,
                gatt,
                device: None,
            };
            world.peripherals.insert(address, peripheral);
        }
        self.observe(address).await?;
        Ok(())
    }

    /// Moves a peripheral into or out of range; out of range while connected is a link loss.
    pub async fn set_in_range(
        self: &Arc<Self>,
        address: Address,
        in_range: bool,
    ) -> Result<(), Error> {
        let _ops = self.ops.lock().await;
        let connected = {
            let mut world = self.world();
            let peripheral = known_peripheral(&mut world, address)?;
            peripheral.in_range = in_range;
            peripheral.connected()
        };
        self.link_changes.notify_waiters();
        if in_range {
            self.observe(address).await?;
        } else if connected {
            self.take_link_down(address, DisconnectReason::Timeout)
                .await?;
        }
        Ok(())
    }

    /// The peripheral advertises again with changed contents.
    pub async fn advertise(
        self: &Arc<Self>,
        address: Address,
        update: AdvUpdate,
    ) -> Result<(), Error> {
        let service_data = update.service_data.map(canonical_keys).transpose()?;
        let _ops = self.ops.lock().await;
        {
            let mut world = self.world();
            let spec = &mut known_peripheral(&mut world, address)?.spec;
            if let Some(rssi) = update.rssi {
                spec.rssi = rssi;
            }
            if let Some(data) = service_data {
                spec.service_data = data;
            }
            if let Some(data) = update.manufacturer_data {
                spec.manufacturer_data = data;
            }
        }
        self.observe(address).await?;
        Ok(())
    }

    // ----- connections ----------------------------------------------------------------------

    /// `Device1.Connect`: waits up to the connect timeout for the peripheral to be reachable,
    /// then brings the link up and resolves services.
    pub async fn connect(self: &Arc<Self>, address: Address) -> Result<(), BluezError> {
        {
            let _ops = self.ops.lock().await;
            let mut world = self.world();
            if !world.adapter.powered {
                return Err(BluezError::not_ready());
            }
            let device = world
                .device_mut(&address)
                .ok_or_else(BluezError::does_not_exist)?;
            match device.link {
                // BlueZ answers a Connect on a connected, resolved LE device with success.
                Link::Up => return Ok(()),
                Link::Connecting => return Err(BluezError::in_progress()),
                Link::Down => device.link = Link::Connecting,
            }
        }
        let reached = self.wait_until_reachable(address).await;
        let _ops = self.ops.lock().await;
        let still_connecting = {
            let mut world = self.world();
            match world.device_mut(&address) {
                Some(device) if device.link == Link::Connecting => {
                    if !reached {
                        device.link = Link::Down;
                    }
                    true
                }
                _ => false,
            }
        };
        if !reached || !still_connecting {
            self.events.push(Event::ConnectFailed {
                address,
                reason: CONNECT_ABORTED.into(),
            });
            return Err(BluezError::failed(CONNECT_ABORTED));
        }
        self.bring_link_up(address).await?;
        Ok(())
    }

    /// Whether the peripheral became reachable before the timeout (false if the attempt was
    /// cancelled or timed out).
    async fn wait_until_reachable(&self, address: Address) -> bool {
        let deadline = tokio::time::Instant::now() + self.connect_timeout;
        loop {
            let notified = self.link_changes.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let world = self.world();
                let Some(peripheral) = world.peripherals.get(&address) else {
                    return false;
                };
                let connecting = peripheral
                    .device
                    .as_ref()
                    .is_some_and(|d| d.link == Link::Connecting);
                if !connecting || !world.adapter.powered {
                    return false;
                }
                if peripheral.in_range && peripheral.spec.connectable {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// The link is up: `Connected`, GATT objects, `UUIDs`, then `ServicesResolved`.
    async fn bring_link_up(self: &Arc<Self>, address: Address) -> zbus::Result<()> {
        {
            let mut world = self.world();
            if let Some(peripheral) = world.peripherals.get_mut(&address) {
                for characteristic in peripheral
                    .gatt
                    .iter_mut()
                    .flat_map(|s| s.characteristics.iter_mut())
                {
                    characteristic.cached.clear();
                    characteristic.notify_sessions.clear();
                    set_cccd(characteristic, false);
                    for descriptor in &mut characteristic.descriptors {
                        descriptor.cached.clear();
                    }
                }
                if let Some(device) = peripheral.device.as_mut() {
                    device.link = Link::Up;
                }
            }
        }
        self.device_changed(address, &["Connected"]).await?;
        self.export_gatt(address).await?;
        let uuids_grew = {
            let mut world = self.world();
            world.peripherals.get_mut(&address).is_some_and(|p| {
                let primaries: Vec<String> =
                    gatt::primary_uuids(&p.gatt).map(str::to_owned).collect();
                p.device.as_mut().is_some_and(|device| {
                    let before = device.uuids.len();
                    device.uuids.extend(primaries);
                    device.uuids.len() != before
                })
            })
        };
        if uuids_grew {
            self.device_changed(address, &["UUIDs"]).await?;
        }
        if let Some(device) = self.world().device_mut(&address) {
            device.services_resolved = true;
        }
        self.device_changed(address, &["ServicesResolved"]).await?;
        self.events.push(Event::Connected { address });
        Ok(())
    }

    /// `Device1.Disconnect`: also cancels a pending `Connect`.
    pub async fn disconnect(&self, address: Address) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let link = {
            let mut world = self.world();
            let device = world
                .device_mut(&address)
                .ok_or_else(BluezError::does_not_exist)?;
            let link = device.link;
            if link == Link::Connecting {
                device.link = Link::Down;
            }
            link
        };
        match link {
            Link::Down => Err(BluezError::not_connected()),
            Link::Connecting => {
                self.link_changes.notify_waiters();
                Ok(())
            }
            Link::Up => Ok(self
                .take_link_down(address, DisconnectReason::Local)
                .await?),
        }
    }

    /// Link loss on a connected peripheral (supervision timeout); false if it wasn't connected.
    pub async fn drop_link(&self, address: Address) -> Result<bool, Error> {
        let _ops = self.ops.lock().await;
        let connected = known_peripheral(&mut self.world(), address)?.connected();
        if connected {
            self.take_link_down(address, DisconnectReason::Timeout)
                .await?;
        }
        Ok(connected)
    }

    /// The link goes down: `Disconnected` signal, `ServicesResolved` false, GATT objects
    /// removed, `Connected` false.
    async fn take_link_down(&self, address: Address, reason: DisconnectReason) -> zbus::Result<()> {
        let emitter = SignalEmitter::new(&self.conn, device_path(&address))?;
        DeviceObject::disconnected(&emitter, reason.name(), reason.message()).await?;
        if let Some(device) = self.world().device_mut(&address) {
            device.services_resolved = false;
        }
        self.device_changed(address, &["ServicesResolved"]).await?;
        self.unexport_gatt(address).await?;
        if let Some(device) = self.world().device_mut(&address) {
            device.link = Link::Down;
        }
        self.device_changed(address, &["Connected"]).await?;
        self.events.push(Event::Disconnected {
            address,
            reason: reason.name().into(),
        });
        self.link_changes.notify_waiters();
        Ok(())
    }

    /// `Device1.Pair`: connects if needed, then the device is paired and bonded.
    pub async fn pair(self: &Arc<Self>, address: Address) -> Result<(), BluezError> {
        let paired = self
            .world()
            .device(&address)
            .map(|d| d.paired)
            .ok_or_else(BluezError::does_not_exist)?;
        if paired {
            return Err(BluezError::already_exists());
        }
        self.connect(address).await?;
        let _ops = self.ops.lock().await;
        if let Some(device) = self.world().device_mut(&address) {
            device.paired = true;
        }
        self.device_changed(address, &["Paired", "Bonded"]).await?;
        Ok(())
    }

    // ----- GATT -------------------------------------------------------------------------------

    /// Runs `f` on a characteristic of a connected device, with the connection's MTU.
    fn with_characteristic<T>(
        &self,
        at: GattLocation,
        f: impl FnOnce(&mut gatt::Characteristic, u16) -> Result<T, BluezError>,
    ) -> Result<T, BluezError> {
        let mut world = self.world();
        let peripheral = connected_peripheral(&mut world, &at.address)?;
        let mtu = peripheral.spec.mtu;
        let characteristic = gatt::characteristic_mut(&mut peripheral.gatt, at.characteristic)
            .ok_or_else(BluezError::does_not_exist)?;
        f(characteristic, mtu)
    }

    /// Runs `f` on a descriptor of a connected device, with its characteristic's UUID.
    fn with_descriptor<T>(
        &self,
        at: GattLocation,
        f: impl FnOnce(&mut gatt::Descriptor) -> Result<T, BluezError>,
    ) -> Result<(T, String, String), BluezError> {
        let mut world = self.world();
        let peripheral = connected_peripheral(&mut world, &at.address)?;
        let (characteristic, descriptor) =
            gatt::descriptor_mut(&mut peripheral.gatt, at.descriptor)
                .ok_or_else(BluezError::does_not_exist)?;
        let result = f(descriptor)?;
        Ok((result, descriptor.uuid.clone(), characteristic))
    }

    /// `GattCharacteristic1.ReadValue`: reads the peripheral's value; BlueZ caches it in
    /// `Value` and signals that before replying.
    pub async fn read_characteristic(
        &self,
        at: GattLocation,
        offset: u16,
    ) -> Result<Vec<u8>, BluezError> {
        let _ops = self.ops.lock().await;
        let (data, characteristic) = self.with_characteristic(at, |c, _| {
            let data = gatt::read_and_cache(&c.flags, &c.value, &mut c.cached, offset)?;
            Ok((data, c.uuid.clone()))
        })?;
        self.characteristic_changed(at, &["Value"]).await?;
        self.events.push(Event::Read {
            address: at.address,
            characteristic,
            offset,
        });
        Ok(data)
    }

    /// `GattCharacteristic1.WriteValue`.
    pub async fn write_characteristic(
        &self,
        at: GattLocation,
        value: Vec<u8>,
        options: ValueOptions,
    ) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let (outcome, characteristic) = self.with_characteristic(at, |c, mtu| {
            let outcome = gatt::write_characteristic(c, &value, &options, mtu)?;
            if let Some(new_value) = &outcome.new_value {
                c.value = new_value.clone();
            }
            Ok((outcome, c.uuid.clone()))
        })?;
        self.events.push(Event::Write {
            address: at.address,
            characteristic,
            value,
            write_type: outcome.write_type,
            offset: options.offset,
            accepted: outcome.new_value.is_some(),
        });
        Ok(())
    }

    /// `GattCharacteristic1.StartNotify` from `client`.
    pub async fn start_notify(&self, at: GattLocation, client: String) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let (first, characteristic) = self.with_characteristic(at, |c, _| {
            if !c.flags.iter().any(|f| f == "notify" || f == "indicate") {
                return Err(BluezError::not_supported());
            }
            if !c.notify_sessions.insert(client.clone()) {
                return Err(BluezError::failed("Already notifying"));
            }
            let first = c.notify_sessions.len() == 1;
            if first {
                set_cccd(c, true);
            }
            Ok((first, c.uuid.clone()))
        })?;
        let event = Event::NotifyStarted {
            address: at.address,
            characteristic,
            client,
        };
        Ok(self.notify_session_changed(at, first, event).await?)
    }

    /// `GattCharacteristic1.StopNotify` from `client`.
    pub async fn stop_notify(&self, at: GattLocation, client: String) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let (last, characteristic) = self.with_characteristic(at, |c, _| {
            let last = end_notify_session(c, &client)
                .ok_or_else(|| BluezError::failed("No notify session started"))?;
            Ok((last, c.uuid.clone()))
        })?;
        let event = Event::NotifyStopped {
            address: at.address,
            characteristic,
            client,
        };
        Ok(self.notify_session_changed(at, last, event).await?)
    }

    /// `GattDescriptor1.ReadValue`.
    pub async fn read_descriptor(
        &self,
        at: GattLocation,
        offset: u16,
    ) -> Result<Vec<u8>, BluezError> {
        let _ops = self.ops.lock().await;
        let (data, descriptor, characteristic) = self.with_descriptor(at, |d| {
            gatt::read_and_cache(&d.flags, &d.value, &mut d.cached, offset)
        })?;
        self.emit_changed::<DescriptorObject>(&at.descriptor_path(), &["Value"])
            .await?;
        self.events.push(Event::DescriptorRead {
            address: at.address,
            descriptor,
            characteristic,
        });
        Ok(data)
    }

    /// `GattDescriptor1.WriteValue`.
    pub async fn write_descriptor(
        &self,
        at: GattLocation,
        value: Vec<u8>,
        offset: u16,
    ) -> Result<(), BluezError> {
        let _ops = self.ops.lock().await;
        let ((), descriptor, characteristic) = self.with_descriptor(at, |d| {
            d.value = gatt::write_descriptor(d, &value, offset)?;
            Ok(())
        })?;
        self.events.push(Event::DescriptorWrite {
            address: at.address,
            descriptor,
            characteristic,
            value,
        });
        Ok(())
    }

    /// The peripheral's characteristic takes a new value; with a notify session open on a
    /// connected device it is notified (PropertiesChanged on `Value`, even if unchanged).
    /// Returns whether it was notified.
    pub async fn set_value(
        &self,
        address: Address,
        uuid: &str,
        value: Vec<u8>,
    ) -> Result<bool, Error> {
        let uuid = gatt::canonical(uuid)?;
        let _ops = self.ops.lock().await;
        let notified_at = {
            let mut world = self.world();
            let peripheral = known_peripheral(&mut world, address)?;
            let connected = peripheral.connected();
            let (service, characteristic) = gatt::find_by_uuid(&mut peripheral.gatt, &uuid)
                .ok_or_else(|| Error::UnknownCharacteristic {
                    address: address.to_string(),
                    uuid: uuid.clone(),
                })?;
            characteristic.value = value.clone();
            let notify = connected && !characteristic.notify_sessions.is_empty();
            if notify {
                characteristic.cached = value.clone();
            }
            notify.then_some((service, characteristic.handle))
        };
        let Some((service, characteristic)) = notified_at else {
            return Ok(false);
        };
        let at = GattLocation {
            address,
            service,
            characteristic,
            descriptor: 0,
        };
        self.characteristic_changed(at, &["Value"]).await?;
        self.events.push(Event::Notified {
            address,
            characteristic: uuid,
            value,
        });
        Ok(true)
    }

    // ----- lifecycle --------------------------------------------------------------------------

    /// bluetoothd restarts: the name goes away with every object (clients see the owner
    /// vanish, not a removal per object), then the adapter comes back, powered, with no
    /// devices, sessions or filters.
    pub async fn restart(self: &Arc<Self>) -> Result<(), Error> {
        let _ops = self.ops.lock().await;
        self.conn.release_name(BUS_NAME).await?;
        let devices: Vec<(Address, bool)> = self
            .world()
            .peripherals
            .iter()
            .filter_map(|(address, p)| p.device.as_ref().map(|_| (*address, p.connected())))
            .collect();
        let server = self.conn.object_server();
        for (address, connected) in devices {
            if connected {
                self.unexport_gatt(address).await?;
            }
            server
                .remove::<DeviceObject, _>(device_path(&address))
                .await?;
        }
        server.remove::<AdapterObject, _>(ADAPTER_PATH).await?;
        {
            let mut world = self.world();
            let peripherals = std::mem::take(&mut world.peripherals);
            *world = World::default();
            world.peripherals = peripherals;
            for peripheral in world.peripherals.values_mut() {
                peripheral.device = None;
                for characteristic in peripheral
                    .gatt
                    .iter_mut()
                    .flat_map(|s| s.characteristics.iter_mut())
                {
                    characteristic.notify_sessions.clear();
                    set_cccd(characteristic, false);
                }
            }
        }
        self.link_changes.notify_waiters();
        self.claim_name().await?;
        self.export_adapter().await?;
        self.events.push(Event::Restarted);
        Ok(())
    }
}

/// The peripheral of a connected device, or BlueZ's "Not connected".
fn connected_peripheral<'a>(
    world: &'a mut World,
    address: &Address,
) -> Result<&'a mut Peripheral, BluezError> {
    world
        .peripherals
        .get_mut(address)
        .filter(|p| p.connected())
        .ok_or_else(|| BluezError::failed("Not connected"))
}

/// A peripheral the test API names, or [`Error::UnknownPeripheral`].
fn known_peripheral(world: &mut World, address: Address) -> Result<&mut Peripheral, Error> {
    world
        .peripherals
        .get_mut(&address)
        .ok_or_else(|| Error::UnknownPeripheral(address.to_string()))
}

/// Ends `client`'s notify session on `characteristic`, clearing the CCCD after the last one;
/// whether it was the last, or `None` if the client had no session.
fn end_notify_session(characteristic: &mut gatt::Characteristic, client: &str) -> Option<bool> {
    if !characteristic.notify_sessions.remove(client) {
        return None;
    }
    let last = characteristic.notify_sessions.is_empty();
    if last {
        set_cccd(characteristic, false);
    }
    Some(last)
}

/// Sets a characteristic's CCCD the way enabling or disabling its notifications (or, for an
/// indicate-only characteristic, indications) writes it.
fn set_cccd(characteristic: &mut gatt::Characteristic, enabled: bool) {
    let indicate_only = !characteristic.flags.iter().any(|f| f == "notify");
    let value = match (enabled, indicate_only) {
        (false, _) => [0, 0],
        (true, false) => [1, 0],
        (true, true) => [2, 0],
    };
    if let Some(cccd) = characteristic
        .descriptors
        .iter_mut()
        .find(|d| d.uuid == gatt::CCCD_UUID)
    {
        cccd.value = value.to_vec();
    }
}

/// Service data keyed by canonical UUIDs.
fn canonical_keys(
    data: std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, Error> {
    data.into_iter()
        .map(|(uuid, value)| Ok((gatt::canonical(&uuid)?, value)))
        .collect()
}
