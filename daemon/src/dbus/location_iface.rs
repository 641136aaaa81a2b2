//! `org.m2mhal.Hal1.Location`: the last fix of a device's GNSS and its power switch (API 1.1).
//! Served on every device whose capabilities list `location`; the driver reports the fix as a
//! whole and the device task announces what changed in one `PropertiesChanged`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::Request;
use zbus::message::Header;
use zbus::{Connection, OwnedVariant, Variant, interface};

use super::authorize::{Action, authorize};
use super::error::HalError;
use super::router_iface::dict;
use crate::device::handle::DeviceHandle;

/// How long `SetEnabled` may take (a modem switching its GNSS behind other commands).
const SET_ENABLED_TIMEOUT: Duration = Duration::from_secs(30);

/// The Location interface of one device object.
pub struct LocationInterface {
    handle: Arc<DeviceHandle>,
}

impl LocationInterface {
    /// The interface for `handle`'s device.
    pub fn new(handle: Arc<DeviceHandle>) -> Self {
        LocationInterface { handle }
    }

    fn fix<T>(&self, read: impl FnOnce(&m2mhal_plugin_api::Fix) -> T) -> T {
        read(&self.handle.state().location.fix)
    }
}

#[interface(name = "org.m2mhal.Hal1.Location")]
impl LocationInterface {
    /// WGS84 degrees, north positive; NaN without a fix.
    #[zbus(property)]
    fn latitude(&self) -> f64 {
        self.fix(|fix| fix.latitude)
    }

    /// WGS84 degrees, east positive; NaN without a fix.
    #[zbus(property)]
    fn longitude(&self) -> f64 {
        self.fix(|fix| fix.longitude)
    }

    /// Metres above mean sea level; NaN without a (3D) fix.
    #[zbus(property)]
    fn altitude(&self) -> f64 {
        self.fix(|fix| fix.altitude)
    }

    /// Unix seconds of the fix, 0 without one.
    #[zbus(property)]
    fn fix_time(&self) -> u64 {
        self.fix(|fix| fix.time)
    }

    /// `none`, `2d` or `3d`.
    #[zbus(property)]
    fn mode(&self) -> String {
        self.fix(|fix| fix.mode.as_str().to_owned())
    }

    /// Horizontal dilution of precision; NaN when unknown.
    #[zbus(property)]
    fn hdop(&self) -> f64 {
        self.fix(|fix| fix.hdop)
    }

    /// Metres per second over ground; NaN when unknown.
    #[zbus(property)]
    fn speed(&self) -> f64 {
        self.fix(|fix| fix.speed)
    }

    /// Degrees true; NaN when unknown.
    #[zbus(property)]
    fn course(&self) -> f64 {
        self.fix(|fix| fix.course)
    }

    /// Satellites used in the fix.
    #[zbus(property)]
    fn satellites(&self) -> u32 {
        self.fix(|fix| fix.satellites_used)
    }

    /// `gnss`, `cell`, `fixed`, or "" without a fix.
    #[zbus(property)]
    fn source(&self) -> String {
        self.handle.state().location.source().to_owned()
    }

    /// The serving cell's identity (API 1.1 extension): `mcc`, `mnc` s; `lac`, `tac`,
    /// `cell_id` u; only those known (empty without a cellular radio).
    #[zbus(property)]
    fn cell(&self) -> HashMap<String, OwnedVariant> {
        let cell = self.handle.state().location.cell.clone();
        let text = |key, value: String| (!value.is_empty()).then(|| (key, Variant::from(value)));
        let code = |key, value: u32| (value != 0).then(|| (key, Variant::from(value)));
        dict(
            [
                text("mcc", cell.mcc),
                text("mnc", cell.mnc),
                code("lac", cell.lac),
                code("tac", cell.tac),
                code("cell_id", cell.cell_id),
            ]
            .into_iter()
            .flatten(),
        )
    }

    /// Whether the receiver is on.
    #[zbus(property)]
    fn enabled(&self) -> bool {
        self.handle.state().location.enabled
    }

    /// Powers the GNSS on or off; idempotent. Privileged (`org.m2mhal.Hal1.Control`).
    async fn set_enabled(
        &self,
        on: bool,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), HalError> {
        authorize(conn, &header, Action::Control).await?;
        self.handle
            .call(Request::SetLocationEnabled(on), SET_ENABLED_TIMEOUT)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use zbus::object_server::Interface;

    use super::*;

    /// `(element name, name, type)` of every `<property>` and `<method>` in `xml` (comments
    /// skipped), with the method's argument types as its type.
    fn members(xml: &str) -> Vec<(String, String, String)> {
        let attribute = |tag: &str, name: &str| -> String {
            tag.split(&format!(" {name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_owned()
        };
        let mut without_comments = String::new();
        for (index, part) in xml.split("<!--").enumerate() {
            let kept = if index == 0 {
                part
            } else {
                part.split_once("-->").map_or("", |(_, rest)| rest)
            };
            without_comments.push_str(kept);
        }
        let mut found: Vec<(String, String, String)> = Vec::new();
        for tag in without_comments.split('<').skip(1) {
            if tag.starts_with("property ") {
                found.push((
                    "property".into(),
                    attribute(tag, "name"),
                    attribute(tag, "type"),
                ));
            } else if tag.starts_with("method ") {
                found.push(("method".into(), attribute(tag, "name"), String::new()));
            } else if tag.starts_with("arg ")
                && let Some(method) = found.last_mut().filter(|m| m.0 == "method")
            {
                method.2.push_str(&attribute(tag, "type"));
            }
        }
        found.sort();
        found
    }

    #[test]
    fn the_interface_xml_in_docs_is_what_the_daemon_serves() {
        let documented = include_str!("../../../docs/dbus/org.m2mhal.Hal1.Location.xml");
        let state = crate::device::state::DeviceState::new("gnss", "gnss-receiver", "/dev/ttyACM0");
        let (requests, _) = tokio::sync::mpsc::channel(1);
        let handle = DeviceHandle::new(
            "/org/m2mhal/Hal1/Devices/1".to_owned(),
            Arc::new(std::sync::RwLock::new(state)),
            requests,
        );
        let mut served = String::new();
        LocationInterface::new(Arc::new(handle)).introspect_to_writer(&mut served, 0);
        assert_eq!(members(&served), members(documented));
        assert_eq!(members(documented).len(), 13);
    }
}
