//! The D-Bus service of the API contract (`org.m2mhal.Hal1`).

pub mod authorize;
pub mod data_iface;
pub mod device_iface;
pub mod error;
pub mod gatt_iface;
pub mod introspection;
pub mod location_iface;
pub mod manager;
pub mod messaging_iface;
pub mod objects;
pub mod observer;
pub mod properties;
pub mod registry;
pub mod router_iface;
pub mod sensor_iface;
pub mod signal_iface;
pub mod strict;
pub mod uplink_registry;

#[cfg(test)]
mod tests {
    use m2mhal_contract::iface;
    use zbus::object_server::Interface;

    use super::data_iface::DataInterface;
    use super::device_iface::DeviceInterface;
    use super::gatt_iface::GattInterface;
    use super::location_iface::LocationInterface;
    use super::manager::ManagerInterface;
    use super::messaging_iface::MessagingInterface;
    use super::router_iface::RouterInterface;
    use super::sensor_iface::SensorInterface;
    use super::signal_iface::SignalInterface;

    /// `#[interface(name = ...)]` takes only a literal: each must spell the contract's name.
    #[test]
    fn interface_names_are_the_contract_names() {
        let served = [
            (ManagerInterface::name(), iface::MANAGER),
            (DeviceInterface::name(), iface::DEVICE),
            (SignalInterface::name(), iface::SIGNAL),
            (MessagingInterface::name(), iface::MESSAGING),
            (GattInterface::name(), iface::GATT),
            (SensorInterface::name(), iface::SENSOR),
            (LocationInterface::name(), iface::LOCATION),
            (DataInterface::name(), iface::DATA),
            (RouterInterface::name(), iface::ROUTER),
        ];
        for (name, contract) in served {
            assert_eq!(name.as_str(), contract);
        }
    }
}
