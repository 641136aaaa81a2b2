//! The D-Bus objects: thin `#[interface]` types that read the shared state for properties and
//! hand method calls to the [`Daemon`](crate::daemon::Daemon).

mod adapter;
mod device;
mod gatt;

pub use adapter::AdapterObject;
pub use device::DeviceObject;
pub use gatt::{CharacteristicObject, DescriptorObject, GattLocation, ServiceObject};

use zbus::fdo;
use zbus::message::Header;

use crate::spec::Address;

/// The one adapter's object path.
pub const ADAPTER_PATH: &str = "/org/bluez/hci0";

/// `/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF`.
pub fn device_path(address: &Address) -> String {
    format!("{ADAPTER_PATH}/{}", address.object_name())
}

/// `.../serviceXXXX`, by the service's declaration handle.
pub fn service_path(address: &Address, handle: u16) -> String {
    format!("{}/service{handle:04x}", device_path(address))
}

/// `.../serviceXXXX/charYYYY`, by the characteristic's declaration handle.
pub fn characteristic_path(address: &Address, service: u16, handle: u16) -> String {
    format!("{}/char{handle:04x}", service_path(address, service))
}

/// `.../charYYYY/descZZZZ`, by the descriptor's handle.
pub fn descriptor_path(
    address: &Address,
    service: u16,
    characteristic: u16,
    handle: u16,
) -> String {
    format!(
        "{}/desc{handle:04x}",
        characteristic_path(address, service, characteristic)
    )
}

/// What libgdbus answers a `Get` of a property that doesn't exist right now.
fn absent(name: &str) -> fdo::Error {
    fdo::Error::InvalidArgs(format!("No such property '{name}'"))
}

/// An optional property's value, or the error that leaves it out of `GetAll`.
fn optional<T>(name: &str, value: Option<T>) -> fdo::Result<T> {
    value.ok_or_else(|| absent(name))
}

/// The error for an object whose state vanished under a call in flight.
fn gone() -> fdo::Error {
    fdo::Error::UnknownObject("Object removed".into())
}

/// The caller's unique name (empty for a peer-to-peer caller, which has none).
fn sender(header: &Header<'_>) -> String {
    header.sender().map(|s| s.to_string()).unwrap_or_default()
}
