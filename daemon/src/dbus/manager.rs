//! `org.m2mhal.Hal1.Manager`: the device list, reported kernel events, loaded plugins.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use zbus::message::Header;
use zbus::{Connection, OwnedObjectPath, OwnedVariant, Variant, interface};

use super::authorize::{Action, authorize};
use super::error::HalError;
use super::registry::Registry;
use super::uplink_registry::UplinkRegistry;
use crate::kernel_event::KernelEvent;
use crate::plugin_host::PluginSet;

/// The Manager interface at `/org/m2mhal/Hal1`.
pub struct ManagerInterface {
    registry: Arc<Registry>,
    plugins: Arc<PluginSet>,
    events: mpsc::Sender<KernelEvent>,
    uplinks: Arc<UplinkRegistry>,
}

impl ManagerInterface {
    /// The manager over `registry`, feeding reported events into `events` and registering
    /// MQTT bridges as Router uplinks in `uplinks`.
    pub fn new(
        registry: Arc<Registry>,
        plugins: Arc<PluginSet>,
        events: mpsc::Sender<KernelEvent>,
        uplinks: Arc<UplinkRegistry>,
    ) -> Self {
        ManagerInterface {
            registry,
            plugins,
            events,
            uplinks,
        }
    }
}

fn entry(dict: &mut HashMap<String, OwnedVariant>, key: &str, value: Variant<'_>) {
    if let Ok(value) = OwnedVariant::try_from(value) {
        dict.insert(key.to_owned(), value);
    }
}

#[interface(name = "org.m2mhal.Hal1.Manager")]
impl ManagerInterface {
    /// Daemon version.
    #[zbus(property)]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// Current device objects.
    #[zbus(property)]
    fn devices(&self) -> Vec<OwnedObjectPath> {
        self.registry.paths()
    }

    /// Feeds a kernel event through the same path as udev's: filter, probe, claim.
    async fn report_kernel_event(
        &self,
        event: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), HalError> {
        authorize(conn, &header, Action::Control).await?;
        let event =
            KernelEvent::from_dbus(&event).map_err(|e| HalError::InvalidArgument(e.to_string()))?;
        event
            .check_tty_node()
            .map_err(|e| HalError::InvalidArgument(e.to_string()))?;
        self.events
            .send(event)
            .await
            .map_err(|_| HalError::Failed("the daemon is shutting down".into()))
    }

    /// The caller serves the Router uplink `mqtt:<name>` at `path` (interface
    /// `org.m2mhal.Hal1.Uplink`) until it leaves the bus (privileged: routed messages' payloads
    /// go to it, so `org.m2mhal.Hal1.MessagingRead`).
    async fn register_uplink(
        &self,
        name: String,
        path: OwnedObjectPath,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), HalError> {
        authorize(conn, &header, Action::MessagingRead).await?;
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(HalError::InvalidArgument(format!(
                "uplink name {name:?} must be non-empty, without spaces"
            )));
        }
        let owner = header
            .sender()
            .map(|sender| sender.as_str().to_owned())
            .ok_or_else(|| HalError::InvalidArgument("the call has no sender".into()))?;
        self.uplinks
            .register(conn, &name, &owner, path)
            .await
            .map_err(|e| HalError::Failed(format!("cannot follow the uplink: {e}")))
    }

    /// One dictionary per loaded plugin: `name`, `version`, `abi`, `path`, `kinds`.
    fn list_plugins(&self) -> Vec<HashMap<String, OwnedVariant>> {
        self.plugins
            .iter()
            .map(|plugin| {
                let mut dict = HashMap::new();
                let description = &plugin.description;
                entry(&mut dict, "name", Variant::from(description.name.as_str()));
                entry(
                    &mut dict,
                    "version",
                    Variant::from(description.version.as_str()),
                );
                entry(
                    &mut dict,
                    "abi",
                    Variant::from(m2mhal_plugin_api::ABI_VERSION),
                );
                entry(
                    &mut dict,
                    "path",
                    Variant::from(plugin.path.to_string_lossy().as_ref()),
                );
                let kinds: Vec<&str> = description.kinds.iter().map(|k| k.as_str()).collect();
                entry(&mut dict, "kinds", Variant::from(kinds));
                dict
            })
            .collect()
    }
}
