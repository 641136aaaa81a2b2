//! The MQTT bridges registered as Router uplinks (`Manager.RegisterUplink`): the daemon follows
//! each registering bus name (its `org.m2mhal.Hal1.Uplink` signals and `Connected`, and
//! `NameOwnerChanged`: gone -> the uplink is unavailable) and calls the bridge's `Send` and
//! `Withdraw` for the router ([`RemoteUplinks`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use m2mhal_routing::{AttemptOutcome, Encoding, UplinkStatus};
use zbus::fdo::DBusProxy;
use zbus::message::Type as MessageType;
use zbus::names::BusName;
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedObjectPath, OwnedVariant, Variant};

use crate::router::mqtt_uplink::{
    Handover, RemoteEvent, RemoteMessage, RemoteUplinks, uplink_name,
};
use crate::router::service::RouterHandle;

/// The bridge's interface.
pub const UPLINK: &str = "org.m2mhal.Hal1.Uplink";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
/// How long a call to a bridge may take (it answers once its store has committed).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One registration: who serves the uplink, where.
#[derive(Debug, Clone)]
struct Registration {
    conn: Connection,
    owner: String,
    path: OwnedObjectPath,
}

/// The registered bridges by uplink name (`mqtt:<name>`).
#[derive(Debug)]
pub struct UplinkRegistry {
    router: RouterHandle,
    registered: Mutex<HashMap<String, Registration>>,
    /// The task following each registration (replaced with it).
    watchers: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
    /// (uplink, id) of messages a bridge said may have reached its broker: that does not
    /// change (the bridge keeps it in its store) until it says `Sent` or `Failed`, so a withdraw
    /// is not asked again.
    out: Mutex<std::collections::HashSet<(String, String)>>,
}

impl UplinkRegistry {
    /// No bridge registered yet; the router hears about the ones that come.
    pub fn new(router: RouterHandle) -> Self {
        UplinkRegistry {
            router,
            registered: Mutex::new(HashMap::new()),
            watchers: Mutex::new(HashMap::new()),
            out: Mutex::new(std::collections::HashSet::new()),
        }
    }

    fn registrations(&self) -> std::sync::MutexGuard<'_, HashMap<String, Registration>> {
        self.registered.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn out_list(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<(String, String)>> {
        self.out.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn registration(&self, uplink: &str) -> Option<Registration> {
        self.registrations().get(uplink).cloned()
    }

    /// `owner` (a unique bus name) serves uplink `mqtt:<name>` at `path` from now on, in place of
    /// whoever did before; the daemon follows it until it leaves the bus.
    pub async fn register(
        self: &Arc<Self>,
        conn: &Connection,
        name: &str,
        owner: &str,
        path: OwnedObjectPath,
    ) -> zbus::Result<()> {
        let uplink = uplink_name(name);
        let registration = Registration {
            conn: conn.clone(),
            owner: owner.to_owned(),
            path,
        };
        // Subscribed before anything is read, so that nothing said meanwhile is missed.
        let signals = bridge_signals(&registration).await?;
        let dbus = DBusProxy::new(conn).await?;
        let mut gone = dbus
            .receive_name_owner_changed_with_args(&[(0, owner)])
            .await?;
        let status = read_status(&registration).await?;
        self.registrations()
            .insert(uplink.clone(), registration.clone());
        tracing::info!("{uplink} registered");
        self.router.remote_event(RemoteEvent::Status {
            uplink: uplink.clone(),
            status,
        });
        self.router.remote_event(RemoteEvent::Registered {
            uplink: uplink.clone(),
        });
        let registry = Arc::clone(self);
        let watched = uplink.clone();
        let watcher = tokio::spawn(async move {
            let mut signals = signals;
            let mut status = status;
            loop {
                tokio::select! {
                    message = signals.next() => match message {
                        Some(Ok(message)) => registry.bridge_said(&uplink, &message, &mut status),
                        Some(Err(_)) => {}
                        None => break,
                    },
                    change = gone.next() => {
                        let left = change
                            .as_ref()
                            .and_then(|c| c.args().ok())
                            .is_none_or(|args| args.new_owner().is_none());
                        if left {
                            break;
                        }
                    }
                }
            }
            registry.left(&uplink, &registration.owner);
        });
        let mut watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(earlier) = watchers.insert(watched, watcher) {
            earlier.abort();
        }
        Ok(())
    }

    /// A signal of the bridge serving `uplink`.
    fn bridge_said(&self, uplink: &str, message: &Message, status: &mut UplinkStatus) {
        let header = message.header();
        let member = header.member().map(|m| m.as_str().to_owned());
        let body = message.body();
        let outcome = match member.as_deref() {
            Some("Sent") => body.deserialize::<String>().ok().map(|id| (id, None)),
            Some("Failed") => body
                .deserialize::<(String, String)>()
                .ok()
                .map(|(id, error)| (id, Some(error))),
            Some("PropertiesChanged") => {
                let Ok((_, changed, _)) =
                    body.deserialize::<(String, HashMap<String, OwnedVariant>, Vec<String>)>()
                else {
                    return;
                };
                if let Some(connected) = changed
                    .get("Connected")
                    .and_then(|v| bool::try_from(v).ok())
                {
                    status.available = connected;
                    tracing::info!("{uplink} connected: {connected}");
                    self.router.remote_event(RemoteEvent::Status {
                        uplink: uplink.to_owned(),
                        status: *status,
                    });
                }
                None
            }
            _ => None,
        };
        if let Some((id, error)) = outcome {
            self.out_list().remove(&(uplink.to_owned(), id.clone()));
            let outcome = match error {
                None => AttemptOutcome::Sent,
                Some(error) => AttemptOutcome::Failed(error),
            };
            self.router.remote_event(RemoteEvent::Outcome {
                uplink: uplink.to_owned(),
                id,
                outcome,
            });
        }
    }

    /// The bridge `owner` of `uplink` left the bus: the uplink is unavailable (unless another
    /// registration took its place meanwhile).
    fn left(&self, uplink: &str, owner: &str) {
        let mut registered = self.registrations();
        if registered.get(uplink).is_some_and(|r| r.owner == owner) {
            registered.remove(uplink);
            drop(registered);
            tracing::warn!("{uplink} left the bus");
            self.router.remote_event(RemoteEvent::Status {
                uplink: uplink.to_owned(),
                status: UplinkStatus::default(),
            });
        }
    }
}

/// The bridge's signals: `Sent`, `Failed` and `PropertiesChanged` of its object.
async fn bridge_signals(registration: &Registration) -> zbus::Result<MessageStream> {
    let rule = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .sender(registration.owner.clone())
        .path(registration.path.as_str().to_owned())
        .build()?;
    MessageStream::for_match_rule(rule, &registration.conn, None).await
}

/// The bridge's `Connected` and `MaxPayload`.
async fn read_status(registration: &Registration) -> zbus::Result<UplinkStatus> {
    let reply = registration
        .conn
        .call_method(
            Some(BusName::try_from(registration.owner.as_str())?),
            registration.path.as_str(),
            Some(PROPERTIES),
            "GetAll",
            &(UPLINK,),
        )
        .await?;
    let properties: HashMap<String, OwnedVariant> = reply.body().deserialize()?;
    let get = |name: &str| properties.get(name).and_then(|v| v.try_clone().ok());
    Ok(UplinkStatus {
        available: get("Connected").and_then(|v| bool::try_from(v).ok()) == Some(true),
        max_payload: get("MaxPayload")
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
    })
}

impl UplinkRegistry {
    /// Calls `method` on the bridge of `uplink` with `body`, within [`CALL_TIMEOUT`].
    async fn call<B>(&self, uplink: &str, method: &str, body: &B) -> Option<zbus::Result<Message>>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let registration = self.registration(uplink)?;
        let owner = match BusName::try_from(registration.owner.as_str()) {
            Ok(owner) => owner,
            Err(e) => return Some(Err(e)),
        };
        let call = registration.conn.call_method(
            Some(owner),
            registration.path.as_str(),
            Some(UPLINK),
            method,
            body,
        );
        Some(match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => result,
            Err(_) => Err(zbus::Error::Failure(format!(
                "no answer within {CALL_TIMEOUT:?}"
            ))),
        })
    }
}

#[async_trait::async_trait]
impl RemoteUplinks for UplinkRegistry {
    async fn send(&self, uplink: &str, message: &RemoteMessage) -> Handover {
        let encoding = match message.encoding {
            Encoding::Text => "text",
            Encoding::Binary => "binary",
        };
        let options = HashMap::from([("encoding", Variant::from(encoding))]);
        let body = (
            message.id.as_str(),
            message.route.as_str(),
            message.payload.as_slice(),
            options,
        );
        match self.call(uplink, "Send", &body).await {
            None => Handover::Absent,
            Some(Ok(_)) => Handover::Taken,
            // The bridge's own errors are named like the API's; the bus's are not.
            Some(Err(zbus::Error::MethodError(name, text, _)))
                if name.as_str().starts_with(m2mhal_contract::error::PREFIX) =>
            {
                let kind = name
                    .as_str()
                    .trim_start_matches(m2mhal_contract::error::PREFIX);
                Handover::Refused(format!("{kind}: {}", text.unwrap_or_default()))
            }
            Some(Err(e)) => Handover::Unanswered(e.to_string()),
        }
    }

    async fn withdraw(&self, uplink: &str, id: &str) -> Option<bool> {
        let key = (uplink.to_owned(), id.to_owned());
        if self.out_list().contains(&key) {
            return Some(false);
        }
        match self.call(uplink, "Withdraw", &(id,)).await? {
            Ok(reply) => {
                let withdrawn = reply.body().deserialize::<bool>().ok();
                if withdrawn == Some(false) {
                    self.out_list().insert(key);
                }
                withdrawn
            }
            Err(e) => {
                tracing::warn!("{uplink} did not answer a withdraw: {e}");
                None
            }
        }
    }
}
