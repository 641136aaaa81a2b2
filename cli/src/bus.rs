//! The connection to m2mhald: method calls with a timeout, the device snapshot, signal streams.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use zbus::message::Type as MessageType;
use zbus::wire::{DynamicDeserialize, DynamicType};
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedVariant, fdo};

use crate::device::{self, Device, Properties};
use crate::error::CliError;

pub use m2mhal_contract::{BUS_NAME, MANAGER_PATH, iface};

/// A system-bus connection aimed at m2mhald.
pub struct Hal {
    connection: Connection,
    timeout: Duration,
}

impl Hal {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` when set); `timeout` bounds every call.
    pub async fn connect(timeout: Duration) -> Result<Self, CliError> {
        let connecting = Connection::system();
        let connection = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| CliError::BusUnreachable("no answer from the bus".to_owned()))?
            .map_err(|error| CliError::BusUnreachable(error.to_string()))?;
        Ok(Self {
            connection,
            timeout,
        })
    }

    /// The timeout given on the command line.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Calls `interface.method` on `path` of the daemon and decodes the reply as `R`.
    pub async fn call<B, R>(
        &self,
        path: &str,
        interface: &str,
        method: &str,
        body: &B,
    ) -> Result<R, CliError>
    where
        B: Serialize + DynamicType,
        R: for<'d> DynamicDeserialize<'d>,
    {
        self.call_within(self.timeout, path, interface, method, body)
            .await
    }

    /// [`Hal::call`] with its own timeout, for methods that take long by design (`Command`).
    pub async fn call_within<B, R>(
        &self,
        timeout: Duration,
        path: &str,
        interface: &str,
        method: &str,
        body: &B,
    ) -> Result<R, CliError>
    where
        B: Serialize + DynamicType,
        R: for<'d> DynamicDeserialize<'d>,
    {
        let call = self
            .connection
            .call_method(Some(BUS_NAME), path, Some(interface), method, body);
        let reply =
            tokio::time::timeout(timeout, call)
                .await
                .map_err(|_| CliError::Timeout {
                    what: format!("the reply to {method}"),
                    after: timeout,
                })??;
        reply
            .body()
            .deserialize()
            .map_err(|error| CliError::Failed(format!("unexpected reply to {method}: {error}")))
    }

    /// Every device object the daemon currently exports, in device-number order.
    pub async fn devices(&self) -> Result<Vec<Device>, CliError> {
        let objects: fdo::ManagedObjects = self
            .call(
                MANAGER_PATH,
                "org.freedesktop.DBus.ObjectManager",
                "GetManagedObjects",
                &(),
            )
            .await?;
        Ok(device::devices_from_managed_objects(objects))
    }

    /// Every property of `interface` on `path`, read now (`Properties.GetAll`).
    pub async fn properties(&self, path: &str, interface: &str) -> Result<Properties, CliError> {
        let properties: HashMap<String, OwnedVariant> = self
            .call(
                path,
                "org.freedesktop.DBus.Properties",
                "GetAll",
                &(interface,),
            )
            .await?;
        Ok(properties.into_iter().collect())
    }

    /// The device the user named (path, number, `Id` or `Port`).
    pub async fn device(&self, spec: &str) -> Result<Device, CliError> {
        let devices = self.devices().await?;
        device::resolve(&devices, spec).cloned()
    }

    /// Whether someone owns `org.m2mhal.Hal1` right now.
    pub async fn daemon_is_running(&self) -> Result<bool, CliError> {
        let bus = fdo::DBusProxy::new(&self.connection).await?;
        let name = zbus::names::BusName::try_from(BUS_NAME)?;
        let answer = tokio::time::timeout(self.timeout, bus.name_has_owner(name))
            .await
            .map_err(|_| CliError::Timeout {
                what: "the bus to answer NameHasOwner".to_owned(),
                after: self.timeout,
            })??;
        Ok(answer)
    }

    /// Every signal the daemon emits below `/org/m2mhal/Hal1`, plus the bus's
    /// `NameOwnerChanged` for `org.m2mhal.Hal1` (the daemon appearing or leaving).
    ///
    /// Subscribe before reading state, so that no change between the two is missed.
    pub async fn signals(&self) -> Result<impl Stream<Item = Message> + Unpin, CliError> {
        let daemon_signals = MatchRule::builder()
            .msg_type(MessageType::Signal)
            .sender(BUS_NAME)
            .path_namespace(MANAGER_PATH)
            .build()?;
        let owner_changes = MatchRule::builder()
            .msg_type(MessageType::Signal)
            .sender("org.freedesktop.DBus")
            .interface("org.freedesktop.DBus")
            .member("NameOwnerChanged")
            .arg(0, BUS_NAME)
            .build()?;
        let daemon = MessageStream::for_match_rule(daemon_signals, &self.connection, None).await?;
        let owner = MessageStream::for_match_rule(owner_changes, &self.connection, None).await?;
        Ok(stream::select(daemon, owner).filter_map(|message| future::ready(message.ok())))
    }
}
