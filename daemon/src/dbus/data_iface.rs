//! `org.m2mhal.Hal1.Data` (API 1.1): the data connection of a modem, read-only (ModemManager's
//! bearer of a modem served through it).

use std::sync::Arc;

use zbus::interface;

use crate::device::handle::DeviceHandle;

/// The Data interface of one device object.
pub struct DataInterface {
    handle: Arc<DeviceHandle>,
}

impl DataInterface {
    /// The interface for `handle`'s device.
    pub fn new(handle: Arc<DeviceHandle>) -> Self {
        DataInterface { handle }
    }
}

#[interface(name = "org.m2mhal.Hal1.Data")]
impl DataInterface {
    /// Whether the data connection is up.
    #[zbus(property)]
    fn connected(&self) -> bool {
        self.handle.state().data.connected
    }

    /// The network interface of the connection (`wwan0`), "" when unknown.
    #[zbus(property)]
    fn interface(&self) -> String {
        self.handle.state().data.interface.clone()
    }

    /// The IPv4 address with its prefix length (`10.64.12.7/30`), "" when none.
    #[zbus(property)]
    fn ipv4(&self) -> String {
        self.handle.state().data.ipv4.clone()
    }

    /// The IPv6 address with its prefix length, "" when none.
    #[zbus(property)]
    fn ipv6(&self) -> String {
        self.handle.state().data.ipv6.clone()
    }

    /// The access point name, "" when unknown.
    #[zbus(property)]
    fn apn(&self) -> String {
        self.handle.state().data.apn.clone()
    }
}
