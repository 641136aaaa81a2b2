//! The D-Bus names of a device's properties, and the interface each belongs to.

use crate::device::state::{Changed, Property};

/// The interfaces of a device object that have properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iface {
    /// `org.m2mhal.Hal1.Device`.
    Device,
    /// `org.m2mhal.Hal1.Signal`.
    Signal,
    /// `org.m2mhal.Hal1.Messaging`.
    Messaging,
    /// `org.m2mhal.Hal1.Gatt`.
    Gatt,
    /// `org.m2mhal.Hal1.Sensor`.
    Sensor,
    /// `org.m2mhal.Hal1.Location`.
    Location,
    /// `org.m2mhal.Hal1.Data`.
    Data,
}

/// The interface of `property` and its name there.
pub fn dbus_name(property: Property) -> (Iface, &'static str) {
    use Iface::{Data, Device, Gatt, Location, Messaging, Sensor, Signal};
    match property {
        Property::Id => (Device, "Id"),
        Property::Kind => (Device, "Kind"),
        Property::Driver => (Device, "Driver"),
        Property::Manufacturer => (Device, "Manufacturer"),
        Property::Model => (Device, "Model"),
        Property::Revision => (Device, "Revision"),
        Property::SerialNumber => (Device, "SerialNumber"),
        Property::Port => (Device, "Port"),
        Property::State => (Device, "State"),
        Property::StateReason => (Device, "StateReason"),
        Property::Capabilities => (Device, "Capabilities"),
        Property::MaxPayload => (Messaging, "MaxPayload"),
        Property::Pending => (Messaging, "Pending"),
        Property::Quality => (Signal, "Quality"),
        Property::Rssi => (Signal, "Rssi"),
        Property::Rsrp => (Signal, "Rsrp"),
        Property::Rsrq => (Signal, "Rsrq"),
        Property::Sinr => (Signal, "Sinr"),
        Property::Technology => (Signal, "Technology"),
        Property::Registration => (Signal, "Registration"),
        Property::Operator => (Signal, "Operator"),
        Property::SignalUpdatedAt => (Signal, "UpdatedAt"),
        Property::Connected => (Gatt, "Connected"),
        Property::Services => (Gatt, "Services"),
        Property::GattServices => (Gatt, "Characteristics"),
        Property::Readings => (Sensor, "Readings"),
        Property::SensorUpdatedAt => (Sensor, "UpdatedAt"),
        Property::LocationEnabled => (Location, "Enabled"),
        Property::Latitude => (Location, "Latitude"),
        Property::Longitude => (Location, "Longitude"),
        Property::Altitude => (Location, "Altitude"),
        Property::FixTime => (Location, "FixTime"),
        Property::FixMode => (Location, "Mode"),
        Property::Hdop => (Location, "Hdop"),
        Property::Speed => (Location, "Speed"),
        Property::Course => (Location, "Course"),
        Property::Satellites => (Location, "Satellites"),
        Property::LocationSource => (Location, "Source"),
        Property::Cell => (Location, "Cell"),
        Property::DataConnected => (Data, "Connected"),
        Property::DataInterface => (Data, "Interface"),
        Property::Ipv4 => (Data, "Ipv4"),
        Property::Ipv6 => (Data, "Ipv6"),
        Property::Apn => (Data, "Apn"),
    }
}

/// The D-Bus names of the properties of `iface` that changed, in order.
pub fn changed_on(changed: &Changed, iface: Iface) -> Vec<&'static str> {
    changed
        .properties()
        .iter()
        .map(|property| dbus_name(*property))
        .filter(|(on, _)| *on == iface)
        .map(|(_, name)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use m2mhal_plugin_api::{DeviceUpdate, SensorUpdate};

    use super::*;
    use crate::device::state::DeviceState;

    #[test]
    fn changes_are_named_per_interface() {
        let mut state = DeviceState::new("ble", "ble-device", "A4:C1:38:00:11:22");
        let changed = state.apply_device(DeviceUpdate {
            id: Some("ble:a4c138001122".into()),
            max_payload: Some(20),
            connected: Some(true),
            ..Default::default()
        });
        assert_eq!(changed_on(&changed, Iface::Device), ["Id"]);
        assert_eq!(changed_on(&changed, Iface::Messaging), ["MaxPayload"]);
        assert_eq!(changed_on(&changed, Iface::Gatt), ["Connected"]);
        assert!(changed_on(&changed, Iface::Signal).is_empty());
        let changed = state.apply_sensor(SensorUpdate {
            readings: [("battery".to_owned(), 90.0)].into(),
            updated_at: Some(1),
        });
        assert_eq!(
            changed_on(&changed, Iface::Sensor),
            ["Readings", "UpdatedAt"]
        );
    }
}
