//! Published device objects: their numbers (kept per `Id` in the store, so a device has the same
//! object path across restarts), putting them on the bus and taking them off again (Forget).
//!
//! Every change goes through one lock, so two ports that turn out to serve the same device, or a
//! device that comes back while it is being forgotten, are settled one after the other.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use zbus::{Connection, OwnedObjectPath};

use super::error::HalError;
use super::objects;
use crate::device::handle::{DeviceHandle, DeviceRequest};
use crate::device::observer::Publication;
use crate::device::state::{DeviceState, states};
use crate::store::StoreHandle;

/// The device objects the daemon exposes.
#[derive(Debug)]
pub struct Registry {
    store: StoreHandle,
    forget_after: Option<Duration>,
    devices: RwLock<BTreeMap<u32, Arc<DeviceHandle>>>,
    /// Held while objects are published or withdrawn.
    changes: Mutex<()>,
}

/// Why a device could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The store could not give the device its number.
    #[error("cannot number the device: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The object could not be registered.
    #[error("cannot register the device object: {0}")]
    Bus(#[from] zbus::Error),
}

impl Registry {
    /// An empty registry numbering devices in `store`; `forget_after` is the config's
    /// `forget_after` (`None`: devices are never forgotten by themselves).
    pub fn new(store: StoreHandle, forget_after: Option<Duration>) -> Self {
        Registry {
            store,
            forget_after,
            devices: RwLock::default(),
            changes: Mutex::new(()),
        }
    }

    /// Puts the device whose properties are `state`, served by the task listening on
    /// `requests`, on the bus: in the object its `Id` had before if there is one, else under the
    /// number the store keeps for its `Id`.
    pub async fn publish(
        self: &Arc<Self>,
        conn: &Connection,
        state: &Arc<RwLock<DeviceState>>,
        requests: &mpsc::Sender<DeviceRequest>,
    ) -> Result<Publication, PublishError> {
        let _changing = self.changes.lock().await;
        let id = state.read().unwrap_or_else(|p| p.into_inner()).id.clone();
        let id = (!id.is_empty()).then_some(id);
        if let Some(known) = id.as_deref().and_then(|id| self.find_by_id(id)) {
            if known.is_attached() {
                return Ok(Publication::Taken(known));
            }
            known.attach(requests.clone());
            return Ok(Publication::Back(known));
        }
        let in_use: BTreeSet<u32> = self.read().keys().copied().collect();
        let number = self
            .store
            .run(move |store| store.device_number(id.as_deref(), &in_use))
            .await?;
        let handle = Arc::new(DeviceHandle::new(
            m2mhal_contract::device_path(number.into()),
            Arc::clone(state),
            requests.clone(),
        ));
        objects::publish(conn, &handle, &self.store, self).await?;
        self.write().insert(number, Arc::clone(&handle));
        self.announce_list(conn).await;
        Ok(Publication::New(handle))
    }

    /// Takes a device's object off the bus (`InterfacesRemoved`); nothing if it is not there.
    pub async fn withdraw(&self, conn: &Connection, handle: &Arc<DeviceHandle>) {
        let _changing = self.changes.lock().await;
        self.remove(conn, handle).await;
    }

    /// `Device.Forget`: takes an `offline` device off the bus. Its task, if it still has one
    /// (a BLE device out of range), publishes it again when it is back.
    pub async fn forget(
        &self,
        conn: &Connection,
        handle: &Arc<DeviceHandle>,
    ) -> Result<(), HalError> {
        {
            let _changing = self.changes.lock().await;
            let state = handle.state().state.clone();
            if state != states::OFFLINE {
                return Err(HalError::NotReady(format!(
                    "device {} is {state}; only an offline device can be forgotten",
                    handle.path.as_str()
                )));
            }
            self.remove(conn, handle).await;
        }
        tracing::info!(path = handle.path.as_str(), "device forgotten");
        if handle.is_attached() {
            // Told without the lock held: the task may be waiting for it. If the task has ended
            // since, there is nobody left to tell.
            let _ = handle.send(DeviceRequest::Withdrawn).await;
        }
        Ok(())
    }

    /// Makes a published device's interfaces follow its capabilities, which changed
    /// ([`objects::follow_capabilities`]); nothing for a device not on the bus.
    pub async fn capabilities_changed(&self, conn: &Connection, handle: &Arc<DeviceHandle>) {
        let _changing = self.changes.lock().await;
        if !self.is_published(handle) {
            return;
        }
        if let Err(e) = objects::follow_capabilities(conn, handle, &self.store).await {
            tracing::warn!(
                path = handle.path,
                "cannot follow the device's capabilities: {e}"
            );
        }
    }

    /// Records that a published device went offline: with `forget_after` set, it is forgotten
    /// unless it comes back in time.
    pub fn went_offline(self: &Arc<Self>, conn: &Connection, handle: &Arc<DeviceHandle>) {
        let Some(delay) = self.forget_after else {
            return;
        };
        let (registry, conn, device) = (Arc::clone(self), conn.clone(), Arc::clone(handle));
        let timer = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if registry.is_published(&device) {
                // A task of its own: only the wait above may be cancelled, never a removal
                // half done. NotReady means it is back (not offline any more), and stays.
                tokio::spawn(async move {
                    let _ = registry.forget(&conn, &device).await;
                });
            }
        });
        handle.replace_forget_timer(timer.abort_handle());
    }

    /// The published device with identity `id`, if any.
    pub fn find_by_id(&self, id: &str) -> Option<Arc<DeviceHandle>> {
        self.read().values().find(|h| h.state().id == id).cloned()
    }

    /// Paths of every published device, in number order.
    pub fn paths(&self) -> Vec<OwnedObjectPath> {
        // Every path is valid: a number under the contract's prefix.
        self.read()
            .values()
            .filter_map(|h| OwnedObjectPath::try_from(h.path.as_str()).ok())
            .collect()
    }

    fn is_published(&self, handle: &Arc<DeviceHandle>) -> bool {
        self.read().values().any(|h| Arc::ptr_eq(h, handle))
    }

    /// Removes `handle`'s object; the caller holds the `changes` lock.
    async fn remove(&self, conn: &Connection, handle: &Arc<DeviceHandle>) {
        let removed = {
            let mut devices = self.write();
            let before = devices.len();
            devices.retain(|_, h| !Arc::ptr_eq(h, handle));
            devices.len() != before
        };
        if removed {
            objects::withdraw(conn, &handle.path).await;
            self.announce_list(conn).await;
        }
    }

    async fn announce_list(&self, conn: &Connection) {
        if let Err(e) = objects::devices_changed(conn).await {
            tracing::warn!("cannot announce the device list: {e}");
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u32, Arc<DeviceHandle>>> {
        self.devices.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the device last served through `port` off the bus if no task serves it now (its port
    /// left the config). Its stored messages stay.
    pub async fn withdraw_detached(&self, conn: &Connection, port: &str) {
        let _changing = self.changes.lock().await;
        let detached = self
            .read()
            .values()
            .find(|h| !h.is_attached() && h.state().port == port)
            .cloned();
        if let Some(handle) = detached {
            self.remove(conn, &handle).await;
            tracing::info!(path = handle.path.as_str(), "device removed");
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u32, Arc<DeviceHandle>>> {
        self.devices.write().unwrap_or_else(|p| p.into_inner())
    }
}
