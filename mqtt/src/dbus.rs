//! The bridge as a D-Bus client of m2mhald: its device objects, its signals, `Messaging.List`
//! and `Messaging.Send`. Thin: decoding only; what to do with it is the bridge's.

use std::collections::HashMap;

use m2mhal_contract::{BUS_NAME, MANAGER_PATH, error, iface, messaging};
use zbus::message::Type as MessageType;
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedObjectPath, OwnedVariant, Variant};

use crate::mirror::Properties;
use crate::payload::{Command, Incoming};
use crate::sends::Change;

const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const DBUS_NAME: &str = "org.freedesktop.DBus";

/// Interfaces and their properties, as D-Bus gives them.
type InterfaceMap = HashMap<String, HashMap<String, OwnedVariant>>;

/// A signal of the daemon, decoded.
#[derive(Debug)]
pub enum DaemonSignal {
    /// `InterfacesAdded`.
    Added {
        /// The object.
        path: String,
        /// Interface name -> properties.
        interfaces: Vec<(String, Properties)>,
    },
    /// `InterfacesRemoved`.
    Removed {
        /// The object.
        path: String,
        /// Interface names.
        interfaces: Vec<String>,
    },
    /// `PropertiesChanged`.
    Changed {
        /// The object.
        path: String,
        /// The interface.
        interface: String,
        /// The new values.
        changed: Properties,
    },
    /// `Messaging.Received`.
    Received {
        /// The device object.
        path: String,
        /// The message.
        message: Incoming,
    },
    /// `Messaging.StateChanged`.
    StateChanged {
        /// The message id.
        id: String,
        /// Its new state.
        change: Change,
    },
    /// `Router.StateChanged`.
    RoutedStateChanged {
        /// The routed message id.
        id: String,
        /// Its new state, with the uplink.
        change: Change,
    },
}

fn properties(values: HashMap<String, OwnedVariant>) -> Properties {
    values
        .iter()
        .map(|(name, value)| (name.clone(), crate::json::to_json(value)))
        .collect()
}

fn interfaces(map: InterfaceMap) -> Vec<(String, Properties)> {
    map.into_iter()
        .map(|(name, values)| (name, properties(values)))
        .collect()
}

/// Every signal under the manager's path (the daemon's objects), in the order sent.
pub async fn daemon_signals(conn: &Connection) -> zbus::Result<MessageStream> {
    let rule = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .path_namespace(MANAGER_PATH)
        .build()?;
    MessageStream::for_match_rule(rule, conn, None).await
}

/// The bus's `NameOwnerChanged` for the daemon's name.
pub async fn owner_changes(conn: &Connection) -> zbus::Result<MessageStream> {
    let rule = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .sender(DBUS_NAME)
        .interface(DBUS_NAME)
        .member("NameOwnerChanged")
        .arg(0, BUS_NAME)
        .build()?;
    MessageStream::for_match_rule(rule, conn, None).await
}

/// The new owner in a `NameOwnerChanged` of the daemon's name ("" when it went).
pub fn new_owner(message: &Message) -> Option<String> {
    let (name, _, new): (String, String, String) = message.body().deserialize().ok()?;
    (name == BUS_NAME).then_some(new)
}

/// The unique name owning the daemon's name now, if any.
pub async fn daemon_owner(conn: &Connection) -> Option<String> {
    let reply = conn
        .call_method(
            Some(DBUS_NAME),
            "/org/freedesktop/DBus",
            Some(DBUS_NAME),
            "GetNameOwner",
            &(BUS_NAME,),
        )
        .await
        .ok()?;
    reply.body().deserialize::<String>().ok()
}

/// Decodes a daemon signal; `None` for one the bridge does not use or cannot read.
pub fn decode(message: &Message) -> Option<DaemonSignal> {
    let header = message.header();
    let path = header.path()?.as_str().to_owned();
    let interface = header.interface()?.as_str().to_owned();
    let member = header.member()?.as_str().to_owned();
    let body = message.body();
    match (interface.as_str(), member.as_str()) {
        (OBJECT_MANAGER, "InterfacesAdded") => {
            let (path, map): (OwnedObjectPath, InterfaceMap) = body.deserialize().ok()?;
            Some(DaemonSignal::Added {
                path: path.as_str().to_owned(),
                interfaces: interfaces(map),
            })
        }
        (OBJECT_MANAGER, "InterfacesRemoved") => {
            let (path, interfaces): (OwnedObjectPath, Vec<String>) = body.deserialize().ok()?;
            Some(DaemonSignal::Removed {
                path: path.as_str().to_owned(),
                interfaces,
            })
        }
        (PROPERTIES, "PropertiesChanged") => {
            let (interface, changed, _): (String, HashMap<String, OwnedVariant>, Vec<String>) =
                body.deserialize().ok()?;
            Some(DaemonSignal::Changed {
                path,
                interface,
                changed: properties(changed),
            })
        }
        (iface::MESSAGING, messaging::RECEIVED) => {
            let (id, peer, payload, info): (
                String,
                String,
                Vec<u8>,
                HashMap<String, OwnedVariant>,
            ) = body.deserialize().ok()?;
            Some(DaemonSignal::Received {
                path,
                message: Incoming::received(id, peer, payload, &info),
            })
        }
        (iface::MESSAGING, messaging::STATE_CHANGED) => {
            let (id, state, error): (String, String, String) = body.deserialize().ok()?;
            Some(DaemonSignal::StateChanged {
                id,
                change: Change {
                    state,
                    error,
                    uplink: String::new(),
                },
            })
        }
        (iface::ROUTER, messaging::STATE_CHANGED) => {
            let (id, state, uplink, error): (String, String, String, String) =
                body.deserialize().ok()?;
            Some(DaemonSignal::RoutedStateChanged {
                id,
                change: Change {
                    state,
                    error,
                    uplink,
                },
            })
        }
        _ => None,
    }
}

/// The daemon's objects now: path -> interfaces with their properties.
pub async fn managed_objects(
    conn: &Connection,
) -> zbus::Result<Vec<(String, Vec<(String, Properties)>)>> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            MANAGER_PATH,
            Some(OBJECT_MANAGER),
            "GetManagedObjects",
            &(),
        )
        .await?;
    let objects: HashMap<OwnedObjectPath, InterfaceMap> = reply.body().deserialize()?;
    Ok(objects
        .into_iter()
        .map(|(path, map)| (path.as_str().to_owned(), interfaces(map)))
        .collect())
}

/// The incoming messages stored for the device at `path`, in `List` order.
pub async fn list_incoming(conn: &Connection, path: &str) -> Result<Vec<Incoming>, String> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            path,
            Some(iface::MESSAGING),
            messaging::LIST,
            &(),
        )
        .await
        .map_err(|e| describe(&e))?;
    let entries: Vec<HashMap<String, OwnedVariant>> =
        reply.body().deserialize().map_err(|e| describe(&e))?;
    Ok(entries.iter().filter_map(Incoming::listed).collect())
}

/// `Messaging.Send` of `command` through the device at `path`: the message id, or the error.
pub async fn send(conn: &Connection, path: &str, command: &Command) -> Result<String, String> {
    let options = HashMap::from([("encoding", Variant::from(command.encoding))]);
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            path,
            Some(iface::MESSAGING),
            messaging::SEND,
            &(
                command.destination.as_str(),
                command.payload.as_slice(),
                options,
            ),
        )
        .await
        .map_err(|e| describe(&e))?;
    reply
        .body()
        .deserialize::<String>()
        .map_err(|e| describe(&e))
}

/// The entries of `List` of `interface` at `path`; `None` when the call fails.
async fn listed(
    conn: &Connection,
    path: &str,
    interface: &str,
) -> Option<Vec<HashMap<String, OwnedVariant>>> {
    let reply = conn
        .call_method(Some(BUS_NAME), path, Some(interface), messaging::LIST, &())
        .await
        .ok()?;
    reply.body().deserialize().ok()
}

/// A value of a `List` entry, "" or empty or 0 when it is absent.
fn field<T: TryFrom<OwnedVariant> + Default>(
    entry: &HashMap<String, OwnedVariant>,
    key: &str,
) -> T {
    entry
        .get(key)
        .and_then(|value| T::try_from(value.try_clone().ok()?).ok())
        .unwrap_or_default()
}

/// `state`, `error` and `uplink` (absent for a device message) of entry `id`.
fn state_of(entries: &[HashMap<String, OwnedVariant>], id: &str) -> Option<Change> {
    let entry = entries
        .iter()
        .find(|entry| field::<String>(entry, "id") == id)?;
    Some(Change {
        state: field(entry, "state"),
        error: field(entry, "error"),
        uplink: field(entry, "uplink"),
    })
}

/// The state of outgoing message `id` of the device at `path` now (from `Messaging.List`).
pub async fn message_state(conn: &Connection, path: &str, id: &str) -> Option<Change> {
    state_of(&listed(conn, path, iface::MESSAGING).await?, id)
}

/// The state of routed message `id` now (from `Router.List`), with its uplink.
pub async fn routed_state(conn: &Connection, id: &str) -> Option<Change> {
    state_of(&listed(conn, MANAGER_PATH, iface::ROUTER).await?, id)
}

/// The newest message `Messaging.Send` of `command` through the device at `path` stored since
/// `since` (unix seconds), if any: what a call the bridge could not see answered left.
pub async fn find_sent(
    conn: &Connection,
    path: &str,
    command: &Command,
    since: u64,
) -> Option<String> {
    let entries = listed(conn, path, iface::MESSAGING).await?;
    newest(&entries, since, command, |entry| {
        field::<String>(entry, "direction") == "out"
            && field::<String>(entry, "peer") == command.destination
    })
}

/// Like [`find_sent`], for `Router.Send` of `command` on `route`.
pub async fn find_routed(
    conn: &Connection,
    route: &str,
    command: &Command,
    since: u64,
) -> Option<String> {
    let entries = listed(conn, MANAGER_PATH, iface::ROUTER).await?;
    newest(&entries, since, command, |entry| {
        field::<String>(entry, "route") == route
    })
}

fn newest(
    entries: &[HashMap<String, OwnedVariant>],
    since: u64,
    command: &Command,
    matches: impl Fn(&HashMap<String, OwnedVariant>) -> bool,
) -> Option<String> {
    entries
        .iter()
        .filter(|entry| {
            matches(entry)
                && field::<u64>(entry, "timestamp") >= since
                && field::<Vec<u8>>(entry, "payload") == command.payload
        })
        .max_by_key(|entry| field::<u64>(entry, "timestamp"))
        .map(|entry| field(entry, "id"))
}

/// `Router.Send` of `command` on `route`: the routed message's id, or the error.
pub async fn route_send(
    conn: &Connection,
    route: &str,
    command: &Command,
) -> Result<String, String> {
    let options = HashMap::from([("encoding", Variant::from(command.encoding))]);
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            MANAGER_PATH,
            Some(iface::ROUTER),
            messaging::SEND,
            &(route, command.payload.as_slice(), options),
        )
        .await
        .map_err(|e| describe(&e))?;
    reply
        .body()
        .deserialize::<String>()
        .map_err(|e| describe(&e))
}

/// An error as the results carry it: `PayloadTooLarge: <message>` for the API's errors.
fn describe(error: &zbus::Error) -> String {
    match error {
        zbus::Error::MethodError(name, text, _) => {
            let name = name.as_str();
            let kind = name.strip_prefix(error::PREFIX).unwrap_or(name);
            format!("{kind}: {}", text.as_deref().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn signal<B>(path: &str, interface: &str, member: &str, body: &B) -> Message
    where
        B: serde::Serialize + zbus::Type,
    {
        Message::signal(path, interface, member)
            .build(body)
            .unwrap()
    }

    #[test]
    fn received_and_state_changed() {
        let info = HashMap::from([
            ("text", Variant::from("hi")),
            ("timestamp", Variant::from(9u64)),
        ]);
        let message = signal(
            "/org/m2mhal/Hal1/Devices/0",
            iface::MESSAGING,
            messaging::RECEIVED,
            &("4", "+49", b"hi".to_vec(), info),
        );
        let Some(DaemonSignal::Received { path, message }) = decode(&message) else {
            panic!("not decoded as Received");
        };
        assert_eq!(path, "/org/m2mhal/Hal1/Devices/0");
        assert_eq!((message.id.as_str(), message.peer.as_str()), ("4", "+49"));
        assert_eq!(message.text.as_deref(), Some("hi"));
        assert_eq!(message.timestamp, 9);

        let message = signal(
            "/org/m2mhal/Hal1/Devices/0",
            iface::MESSAGING,
            messaging::STATE_CHANGED,
            &("5", "sent", ""),
        );
        let Some(DaemonSignal::StateChanged { id, change }) = decode(&message) else {
            panic!("not decoded as StateChanged");
        };
        assert_eq!((id.as_str(), change.state.as_str()), ("5", "sent"));

        let message = signal(
            MANAGER_PATH,
            iface::ROUTER,
            messaging::STATE_CHANGED,
            &("2", "sent", "mqtt:fleet", ""),
        );
        let Some(DaemonSignal::RoutedStateChanged { id, change }) = decode(&message) else {
            panic!("not decoded as Router.StateChanged");
        };
        assert_eq!(
            (id.as_str(), change.state.as_str(), change.uplink.as_str()),
            ("2", "sent", "mqtt:fleet")
        );
    }

    #[test]
    fn object_manager_and_properties() {
        let path = OwnedObjectPath::try_from("/org/m2mhal/Hal1/Devices/1").unwrap();
        let interfaces = HashMap::from([(
            iface::DEVICE,
            HashMap::from([("Id", Variant::from("imei:1"))]),
        )]);
        let added = signal(
            MANAGER_PATH,
            OBJECT_MANAGER,
            "InterfacesAdded",
            &(&path, interfaces),
        );
        let Some(DaemonSignal::Added {
            path: added,
            interfaces,
        }) = decode(&added)
        else {
            panic!("not decoded as InterfacesAdded");
        };
        assert_eq!(added, "/org/m2mhal/Hal1/Devices/1");
        assert_eq!(interfaces[0].0, iface::DEVICE);
        assert_eq!(interfaces[0].1["Id"], json!("imei:1"));

        let removed = signal(
            MANAGER_PATH,
            OBJECT_MANAGER,
            "InterfacesRemoved",
            &(&path, vec![iface::DEVICE]),
        );
        assert!(matches!(
            decode(&removed),
            Some(DaemonSignal::Removed { .. })
        ));

        let changed = HashMap::from([("Quality", Variant::from(60u32))]);
        let message = signal(
            "/org/m2mhal/Hal1/Devices/1",
            PROPERTIES,
            "PropertiesChanged",
            &(iface::SIGNAL, changed, Vec::<String>::new()),
        );
        let Some(DaemonSignal::Changed {
            interface, changed, ..
        }) = decode(&message)
        else {
            panic!("not decoded as PropertiesChanged");
        };
        assert_eq!(interface, iface::SIGNAL);
        assert_eq!(changed["Quality"], json!(60));

        let other = signal(MANAGER_PATH, iface::MANAGER, "Something", &());
        assert!(decode(&other).is_none());
    }
}
