//! The D-Bus side of devices: [`BusObserver`] publishes device objects through the
//! [`Registry`], announces property changes and emits the signals of the API.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::mpsc;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, Variant};

use super::gatt_iface::GattInterface;
use super::messaging_iface::MessagingInterface;
use super::objects;
use super::registry::Registry;
use crate::device::handle::{DeviceHandle, DeviceRequest};
use crate::device::observer::{DeviceEvent, DeviceObserver, Publication};
use crate::device::state::{Changed, DeviceState, Property, states};

/// Shows devices on the bus.
#[derive(Debug)]
pub struct BusObserver {
    conn: Connection,
    registry: Arc<Registry>,
}

impl BusObserver {
    /// Devices on `conn`, numbered and listed by `registry`.
    pub fn new(conn: Connection, registry: Arc<Registry>) -> Self {
        BusObserver { conn, registry }
    }

    fn emitter(&self, device: &DeviceHandle) -> Option<SignalEmitter<'static>> {
        SignalEmitter::new(&self.conn, device.path.clone()).ok()
    }
}

#[async_trait::async_trait]
impl DeviceObserver for BusObserver {
    async fn publish(
        &self,
        state: &Arc<RwLock<DeviceState>>,
        requests: &mpsc::Sender<DeviceRequest>,
    ) -> Option<Publication> {
        match self.registry.publish(&self.conn, state, requests).await {
            Ok(publication) => Some(publication),
            Err(e) => {
                tracing::error!("cannot publish the device: {e}");
                None
            }
        }
    }

    async fn withdraw(&self, device: &Arc<DeviceHandle>) {
        self.registry.withdraw(&self.conn, device).await;
    }

    async fn changed(&self, device: &Arc<DeviceHandle>, changed: &Changed) {
        if changed.contains(Property::Capabilities) {
            self.registry.capabilities_changed(&self.conn, device).await;
        }
        objects::emit_changed(&self.conn, device, changed).await;
        if changed.contains(Property::State) && device.state().state == states::OFFLINE {
            self.registry.went_offline(&self.conn, device);
        }
    }

    async fn event(&self, device: &Arc<DeviceHandle>, event: DeviceEvent<'_>) {
        let Some(emitter) = self.emitter(device) else {
            return;
        };
        let (signal, emitted) = match event {
            DeviceEvent::MessageState { id, state, error } => (
                "StateChanged",
                MessagingInterface::state_changed(&emitter, id, state.as_str(), error).await,
            ),
            DeviceEvent::Received { id, message } => {
                let mut info: HashMap<&str, Variant<'_>> = HashMap::new();
                if let Some(text) = &message.text {
                    info.insert("text", Variant::from(text.as_str()));
                }
                info.insert("timestamp", Variant::from(message.timestamp));
                for (key, value) in &message.info {
                    info.entry(key.as_str())
                        .or_insert_with(|| Variant::from(value.as_str()));
                }
                let received = MessagingInterface::received(
                    &emitter,
                    id,
                    &message.peer,
                    &message.payload,
                    info,
                );
                ("Received", received.await)
            }
            DeviceEvent::Notification {
                characteristic,
                value,
            } => (
                "Notification",
                GattInterface::notification(&emitter, characteristic, value).await,
            ),
        };
        if let Err(e) = emitted {
            tracing::warn!("cannot emit {signal}: {e}");
        }
    }

    async fn port_removed(&self, port: &str) {
        self.registry.withdraw_detached(&self.conn, port).await;
    }
}
