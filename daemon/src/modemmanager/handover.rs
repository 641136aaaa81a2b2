//! Handing one outgoing message to ModemManager (`Messaging.Create`, `Sms.Send`) beside the
//! device's task, and committing each of its states before signalling it.

use std::sync::Arc;

use futures_util::StreamExt;
use m2mhal_host_core::outbox::Record;
use m2mhal_plugin_api::{CallError, CallReply, OutgoingMessage};
use zbus::{Connection, OwnedObjectPath};

use super::call::{ANSWER_TIMEOUT, MmError, SLOW_TIMEOUT, get_all, properties_changed, within};
use super::properties::value;
use super::proxies::{MessagingProxy, SmsProxy};
use super::sms::{self, MM_SMS_INFO, SMS_SENDING, SMS_SENT, SMS_STORED};
use crate::device::handle::DeviceHandle;
use crate::device::observer::DeviceEvent;
use crate::device::outgoing;
use crate::device::task::Services;

/// `org.freedesktop.ModemManager1.Sms`.
pub const SMS_INTERFACE: &str = "org.freedesktop.ModemManager1.Sms";

/// Commits an outgoing message's new state, then signals it (when the record says so).
pub async fn commit_and_signal(
    services: &Services,
    handle: Option<&Arc<DeviceHandle>>,
    record: Record,
) {
    let Record { change, signal } = record;
    let (id, state, error) = (change.id.clone(), change.state, change.error.clone());
    outgoing::commit_state(&services.store, change).await;
    if let Some(handle) = handle.filter(|_| signal) {
        let event = DeviceEvent::MessageState {
            id: &id,
            state,
            error: &error,
        };
        services.observer.event(handle, event).await;
    }
}

/// What handing one message to ModemManager needs, beside the device's task.
pub struct Handover {
    /// The bus ModemManager is on.
    pub conn: Connection,
    /// MM's object path of the modem.
    pub path: String,
    /// The store and the observer.
    pub services: Services,
    /// The device's object, if published.
    pub handle: Option<Arc<DeviceHandle>>,
}

impl Handover {
    /// Hands `message` to ModemManager: an SMS object for it (`Messaging.Create`, or the one
    /// created before a restart), recorded with the `sending` state before `Sms.Send`, so that
    /// a message MM has sent is never sent again.
    pub async fn send(
        self,
        message: OutgoingMessage,
        mut sending: Record,
    ) -> Result<CallReply, CallError> {
        let sms_path = match self.created_before(&message).await? {
            Some((_, SMS_SENT)) => {
                tracing::info!("message {} was sent before a restart", message.id);
                return Ok(CallReply::Done);
            }
            Some((path, _)) => path,
            None => self.create(&message).await.map_err(|e| e.call_error())?,
        };
        sending
            .change
            .info
            .insert(MM_SMS_INFO.to_owned(), sms_path.to_string());
        commit_and_signal(&self.services, self.handle.as_ref(), sending).await;
        let sent = async {
            let sms = SmsProxy::builder(&self.conn)
                .path(sms_path.clone())
                .build()
                .await?;
            sms.send().await
        };
        within("Sms.Send", SLOW_TIMEOUT, sent)
            .await
            .map_err(|e| e.call_error())?;
        self.forget_sent(&sms_path).await;
        Ok(CallReply::Done)
    }

    /// The SMS object created for `message` before (recorded in its progress), with its state,
    /// if ModemManager still holds it unsent or sent. One ModemManager is still sending (it went
    /// on after m2mhald stopped) is waited for: sending the message anew would send it twice.
    async fn created_before(
        &self,
        message: &OutgoingMessage,
    ) -> Result<Option<(OwnedObjectPath, u32)>, CallError> {
        let Some(path) = message.progress.get(MM_SMS_INFO) else {
            return Ok(None);
        };
        let Ok(mut changes) = properties_changed(&self.conn, Some(path), None).await else {
            return Ok(None);
        };
        let settled = async {
            loop {
                let sms = get_all(&self.conn, path, SMS_INTERFACE).await.ok()?;
                let state = value::<u32>(&sms, "State")?;
                if !sms::is_for(&sms, message) {
                    return None;
                }
                if state != SMS_SENDING {
                    return Some(state);
                }
                changes.next().await?.ok()?;
            }
        };
        let state = tokio::time::timeout(SLOW_TIMEOUT, settled)
            .await
            .map_err(|_| MmError::Timeout("an SMS it is still sending").call_error())?;
        let usable = state.filter(|state| [SMS_STORED, SMS_SENT].contains(state));
        Ok(usable.and_then(|state| {
            OwnedObjectPath::try_from(path.as_str())
                .ok()
                .map(|path| (path, state))
        }))
    }

    async fn create(&self, message: &OutgoingMessage) -> Result<OwnedObjectPath, MmError> {
        let messaging = MessagingProxy::builder(&self.conn)
            .path(self.path.clone())
            .build()
            .await?;
        let properties = sms::create_properties(message);
        within(
            "Messaging.Create",
            ANSWER_TIMEOUT,
            messaging.create(properties),
        )
        .await
    }

    /// Deletes a sent SMS from ModemManager (its memory would fill up otherwise).
    async fn forget_sent(&self, sms: &OwnedObjectPath) {
        let deleted = async {
            let messaging = MessagingProxy::builder(&self.conn)
                .path(self.path.clone())
                .build()
                .await?;
            messaging.delete(sms).await
        };
        if let Err(e) = within("Messaging.Delete", ANSWER_TIMEOUT, deleted).await {
            tracing::debug!("cannot delete a sent SMS from ModemManager: {e}");
        }
    }
}
