//! The device observer the device tasks report to: everything goes on to the bus's observer,
//! and the router hears what it needs (a device's properties: availability and readings; a
//! device message's committed state: an attempt's outcome).

use std::sync::{Arc, RwLock};

use tokio::sync::mpsc;

use super::service::RouterHandle;
use crate::device::handle::{DeviceHandle, DeviceRequest};
use crate::device::observer::{DeviceEvent, DeviceObserver, Publication};
use crate::device::state::{Changed, DeviceState};

/// Passes every report on to `inner` and tells the router.
#[derive(Debug)]
pub struct RoutingObserver {
    inner: Arc<dyn DeviceObserver>,
    router: RouterHandle,
}

impl RoutingObserver {
    /// Reports go to `inner`, and to `router`.
    pub fn new(inner: Arc<dyn DeviceObserver>, router: RouterHandle) -> Self {
        RoutingObserver { inner, router }
    }
}

#[async_trait::async_trait]
impl DeviceObserver for RoutingObserver {
    async fn publish(
        &self,
        state: &Arc<RwLock<DeviceState>>,
        requests: &mpsc::Sender<DeviceRequest>,
    ) -> Option<Publication> {
        let publication = self.inner.publish(state, requests).await;
        if let Some(Publication::New(device) | Publication::Back(device)) = &publication {
            self.router.device_changed(device);
        }
        publication
    }

    async fn withdraw(&self, device: &Arc<DeviceHandle>) {
        self.inner.withdraw(device).await;
    }

    // The router hears first: whoever sees the change on the bus and then calls the router
    // finds it already knowing.
    async fn changed(&self, device: &Arc<DeviceHandle>, changed: &Changed) {
        self.router.device_changed(device);
        self.inner.changed(device, changed).await;
    }

    async fn event(&self, device: &Arc<DeviceHandle>, event: DeviceEvent<'_>) {
        if let DeviceEvent::MessageState { id, state, error } = event {
            let uplink = device.state().id.clone();
            self.router.message_state(&uplink, id, state, error);
        }
        self.inner.event(device, event).await;
    }

    async fn port_removed(&self, port: &str) {
        self.inner.port_removed(port).await;
    }
}
