//! `org.bluez.Device1` at `/org/bluez/hci0/dev_XX_XX_XX_XX_XX_XX`.

use std::collections::HashMap;
use std::sync::Arc;

use m2mhal_plugin_api::ble::normalize_uuid;
use zbus::object_server::SignalEmitter;
use zbus::{OwnedObjectPath, OwnedVariant, Variant, fdo, interface};

use super::{ADAPTER_PATH, gone, optional};
use crate::daemon::Daemon;
use crate::error::BluezError;
use crate::spec::Address;
use crate::state::{Device, Link, Peripheral};

/// Advertising flags of every simulated peripheral: LE General Discoverable, BR/EDR not
/// supported.
const ADVERTISING_FLAGS: [u8; 1] = [0x06];

/// A device object.
pub struct DeviceObject {
    daemon: Arc<Daemon>,
    address: Address,
}

impl DeviceObject {
    /// The object for the peripheral at `address`.
    pub fn new(daemon: Arc<Daemon>, address: Address) -> Self {
        DeviceObject { daemon, address }
    }

    fn read<T>(&self, f: impl FnOnce(&Peripheral, &Device) -> T) -> fdo::Result<T> {
        let world = self.daemon.world();
        let peripheral = world.peripherals.get(&self.address).ok_or_else(gone)?;
        let device = peripheral.device.as_ref().ok_or_else(gone)?;
        Ok(f(peripheral, device))
    }

    fn write(&self, f: impl FnOnce(&mut Device)) -> fdo::Result<()> {
        let mut world = self.daemon.world();
        f(world.device_mut(&self.address).ok_or_else(gone)?);
        Ok(())
    }
}

/// Byte strings as the variants BlueZ puts in its data dictionaries.
fn byte_variants<K: Clone + std::hash::Hash + Eq>(
    data: &std::collections::BTreeMap<K, Vec<u8>>,
) -> fdo::Result<HashMap<K, OwnedVariant>> {
    data.iter()
        .map(|(k, v)| {
            let value = OwnedVariant::try_from(Variant::from(v.clone()))
                .map_err(|e| fdo::Error::Failed(e.to_string()))?;
            Ok((k.clone(), value))
        })
        .collect()
}

#[interface(name = "org.bluez.Device1", introspection_docs = false)]
impl DeviceObject {
    async fn connect(&self) -> Result<(), BluezError> {
        self.daemon.connect(self.address).await
    }

    async fn disconnect(&self) -> Result<(), BluezError> {
        self.daemon.disconnect(self.address).await
    }

    async fn connect_profile(&self, uuid: String) -> Result<(), BluezError> {
        normalize_uuid(&uuid).ok_or_else(BluezError::invalid_args)?;
        // No profile plugins run here, so there is nothing to connect a profile with.
        Err(BluezError::not_available())
    }

    async fn disconnect_profile(&self, uuid: String) -> Result<(), BluezError> {
        normalize_uuid(&uuid).ok_or_else(BluezError::invalid_args)?;
        Err(BluezError::not_supported())
    }

    async fn pair(&self) -> Result<(), BluezError> {
        self.daemon.pair(self.address).await
    }

    async fn cancel_pairing(&self) -> Result<(), BluezError> {
        // Pairing completes within `Pair`, so none is ever left to cancel.
        Err(BluezError::does_not_exist())
    }

    /// The reason a connection went down, ahead of `Connected` turning false.
    #[zbus(signal)]
    pub async fn disconnected(
        emitter: &SignalEmitter<'_>,
        name: &str,
        message: &str,
    ) -> zbus::Result<()>;

    #[zbus(property)]
    async fn address(&self) -> String {
        self.address.to_string()
    }

    #[zbus(property)]
    async fn address_type(&self) -> fdo::Result<String> {
        self.read(|p, _| p.spec.address_type.as_str().to_owned())
    }

    #[zbus(property)]
    async fn name(&self) -> fdo::Result<String> {
        optional("Name", self.read(|_, d| d.name.clone())?)
    }

    #[zbus(property)]
    async fn alias(&self) -> fdo::Result<String> {
        self.read(|_, d| d.alias_or_name(&self.address))
    }

    #[zbus(property)]
    async fn set_alias(&self, alias: String) -> fdo::Result<()> {
        self.write(|d| d.alias = (!alias.is_empty()).then_some(alias))
    }

    #[zbus(property)]
    async fn appearance(&self) -> fdo::Result<u16> {
        optional("Appearance", self.read(|_, d| d.appearance)?)
    }

    #[zbus(property)]
    async fn icon(&self) -> fdo::Result<String> {
        let icon = self.read(|_, d| d.appearance.and_then(icon_for_appearance))?;
        optional("Icon", icon.map(str::to_owned))
    }

    #[zbus(property, name = "UUIDs")]
    async fn uuids(&self) -> fdo::Result<Vec<String>> {
        self.read(|_, d| d.uuids.iter().cloned().collect())
    }

    #[zbus(property)]
    async fn paired(&self) -> fdo::Result<bool> {
        self.read(|_, d| d.paired)
    }

    #[zbus(property)]
    async fn bonded(&self) -> fdo::Result<bool> {
        self.read(|_, d| d.paired)
    }

    #[zbus(property)]
    async fn connected(&self) -> fdo::Result<bool> {
        self.read(|_, d| d.link == Link::Up)
    }

    #[zbus(property)]
    async fn trusted(&self) -> fdo::Result<bool> {
        self.read(|_, d| d.trusted)
    }

    #[zbus(property)]
    async fn set_trusted(&self, trusted: bool) -> fdo::Result<()> {
        self.write(|d| d.trusted = trusted)
    }

    #[zbus(property)]
    async fn blocked(&self) -> fdo::Result<bool> {
        self.read(|_, d| d.blocked)
    }

    #[zbus(property)]
    async fn set_blocked(&self, blocked: bool) -> fdo::Result<()> {
        self.write(|d| d.blocked = blocked)
    }

    #[zbus(property)]
    async fn legacy_pairing(&self) -> bool {
        false
    }

    #[zbus(property)]
    async fn cable_pairing(&self) -> bool {
        false
    }

    #[zbus(property, name = "RSSI")]
    async fn rssi(&self) -> fdo::Result<i16> {
        optional("RSSI", self.read(|_, d| d.rssi)?)
    }

    #[zbus(property)]
    async fn tx_power(&self) -> fdo::Result<i16> {
        optional("TxPower", self.read(|_, d| d.tx_power)?)
    }

    #[zbus(property)]
    async fn manufacturer_data(&self) -> fdo::Result<HashMap<u16, OwnedVariant>> {
        let data = self.read(|_, d| d.manufacturer_data.clone())?;
        optional("ManufacturerData", (!data.is_empty()).then_some(()))?;
        byte_variants(&data)
    }

    #[zbus(property)]
    async fn service_data(&self) -> fdo::Result<HashMap<String, OwnedVariant>> {
        let data = self.read(|_, d| d.service_data.clone())?;
        optional("ServiceData", (!data.is_empty()).then_some(()))?;
        byte_variants(&data)
    }

    #[zbus(property)]
    async fn services_resolved(&self) -> fdo::Result<bool> {
        self.read(|_, d| d.services_resolved)
    }

    #[zbus(property)]
    async fn advertising_flags(&self) -> Vec<u8> {
        ADVERTISING_FLAGS.to_vec()
    }

    #[zbus(property)]
    async fn adapter(&self) -> OwnedObjectPath {
        OwnedObjectPath::try_from(ADAPTER_PATH).unwrap_or_default()
    }
}

/// The freedesktop icon name BlueZ derives from a GAP appearance (category, then HID subtype).
fn icon_for_appearance(appearance: u16) -> Option<&'static str> {
    match (appearance >> 6, appearance & 0x3f) {
        (0x01, _) => Some("phone"),
        (0x02, _) => Some("computer"),
        (0x05, _) => Some("video-display"),
        (0x0a, _) => Some("multimedia-player"),
        (0x0b, _) => Some("scanner"),
        (0x0f, 0x01) => Some("input-keyboard"),
        (0x0f, 0x02) => Some("input-mouse"),
        (0x0f, 0x03 | 0x04) => Some("input-gaming"),
        (0x0f, 0x05) => Some("input-tablet"),
        (0x0f, 0x08) => Some("scanner"),
        _ => None,
    }
}
