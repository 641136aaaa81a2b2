//! What a device task reads from and commits to the store for the host core: the outbox, commits
//! to replay, an outgoing message's progress and states, incoming messages. Failures are logged
//! here and answered as the core expects (nothing read, not committed).

use std::collections::BTreeMap;

use m2mhal_host_core::{IncomingOutcome, Outgoing, StateChange};
use m2mhal_plugin_api::{Encoding, IncomingMessage};

use crate::store::{MessageRecord, StoreHandle};

/// The keys of the device's most recent committed incoming messages (none if unreadable).
pub async fn recent_commits(store: &StoreHandle, device_id: String, limit: u32) -> Vec<String> {
    let keys = store
        .run(move |store| store.recent_incoming_keys(&device_id, limit))
        .await;
    keys.unwrap_or_else(|e| {
        tracing::warn!("cannot read the committed messages: {e}");
        Vec::new()
    })
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

/// Commits an incoming message; on failure it stays on the device.
pub async fn store_incoming(
    store: &StoreHandle,
    device_id: String,
    message: IncomingMessage,
) -> IncomingOutcome {
    let key = message.key.clone();
    let stored = store
        .run(move |store| {
            store.insert_incoming(
                &device_id,
                &message.key,
                &message.peer,
                &message.payload,
                message.text.as_deref(),
                message.timestamp,
                &message.info,
            )
        })
        .await;
    match stored {
        Ok(Some(record)) => IncomingOutcome::Committed { id: record.id },
        Ok(None) => IncomingOutcome::AlreadyCommitted,
        Err(e) => {
            tracing::error!("cannot store incoming message {key}; leaving it on the device: {e}");
            IncomingOutcome::NotCommitted
        }
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
