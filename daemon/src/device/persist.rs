//! What a device task reads from and commits to the store for the host core about incoming
//! messages: commits to replay, new messages (outgoing ones are `outgoing`'s). Failures are
//! logged here and answered as the core expects (nothing read, not committed).

use m2mhal_host_core::IncomingOutcome;
use m2mhal_plugin_api::IncomingMessage;

use crate::store::StoreHandle;

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
