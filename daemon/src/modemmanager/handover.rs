//! Handing one outgoing message to ModemManager (`Messaging.Create`, `Sms.Send`) beside the
//! device's task, and committing each of its states before signalling it.
//!
//! A message is handed to ModemManager at most once per SMS it may have sent: before
//! `Sms.Send`, the SMS object's path and [`MM_SEND_ASKED`] are committed; once ModemManager
//! answers with an error of its own, [`MM_SEND_REFUSED`]. A message found `asked` (m2mhald
//! stopped, or gave up waiting, while ModemManager was sending it; or ModemManager went away
//! meanwhile) is never sent again: ModemManager may still be sending it, or may have sent it,
//! and it says neither (its SMS stays `UNKNOWN` until `SENT`). Its outcome is waited for, as
//! long as ModemManager itself may take ([`MM_SEND_LIMIT`]): `sent` when its SMS becomes `SENT`,
//! else `failed` with an error saying it may or may not have gone out, for the application to
//! decide (resending is its call, not the gateway's).
//!
//! Before `Messaging.Create`, [`MM_CREATE_INFO`] is committed: ModemManager may create the SMS
//! even though it did not answer in time (it was stopped, say). The next hand-over of a message
//! whose Create was asked takes that orphan (never sent) if ModemManager holds it, instead of
//! creating another.
//!
//! ```text
//!            created_before            Sms.Send
//!  queued ─> (no SMS) ─ orphan|Create ──> asked ─┬─ done ───────────────────> sent
//!                                                ├─ MM's own error ─> refused ─> queued / failed
//!                                                └─ no answer (stop, timeout, MM gone) ─┐
//!  asked, on the next hand-over: wait for the SMS ─┬─ SENT ───────────────> sent  <┘
//!                                                  └─ not by MM_SEND_LIMIT,
//!                                                     or gone ────────────> failed (may or may not)
//!  refused, on the next hand-over: send the same SMS again (a new one if it is gone)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use m2mhal_host_core::StateChange;
use m2mhal_host_core::outbox::Record;
use m2mhal_plugin_api::{CallError, CallErrorKind, CallReply, MessageState, OutgoingMessage};
use zbus::{Connection, OwnedObjectPath};

use super::call::{
    ANSWER_TIMEOUT, MM_SEND_LIMIT, MmError, SLOW_TIMEOUT, get_all, properties_changed, within,
};
use super::properties::value;
use super::proxies::{MessagingProxy, SmsProxy};
use super::sms::{
    self, MM_CREATE_INFO, MM_SEND_ASKED, MM_SEND_INFO, MM_SEND_REFUSED, MM_SMS_INFO, SMS_SENT,
};
use crate::device::handle::DeviceHandle;
use crate::device::observer::DeviceEvent;
use crate::device::outgoing;
use crate::device::task::Services;

/// The prefix of ModemManager's own D-Bus errors (the bus's own, such as `NoReply` when
/// ModemManager leaves in the middle of a call, say nothing about its attempt).
const MM_ERROR_PREFIX: &str = "org.freedesktop.ModemManager1.Error.";

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

/// What became of the SMS object created for a message by an earlier hand-over.
#[derive(Debug)]
enum Earlier {
    /// None to go on with: create one.
    Nothing,
    /// ModemManager refused to send it and still holds it: send it again.
    Refused(OwnedObjectPath),
    /// ModemManager sent it.
    Sent,
}

/// What ModemManager says of an SMS object it holds (or held).
enum Seen {
    /// Gone, or another message's now: ModemManager lost it (it restarted, the modem went).
    Gone,
    /// `SENT`.
    Sent,
    /// Not sent (yet).
    Unsent,
}

impl Handover {
    /// Hands `message` to ModemManager: an SMS object for it (`Messaging.Create`, or the one
    /// an earlier hand-over created), recorded with the `sending` state before `Sms.Send`, so
    /// that a message ModemManager may have sent is never sent again.
    pub async fn send(
        self,
        message: OutgoingMessage,
        mut sending: Record,
    ) -> Result<CallReply, CallError> {
        let sms_path = match self.created_before(&message).await? {
            Earlier::Sent => {
                tracing::info!("message {} was sent before a restart", message.id);
                return Ok(CallReply::Done);
            }
            Earlier::Refused(path) => path,
            Earlier::Nothing => self.create(&message).await.map_err(|e| e.call_error())?,
        };
        let info = &mut sending.change.info;
        info.insert(MM_SMS_INFO.to_owned(), sms_path.to_string());
        info.insert(MM_SEND_INFO.to_owned(), MM_SEND_ASKED.to_owned());
        commit_and_signal(&self.services, self.handle.as_ref(), sending).await;
        let sent = async {
            let sms = SmsProxy::builder(&self.conn)
                .path(sms_path.clone())
                .build()
                .await?;
            sms.send().await
        };
        let result = within("Sms.Send", SLOW_TIMEOUT, sent).await;
        if let Err(MmError::Bus(zbus::Error::MethodError(name, ..))) = &result
            && name.starts_with(MM_ERROR_PREFIX)
        {
            self.record_refused(&message.id).await;
        }
        result.map_err(|e| e.call_error())?;
        self.forget_sent(&sms_path).await;
        Ok(CallReply::Done)
    }

    /// What became of the SMS object an earlier hand-over created for `message` (recorded in its
    /// progress). One whose send was cut off is waited for until ModemManager sends it or can no
    /// longer be sending it; then it is `Failed`, never sent again.
    async fn created_before(&self, message: &OutgoingMessage) -> Result<Earlier, CallError> {
        let Some(path) = message.progress.get(MM_SMS_INFO) else {
            return Ok(Earlier::Nothing);
        };
        let refused =
            message.progress.get(MM_SEND_INFO).map(String::as_str) == Some(MM_SEND_REFUSED);
        let mut changes = properties_changed(&self.conn, Some(path), None)
            .await
            .map_err(|e| MmError::from(e).call_error())?;
        let mut announced = false;
        let settled = async {
            loop {
                let seen = match get_all(&self.conn, path, SMS_INTERFACE).await {
                    Ok(sms) if !sms::is_for(&sms, message) => Seen::Gone,
                    Ok(sms) if value::<u32>(&sms, "State") == Some(SMS_SENT) => Seen::Sent,
                    Ok(_) => Seen::Unsent,
                    Err(MmError::Timeout(what)) => return Err(MmError::Timeout(what)),
                    Err(MmError::Bus(_)) => Seen::Gone,
                };
                if refused || !matches!(seen, Seen::Unsent) {
                    return Ok(seen);
                }
                if !announced {
                    announced = true;
                    tracing::info!(
                        "message {}: ModemManager may still be sending it; waiting for its outcome",
                        message.id
                    );
                }
                if changes.next().await.is_none() {
                    return Ok(Seen::Gone);
                }
            }
        };
        let seen = match tokio::time::timeout(MM_SEND_LIMIT, settled).await {
            Ok(seen) => seen.map_err(|e| e.call_error())?,
            Err(_) => Seen::Unsent,
        };
        match (seen, refused) {
            (Seen::Sent, _) => Ok(Earlier::Sent),
            (Seen::Unsent, true) => OwnedObjectPath::try_from(path.as_str())
                .map(Earlier::Refused)
                .or(Ok(Earlier::Nothing)),
            (Seen::Gone, true) => Ok(Earlier::Nothing),
            (Seen::Unsent | Seen::Gone, false) => {
                tracing::warn!(
                    "message {}: its hand-over to ModemManager was cut off; not sending it again",
                    message.id
                );
                Err(CallError::new(
                    CallErrorKind::Failed,
                    "ModemManager may or may not have sent it: its hand-over was cut off \
                     (m2mhald stopped or ModemManager went away meanwhile); \
                     not sent again, so that it does not go out twice",
                ))
            }
        }
    }

    /// Records that ModemManager answered the message's `Sms.Send` with an error of its own.
    async fn record_refused(&self, id: &str) {
        self.record(id, MM_SEND_INFO, MM_SEND_REFUSED).await;
    }

    /// Commits the fact `key` = `value` about message `id`, in flight (`sending`; not signalled
    /// again).
    async fn record(&self, id: &str, key: &str, value: &str) {
        let change = StateChange {
            id: id.to_owned(),
            state: MessageState::Sending,
            error: String::new(),
            info: BTreeMap::from([(key.to_owned(), value.to_owned())]),
        };
        outgoing::commit_state(&self.services.store, change).await;
    }

    /// An SMS object for `message`: the orphan an earlier `Messaging.Create` left if there is
    /// one, else a new one (recorded as asked for first).
    async fn create(&self, message: &OutgoingMessage) -> Result<OwnedObjectPath, MmError> {
        let messaging = MessagingProxy::builder(&self.conn)
            .path(self.path.clone())
            .build()
            .await?;
        if message.progress.contains_key(MM_CREATE_INFO)
            && let Some(orphan) = self.orphan(&messaging, message).await?
        {
            tracing::info!(
                "message {}: taking the SMS ModemManager created for it after all",
                message.id
            );
            return Ok(orphan);
        }
        self.record(&message.id, MM_CREATE_INFO, MM_SEND_ASKED)
            .await;
        let properties = sms::create_properties(message);
        within(
            "Messaging.Create",
            ANSWER_TIMEOUT,
            messaging.create(properties),
        )
        .await
    }

    /// The SMS object ModemManager created for `message` after a `Messaging.Create` it did not
    /// answer in time, and never sent ([`sms::is_orphan`]), if it holds one.
    async fn orphan(
        &self,
        messaging: &MessagingProxy<'_>,
        message: &OutgoingMessage,
    ) -> Result<Option<OwnedObjectPath>, MmError> {
        let listed = within("Messaging.List", ANSWER_TIMEOUT, messaging.list()).await?;
        for path in listed {
            match get_all(&self.conn, path.as_str(), SMS_INTERFACE).await {
                Ok(sms) if sms::is_orphan(&sms, message) => return Ok(Some(path)),
                Ok(_) => {}
                Err(MmError::Timeout(what)) => return Err(MmError::Timeout(what)),
                Err(MmError::Bus(e)) => tracing::debug!("cannot read an SMS: {e}"),
            }
        }
        Ok(None)
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
