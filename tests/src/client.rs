//! A D-Bus client of the daemon: method calls, properties, signals and the API's errors.

use std::collections::HashMap;

use futures_util::StreamExt;
use m2mhal_contract::BUS_NAME;
use m2mhal_contract::error::PREFIX as ERROR_PREFIX;
use zbus::{Connection, OwnedVariant};

use crate::wait::{WAIT, accepted, poll};

/// Reads one property.
pub async fn property<T>(conn: &Connection, path: &str, interface: &str, name: &str) -> T
where
    T: TryFrom<OwnedVariant>,
    T::Error: std::fmt::Debug,
{
    let proxy = zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.to_owned())
        .build()
        .await
        .expect("properties proxy");
    let value = proxy
        .get(interface.try_into().expect("interface name"), name)
        .await
        .unwrap_or_else(|e| panic!("Get {interface}.{name} on {path}: {e}"));
    T::try_from(value).expect("property type")
}

/// Every property of one interface.
pub async fn properties(
    conn: &Connection,
    path: &str,
    interface: &str,
) -> HashMap<String, OwnedVariant> {
    let proxy = zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.to_owned())
        .build()
        .await
        .expect("properties proxy");
    proxy
        .get_all(interface.try_into().expect("interface name"))
        .await
        .unwrap_or_else(|e| panic!("GetAll {interface} on {path}: {e}"))
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Calls a method on the daemon; the error's name and message on failure.
pub async fn call<B, R>(
    conn: &Connection,
    path: &str,
    interface: &str,
    method: &str,
    body: &B,
) -> Result<R, (String, String)>
where
    B: serde::Serialize + zbus::Type,
    R: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    let reply = conn
        .call_method(Some(BUS_NAME), path, Some(interface), method, body)
        .await;
    match reply {
        Ok(message) => message
            .body()
            .deserialize::<R>()
            .map_err(|e| ("reply".to_owned(), e.to_string())),
        Err(zbus::Error::MethodError(name, text, _)) => {
            Err((name.to_string(), text.unwrap_or_default()))
        }
        Err(zbus::Error::FDO(error)) => {
            use zbus::DBusError;
            Err((
                error.name().to_string(),
                error.description().unwrap_or_default().to_owned(),
            ))
        }
        Err(e) => Err(("transport".to_owned(), e.to_string())),
    }
}

/// Subscribes to a signal of the daemon; returns a stream of its messages.
pub async fn subscribe(
    conn: &Connection,
    interface: &'static str,
    member: &'static str,
) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(interface)
        .member(member)
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .expect("subscribe")
}

/// Waits for the next message of `stream` matching `accept`.
pub async fn next_signal<T>(
    stream: &mut zbus::MessageStream,
    mut accept: impl FnMut(&T) -> bool,
) -> T
where
    T: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    let found = tokio::time::timeout(WAIT, async {
        while let Some(Ok(message)) = stream.next().await {
            if let Ok(body) = message.body().deserialize::<T>()
                && accept(&body)
            {
                return Some(body);
            }
        }
        None
    })
    .await;
    found.ok().flatten().expect("signal did not arrive in time")
}

/// Asserts that `result` is the API error `org.m2mhal.Hal1.Error.<kind>`; returns its message,
/// which the API promises is never empty.
#[track_caller]
pub fn assert_hal_error<T: std::fmt::Debug>(
    result: Result<T, (String, String)>,
    kind: &str,
) -> String {
    match result {
        Ok(value) => panic!("expected {ERROR_PREFIX}{kind}, got success {value:?}"),
        Err((name, message)) => {
            assert_eq!(name, format!("{ERROR_PREFIX}{kind}"), "message: {message}");
            assert!(!message.is_empty(), "{name} carries no message");
            message
        }
    }
}

/// Polls a property until `accept` takes its value; returns it.
pub async fn wait_for_property<T>(
    conn: &Connection,
    path: &str,
    interface: &str,
    name: &str,
    accept: impl Fn(&T) -> bool,
) -> T
where
    T: TryFrom<OwnedVariant> + std::fmt::Debug,
    T::Error: std::fmt::Debug,
{
    poll(&format!("{interface}.{name} on {path}"), async || {
        accepted(property(conn, path, interface, name).await, &accept)
    })
    .await
}

/// The `PropertiesChanged` signals of the object at `path`.
pub async fn properties_changed(conn: &Connection, path: &str) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .path(path.to_owned())
        .build()
        .expect("match rule");
    zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .expect("subscribe to PropertiesChanged")
}

/// The body of `PropertiesChanged`.
type PropertiesChangedBody = (String, HashMap<String, OwnedVariant>, Vec<String>);

/// Waits for a `PropertiesChanged` of `interface` on `stream` that carries property `name` with
/// a value `accept` takes; returns that value.
pub async fn next_property_change<T>(
    stream: &mut zbus::MessageStream,
    interface: &str,
    name: &str,
    accept: impl Fn(&T) -> bool,
) -> T
where
    T: TryFrom<OwnedVariant>,
{
    let (_, mut changed, _) = next_signal(stream, |(iface, changed, _): &PropertiesChangedBody| {
        iface == interface
            && changed
                .get(name)
                .and_then(|value| value.try_clone().ok())
                .and_then(|value| T::try_from(value).ok())
                .is_some_and(|value| accept(&value))
    })
    .await;
    let value = changed
        .remove(name)
        .expect("accepted change has the property");
    T::try_from(value).ok().expect("accepted change converts")
}

/// A value of a D-Bus dictionary, converted; fails the test when absent or of another type.
pub fn field<T>(dict: &HashMap<String, OwnedVariant>, key: &str) -> T
where
    T: TryFrom<OwnedVariant>,
    T::Error: std::fmt::Debug,
{
    let value = dict
        .get(key)
        .unwrap_or_else(|| panic!("no {key:?} in {dict:?}"))
        .try_clone()
        .expect("clone variant");
    T::try_from(value).expect("dictionary value type")
}
