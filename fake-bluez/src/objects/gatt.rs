//! `org.bluez.GattService1`, `org.bluez.GattCharacteristic1` and `org.bluez.GattDescriptor1`
//! below a connected device.

use std::collections::HashMap;
use std::sync::Arc;

use zbus::message::Header;
use zbus::{OwnedFd, OwnedObjectPath, OwnedVariant, fdo, interface};

use super::{
    characteristic_path, descriptor_path, device_path, gone, optional, sender, service_path,
};
use crate::daemon::Daemon;
use crate::error::BluezError;
use crate::gatt::{self, Characteristic, Descriptor, Service, ValueOptions};
use crate::spec::Address;

/// Where a GATT object sits: its device and the handles on the way down.
#[derive(Clone, Copy, Debug)]
pub struct GattLocation {
    /// The device.
    pub address: Address,
    /// Service declaration handle.
    pub service: u16,
    /// Characteristic declaration handle (unused for services).
    pub characteristic: u16,
    /// Descriptor handle (descriptors only).
    pub descriptor: u16,
}

impl GattLocation {
    /// The service's object path.
    pub fn service_path(&self) -> String {
        service_path(&self.address, self.service)
    }

    /// The characteristic's object path.
    pub fn characteristic_path(&self) -> String {
        characteristic_path(&self.address, self.service, self.characteristic)
    }

    /// The descriptor's object path.
    pub fn descriptor_path(&self) -> String {
        descriptor_path(
            &self.address,
            self.service,
            self.characteristic,
            self.descriptor,
        )
    }
}

fn object_path(path: String) -> fdo::Result<OwnedObjectPath> {
    OwnedObjectPath::try_from(path).map_err(|e| fdo::Error::Failed(e.to_string()))
}

/// A service object.
pub struct ServiceObject {
    daemon: Arc<Daemon>,
    at: GattLocation,
}

impl ServiceObject {
    /// The object for the service at `at`.
    pub fn new(daemon: Arc<Daemon>, at: GattLocation) -> Self {
        ServiceObject { daemon, at }
    }

    fn read<T>(&self, f: impl FnOnce(&Service) -> T) -> fdo::Result<T> {
        let world = self.daemon.world();
        let peripheral = world.peripherals.get(&self.at.address).ok_or_else(gone)?;
        let service = peripheral
            .gatt
            .iter()
            .find(|s| s.handle == self.at.service)
            .ok_or_else(gone)?;
        Ok(f(service))
    }
}

#[interface(name = "org.bluez.GattService1", introspection_docs = false)]
impl ServiceObject {
    #[zbus(property, name = "UUID")]
    async fn uuid(&self) -> fdo::Result<String> {
        self.read(|s| s.uuid.clone())
    }

    #[zbus(property)]
    async fn primary(&self) -> fdo::Result<bool> {
        self.read(|s| s.primary)
    }

    #[zbus(property)]
    async fn device(&self) -> fdo::Result<OwnedObjectPath> {
        object_path(device_path(&self.at.address))
    }

    #[zbus(property)]
    async fn handle(&self) -> u16 {
        self.at.service
    }
}

/// A characteristic object.
pub struct CharacteristicObject {
    daemon: Arc<Daemon>,
    at: GattLocation,
}

impl CharacteristicObject {
    /// The object for the characteristic at `at`.
    pub fn new(daemon: Arc<Daemon>, at: GattLocation) -> Self {
        CharacteristicObject { daemon, at }
    }

    fn read<T>(&self, f: impl FnOnce(&Characteristic, u16) -> T) -> fdo::Result<T> {
        let mut world = self.daemon.world();
        let peripheral = world
            .peripherals
            .get_mut(&self.at.address)
            .ok_or_else(gone)?;
        let mtu = peripheral.spec.mtu;
        let characteristic = gatt::characteristic_mut(&mut peripheral.gatt, self.at.characteristic)
            .ok_or_else(gone)?;
        Ok(f(characteristic, mtu))
    }

    fn has_flag(&self, flag: &str) -> fdo::Result<bool> {
        self.read(|c, _| c.flags.iter().any(|f| f == flag))
    }
}

#[interface(name = "org.bluez.GattCharacteristic1", introspection_docs = false)]
impl CharacteristicObject {
    async fn read_value(
        &self,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, BluezError> {
        let options = ValueOptions::parse(&options)?;
        self.daemon
            .read_characteristic(self.at, options.offset)
            .await
    }

    async fn write_value(
        &self,
        value: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<(), BluezError> {
        let options = ValueOptions::parse(&options)?;
        self.daemon
            .write_characteristic(self.at, value, options)
            .await
    }

    async fn start_notify(&self, #[zbus(header)] header: Header<'_>) -> Result<(), BluezError> {
        self.daemon.start_notify(self.at, sender(&header)).await
    }

    async fn stop_notify(&self, #[zbus(header)] header: Header<'_>) -> Result<(), BluezError> {
        self.daemon.stop_notify(self.at, sender(&header)).await
    }

    #[zbus(out_args("fd", "mtu"))]
    async fn acquire_write(
        &self,
        _options: HashMap<String, OwnedVariant>,
    ) -> Result<(OwnedFd, u16), BluezError> {
        Err(BluezError::not_supported())
    }

    #[zbus(out_args("fd", "mtu"))]
    async fn acquire_notify(
        &self,
        _options: HashMap<String, OwnedVariant>,
    ) -> Result<(OwnedFd, u16), BluezError> {
        Err(BluezError::not_supported())
    }

    #[zbus(property, name = "UUID")]
    async fn uuid(&self) -> fdo::Result<String> {
        self.read(|c, _| c.uuid.clone())
    }

    #[zbus(property)]
    async fn service(&self) -> fdo::Result<OwnedObjectPath> {
        object_path(self.at.service_path())
    }

    #[zbus(property)]
    async fn value(&self) -> fdo::Result<Vec<u8>> {
        let cached = self.read(|c, _| c.cached.clone())?;
        optional("Value", (!cached.is_empty()).then_some(cached))
    }

    #[zbus(property)]
    async fn notifying(&self) -> fdo::Result<bool> {
        let notifies = self.has_flag("notify")? || self.has_flag("indicate")?;
        let notifying = self.read(|c, _| !c.notify_sessions.is_empty())?;
        optional("Notifying", notifies.then_some(notifying))
    }

    #[zbus(property)]
    async fn write_acquired(&self) -> fdo::Result<bool> {
        optional(
            "WriteAcquired",
            self.has_flag("write-without-response")?.then_some(false),
        )
    }

    #[zbus(property)]
    async fn notify_acquired(&self) -> fdo::Result<bool> {
        optional("NotifyAcquired", self.has_flag("notify")?.then_some(false))
    }

    #[zbus(property)]
    async fn flags(&self) -> fdo::Result<Vec<String>> {
        self.read(|c, _| c.flags.clone())
    }

    #[zbus(property, name = "MTU")]
    async fn mtu(&self) -> fdo::Result<u16> {
        self.read(|_, mtu| mtu)
    }

    #[zbus(property)]
    async fn handle(&self) -> fdo::Result<u16> {
        self.read(|c, _| c.value_handle)
    }
}

/// A descriptor object.
pub struct DescriptorObject {
    daemon: Arc<Daemon>,
    at: GattLocation,
}

impl DescriptorObject {
    /// The object for the descriptor at `at`.
    pub fn new(daemon: Arc<Daemon>, at: GattLocation) -> Self {
        DescriptorObject { daemon, at }
    }

    fn read<T>(&self, f: impl FnOnce(&Descriptor) -> T) -> fdo::Result<T> {
        let mut world = self.daemon.world();
        let peripheral = world
            .peripherals
            .get_mut(&self.at.address)
            .ok_or_else(gone)?;
        let (_, descriptor) =
            gatt::descriptor_mut(&mut peripheral.gatt, self.at.descriptor).ok_or_else(gone)?;
        Ok(f(descriptor))
    }
}

#[interface(name = "org.bluez.GattDescriptor1", introspection_docs = false)]
impl DescriptorObject {
    async fn read_value(
        &self,
        flags: HashMap<String, OwnedVariant>,
    ) -> Result<Vec<u8>, BluezError> {
        let options = ValueOptions::parse(&flags)?;
        self.daemon.read_descriptor(self.at, options.offset).await
    }

    async fn write_value(
        &self,
        value: Vec<u8>,
        flags: HashMap<String, OwnedVariant>,
    ) -> Result<(), BluezError> {
        let options = ValueOptions::parse(&flags)?;
        self.daemon
            .write_descriptor(self.at, value, options.offset)
            .await
    }

    #[zbus(property, name = "UUID")]
    async fn uuid(&self) -> fdo::Result<String> {
        self.read(|d| d.uuid.clone())
    }

    #[zbus(property)]
    async fn characteristic(&self) -> fdo::Result<OwnedObjectPath> {
        object_path(self.at.characteristic_path())
    }

    #[zbus(property)]
    async fn value(&self) -> fdo::Result<Vec<u8>> {
        let cached = self.read(|d| d.cached.clone())?;
        optional("Value", (!cached.is_empty()).then_some(cached))
    }

    #[zbus(property)]
    async fn flags(&self) -> fdo::Result<Vec<String>> {
        self.read(|d| d.flags.clone())
    }

    #[zbus(property)]
    async fn handle(&self) -> u16 {
        self.at.descriptor
    }
}
