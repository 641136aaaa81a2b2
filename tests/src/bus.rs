//! The private system bus of a test.

use std::path::Path;

use m2mhal_fake_bluez::bus::{BLUEZ_POLICY, PrivateBus};
use zbus::Connection;

use crate::wait::wait_until;

/// A private `dbus-daemon` configured like a system bus, with m2mhal's shipped policy included.
pub struct TestBus {
    bus: PrivateBus,
    /// `unix:path=...` address for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub address: String,
}

/// The default policy of a system bus (Debian's `system.conf`): everyone may connect and get
/// replies and signals, nobody may own a name or call a method unless a policy file allows it.
const SYSTEM_POLICY: &str = r#"<policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
  </policy>"#;

impl TestBus {
    /// Starts the bus and waits until it accepts connections.
    pub async fn start() -> TestBus {
        TestBus::start_with_policy("").await
    }

    /// Like [`TestBus::start`], with BlueZ's bus policy as well, for `m2msim ble`.
    pub async fn start_with_bluez() -> TestBus {
        TestBus::start_with_policy(BLUEZ_POLICY).await
    }

    /// Starts the bus with `extra` (`<policy>` elements) after the shipped policy.
    pub(crate) async fn start_with_policy(extra: &str) -> TestBus {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/dbus");
        let policy = format!(
            "{SYSTEM_POLICY}\n  <includedir>{}</includedir>\n  {extra}",
            shipped.display()
        );
        let bus = PrivateBus::start_with_policy(&policy)
            .await
            .expect("start the private bus");
        TestBus {
            address: bus.address().to_owned(),
            bus,
        }
    }

    /// A client connection.
    pub async fn connect(&self) -> Connection {
        self.bus
            .connect()
            .await
            .expect("connect to the private bus")
    }

    /// Lets every local user reach the bus socket (its directory is private by default), as on a
    /// real system bus.
    pub fn open_to_all_users(&self) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.bus.dir(), std::fs::Permissions::from_mode(0o755))
            .expect("open the bus directory");
    }
}

/// Waits until `name` has an owner on the bus of `conn` (`who` is what should own it).
pub(crate) async fn wait_for_owner(conn: &Connection, name: &str, who: &str) {
    let dbus = zbus::fdo::DBusProxy::new(conn).await.expect("bus proxy");
    let bus_name = zbus::names::BusName::try_from(name).expect("bus name");
    wait_until(&format!("{who} to own {name}"), || async {
        dbus.name_has_owner(bus_name.clone()).await.unwrap_or(false)
    })
    .await;
}
