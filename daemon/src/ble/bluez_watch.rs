//! Who owns `org.bluez` on the bus: btleplug's event stream outlives a bluetoothd restart, so the
//! bus is what tells the BLE host that bluetoothd went away or (re)appeared.

use futures_util::StreamExt;
use zbus::fdo::{DBusProxy, NameOwnerChangedStream};
use zbus::names::{BusName, OwnedUniqueName};

/// BlueZ's well-known bus name.
const BLUEZ: &str = "org.bluez";

/// A subscription to ownership changes of `org.bluez`.
pub struct BluezWatch {
    dbus: DBusProxy<'static>,
    changes: NameOwnerChangedStream,
}

impl BluezWatch {
    /// Subscribes on `conn`; changes from then on are seen.
    pub async fn new(conn: &zbus::Connection) -> zbus::Result<BluezWatch> {
        let dbus = DBusProxy::new(conn).await?;
        let changes = dbus
            .receive_name_owner_changed_with_args(&[(0, BLUEZ)])
            .await?;
        Ok(BluezWatch { dbus, changes })
    }

    /// The unique name of bluetoothd now; `None` while nobody owns `org.bluez`.
    pub async fn owner(&self) -> Option<OwnedUniqueName> {
        let name = BusName::try_from(BLUEZ).ok()?;
        self.dbus.get_name_owner(name).await.ok()
    }

    /// Returns once `owner` no longer owns `org.bluez` (at once if the subscription ends).
    pub async fn gone(&mut self, owner: &OwnedUniqueName) {
        while let Some(change) = self.changes.next().await {
            let Ok(args) = change.args() else { continue };
            if args.old_owner().as_ref() == Some(&**owner) {
                return;
            }
        }
    }

    /// Returns once somebody takes `org.bluez` (never if the subscription ends).
    pub async fn appeared(&mut self) {
        while let Some(change) = self.changes.next().await {
            if change.args().is_ok_and(|args| args.new_owner().is_some()) {
                return;
            }
        }
        std::future::pending().await
    }
}
