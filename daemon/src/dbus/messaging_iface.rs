//! `org.m2mhal.Hal1.Messaging`: SMS and satellite bursts in one shape, backed by the durable store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::{Encoding, Request};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, OwnedVariant, Variant, interface};

use super::authorize::{Action, authorize};
use super::error::HalError;
use crate::device::handle::{DeviceHandle, DeviceRequest};
use crate::device::outgoing::{self, NewMessage};
use crate::store::{MessageRecord, StoreHandle};

/// How long `Poll` may take.
const POLL_TIMEOUT: Duration = Duration::from_secs(120);

/// The Messaging interface of one device object.
pub struct MessagingInterface {
    handle: Arc<DeviceHandle>,
    store: StoreHandle,
}

impl MessagingInterface {
    /// The interface for `handle`'s device, keeping messages in `store`.
    pub fn new(handle: Arc<DeviceHandle>, store: StoreHandle) -> Self {
        MessagingInterface { handle, store }
    }

    fn device_id(&self) -> String {
        self.handle.state().id.clone()
    }
}

/// Reads the `encoding` option; any other option is an error.
fn parse_send_options(options: &HashMap<String, OwnedVariant>) -> Result<Encoding, HalError> {
    let mut encoding = Encoding::Text;
    for (key, value) in options {
        match key.as_str() {
            "encoding" => encoding = parse_encoding(value)?,
            other => {
                return Err(HalError::InvalidArgument(format!(
                    "unknown option {other:?}; Send accepts \"encoding\""
                )));
            }
        }
    }
    Ok(encoding)
}

/// The value of a string option `key`.
pub fn string_option(key: &str, value: &OwnedVariant) -> Result<String, HalError> {
    value
        .try_clone()
        .ok()
        .and_then(|v| String::try_from(v).ok())
        .ok_or_else(|| {
            HalError::InvalidArgument(format!(
                "option {key:?} must be a string, got {}",
                value.value_signature()
            ))
        })
}

/// The `encoding` option's value: `text` or `binary`.
pub fn parse_encoding(value: &OwnedVariant) -> Result<Encoding, HalError> {
    match string_option("encoding", value)?.as_str() {
        "text" => Ok(Encoding::Text),
        "binary" => Ok(Encoding::Binary),
        other => Err(HalError::InvalidArgument(format!(
            "option \"encoding\" must be \"text\" or \"binary\", got {other:?}"
        ))),
    }
}

/// The `List()` dictionary of one stored message.
fn record_to_dict(record: MessageRecord) -> HashMap<String, OwnedVariant> {
    let mut dict: HashMap<String, OwnedVariant> = HashMap::new();
    let mut put = |key: &str, value: Variant<'_>| {
        if let Ok(value) = OwnedVariant::try_from(value) {
            dict.insert(key.to_owned(), value);
        }
    };
    put("id", Variant::from(record.id));
    put("direction", Variant::from(record.direction.as_str()));
    put("peer", Variant::from(record.peer));
    put("payload", Variant::from(record.payload));
    if let Some(text) = record.text {
        put("text", Variant::from(text));
    }
    put("encoding", Variant::from(record.encoding));
    put("state", Variant::from(record.state));
    put("timestamp", Variant::from(record.timestamp));
    put("error", Variant::from(record.error));
    put(
        "info",
        Variant::from(record.info.into_iter().collect::<HashMap<_, _>>()),
    );
    dict
}

#[interface(name = "org.m2mhal.Hal1.Messaging")]
impl MessagingInterface {
    /// Largest payload in bytes that one `Send` accepts on this device.
    #[zbus(property)]
    fn max_payload(&self) -> u32 {
        self.handle.state().max_payload
    }

    /// Outgoing messages not yet `sent` or `failed`.
    #[zbus(property)]
    fn pending(&self) -> u32 {
        self.handle.state().pending
    }

    /// Accepts a message into the durable outbox and returns its id once it is committed.
    async fn send(
        &self,
        destination: String,
        payload: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<String, HalError> {
        authorize(conn, &header, Action::Messaging).await?;
        let message = NewMessage {
            destination,
            payload,
            encoding: parse_send_options(&options)?,
            info: Default::default(),
            attempt_of: None,
        };
        let announce = |id: String| async move {
            if let Err(e) = Self::state_changed(&emitter, &id, "queued", "").await {
                tracing::warn!("cannot emit StateChanged: {e}");
            }
        };
        Ok(outgoing::accept(&self.store, &self.handle, message, announce).await?)
    }

    /// Every stored message of this device (private: root or `org.m2mhal.Hal1.MessagingRead`).
    async fn list(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<Vec<HashMap<String, OwnedVariant>>, HalError> {
        authorize(conn, &header, Action::MessagingRead).await?;
        let device_id = self.device_id();
        let records = self
            .store
            .run(move |store| store.list(&device_id))
            .await
            .map_err(|e| HalError::Failed(format!("cannot read the store: {e}")))?;
        Ok(records.into_iter().map(record_to_dict).collect())
    }

    /// Forgets a stored message.
    async fn delete(
        &self,
        id: String,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), HalError> {
        authorize(conn, &header, Action::Messaging).await?;
        let device_id = self.device_id();
        let wanted = id.clone();
        let deleted = self
            .store
            .run(move |store| store.delete(&device_id, &wanted))
            .await
            .map_err(|e| HalError::Failed(format!("cannot delete from the store: {e}")))?;
        if !deleted {
            return Err(HalError::InvalidArgument(format!(
                "no message with id {id:?} on this device"
            )));
        }
        // A device that is gone has no outbox left to clean.
        let _ = self.handle.send(DeviceRequest::Forget(id)).await;
        Ok(())
    }

    /// Looks for incoming messages now.
    async fn poll(&self) -> Result<(), HalError> {
        self.handle.call(Request::Poll, POLL_TIMEOUT).await?;
        Ok(())
    }

    /// A complete incoming message, stored durably before this signal.
    #[zbus(signal)]
    pub async fn received(
        emitter: &SignalEmitter<'_>,
        id: &str,
        peer: &str,
        payload: &[u8],
        info: HashMap<&str, Variant<'_>>,
    ) -> zbus::Result<()>;

    /// An outgoing message moved to `queued`, `sending`, `sent` or `failed`.
    #[zbus(signal)]
    pub async fn state_changed(
        emitter: &SignalEmitter<'_>,
        id: &str,
        state: &str,
        error: &str,
    ) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, Variant<'static>)]) -> HashMap<String, OwnedVariant> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OwnedVariant::try_from(v).unwrap()))
            .collect()
    }

    #[test]
    fn send_options_are_strict() {
        assert_eq!(parse_send_options(&options(&[])).unwrap(), Encoding::Text);
        assert_eq!(
            parse_send_options(&options(&[("encoding", Variant::from("binary"))])).unwrap(),
            Encoding::Binary
        );
        let err = parse_send_options(&options(&[("encoding", Variant::from(7u32))])).unwrap_err();
        assert!(matches!(err, HalError::InvalidArgument(m) if m.contains("must be a string")));
        let err =
            parse_send_options(&options(&[("encoding", Variant::from("utf16"))])).unwrap_err();
        assert!(matches!(err, HalError::InvalidArgument(m) if m.contains("utf16")));
        let err = parse_send_options(&options(&[("priority", Variant::from(1u32))])).unwrap_err();
        assert!(matches!(err, HalError::InvalidArgument(m) if m.contains("priority")));
    }
}
