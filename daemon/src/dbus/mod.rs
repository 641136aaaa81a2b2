//! The D-Bus service of the API contract (`org.m2mhal.Hal1`).

pub mod authorize;
pub mod device_iface;
pub mod error;
pub mod gatt_iface;
pub mod introspection;
pub mod manager;
pub mod messaging_iface;
pub mod objects;
pub mod sensor_iface;
pub mod signal_iface;
pub mod strict;

/// The well-known bus name.
pub const BUS_NAME: &str = "org.m2mhal.Hal1";
/// The manager's object path.
pub const MANAGER_PATH: &str = "/org/m2mhal/Hal1";
/// Prefix of device object paths.
pub const DEVICES_PATH: &str = "/org/m2mhal/Hal1/Devices";
