//! The signals m2mctl listens to, decoded into events and rendered for people or scripts.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value as Json, json};
use zbus::{Message, OwnedObjectPath, OwnedVariant};

use crate::bus::{BUS_NAME, MANAGER_PATH, iface};
use crate::device::{Properties, device_label};
use crate::format::value::{hex, peer_label, properties_to_json, render_named, string_entry};

/// `org.freedesktop.DBus.ObjectManager`
const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";
/// `org.freedesktop.DBus.Properties`
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
/// `org.freedesktop.DBus`, the bus itself.
const BUS_INTERFACE: &str = "org.freedesktop.DBus";

/// Something that happened on the daemon's side.
#[derive(Debug)]
pub enum Event {
    /// `InterfacesAdded`: an object (a device) appeared or gained interfaces.
    ObjectAdded {
        /// The object.
        path: String,
        /// Its new interfaces with their properties.
        interfaces: BTreeMap<String, Properties>,
    },
    /// `InterfacesRemoved`: an object (a device) went away or lost interfaces.
    ObjectRemoved {
        /// The object.
        path: String,
        /// The interfaces it lost.
        interfaces: Vec<String>,
    },
    /// `PropertiesChanged`.
    PropertiesChanged {
        /// The object.
        path: String,
        /// The interface whose properties changed.
        interface: String,
        /// New values.
        changed: Properties,
        /// Properties whose new value was not sent.
        invalidated: Vec<String>,
    },
    /// `Messaging.Received`: a complete incoming message.
    MessageReceived {
        /// The device.
        path: String,
        /// Message id.
        id: String,
        /// Sender ("" for a satellite gateway).
        peer: String,
        /// The payload.
        payload: Vec<u8>,
        /// `text`, `timestamp`, ...
        info: Properties,
    },
    /// `Messaging.StateChanged`: an outgoing message changed state.
    MessageStateChanged {
        /// The device.
        path: String,
        /// Message id.
        id: String,
        /// `queued`, `sending`, `sent`, `failed`.
        state: String,
        /// Why it failed, or "".
        error: String,
    },
    /// `Router.StateChanged`: a routed message changed state (no payload in it).
    RoutedStateChanged {
        /// Routed message id.
        id: String,
        /// `queued`, `sending`, `sent`, `failed`.
        state: String,
        /// The uplink trying or that carried it ("" while queued).
        uplink: String,
        /// Why, or "".
        error: String,
    },
    /// `Gatt.Notification`.
    Notification {
        /// The device.
        path: String,
        /// Characteristic UUID.
        characteristic: String,
        /// The notified value.
        value: Vec<u8>,
    },
    /// `org.m2mhal.Hal1` got an owner.
    DaemonAppeared,
    /// `org.m2mhal.Hal1` lost its owner.
    DaemonLeft,
}

impl Event {
    /// Decodes a signal; `None` for signals m2mctl does not know or that are malformed.
    pub fn from_message(message: &Message) -> Option<Self> {
        let header = message.header();
        let path = header.path()?.as_str().to_owned();
        let interface = header.interface()?.as_str();
        let member = header.member()?.as_str();
        let body = message.body();
        let event = match (interface, member) {
            (OBJECT_MANAGER, "InterfacesAdded") => {
                type Added = HashMap<String, HashMap<String, OwnedVariant>>;
                let (object, interfaces): (OwnedObjectPath, Added) = body.deserialize().ok()?;
                Self::ObjectAdded {
                    path: object.as_str().to_owned(),
                    interfaces: interfaces
                        .into_iter()
                        .map(|(name, properties)| (name, properties.into_iter().collect()))
                        .collect(),
                }
            }
            (OBJECT_MANAGER, "InterfacesRemoved") => {
                let (object, interfaces): (OwnedObjectPath, Vec<String>) =
                    body.deserialize().ok()?;
                Self::ObjectRemoved {
                    path: object.as_str().to_owned(),
                    interfaces,
                }
            }
            (PROPERTIES, "PropertiesChanged") => {
                let (interface, changed, invalidated): (
                    String,
                    HashMap<String, OwnedVariant>,
                    Vec<String>,
                ) = body.deserialize().ok()?;
                Self::PropertiesChanged {
                    path,
                    interface,
                    changed: changed.into_iter().collect(),
                    invalidated,
                }
            }
            (iface::MESSAGING, "Received") => {
                let (id, peer, payload, info): (
                    String,
                    String,
                    Vec<u8>,
                    HashMap<String, OwnedVariant>,
                ) = body.deserialize().ok()?;
                Self::MessageReceived {
                    path,
                    id,
                    peer,
                    payload,
                    info: info.into_iter().collect(),
                }
            }
            (iface::MESSAGING, "StateChanged") => {
                let (id, state, error): (String, String, String) = body.deserialize().ok()?;
                Self::MessageStateChanged {
                    path,
                    id,
                    state,
                    error,
                }
            }
            (iface::ROUTER, "StateChanged") => {
                let (id, state, uplink, error): (String, String, String, String) =
                    body.deserialize().ok()?;
                Self::RoutedStateChanged {
                    id,
                    state,
                    uplink,
                    error,
                }
            }
            (iface::GATT, "Notification") => {
                let (characteristic, value): (String, Vec<u8>) = body.deserialize().ok()?;
                Self::Notification {
                    path,
                    characteristic,
                    value,
                }
            }
            (BUS_INTERFACE, "NameOwnerChanged") => {
                let (name, _old, new): (String, String, String) = body.deserialize().ok()?;
                match (name == BUS_NAME, new.is_empty()) {
                    (false, _) => return None,
                    (true, true) => Self::DaemonLeft,
                    (true, false) => Self::DaemonAppeared,
                }
            }
            _ => return None,
        };
        Some(event)
    }

    /// Whether this event can make a device appear, vanish or change `State`.
    pub fn may_change_device_state(&self) -> bool {
        match self {
            Self::ObjectAdded { .. }
            | Self::ObjectRemoved { .. }
            | Self::DaemonAppeared
            | Self::DaemonLeft => true,
            Self::PropertiesChanged { interface, .. } => interface == iface::DEVICE,
            Self::MessageReceived { .. }
            | Self::MessageStateChanged { .. }
            | Self::RoutedStateChanged { .. }
            | Self::Notification { .. } => false,
        }
    }

    /// The event as text, one line per fact, each starting with the device label.
    pub fn render(&self) -> String {
        match self {
            Self::ObjectAdded { path, interfaces } => {
                let names: Vec<&str> = interfaces.keys().map(|name| iface::short(name)).collect();
                let summary = interfaces
                    .get(iface::DEVICE)
                    .map(|device| {
                        let field = |name| string_entry(device, name);
                        format!(
                            " {} {} (driver {}), {}",
                            field("Id"),
                            field("Kind"),
                            field("Driver"),
                            field("State")
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "[{}] added:{summary}; interfaces {}",
                    label(path),
                    names.join(", ")
                )
            }
            Self::ObjectRemoved { path, interfaces } => {
                let names: Vec<&str> = interfaces.iter().map(|name| iface::short(name)).collect();
                format!("[{}] removed: interfaces {}", label(path), names.join(", "))
            }
            Self::PropertiesChanged {
                path,
                interface,
                changed,
                invalidated,
            } => {
                let device = label(path);
                let interface = iface::short(interface);
                let changed = changed.iter().map(|(name, value)| {
                    format!(
                        "[{device}] {interface}.{name} = {}",
                        render_named(name, value)
                    )
                });
                let invalidated = invalidated
                    .iter()
                    .map(|name| format!("[{device}] {interface}.{name} invalidated"));
                changed.chain(invalidated).collect::<Vec<_>>().join("\n")
            }
            Self::MessageReceived {
                path,
                id,
                peer,
                payload,
                info,
            } => {
                let content = match info
                    .get("text")
                    .and_then(|text| crate::format::value::string(text))
                {
                    Some(text) => format!("{text:?}"),
                    None => format!("({} bytes) {}", payload.len(), hex(payload)),
                };
                let sender = match peer.as_str() {
                    "" => peer_label(peer).to_owned(),
                    phone => format!("{phone:?}"),
                };
                format!(
                    "[{}] received message {id} from {sender}: {content}",
                    label(path)
                )
            }
            Self::MessageStateChanged {
                path,
                id,
                state,
                error,
            } => {
                format!("[{}] message {id}: {state}{}", label(path), reason(error))
            }
            Self::RoutedStateChanged {
                id,
                state,
                uplink,
                error,
            } => {
                let via = if uplink.is_empty() {
                    String::new()
                } else {
                    format!(" via {uplink}")
                };
                format!("[router] message {id}: {state}{via}{}", reason(error))
            }
            Self::Notification {
                path,
                characteristic,
                value,
            } => format!(
                "[{}] notification {characteristic}: {}",
                label(path),
                hex(value)
            ),
            Self::DaemonAppeared => "m2mhald appeared on the bus".to_owned(),
            Self::DaemonLeft => "m2mhald left the bus".to_owned(),
        }
    }

    /// The event as one JSON object with an `event` key naming its kind.
    pub fn to_json(&self) -> Json {
        match self {
            Self::ObjectAdded { path, interfaces } => {
                let interfaces: serde_json::Map<String, Json> = interfaces
                    .iter()
                    .map(|(name, properties)| (name.clone(), properties_to_json(properties)))
                    .collect();
                json!({"event": "added", "path": path, "interfaces": interfaces})
            }
            Self::ObjectRemoved { path, interfaces } => {
                json!({"event": "removed", "path": path, "interfaces": interfaces})
            }
            Self::PropertiesChanged {
                path,
                interface,
                changed,
                invalidated,
            } => json!({
                "event": "properties-changed",
                "path": path,
                "interface": interface,
                "changed": properties_to_json(changed),
                "invalidated": invalidated,
            }),
            Self::MessageReceived {
                path,
                id,
                peer,
                payload,
                info,
            } => json!({
                "event": "received",
                "path": path,
                "id": id,
                "peer": peer,
                "payload": hex(payload),
                "info": properties_to_json(info),
            }),
            Self::MessageStateChanged {
                path,
                id,
                state,
                error,
            } => json!({
                "event": "state-changed", "path": path, "id": id, "state": state, "error": error,
            }),
            Self::RoutedStateChanged {
                id,
                state,
                uplink,
                error,
            } => json!({
                "event": "routed-state-changed", "id": id, "state": state, "uplink": uplink,
                "error": error,
            }),
            Self::Notification {
                path,
                characteristic,
                value,
            } => json!({
                "event": "notification",
                "path": path,
                "characteristic": characteristic,
                "value": hex(value),
            }),
            Self::DaemonAppeared => json!({"event": "daemon-appeared"}),
            Self::DaemonLeft => json!({"event": "daemon-left"}),
        }
    }
}

/// ` (why)`, or "" when there is no reason.
fn reason(error: &str) -> String {
    if error.is_empty() {
        String::new()
    } else {
        format!(" ({error})")
    }
}

/// How a path is named in event lines: the device number, `manager`, or the path.
fn label(path: &str) -> String {
    if path == MANAGER_PATH {
        "manager".to_owned()
    } else {
        device_label(path)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use zbus::{ObjectPath, Variant};

    use super::*;

    const DEVICE_3: &str = "/org/m2mhal/Hal1/Devices/3";

    fn signal<B>(path: &str, interface: &str, member: &str, body: &B) -> Message
    where
        B: serde::Serialize + zbus::DynamicType,
    {
        Message::signal(path, interface, member)
            .build(body)
            .unwrap()
    }

    fn decode<B>(path: &str, interface: &str, member: &str, body: &B) -> Event
    where
        B: serde::Serialize + zbus::DynamicType,
    {
        Event::from_message(&signal(path, interface, member, body)).unwrap()
    }

    #[test]
    fn device_added() {
        let device: HashMap<&str, Variant> = HashMap::from([
            ("Id", Variant::from("imei:356938035643809")),
            ("Kind", Variant::from("cellular-modem")),
            ("Driver", Variant::from("cellular")),
            ("State", Variant::from("initializing")),
        ]);
        let signal_props: HashMap<&str, Variant> = HashMap::from([("Quality", 0u32.into())]);
        let interfaces = HashMap::from([(iface::DEVICE, device), (iface::SIGNAL, signal_props)]);
        let body = (ObjectPath::try_from(DEVICE_3).unwrap(), interfaces);
        let event = decode(MANAGER_PATH, OBJECT_MANAGER, "InterfacesAdded", &body);
        assert!(event.may_change_device_state());
        assert_eq!(
            event.render(),
            "[3] added: imei:356938035643809 cellular-modem (driver cellular), initializing; \
             interfaces Device, Signal"
        );
        let json = event.to_json();
        assert_eq!(json["event"], "added");
        assert_eq!(json["path"], DEVICE_3);
        assert_eq!(json["interfaces"][iface::SIGNAL]["Quality"], 0);
    }

    #[test]
    fn device_removed() {
        let body = (
            ObjectPath::try_from(DEVICE_3).unwrap(),
            vec![iface::DEVICE, iface::MESSAGING],
        );
        let event = decode(MANAGER_PATH, OBJECT_MANAGER, "InterfacesRemoved", &body);
        assert_eq!(event.render(), "[3] removed: interfaces Device, Messaging");
        assert_eq!(event.to_json()["interfaces"][1], iface::MESSAGING);
    }

    #[test]
    fn properties_changed_one_line_per_property() {
        let changed: HashMap<&str, Variant> = HashMap::from([
            ("Quality", Variant::from(73u32)),
            ("UpdatedAt", Variant::from(1_714_564_800u64)),
        ]);
        let body = (iface::SIGNAL, changed, vec!["Operator"]);
        let event = decode(DEVICE_3, PROPERTIES, "PropertiesChanged", &body);
        assert!(!event.may_change_device_state());
        assert_eq!(
            event.render(),
            "[3] Signal.Quality = 73\n\
             [3] Signal.UpdatedAt = 2024-05-01 12:00:00 UTC (1714564800)\n\
             [3] Signal.Operator invalidated"
        );
        let json = event.to_json();
        assert_eq!(json["changed"]["Quality"], 73);
        assert_eq!(json["invalidated"][0], "Operator");
    }

    #[test]
    fn state_property_change_may_satisfy_a_wait() {
        let changed: HashMap<&str, Variant> = HashMap::from([("State", Variant::from("ready"))]);
        let body = (iface::DEVICE, changed, Vec::<&str>::new());
        let event = decode(DEVICE_3, PROPERTIES, "PropertiesChanged", &body);
        assert!(event.may_change_device_state());
        assert_eq!(event.render(), "[3] Device.State = ready");
    }

    #[test]
    fn received_sms_and_satellite_burst() {
        let info: HashMap<&str, Variant> = HashMap::from([
            ("text", Variant::from("Hallo Welt")),
            ("timestamp", Variant::from(1_714_564_800u64)),
        ]);
        let body = ("17", "+4915112345678", b"Hallo Welt".to_vec(), info);
        let event = decode(DEVICE_3, iface::MESSAGING, "Received", &body);
        assert_eq!(
            event.render(),
            "[3] received message 17 from \"+4915112345678\": \"Hallo Welt\""
        );
        assert_eq!(event.to_json()["payload"], "48616c6c6f2057656c74");

        let info: HashMap<&str, Variant> = HashMap::new();
        let body = ("mt-4", "", vec![0x01u8, 0x02, 0xfe], info);
        let event = decode(DEVICE_3, iface::MESSAGING, "Received", &body);
        assert_eq!(
            event.render(),
            "[3] received message mt-4 from gateway: (3 bytes) 0102fe"
        );
    }

    #[test]
    fn outgoing_state_changes() {
        let event = decode(
            DEVICE_3,
            iface::MESSAGING,
            "StateChanged",
            &("9", "sent", ""),
        );
        assert_eq!(event.render(), "[3] message 9: sent");
        let body = ("9", "failed", "+CMS ERROR: 38 (network out of order)");
        let event = decode(DEVICE_3, iface::MESSAGING, "StateChanged", &body);
        assert_eq!(
            event.render(),
            "[3] message 9: failed (+CMS ERROR: 38 (network out of order))"
        );
        assert_eq!(
            event.to_json(),
            json!({"event": "state-changed", "path": DEVICE_3, "id": "9", "state": "failed",
                   "error": "+CMS ERROR: 38 (network out of order)"})
        );
    }

    #[test]
    fn routed_state_changes_are_one_line_each() {
        let body = ("4", "sending", "imei:300234063904190", "");
        let event = decode(MANAGER_PATH, iface::ROUTER, "StateChanged", &body);
        assert!(!event.may_change_device_state());
        assert_eq!(
            event.render(),
            "[router] message 4: sending via imei:300234063904190"
        );
        let body = (
            "4",
            "queued",
            "",
            "imei:300234063904190 did not deliver in time",
        );
        let event = decode(MANAGER_PATH, iface::ROUTER, "StateChanged", &body);
        assert_eq!(
            event.render(),
            "[router] message 4: queued (imei:300234063904190 did not deliver in time)"
        );
        assert_eq!(
            event.to_json(),
            json!({"event": "routed-state-changed", "id": "4", "state": "queued", "uplink": "",
                   "error": "imei:300234063904190 did not deliver in time"})
        );
    }

    #[test]
    fn gatt_notification() {
        let body = ("00002a19-0000-1000-8000-00805f9b34fb", vec![0x64u8]);
        let event = decode(
            "/org/m2mhal/Hal1/Devices/12",
            iface::GATT,
            "Notification",
            &body,
        );
        assert_eq!(
            event.render(),
            "[12] notification 00002a19-0000-1000-8000-00805f9b34fb: 64"
        );
    }

    #[test]
    fn daemon_coming_and_going() {
        let path = "/org/freedesktop/DBus";
        let gone = decode(
            path,
            BUS_INTERFACE,
            "NameOwnerChanged",
            &(BUS_NAME, ":1.7", ""),
        );
        assert!(matches!(gone, Event::DaemonLeft));
        let back = decode(
            path,
            BUS_INTERFACE,
            "NameOwnerChanged",
            &(BUS_NAME, "", ":1.9"),
        );
        assert!(matches!(back, Event::DaemonAppeared));
        let other = signal(
            path,
            BUS_INTERFACE,
            "NameOwnerChanged",
            &("org.other", "", ":1.9"),
        );
        assert!(Event::from_message(&other).is_none());
    }

    #[test]
    fn unknown_and_malformed_signals_are_skipped() {
        let unknown = signal(DEVICE_3, iface::MESSAGING, "Exploded", &("x",));
        assert!(Event::from_message(&unknown).is_none());
        let malformed = signal(DEVICE_3, iface::MESSAGING, "StateChanged", &(1u32,));
        assert!(Event::from_message(&malformed).is_none());
    }
}
