//! `org.bluez.Adapter1` at `/org/bluez/hci0`.

use std::collections::HashMap;
use std::sync::Arc;

use zbus::message::Header;
use zbus::{OwnedObjectPath, OwnedVariant, interface};

use super::sender;
use crate::daemon::Daemon;
use crate::error::BluezError;
use crate::filter::{DiscoveryFilter, FILTER_KEYS};

/// The adapter's own address.
pub const ADAPTER_ADDRESS: &str = "00:1A:7D:DA:71:13";
/// The adapter's system name.
const ADAPTER_NAME: &str = "m2mhal-fake-bluez";
/// Local services a stock bluetoothd registers (GAP, GATT, Device Information).
const LOCAL_UUIDS: [&str; 3] = [
    "00001800-0000-1000-8000-00805f9b34fb",
    "00001801-0000-1000-8000-00805f9b34fb",
    "0000180a-0000-1000-8000-00805f9b34fb",
];

/// The adapter object.
pub struct AdapterObject {
    daemon: Arc<Daemon>,
}

impl AdapterObject {
    /// The adapter of this daemon.
    pub fn new(daemon: Arc<Daemon>) -> Self {
        AdapterObject { daemon }
    }
}

#[interface(name = "org.bluez.Adapter1", introspection_docs = false)]
impl AdapterObject {
    async fn start_discovery(&self, #[zbus(header)] header: Header<'_>) -> Result<(), BluezError> {
        self.daemon.start_discovery(sender(&header)).await
    }

    async fn stop_discovery(&self, #[zbus(header)] header: Header<'_>) -> Result<(), BluezError> {
        self.daemon.stop_discovery(sender(&header)).await
    }

    async fn set_discovery_filter(
        &self,
        filter: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), BluezError> {
        let filter = DiscoveryFilter::parse(&filter)?;
        self.daemon
            .set_discovery_filter(sender(&header), filter)
            .await
    }

    async fn get_discovery_filters(&self) -> Vec<String> {
        FILTER_KEYS.iter().map(|k| (*k).to_owned()).collect()
    }

    async fn remove_device(&self, device: OwnedObjectPath) -> Result<(), BluezError> {
        let address = self
            .daemon
            .address_of_device_path(device.as_str())
            .ok_or_else(BluezError::does_not_exist)?;
        self.daemon.remove_device(address).await
    }

    #[zbus(property)]
    async fn address(&self) -> String {
        ADAPTER_ADDRESS.to_owned()
    }

    #[zbus(property)]
    async fn address_type(&self) -> String {
        "public".to_owned()
    }

    #[zbus(property)]
    async fn name(&self) -> String {
        ADAPTER_NAME.to_owned()
    }

    #[zbus(property)]
    async fn alias(&self) -> String {
        let world = self.daemon.world();
        world
            .adapter
            .alias
            .clone()
            .unwrap_or_else(|| ADAPTER_NAME.to_owned())
    }

    #[zbus(property)]
    async fn set_alias(&self, alias: String) {
        self.daemon.world().adapter.alias = (!alias.is_empty()).then_some(alias);
    }

    #[zbus(property)]
    async fn class(&self) -> u32 {
        0
    }

    #[zbus(property)]
    async fn connectable(&self) -> bool {
        self.daemon.world().adapter.connectable
    }

    #[zbus(property)]
    async fn set_connectable(&self, connectable: bool) {
        let mut world = self.daemon.world();
        world.adapter.connectable = connectable;
        if !connectable {
            world.adapter.discoverable = false;
        }
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn powered(&self) -> bool {
        self.daemon.world().adapter.powered
    }

    #[zbus(property)]
    async fn set_powered(&self, powered: bool) -> Result<(), BluezError> {
        self.daemon.set_powered(powered).await
    }

    #[zbus(property)]
    async fn power_state(&self) -> String {
        let powered = self.daemon.world().adapter.powered;
        if powered { "on" } else { "off" }.to_owned()
    }

    #[zbus(property)]
    async fn discoverable(&self) -> bool {
        self.daemon.world().adapter.discoverable
    }

    #[zbus(property)]
    async fn set_discoverable(&self, discoverable: bool) -> Result<(), BluezError> {
        let mut world = self.daemon.world();
        if !world.adapter.powered {
            return Err(BluezError::not_ready());
        }
        world.adapter.discoverable = discoverable;
        Ok(())
    }

    #[zbus(property)]
    async fn discoverable_timeout(&self) -> u32 {
        self.daemon.world().adapter.discoverable_timeout
    }

    #[zbus(property)]
    async fn set_discoverable_timeout(&self, seconds: u32) {
        self.daemon.world().adapter.discoverable_timeout = seconds;
    }

    #[zbus(property)]
    async fn pairable(&self) -> bool {
        self.daemon.world().adapter.pairable
    }

    #[zbus(property)]
    async fn set_pairable(&self, pairable: bool) {
        self.daemon.world().adapter.pairable = pairable;
    }

    #[zbus(property)]
    async fn pairable_timeout(&self) -> u32 {
        self.daemon.world().adapter.pairable_timeout
    }

    #[zbus(property)]
    async fn set_pairable_timeout(&self, seconds: u32) {
        self.daemon.world().adapter.pairable_timeout = seconds;
    }

    #[zbus(property)]
    async fn discovering(&self) -> bool {
        self.daemon.world().discovering()
    }

    #[zbus(property, name = "UUIDs")]
    async fn uuids(&self) -> Vec<String> {
        LOCAL_UUIDS.iter().map(|u| (*u).to_owned()).collect()
    }

    #[zbus(property)]
    async fn modalias(&self) -> String {
        // BlueZ's own Device ID (Linux Foundation, BlueZ 5.79).
        "usb:v1D6Bp0246d054F".to_owned()
    }

    #[zbus(property)]
    async fn roles(&self) -> Vec<String> {
        vec!["central".to_owned(), "peripheral".to_owned()]
    }

    #[zbus(property)]
    async fn manufacturer(&self) -> u16 {
        // Linux Foundation.
        0x05f1
    }

    #[zbus(property)]
    async fn version(&self) -> u8 {
        // Bluetooth Core 5.3.
        0x0c
    }
}
