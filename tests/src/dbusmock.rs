//! python-dbusmock templates on the test bus: polkitd, and a BlueZ written by others.

use std::collections::HashMap;
use std::process::Stdio;

use tokio::process::{Child, Command};
use zbus::Connection;

use crate::bus::{TestBus, wait_for_owner};
use crate::python::{SYSTEM_PYTHON, python_has};

/// What polkit's own bus policy grants: root owns `org.freedesktop.PolicyKit1`, everyone may
/// call it (for the mock polkitd of [`MockPolkit`]).
pub(crate) const POLKIT_POLICY: &str = r#"<policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>"#;

impl TestBus {
    /// Like [`TestBus::start`], with polkit's bus policy as well, for [`MockPolkit`].
    pub async fn start_with_polkit() -> TestBus {
        TestBus::start_with_policy(POLKIT_POLICY).await
    }
}

/// A python-dbusmock template serving `name` on a private bus.
struct DbusMock {
    child: Child,
    conn: Connection,
}

impl DbusMock {
    /// Starts `python3 -m dbusmock --system --template <template>` on `bus` and waits until it
    /// owns `name`.
    async fn start(bus: &TestBus, template: &str, name: &str) -> DbusMock {
        let child = Command::new(SYSTEM_PYTHON)
            .args(["-m", "dbusmock", "--system", "--template", template])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start python3 -m dbusmock");
        let conn = bus.connect().await;
        wait_for_owner(&conn, name, &format!("dbusmock's {template} template")).await;
        DbusMock { child, conn }
    }

    /// Stops the mock and waits until it is gone (and with it the names it owned).
    async fn stop(mut self) {
        self.child.kill().await.expect("stop dbusmock");
    }

    /// Calls `method` of `interface` on `path` of the mock, which must succeed.
    async fn call<B>(&self, name: &str, path: &str, interface: &str, method: &str, body: &B)
    where
        B: serde::Serialize + zbus::Type,
    {
        self.conn
            .call_method(Some(name), path, Some(interface), method, body)
            .await
            .unwrap_or_else(|e| panic!("{interface}.{method} on the mock {path}: {e}"));
    }
}

/// Whether python-dbusmock is installed (package python3-dbusmock).
pub fn dbusmock_available() -> bool {
    python_has("dbusmock")
}

/// A test bus open to every user, with a mock polkitd on it: the rig of tests that act as an
/// unprivileged user. `None` (after saying so) when python3-dbusmock is not installed.
pub async fn bus_with_mock_polkit() -> Option<(TestBus, MockPolkit)> {
    if !dbusmock_available() {
        eprintln!("skipping: python3-dbusmock is not installed (scripts/install-deps.sh)");
        return None;
    }
    let bus = TestBus::start_with_polkit().await;
    bus.open_to_all_users();
    let polkit = MockPolkit::start(&bus).await;
    Some((bus, polkit))
}

/// python-dbusmock's polkitd template on a private bus: it denies every action until told
/// otherwise with [`MockPolkit::set_allowed`].
pub struct MockPolkit {
    mock: DbusMock,
}

/// polkit's bus name.
const POLKIT_NAME: &str = "org.freedesktop.PolicyKit1";

impl MockPolkit {
    /// Starts the mock on `bus` (started with [`TestBus::start_with_polkit`]) and waits until it
    /// owns polkit's name.
    pub async fn start(bus: &TestBus) -> MockPolkit {
        MockPolkit {
            mock: DbusMock::start(bus, "polkitd", POLKIT_NAME).await,
        }
    }

    /// Makes polkit authorize exactly `actions` (for any subject).
    pub async fn set_allowed(&self, actions: &[&str]) {
        self.mock
            .call(
                POLKIT_NAME,
                "/org/freedesktop/PolicyKit1/Authority",
                "org.freedesktop.DBus.Mock",
                "SetAllowed",
                &(actions,),
            )
            .await;
    }
}

/// BlueZ's bus name.
const BLUEZ_NAME: &str = "org.bluez";

/// python-dbusmock's bluez5 template: a BlueZ fake written by others from BlueZ's documented
/// API, to check the daemon against more than the project's own fake.
pub struct MockBluez {
    mock: DbusMock,
}

impl MockBluez {
    /// Starts the mock on `bus` (started with [`TestBus::start_with_bluez`]) with adapter
    /// `hci0` and no devices.
    pub async fn start(bus: &TestBus) -> MockBluez {
        let bluez = MockBluez {
            mock: DbusMock::start(bus, "bluez5", BLUEZ_NAME).await,
        };
        bluez
            .mock
            .call(
                BLUEZ_NAME,
                "/org/bluez",
                "org.bluez.Mock",
                "AddAdapter",
                &("hci0", "gateway"),
            )
            .await;
        bluez
    }

    /// Stops the mock, as bluetoothd stopping: `org.bluez` loses its owner.
    pub async fn stop(self) {
        self.mock.stop().await;
    }

    /// A device object for `address` named `name` appears on `hci0`.
    pub async fn add_device(&self, address: &str, name: &str) {
        self.mock
            .call(
                BLUEZ_NAME,
                "/org/bluez",
                "org.bluez.Mock",
                "AddDevice",
                &("hci0", address, name),
            )
            .await;
    }

    /// How often the adapter's `method` was called so far.
    pub async fn adapter_calls(&self, method: &str) -> usize {
        type Call = (u64, String, Vec<zbus::OwnedVariant>);
        let reply = self
            .mock
            .conn
            .call_method(
                Some(BLUEZ_NAME),
                "/org/bluez/hci0",
                Some("org.freedesktop.DBus.Mock"),
                "GetCalls",
                &(),
            )
            .await
            .expect("GetCalls on the mock adapter");
        let calls: Vec<Call> = reply.body().deserialize().expect("GetCalls reply");
        calls.iter().filter(|(_, name, _)| name == method).count()
    }

    /// The device advertises `data` as service data of the 128-bit `uuid`: its `ServiceData`
    /// property changes, as BlueZ changes it.
    pub async fn set_service_data(&self, address: &str, uuid: &str, data: &[u8]) {
        let path = format!("/org/bluez/hci0/dev_{}", address.replace(':', "_"));
        let service_data = HashMap::from([(uuid, zbus::Variant::from(data))]);
        self.mock
            .call(
                BLUEZ_NAME,
                &path,
                "org.freedesktop.DBus.Properties",
                "Set",
                &(
                    "org.bluez.Device1",
                    "ServiceData",
                    zbus::Variant::from(service_data),
                ),
            )
            .await;
    }
}
