//! Published device objects, numbered without reuse during one daemon run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use zbus::OwnedObjectPath;

use crate::dbus::DEVICES_PATH;
use crate::device::handle::DeviceHandle;

/// The device objects the daemon exposes.
#[derive(Debug, Default)]
pub struct Registry {
    next: AtomicU32,
    devices: RwLock<BTreeMap<u32, Arc<DeviceHandle>>>,
}

impl Registry {
    /// A fresh object path; numbers are never handed out twice.
    pub fn allocate(&self) -> (u32, OwnedObjectPath) {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let path = format!("{DEVICES_PATH}/{number}");
        // A decimal suffix under a valid prefix is always a valid object path.
        let path = OwnedObjectPath::try_from(path).unwrap_or_else(|_| unreachable!());
        (number, path)
    }

    /// Records a published device.
    pub fn insert(&self, number: u32, handle: Arc<DeviceHandle>) {
        self.write().insert(number, handle);
    }

    /// The published device with identity `id`, if any.
    pub fn find_by_id(&self, id: &str) -> Option<Arc<DeviceHandle>> {
        let devices = self.devices.read().unwrap_or_else(|p| p.into_inner());
        devices.values().find(|h| h.state().id == id).cloned()
    }

    /// Paths of every published device, in number order.
    pub fn paths(&self) -> Vec<OwnedObjectPath> {
        let devices = self.devices.read().unwrap_or_else(|p| p.into_inner());
        devices.values().map(|h| h.path.clone()).collect()
    }

    /// Takes out the device last served through `port` if no task serves it now (its port left
    /// the config), so that its object can go.
    pub fn remove_detached(&self, port: &str) -> Option<Arc<DeviceHandle>> {
        let mut devices = self.write();
        let number = devices
            .iter()
            .find(|(_, h)| !h.is_attached() && h.state().port == port)
            .map(|(number, _)| *number)?;
        devices.remove(&number)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u32, Arc<DeviceHandle>>> {
        self.devices.write().unwrap_or_else(|p| p.into_inner())
    }
}
