//! Putting device objects on the bus and announcing their property changes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use zbus::object_server::{Interface, SignalEmitter};
use zbus::{Connection, OwnedObjectPath, Variant, fdo};

use super::data_iface::DataInterface;
use super::device_iface::DeviceInterface;
use super::gatt_iface::GattInterface;
use super::location_iface::LocationInterface;
use super::manager::ManagerInterface;
use super::messaging_iface::MessagingInterface;
use super::properties::{Iface, changed_on};
use super::registry::Registry;
use super::sensor_iface::SensorInterface;
use super::signal_iface::SignalInterface;
use super::strict::Strict;
use crate::device::handle::DeviceHandle;
use crate::device::state::Changed;
use crate::store::StoreHandle;
use m2mhal_contract::MANAGER_PATH;

/// Registers the interfaces of a device. The Device interface comes last, so a client that sees it
/// appear finds the others already there. Call [`devices_changed`] once the registry lists it.
pub async fn publish(
    conn: &Connection,
    handle: &Arc<DeviceHandle>,
    store: &StoreHandle,
    registry: &Arc<Registry>,
) -> zbus::Result<()> {
    follow_capabilities(conn, handle, store).await?;
    let path = OwnedObjectPath::try_from(handle.path.as_str())?;
    let device = DeviceInterface::new(Arc::clone(handle), Arc::clone(registry));
    conn.object_server().at(&path, Strict::new(device)).await?;
    Ok(())
}

/// Makes the interfaces of the device object follow its capabilities (the Device interface
/// aside): registers each one a capability now calls for (`InterfacesAdded`) and unregisters
/// each one no capability calls for any more (`InterfacesRemoved`).
pub async fn follow_capabilities(
    conn: &Connection,
    handle: &Arc<DeviceHandle>,
    store: &StoreHandle,
) -> zbus::Result<()> {
    let path = &OwnedObjectPath::try_from(handle.path.as_str())?;
    let has = |capability| handle.state().has(capability);
    let device = || Arc::clone(handle);
    offer(conn, path, has("signal"), || SignalInterface::new(device())).await?;
    let messaging = || MessagingInterface::new(device(), store.clone());
    offer(conn, path, has("messaging"), messaging).await?;
    offer(conn, path, has("gatt"), || GattInterface::new(device())).await?;
    offer(conn, path, has("sensor"), || SensorInterface::new(device())).await?;
    offer(conn, path, has("location"), || {
        LocationInterface::new(device())
    })
    .await?;
    offer(conn, path, has("data"), || DataInterface::new(device())).await
}

/// Registers interface `I` (made by `make`) at `path` when `wanted` and the object lacks it;
/// unregisters it when not `wanted` and the object has it.
async fn offer<I: Interface>(
    conn: &Connection,
    path: &OwnedObjectPath,
    wanted: bool,
    make: impl FnOnce() -> I,
) -> zbus::Result<()> {
    if !wanted {
        return remove::<Strict<I>>(conn, path).await;
    }
    let server = conn.object_server();
    if server.interface::<_, Strict<I>>(path).await.is_err() {
        server.at(path, Strict::new(make())).await?;
    }
    Ok(())
}

/// Unregisters every interface of the device object at `path`, the Device interface first; each
/// goes with an `InterfacesRemoved`. Call [`devices_changed`] once the registry no longer lists it.
pub async fn withdraw(conn: &Connection, path: &str) {
    let result = async {
        let path = &OwnedObjectPath::try_from(path)?;
        remove::<Strict<DeviceInterface>>(conn, path).await?;
        remove::<Strict<SignalInterface>>(conn, path).await?;
        remove::<Strict<MessagingInterface>>(conn, path).await?;
        remove::<Strict<GattInterface>>(conn, path).await?;
        remove::<Strict<SensorInterface>>(conn, path).await?;
        remove::<Strict<LocationInterface>>(conn, path).await?;
        remove::<Strict<DataInterface>>(conn, path).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(path, "cannot remove the device object: {e}");
    }
}

/// Unregisters interface `I` at `path`, if the object has it.
async fn remove<I: Interface>(conn: &Connection, path: &OwnedObjectPath) -> zbus::Result<()> {
    match conn.object_server().remove::<I, _>(path.as_ref()).await {
        Ok(_) | Err(zbus::Error::InterfaceNotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Announces a change of `Manager.Devices` (after the registry changed).
pub async fn devices_changed(conn: &Connection) -> zbus::Result<()> {
    let server = conn.object_server();
    let manager = server
        .interface::<_, Strict<ManagerInterface>>(MANAGER_PATH)
        .await?;
    manager
        .get()
        .await
        .devices_changed(manager.signal_emitter())
        .await
}

/// Emits one `PropertiesChanged` per interface with every changed property of the device.
pub async fn emit_changed(conn: &Connection, handle: &DeviceHandle, changed: &Changed) {
    let result = async {
        let path = zbus::ObjectPath::try_from(handle.path.as_str())?;
        let names = |iface| changed_on(changed, iface);
        emit_for::<Strict<DeviceInterface>>(conn, path.clone(), &names(Iface::Device)).await?;
        emit_for::<Strict<SignalInterface>>(conn, path.clone(), &names(Iface::Signal)).await?;
        let messaging = names(Iface::Messaging);
        emit_for::<Strict<MessagingInterface>>(conn, path.clone(), &messaging).await?;
        emit_for::<Strict<GattInterface>>(conn, path.clone(), &names(Iface::Gatt)).await?;
        emit_for::<Strict<SensorInterface>>(conn, path.clone(), &names(Iface::Sensor)).await?;
        let location = names(Iface::Location);
        emit_for::<Strict<LocationInterface>>(conn, path.clone(), &location).await?;
        emit_for::<Strict<DataInterface>>(conn, path, &names(Iface::Data)).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!("cannot emit property changes: {e}");
    }
}

async fn emit_for<I: Interface>(
    conn: &Connection,
    path: zbus::ObjectPath<'_>,
    names: &[&'static str],
) -> zbus::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let server = conn.object_server();
    // Not every device implements every interface; nothing to announce then.
    let Ok(iface) = server.interface::<_, I>(&path).await else {
        return Ok(());
    };
    let emitter: &SignalEmitter<'static> = iface.signal_emitter();
    let mut values: HashMap<&str, Variant<'_>> = HashMap::new();
    {
        let guard = iface.get().await;
        for name in names {
            if let Some(Ok(value)) = guard.get(name, server, conn, None, emitter).await {
                values.insert(name, Variant::from(value));
            }
        }
    }
    fdo::Properties::properties_changed(emitter, I::name(), values, Cow::Borrowed(&[])).await
}
