//! A device as an uplink of a route: when it is available, and how an attempt goes through
//! its outbox.

use std::sync::Arc;

use m2mhal_plugin_api::{CallErrorKind, MessageState};
use m2mhal_routing::{AttemptOutcome, Encoding, RoutedMessage, UplinkStatus};

use crate::device::handle::{DeviceError, DeviceHandle};
use crate::device::observer::{DeviceEvent, DeviceObserver};
use crate::device::outgoing::{self, AcceptError, NewMessage};
use crate::device::state::{DeviceState, states};
use crate::store::{ROUTED_ID, StoreHandle};

/// The device's availability as an uplink: `ready` with Messaging and, for a modem,
/// registered (home or roaming); for a satellite terminal, a signal.
pub fn status(state: &DeviceState) -> UplinkStatus {
    let ready = state.state == states::READY && state.capabilities.iter().any(|c| c == "messaging");
    let linked = match state.kind.as_str() {
        "cellular-modem" => matches!(state.signal.registration.as_str(), "home" | "roaming"),
        "satellite-terminal" => state.signal.quality > 0,
        _ => true,
    };
    UplinkStatus {
        available: ready && linked,
        max_payload: state.max_payload,
    }
}

/// What starts an attempt of a routed message: its payload for `destination`.
#[derive(Debug, Clone)]
pub struct AttemptRequest {
    /// The routed message, as it stands with this attempt under way.
    pub routed: RoutedMessage,
    /// Where to on the uplink.
    pub destination: String,
}

/// Starts an attempt: the payload into `device`'s outbox, committed together with where the
/// routed message stands. The device message's id, or the outcome when the device did not take
/// it (then nothing was committed).
pub async fn attempt(
    store: &StoreHandle,
    observer: &Arc<dyn DeviceObserver>,
    device: &Arc<DeviceHandle>,
    request: AttemptRequest,
) -> Result<String, AttemptOutcome> {
    let AttemptRequest {
        routed,
        destination,
    } = request;
    let message = NewMessage {
        info: [(ROUTED_ID.to_owned(), routed.id.clone())].into(),
        destination,
        payload: routed.payload.clone(),
        encoding: match routed.encoding {
            Encoding::Text => m2mhal_plugin_api::Encoding::Text,
            Encoding::Binary => m2mhal_plugin_api::Encoding::Binary,
        },
        attempt_of: Some(routed),
    };
    let announce = |id: String| async move {
        let queued = DeviceEvent::MessageState {
            id: &id,
            state: MessageState::Queued,
            error: "",
        };
        observer.event(device, queued).await;
    };
    match outgoing::accept(store, device, message, announce).await {
        Ok(id) => Ok(id),
        // Not taken, and not on the wire: the next uplink may try.
        Err(AcceptError::Device(DeviceError::Gone(_) | DeviceError::Timeout(_))) => {
            Err(AttemptOutcome::Withdrawn)
        }
        Err(AcceptError::Device(DeviceError::Call(e)))
            if matches!(e.kind, CallErrorKind::NotReady | CallErrorKind::Timeout) =>
        {
            Err(AttemptOutcome::Withdrawn)
        }
        Err(e) => Err(AttemptOutcome::Failed(e.to_string())),
    }
}

/// Takes device message `id` back from `device` if it never may have reached the wire.
pub async fn withdraw(
    store: &StoreHandle,
    observer: &Arc<dyn DeviceObserver>,
    device: &Arc<DeviceHandle>,
    id: &str,
) -> AttemptOutcome {
    if !outgoing::withdraw(store, device, id).await {
        return AttemptOutcome::InFlight;
    }
    let failed = DeviceEvent::MessageState {
        id,
        state: MessageState::Failed,
        error: outgoing::WITHDRAWN,
    };
    observer.event(device, failed).await;
    AttemptOutcome::Withdrawn
}
