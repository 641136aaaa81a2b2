//! What a device task tells the outside world, without knowing who listens: the D-Bus side
//! implements [`DeviceObserver`] (in `dbus/observer.rs`) and turns the reports into published
//! objects, `PropertiesChanged` and the signals of the API.

use std::sync::{Arc, RwLock};

use m2mhal_plugin_api::{IncomingMessage, MessageState};
use tokio::sync::mpsc;

use super::handle::{DeviceHandle, DeviceRequest};
use super::state::{Changed, DeviceState};

/// How a device got published.
#[derive(Debug)]
pub enum Publication {
    /// In a new object.
    New(Arc<DeviceHandle>),
    /// Back in the object it had (same `Id`); the caller's task now serves it.
    Back(Arc<DeviceHandle>),
    /// Not at all: another task serves the object with this `Id`.
    Taken(Arc<DeviceHandle>),
}

/// Something that happened to a published device, worth a signal.
#[derive(Debug, Clone, Copy)]
pub enum DeviceEvent<'a> {
    /// An outgoing message's new state, committed.
    MessageState {
        /// The message id.
        id: &'a str,
        /// The new state.
        state: MessageState,
        /// Why, or "".
        error: &'a str,
    },
    /// An incoming message, committed under `id`.
    Received {
        /// The store's id.
        id: &'a str,
        /// The message.
        message: &'a IncomingMessage,
    },
    /// A GATT notification the driver forwards.
    Notification {
        /// Canonical characteristic UUID.
        characteristic: &'a str,
        /// The value.
        value: &'a [u8],
    },
}

/// Watches devices: publishes them and hears about their changes and events. Failures are the
/// observer's to log; a device goes on without being seen.
#[async_trait::async_trait]
pub trait DeviceObserver: Send + Sync + std::fmt::Debug {
    /// Publishes the device whose properties are `state`, served by the task listening on
    /// `requests` (or gives it back the object its `Id` had); `None` if that failed.
    async fn publish(
        &self,
        state: &Arc<RwLock<DeviceState>>,
        requests: &mpsc::Sender<DeviceRequest>,
    ) -> Option<Publication>;

    /// Takes a published device away (it gets another object under its `Id`).
    async fn withdraw(&self, device: &Arc<DeviceHandle>);

    /// A published device's properties changed (`changed` names them).
    async fn changed(&self, device: &Arc<DeviceHandle>, changed: &Changed);

    /// Something happened to a published device.
    async fn event(&self, device: &Arc<DeviceHandle>, event: DeviceEvent<'_>);

    /// The port `port` left the config: the device last served through it goes too, if no task
    /// serves it now.
    async fn port_removed(&self, port: &str);
}
