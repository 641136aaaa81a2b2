//! Following ModemManager on the bus (`NameOwnerChanged`, then its object manager) and
//! publishing which modems it manages.
//!
//! While ModemManager is away (stopped, restarting) the last known modems stay its own: it will
//! be back for them. When it (re)appears, what it reports replaces them.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use zbus::fdo::{DBusProxy, ObjectManagerProxy};
use zbus::names::{BusName, OwnedUniqueName};

use super::ownership::{ManagedModem, ManagedModems};
use super::proxies::{MM_NAME, MM_PATH, MODEM_INTERFACE};

/// How long ModemManager may take to list its modems.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before following again after the bus failed us.
const RETRY: Duration = Duration::from_secs(5);

/// Starts following ModemManager on `conn`. The receiver holds `None` until the first answer
/// (ModemManager absent counts as one), then the modems it manages.
pub fn spawn(conn: zbus::Connection) -> watch::Receiver<Option<ManagedModems>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        while !tx.is_closed() {
            if let Err(e) = follow(&conn, &tx).await {
                tracing::warn!("following ModemManager failed: {e}; again in {RETRY:?}");
                tokio::time::sleep(RETRY).await;
            }
        }
    });
    rx
}

/// Follows ModemManager through its comings and goings, until the bus fails.
async fn follow(
    conn: &zbus::Connection,
    tx: &watch::Sender<Option<ManagedModems>>,
) -> zbus::Result<()> {
    let dbus = DBusProxy::new(conn).await?;
    let mut owners = dbus
        .receive_name_owner_changed_with_args(&[(0, MM_NAME)])
        .await?;
    loop {
        let Some(owner) = owner(&dbus).await else {
            tx.send_if_modified(|known| {
                let first = known.is_none();
                let modems = known.get_or_insert_default();
                let was_present = std::mem::replace(&mut modems.present, false);
                first || was_present
            });
            tracing::debug!("ModemManager is not on the bus");
            while let Some(change) = owners.next().await {
                if change.args().is_ok_and(|args| args.new_owner().is_some()) {
                    break;
                }
            }
            continue;
        };
        follow_owner(conn, &owner, tx, &mut owners).await?;
        tx.send_modify(|known| known.get_or_insert_default().present = false);
        tracing::info!(
            "ModemManager left the bus; the modems it managed stay its own until it is back"
        );
    }
}

/// The unique name of ModemManager now, if it is on the bus.
async fn owner(dbus: &DBusProxy<'_>) -> Option<OwnedUniqueName> {
    let name = BusName::try_from(MM_NAME).ok()?;
    dbus.get_name_owner(name).await.ok()
}

/// Follows the modems of ModemManager instance `owner` until it leaves the bus.
async fn follow_owner(
    conn: &zbus::Connection,
    owner: &OwnedUniqueName,
    tx: &watch::Sender<Option<ManagedModems>>,
    owners: &mut zbus::fdo::NameOwnerChangedStream,
) -> zbus::Result<()> {
    let manager = ObjectManagerProxy::builder(conn)
        .destination(MM_NAME)
        .path(MM_PATH)
        .build()
        .await?;
    let mut added = manager.receive_interfaces_added().await?;
    let mut removed = manager.receive_interfaces_removed().await?;
    let objects = tokio::time::timeout(ANSWER_TIMEOUT, manager.get_managed_objects())
        .await
        .map_err(|_| {
            zbus::Error::Failure("ModemManager did not list its modems in time".into())
        })??;
    let mut modems = ManagedModems::default();
    modems.present = true;
    for (path, interfaces) in &objects {
        if let Some(properties) = interfaces.get(MODEM_INTERFACE)
            && let Some(modem) = ManagedModem::from_properties(path.as_str(), |name| {
                properties.get(name).map(|v| &**v)
            })
        {
            modems.insert(modem);
        }
    }
    tracing::info!(
        "ModemManager is on the bus and manages {} modem(s)",
        modems.len()
    );
    tx.send_replace(Some(modems));
    loop {
        tokio::select! {
            Some(signal) = added.next() => {
                let Ok(args) = signal.args() else { continue };
                let path = args.object_path().as_str();
                match args.interfaces_and_properties().get(MODEM_INTERFACE) {
                    Some(properties) => {
                        let modem = ManagedModem::from_properties(path, |name| properties.get(name));
                        if let Some(modem) = modem {
                            tracing::info!("ModemManager manages a modem at {}", modem.device);
                            tx.send_modify(|known| known.get_or_insert_default().insert(modem));
                        }
                    }
                    None => interfaces_changed(tx, path),
                }
            }
            Some(signal) = removed.next() => {
                let Ok(args) = signal.args() else { continue };
                let path = args.object_path().as_str();
                if args.interfaces().iter().any(|name| name.as_str() == MODEM_INTERFACE) {
                    tx.send_modify(|known| known.get_or_insert_default().remove(path));
                } else {
                    interfaces_changed(tx, path);
                }
            }
            change = owners.next() => {
                let Some(change) = change else { return Ok(()) };
                if change.args().is_ok_and(|args| args.old_owner().as_ref() == Some(&**owner)) {
                    return Ok(());
                }
            }
        }
    }
}

/// Tells the served modem at `path`, if it is one, that ModemManager added or removed some of
/// its interfaces (one subscription for all modems: the object manager's).
fn interfaces_changed(tx: &watch::Sender<Option<ManagedModems>>, path: &str) {
    tx.send_if_modified(|known| {
        known
            .as_mut()
            .is_some_and(|modems| modems.interfaces_changed(path))
    });
}
