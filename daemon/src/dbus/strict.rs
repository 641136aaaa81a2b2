//! Strict argument types: a call whose arguments do not have the D-Bus types of the method is
//! answered with `org.m2mhal.Hal1.Error.InvalidArgument` naming both signatures, instead of
//! zbus's generic `org.freedesktop.DBus.Error.InvalidArgs`.

use std::collections::HashMap;
use std::ops::Deref;

use zbus::message::{Header, Message};
use zbus::names::{InterfaceName, MemberName};
use zbus::object_server::{DispatchResult, Interface, SignalEmitter};
use zbus::{BoxDBusError, Connection, ObjectServer, OwnedVariant, Variant, fdo};

use super::error::HalError;
use super::introspection::implicit_in_directions;

/// An interface whose methods check their argument signature before anything else runs.
pub struct Strict<I> {
    inner: I,
    /// Method name to the signature of its input arguments, from the interface's introspection.
    signatures: HashMap<String, String>,
}

impl<I: Interface> Strict<I> {
    /// Wraps `inner`.
    pub fn new(inner: I) -> Self {
        let mut xml = String::new();
        inner.introspect_to_writer(&mut xml, 0);
        Strict {
            inner,
            signatures: input_signatures(&xml),
        }
    }
}

impl<I> Deref for Strict<I> {
    type Target = I;

    fn deref(&self) -> &I {
        &self.inner
    }
}

/// Extracts `method name -> input signature` from introspection XML as zbus writes it (one element
/// per line, documentation in comment blocks).
fn input_signatures(xml: &str) -> HashMap<String, String> {
    let mut signatures = HashMap::new();
    let mut method: Option<(String, String)> = None;
    let mut in_comment = false;
    for line in xml.lines().map(str::trim) {
        if in_comment {
            in_comment = !line.ends_with("-->");
            continue;
        }
        if line.starts_with("<!--") {
            in_comment = !line.ends_with("-->");
            continue;
        }
        if let Some(name) = line
            .strip_prefix("<method ")
            .and_then(|l| attribute(l, "name"))
        {
            if line.ends_with("/>") {
                signatures.insert(name.to_owned(), String::new());
            } else {
                method = Some((name.to_owned(), String::new()));
            }
        } else if line.starts_with("</method>") {
            if let Some((name, signature)) = method.take() {
                signatures.insert(name, signature);
            }
        } else if let Some((_, signature)) = method.as_mut()
            && line.starts_with("<arg ")
            && attribute(line, "direction") != Some("out")
            && let Some(kind) = attribute(line, "type")
        {
            signature.push_str(kind);
        }
    }
    signatures
}

/// The value of `name="..."` in one XML element line.
fn attribute<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

#[async_trait::async_trait]
impl<I: Interface> Interface for Strict<I> {
    fn name() -> InterfaceName<'static> {
        I::name()
    }

    fn spawn_tasks_for_methods(&self) -> bool {
        self.inner.spawn_tasks_for_methods()
    }

    async fn get(
        &self,
        property_name: &str,
        server: &ObjectServer,
        connection: &Connection,
        header: Option<&Header<'_>>,
        emitter: &SignalEmitter<'_>,
    ) -> Option<Result<OwnedVariant, BoxDBusError>> {
        self.inner
            .get(property_name, server, connection, header, emitter)
            .await
    }

    async fn get_all(
        &self,
        server: &ObjectServer,
        connection: &Connection,
        header: Option<&Header<'_>>,
        emitter: &SignalEmitter<'_>,
    ) -> fdo::Result<HashMap<String, OwnedVariant>> {
        self.inner
            .get_all(server, connection, header, emitter)
            .await
    }

    fn set<'call>(
        &'call self,
        property_name: &'call str,
        value: &'call Variant<'_>,
        server: &'call ObjectServer,
        connection: &'call Connection,
        header: Option<&'call Header<'_>>,
        emitter: &'call SignalEmitter<'_>,
    ) -> DispatchResult<'call> {
        self.inner
            .set(property_name, value, server, connection, header, emitter)
    }

    async fn set_mut(
        &mut self,
        property_name: &str,
        value: &Variant<'_>,
        server: &ObjectServer,
        connection: &Connection,
        header: Option<&Header<'_>>,
        emitter: &SignalEmitter<'_>,
    ) -> Option<Result<(), BoxDBusError>> {
        self.inner
            .set_mut(property_name, value, server, connection, header, emitter)
            .await
    }

    fn call<'call>(
        &'call self,
        server: &'call ObjectServer,
        connection: &'call Connection,
        msg: &'call Message,
        name: MemberName<'call>,
    ) -> DispatchResult<'call> {
        if let Some(expected) = self.signatures.get(name.as_str()) {
            let received = msg.body().signature().to_string_no_parens();
            if received != *expected {
                let error = HalError::InvalidArgument(format!(
                    "{name} takes arguments of type ({expected}), not ({received})"
                ));
                return DispatchResult::new_async(connection, msg, async move {
                    Err::<(), HalError>(error)
                });
            }
        }
        self.inner.call(server, connection, msg, name)
    }

    fn call_mut<'call>(
        &'call mut self,
        server: &'call ObjectServer,
        connection: &'call Connection,
        msg: &'call Message,
        name: MemberName<'call>,
    ) -> DispatchResult<'call> {
        self.inner.call_mut(server, connection, msg, name)
    }

    /// The inner interface's introspection, method arguments without `direction="in"` (see
    /// [`super::introspection`]).
    fn introspect_to_writer(&self, writer: &mut dyn std::fmt::Write, level: usize) {
        let mut xml = String::new();
        self.inner.introspect_to_writer(&mut xml, level);
        // Writing into the object server's buffer (a String) cannot fail.
        let _ = writer.write_str(&implicit_in_directions(&xml));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, RwLock};

    use crate::dbus::messaging_iface::MessagingInterface;
    use crate::device::handle::DeviceHandle;
    use crate::device::state::DeviceState;
    use crate::store::{Store, StoreHandle};

    #[test]
    fn signatures_come_from_introspection() {
        let xml = r#"<interface name="org.example.Test">
  <!--
   Sends <arg type="x"/> a message.
   -->
  <method name="Send">
    <arg name="destination" type="s" direction="in"/>
    <arg name="payload" type="ay" direction="in"/>
    <arg name="options" type="a{sv}" direction="in"/>
    <arg type="s" direction="out"/>
  </method>
  <method name="Poll">
  </method>
  <method name="Reset"/>
  <signal name="Received">
    <arg name="id" type="s"/>
  </signal>
</interface>"#;
        let signatures = input_signatures(xml);
        assert_eq!(signatures["Send"], "saya{sv}");
        assert_eq!(signatures["Poll"], "");
        assert_eq!(signatures["Reset"], "");
        assert!(!signatures.contains_key("Received"));
    }

    #[test]
    fn messaging_send_signature_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreHandle::new(Store::open(dir.path()).unwrap());
        let (requests, _receiver) = tokio::sync::mpsc::channel(1);
        let state = DeviceState::new("cellular", "cellular-modem", "/dev/ttyUSB2");
        let path = m2mhal_contract::device_path(0);
        let handle = DeviceHandle::new(path, Arc::new(RwLock::new(state)), requests);
        let strict = Strict::new(MessagingInterface::new(Arc::new(handle), store));
        let signatures = &strict.signatures;
        assert_eq!(signatures.get("Send").map(String::as_str), Some("saya{sv}"));
        assert_eq!(signatures.get("Delete").map(String::as_str), Some("s"));
    }
}
