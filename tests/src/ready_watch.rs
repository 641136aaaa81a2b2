//! Waiting for the device on a port to become `ready`, from the signals alone (no polling): its
//! `InterfacesAdded` names the port and the object, a later `PropertiesChanged` of its Device
//! interface (or the `InterfacesAdded` itself) says `ready`.
//!
//! All of the daemon's signals come through ONE subscription, so they are read in the order the
//! bus delivered them. Two subscriptions (one per signal) merged into one stream lose that order:
//! a device that became `ready` right after it was published could have its `PropertiesChanged`
//! read before its `InterfacesAdded`, while its object was still unknown, and the wait never ended
//! (the benchmark's part 2 stopped that way on a loaded machine).

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use m2mhal_contract::iface::DEVICE;
use zbus::{Connection, MessageStream, OwnedVariant};

/// The `State` of a device that is ready.
const READY: &str = "ready";

/// Every signal from one sender, in the bus's order, subscribed before anything is announced.
pub struct DeviceChanges {
    signals: MessageStream,
}

/// A string property from a property dictionary.
pub fn string_property(properties: &HashMap<String, OwnedVariant>, name: &str) -> Option<String> {
    properties
        .get(name)
        .and_then(|value| String::try_from(value.clone()).ok())
}

impl DeviceChanges {
    /// Subscribes on `conn` to every signal `sender` (a bus name) emits.
    pub async fn subscribe(conn: &Connection, sender: &str) -> DeviceChanges {
        let rule = zbus::MatchRule::builder()
            .sender(sender)
            .msg_type(zbus::message::Type::Signal)
            .build()
            .expect("a match rule for the sender's signals");
        let signals = MessageStream::for_match_rule(rule, conn, None)
            .await
            .expect("subscribe to the daemon's signals");
        DeviceChanges { signals }
    }

    /// Waits until the device on `port` is `ready`, announced after the subscription or since
    /// the last wait; false if it is not within `within`.
    pub async fn device_ready(&mut self, port: &str, within: Duration) -> bool {
        let ready = async {
            let mut device_path: Option<String> = None;
            while let Some(Ok(message)) = self.signals.next().await {
                if ready_news(&message, port, &mut device_path) == Some(true) {
                    return true;
                }
            }
            false
        };
        tokio::time::timeout(within, ready).await.unwrap_or(false)
    }
}

/// What `message` says about the device on `port`: `Some(ready)` for its `InterfacesAdded` or a
/// `PropertiesChanged` of its Device interface with a `State` (`device_path` is where it was
/// published), `None` for anything else.
fn ready_news(
    message: &zbus::Message,
    port: &str,
    device_path: &mut Option<String>,
) -> Option<bool> {
    type Added = (
        zbus::OwnedObjectPath,
        HashMap<String, HashMap<String, OwnedVariant>>,
    );
    type Changed = (String, HashMap<String, OwnedVariant>, Vec<String>);
    let header = message.header();
    let member = header.member()?.as_str();
    match member {
        "InterfacesAdded" => {
            let (object, interfaces): Added = message.body().deserialize().ok()?;
            let device = interfaces.get(DEVICE)?;
            if string_property(device, "Port").as_deref() != Some(port) {
                return None;
            }
            *device_path = Some(object.as_str().to_owned());
            Some(string_property(device, "State").as_deref() == Some(READY))
        }
        "PropertiesChanged" => {
            let path = header.path()?.as_str();
            if device_path.as_deref() != Some(path) {
                return None;
            }
            let (interface, changed, _): Changed = message.body().deserialize().ok()?;
            if interface != DEVICE {
                return None;
            }
            let state = string_property(&changed, "State")?;
            Some(state == READY)
        }
        _ => None,
    }
}
