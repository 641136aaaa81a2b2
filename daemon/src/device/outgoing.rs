//! The one owner of an outgoing message's life in the daemon, around the host core's outbox
//! (`m2mhal_host_core::Outbox`, which decides the states and retries):
//!
//! ```text
//!  accept: check (encoding, MaxPayload, driver) -> insert (committed `queued`; with the routed
//!          message whose attempt it carries, in the same transaction) -> announce `queued` ->
//!          hand to the device task (Enqueue)
//!  task:   load_outbox (after a restart) / recorded_progress -> commit_state (every change,
//!          before its signal)
//!  router: withdraw (a waiting message that never reached the wire) -> committed `failed`
//! ```
//!
//! `Messaging.Send` enters through [`accept`]; nothing else writes an outgoing message to the
//! store. The driver stays the only voice about the wire: what it reports arrives here as
//! [`StateChange`]s from the core.

use std::collections::BTreeMap;
use std::time::Duration;

use m2mhal_host_core::{Outgoing, StateChange};
use m2mhal_plugin_api::{Encoding, MessageState, OutgoingMessage, Request};
use m2mhal_routing::RoutedMessage;

use super::handle::{DeviceError, DeviceHandle, DeviceRequest};
use crate::store::{MessageRecord, NewOutgoing, StoreHandle};

/// How long the driver may take to check a message before it is accepted.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The payload does not match its encoding.
    #[error("{0}")]
    InvalidArgument(String),
    /// The payload is larger than the device takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The device (or its driver) refused it or did not answer.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The store could not commit it.
    #[error("cannot store the message: {0}")]
    Store(String),
}

/// A message an application hands in, before it has an id.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// A phone number; "" for a satellite gateway.
    pub destination: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Text or binary.
    pub encoding: Encoding,
    /// Facts recorded with it (the router's `routed_id`), committed with the message.
    pub info: BTreeMap<String, String>,
    /// The routed message whose attempt it carries, as it stands with that attempt under way:
    /// committed in the same transaction (one commit for both).
    pub attempt_of: Option<RoutedMessage>,
}

/// Checks the payload against the encoding and the device's limit (0: no limit known).
pub fn check_payload(
    payload: &[u8],
    encoding: Encoding,
    max_payload: u32,
) -> Result<(), AcceptError> {
    if encoding == Encoding::Text
        && let Err(e) = std::str::from_utf8(payload)
    {
        return Err(AcceptError::InvalidArgument(format!(
            "payload is not valid UTF-8 (encoding \"text\"): invalid byte at offset {}",
            e.valid_up_to()
        )));
    }
    if max_payload > 0 && payload.len() > max_payload as usize {
        return Err(AcceptError::PayloadTooLarge(format!(
            "payload is {} bytes; this device accepts at most {max_payload}",
            payload.len()
        )));
    }
    Ok(())
}

/// Accepts `message` for `device`: checks it, commits it as `queued`, calls `announce` with its
/// id (the `queued` signal, after the commit) and hands it to the device's task. Returns the id.
/// A device that went away meanwhile sends it when it is back (from [`load_outbox`]).
pub async fn accept<F, Fut>(
    store: &StoreHandle,
    device: &DeviceHandle,
    message: NewMessage,
    announce: F,
) -> Result<String, AcceptError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let NewMessage {
        destination,
        payload,
        encoding,
        info,
        attempt_of,
    } = message;
    check_payload(&payload, encoding, device.state().max_payload)?;
    let check = OutgoingMessage {
        id: String::new(),
        destination,
        payload,
        encoding,
        progress: BTreeMap::new(),
    };
    device
        .call(Request::CheckMessage(check.clone()), CHECK_TIMEOUT)
        .await?;
    let text = match encoding {
        Encoding::Text => String::from_utf8(check.payload.clone()).ok(),
        Encoding::Binary => None,
    };
    let outgoing = NewOutgoing {
        device_id: device.state().id.clone(),
        destination: check.destination,
        payload: check.payload,
        encoding: encoding_name(encoding),
        text,
        timestamp: crate::clock::unix_now(),
        info,
    };
    let record = store
        .run(move |store| match &attempt_of {
            Some(routed) => store.insert_attempt(outgoing, routed),
            None => store.insert_outgoing(outgoing),
        })
        .await
        .map_err(|e| AcceptError::Store(e.to_string()))?;
    let id = record.id.clone();
    announce(id.clone()).await;
    if let Err(e) = device.send(DeviceRequest::Enqueue(record)).await {
        tracing::info!("message {id} stays queued: {e}");
    }
    Ok(id)
}

/// How long a device task may take to answer a withdraw.
const WITHDRAW_TIMEOUT: Duration = Duration::from_secs(5);

/// The error a withdrawn message is committed with.
pub const WITHDRAWN: &str = "withdrawn: the router sends it through another uplink";

/// Takes message `id` back from `device`'s outbox for the router, if it never may have reached
/// the wire, and commits it as `failed` ([`WITHDRAWN`]); the caller signals that. Whether it
/// was withdrawn (a device without a task keeps it: it may be on its way when the device is
/// back).
pub async fn withdraw(store: &StoreHandle, device: &DeviceHandle, id: &str) -> bool {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = DeviceRequest::Withdraw {
        id: id.to_owned(),
        reply,
    };
    if device.send(request).await.is_err() {
        return false;
    }
    let withdrawn = matches!(
        tokio::time::timeout(WITHDRAW_TIMEOUT, answer).await,
        Ok(Ok(true))
    );
    if withdrawn {
        let change = StateChange {
            id: id.to_owned(),
            state: MessageState::Failed,
            error: WITHDRAWN.to_owned(),
            info: BTreeMap::new(),
        };
        commit_state(store, change).await;
    }
    withdrawn
}

/// The store's name of an encoding.
pub fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Text => "text",
        Encoding::Binary => "binary",
    }
}

/// The outgoing messages waiting for the device (`None` if unreadable).
pub async fn load_outbox(store: &StoreHandle, device_id: String) -> Option<Vec<Outgoing>> {
    let records = store
        .run(move |store| store.pending_outgoing(&device_id))
        .await;
    match records {
        Ok(records) => Some(records.into_iter().map(outgoing).collect()),
        Err(e) => {
            tracing::error!("cannot read queued messages: {e}");
            None
        }
    }
}

/// What the driver recorded about a message so far, read afresh from the store: the copy in
/// the outbox is as old as the last load, and a driver resuming the message after a restart
/// needs the facts it committed last (see `OutgoingMessage::progress`).
pub async fn recorded_progress(
    store: &StoreHandle,
    id: String,
) -> Option<BTreeMap<String, String>> {
    let read_id = id.clone();
    match store.run(move |store| store.get(&read_id)).await {
        Ok(stored) => stored.map(|stored| stored.info),
        Err(e) => {
            tracing::error!("cannot read what was recorded about message {id}: {e}");
            None
        }
    }
}

/// Commits an outgoing message's new state.
pub async fn commit_state(store: &StoreHandle, change: StateChange) {
    let StateChange {
        id,
        state,
        error,
        info,
    } = change;
    let stored_id = id.clone();
    let stored = store
        .run(move |store| store.set_state(&stored_id, state.as_str(), &error, &info))
        .await;
    if let Err(e) = stored {
        tracing::error!("cannot record message {id} as {}: {e}", state.as_str());
    }
}

/// A stored outgoing message as the outbox holds it.
pub fn outgoing(record: MessageRecord) -> Outgoing {
    let encoding = if record.encoding == "binary" {
        Encoding::Binary
    } else {
        Encoding::Text
    };
    Outgoing {
        id: record.id,
        destination: record.peer,
        payload: record.payload,
        encoding,
        info: record.info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_checks_name_the_problem() {
        assert!(check_payload(b"hello", Encoding::Text, 10).is_ok());
        let err = check_payload(b"ab\xffcd", Encoding::Text, 10).unwrap_err();
        assert!(matches!(err, AcceptError::InvalidArgument(m) if m.contains("offset 2")));
        assert!(check_payload(b"ab\xffcd", Encoding::Binary, 10).is_ok());
        let err = check_payload(&[0; 11], Encoding::Binary, 10).unwrap_err();
        assert!(matches!(err, AcceptError::PayloadTooLarge(m) if m.contains("11 bytes")));
        assert!(check_payload(&[0; 11], Encoding::Binary, 0).is_ok());
    }
}
