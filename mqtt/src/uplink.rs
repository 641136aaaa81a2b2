//! The bridge as an uplink of m2mhald's Router (`[[route.uplink]] mqtt = "<name>"`): the
//! `org.m2mhal.Hal1.Uplink` object it exports, what a routed message looks like on
//! `<p>/routes/<route>/out`, and the signals that tell the daemon how its messages went.
//!
//! The wire (docs/dbus, "Uplink"): the bridge registers its object with
//! `Manager.RegisterUplink(name, path)`; the daemon calls `Send` (idempotent by id; it returns
//! once the message is in the bridge's store) and `Withdraw`; the bridge signals `Sent` after the
//! broker's PUBACK and `Failed` when the broker refused it, and keeps `Connected` and
//! `MaxPayload`. Only the daemon (the owner of `org.m2mhal.Hal1`) may call it.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, OwnedVariant, interface};

/// The object the bridge exports.
pub const PATH: &str = "/org/m2mhal/Mqtt1/Uplink";
/// The bus name the bridge owns, which the shipped bus policy lets m2mhald call.
pub const BUS_NAME: &str = "org.m2mhal.Mqtt1";
/// The largest payload the bridge takes: a routed message's publish (JSON, base64 for binary)
/// stays well under the largest packet.
pub const MAX_PAYLOAD: u32 = 128 * 1024;

/// A routed message the daemon hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The Router's id (the bridge's key: a second `Send` of it changes nothing).
    pub id: String,
    /// The route's name.
    pub route: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Whether the bytes are UTF-8 text (`encoding` `text`).
    pub text: bool,
    /// Unix seconds the bridge took it.
    pub timestamp: u64,
}

impl Routed {
    /// The `<p>/routes/<route>/out` payload: `id`, `route`, `text` or `payload_b64`, `timestamp`.
    pub fn to_json(&self) -> Json {
        let mut body = json!({"id": self.id, "route": self.route, "timestamp": self.timestamp});
        match std::str::from_utf8(&self.payload) {
            Ok(text) if self.text => body["text"] = json!(text),
            _ => body["payload_b64"] = json!(BASE64.encode(&self.payload)),
        }
        body
    }
}

/// A call of the daemon, for the bridge's loop to answer.
#[derive(Debug)]
pub enum UplinkCall {
    /// `Send`: take the message (answered once it is stored).
    Send {
        /// The caller's unique bus name.
        caller: String,
        /// The message.
        message: Routed,
        /// `Ok` once stored, or why not.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// `Withdraw`: take the message back if it never may have reached the broker.
    Withdraw {
        /// The caller's unique bus name.
        caller: String,
        /// The Router's id.
        id: String,
        /// `true` when it is certainly not published, or why the call is refused.
        reply: oneshot::Sender<Result<bool, String>>,
    },
}

/// What the bridge tells the daemon, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UplinkSignal {
    /// The broker acknowledged the message's publish.
    Sent(String),
    /// The broker refused it (id, why).
    Failed(String, String),
    /// The broker session is up or down.
    Connected(bool),
}

/// `org.m2mhal.Hal1.Uplink` at [`PATH`].
pub struct UplinkInterface {
    calls: mpsc::UnboundedSender<UplinkCall>,
    connected: bool,
}

impl UplinkInterface {
    /// The interface, handing the daemon's calls to `calls`.
    pub fn new(calls: mpsc::UnboundedSender<UplinkCall>) -> UplinkInterface {
        UplinkInterface {
            calls,
            connected: false,
        }
    }
}

/// The errors of the uplink object, named like the API's (`org.m2mhal.Hal1.Error.*`): the daemon
/// tells a refusal of the bridge from a failure of the bus by that prefix.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.m2mhal.Hal1.Error")]
pub enum UplinkError {
    /// A transport-level zbus failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// An argument is malformed.
    InvalidArgument(String),
    /// The payload does not fit.
    PayloadTooLarge(String),
    /// The caller is not m2mhald.
    NotAuthorized(String),
    /// Anything else (the bridge is stopping, its store failed).
    Failed(String),
}

fn caller(header: &Header<'_>) -> Result<String, UplinkError> {
    header
        .sender()
        .map(|sender| sender.as_str().to_owned())
        .ok_or_else(|| UplinkError::NotAuthorized("the call has no sender".into()))
}

fn stopping<T>(_: T) -> UplinkError {
    UplinkError::Failed("the bridge is stopping".into())
}

#[interface(name = "org.m2mhal.Hal1.Uplink")]
impl UplinkInterface {
    /// Takes routed message `id`; returns once it is in the bridge's store. A known id changes
    /// nothing (its `Sent` or `Failed` is signalled again when it has one).
    async fn send(
        &self,
        id: String,
        route: String,
        payload: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), UplinkError> {
        let text = match options.get("encoding").map(|v| String::try_from(v.clone())) {
            None => true,
            Some(Ok(encoding)) if encoding == "text" => true,
            Some(Ok(encoding)) if encoding == "binary" => false,
            Some(_) => {
                return Err(UplinkError::InvalidArgument(
                    "option \"encoding\" must be \"text\" or \"binary\"".into(),
                ));
            }
        };
        if payload.len() > MAX_PAYLOAD as usize {
            return Err(UplinkError::PayloadTooLarge(format!(
                "payload of {} bytes is larger than MaxPayload {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let message = Routed {
            id,
            route,
            payload,
            text,
            timestamp: unix_now(),
        };
        let (reply, answer) = oneshot::channel();
        let call = UplinkCall::Send {
            caller: caller(&header)?,
            message,
            reply,
        };
        self.calls.send(call).map_err(stopping)?;
        answer
            .await
            .map_err(stopping)?
            .map_err(UplinkError::NotAuthorized)
    }

    /// Takes routed message `id` back: `true` when it never was handed to the broker (or is
    /// unknown), `false` when it may have been published (`Sent` or `Failed` follows).
    async fn withdraw(
        &self,
        id: String,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<bool, UplinkError> {
        let (reply, answer) = oneshot::channel();
        let call = UplinkCall::Withdraw {
            caller: caller(&header)?,
            id,
            reply,
        };
        self.calls.send(call).map_err(stopping)?;
        answer
            .await
            .map_err(stopping)?
            .map_err(UplinkError::NotAuthorized)
    }

    /// Whether the bridge's broker session is up.
    #[zbus(property)]
    fn connected(&self) -> bool {
        self.connected
    }

    /// The largest payload `Send` takes.
    #[zbus(property(emits_changed_signal = "const"))]
    fn max_payload(&self) -> u32 {
        MAX_PAYLOAD
    }

    /// The broker acknowledged routed message `id`.
    #[zbus(signal)]
    async fn sent(emitter: &SignalEmitter<'_>, id: &str) -> zbus::Result<()>;

    /// The broker refused routed message `id`.
    #[zbus(signal)]
    async fn failed(emitter: &SignalEmitter<'_>, id: &str, error: &str) -> zbus::Result<()>;
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Emits the bridge's [`UplinkSignal`]s on `conn`, in order, from a task of its own.
pub fn spawn_signals(conn: Connection) -> mpsc::UnboundedSender<UplinkSignal> {
    let (sender, mut signals) = mpsc::unbounded_channel::<UplinkSignal>();
    tokio::spawn(async move {
        while let Some(signal) = signals.recv().await {
            if let Err(e) = emit(&conn, signal).await {
                warn!("cannot signal m2mhald: {e}");
            }
        }
    });
    sender
}

async fn emit(conn: &Connection, signal: UplinkSignal) -> zbus::Result<()> {
    let emitter = SignalEmitter::new(conn, PATH)?;
    match signal {
        UplinkSignal::Sent(id) => UplinkInterface::sent(&emitter, &id).await,
        UplinkSignal::Failed(id, error) => UplinkInterface::failed(&emitter, &id, &error).await,
        UplinkSignal::Connected(connected) => {
            let object = conn
                .object_server()
                .interface::<_, UplinkInterface>(PATH)
                .await?;
            object.get_mut().await.connected = connected;
            object.get().await.connected_changed(&emitter).await
        }
    }
}

/// Serves [`UplinkInterface`] on `conn`, owns [`BUS_NAME`] (a second bridge on the host warns:
/// the daemon may not reach it), and returns the calls it receives.
pub async fn serve(conn: &Connection) -> zbus::Result<mpsc::UnboundedReceiver<UplinkCall>> {
    let (calls, received) = mpsc::unbounded_channel();
    conn.object_server()
        .at(PATH, UplinkInterface::new(calls))
        .await?;
    if let Err(e) = conn.request_name(BUS_NAME).await {
        warn!("cannot own {BUS_NAME} (another bridge?): {e}");
    }
    Ok(received)
}

/// `Manager.RegisterUplink(name, PATH)` at m2mhald.
pub async fn register(conn: &Connection, name: &str) -> zbus::Result<()> {
    let path = zbus::ObjectPath::try_from(PATH)?;
    conn.call_method(
        Some(m2mhal_contract::BUS_NAME),
        m2mhal_contract::MANAGER_PATH,
        Some(m2mhal_contract::iface::MANAGER),
        "RegisterUplink",
        &(name, path),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(payload: &[u8], text: bool) -> Routed {
        Routed {
            id: "7".into(),
            route: "home".into(),
            payload: payload.to_vec(),
            text,
            timestamp: 9,
        }
    }

    #[test]
    fn routed_messages_as_published() {
        assert_eq!(
            routed(b"tank hot", true).to_json(),
            json!({"id": "7", "route": "home", "text": "tank hot", "timestamp": 9})
        );
        assert_eq!(
            routed(&[0, 255], false).to_json(),
            json!({"id": "7", "route": "home", "payload_b64": "AP8=", "timestamp": 9})
        );
        // Not UTF-8 although sent as text: still carried, as bytes.
        assert_eq!(routed(&[255], true).to_json()["payload_b64"], "/w==");
    }
}
