//! A snapshot of the daemon's device objects, and finding the one the user named.

use std::collections::BTreeMap;

use m2mhal_contract::device_number;
use zbus::{OwnedVariant, Variant, fdo::ManagedObjects};

use crate::bus::iface;
use crate::error::CliError;

/// The properties of one interface, sorted by name.
pub type Properties = BTreeMap<String, OwnedVariant>;

/// One device object as `GetManagedObjects` describes it.
#[derive(Debug, Clone)]
pub struct Device {
    /// Object path, `/org/m2mhal/Hal1/Devices/<n>`.
    pub path: String,
    /// Every interface of the object with its properties, sorted by interface name.
    pub interfaces: BTreeMap<String, Properties>,
}

impl Device {
    /// The `<n>` of the object path, when the path has the documented shape.
    pub fn number(&self) -> Option<u64> {
        device_number(&self.path)
    }

    /// `3` for `/org/m2mhal/Hal1/Devices/3`, else the whole path: how devices are named in output.
    pub fn label(&self) -> String {
        device_label(&self.path)
    }

    /// `3 (imei:356938035643809)`: the number and the device Id, how messages name a device.
    pub fn described(&self) -> String {
        match self.device_string("Id") {
            "" => self.label(),
            id => format!("{} ({id})", self.label()),
        }
    }

    /// An error such as "device 3 (ble:AA:BB:CC:DD:EE:FF) has no messaging" unless the device
    /// implements `interface`; `what` names the interface for people.
    pub fn require(&self, interface: &str, what: &str) -> Result<(), CliError> {
        if self.has_interface(interface) {
            Ok(())
        } else {
            Err(CliError::Failed(format!(
                "device {} has no {what}",
                self.described()
            )))
        }
    }

    /// Whether the object implements `interface`.
    pub fn has_interface(&self, interface: &str) -> bool {
        self.interfaces.contains_key(interface)
    }

    /// The properties of `interface`; an error naming the device when it lacks the interface.
    pub fn interface(&self, interface: &str) -> Result<&Properties, CliError> {
        self.interfaces.get(interface).ok_or_else(|| {
            CliError::Failed(format!(
                "device {} has no {} interface",
                self.label(),
                iface::short(interface)
            ))
        })
    }

    /// A property of one interface, looking through a variant wrapped in a variant.
    pub fn property(&self, interface: &str, name: &str) -> Option<&Variant<'static>> {
        self.interfaces
            .get(interface)
            .and_then(|properties| properties.get(name))
            .map(|value| unwrap_variant(value))
    }

    /// A string property of `org.m2mhal.Hal1.Device`, "" when absent or not a string.
    pub fn device_string(&self, name: &str) -> &str {
        match self.property(iface::DEVICE, name) {
            Some(Variant::Str(text)) => text,
            _ => "",
        }
    }

    /// The `State` property (`ready`, `offline`, ...).
    pub fn state(&self) -> &str {
        self.device_string("State")
    }
}

/// Looks through `v` values that hold another variant.
pub fn unwrap_variant<'v, 'a>(mut value: &'v Variant<'a>) -> &'v Variant<'a> {
    while let Variant::Variant(inner) = value {
        value = inner;
    }
    value
}

/// `3` for `/org/m2mhal/Hal1/Devices/3`, else the whole path.
pub fn device_label(path: &str) -> String {
    device_number(path).map_or_else(|| path.to_owned(), |number| number.to_string())
}

/// The device objects among the managed objects, in device-number order.
pub fn devices_from_managed_objects(objects: ManagedObjects) -> Vec<Device> {
    let mut devices: Vec<Device> = objects
        .into_iter()
        .map(|(path, interfaces)| Device {
            path: path.as_str().to_owned(),
            interfaces: interfaces
                .into_iter()
                .map(|(name, properties)| {
                    (name.as_str().to_owned(), properties.into_iter().collect())
                })
                .collect(),
        })
        .filter(|device| device.has_interface(iface::DEVICE))
        .collect();
    devices.sort_by(|a, b| (a.number(), &a.path).cmp(&(b.number(), &b.path)));
    devices
}

/// Finds the device the user named: its object path, its number (`3`), its `Id`
/// (`imei:...`) or its `Port` (`/dev/ttyUSB2`). Exactly one device must match.
pub fn resolve<'d>(devices: &'d [Device], spec: &str) -> Result<&'d Device, CliError> {
    let matches: Vec<&Device> = devices
        .iter()
        .filter(|device| names(device, spec))
        .collect();
    match matches.as_slice() {
        [] => Err(CliError::NoDevice(spec.to_owned())),
        [device] => Ok(device),
        several => Err(CliError::AmbiguousDevice {
            spec: spec.to_owned(),
            paths: several.iter().map(|device| device.path.clone()).collect(),
        }),
    }
}

/// Whether `spec` names `device`.
fn names(device: &Device, spec: &str) -> bool {
    if device.path == spec {
        return true;
    }
    if let Ok(number) = spec.parse::<u64>() {
        return device.number() == Some(number);
    }
    !spec.is_empty() && (device.device_string("Id") == spec || device.device_string("Port") == spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::device;

    fn fleet() -> Vec<Device> {
        vec![
            device(1, "imei:356938035643809", "/dev/ttyUSB2", "ready"),
            device(3, "serial:300234063904190", "/dev/ttymxc1", "ready"),
            device(12, "ble:AA:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FF", "offline"),
        ]
    }

    #[test]
    fn resolves_by_path_number_id_and_port() {
        let devices = fleet();
        let path_of = |spec| {
            resolve(&devices, spec)
                .map(|device| device.path.clone())
                .unwrap()
        };
        assert_eq!(
            path_of("/org/m2mhal/Hal1/Devices/3"),
            "/org/m2mhal/Hal1/Devices/3"
        );
        assert_eq!(path_of("12"), "/org/m2mhal/Hal1/Devices/12");
        assert_eq!(
            path_of("imei:356938035643809"),
            "/org/m2mhal/Hal1/Devices/1"
        );
        assert_eq!(path_of("/dev/ttymxc1"), "/org/m2mhal/Hal1/Devices/3");
        assert_eq!(path_of("AA:BB:CC:DD:EE:FF"), "/org/m2mhal/Hal1/Devices/12");
    }

    #[test]
    fn unknown_device_is_reported_with_what_was_typed() {
        let devices = fleet();
        for spec in ["x", "2", "/dev/ttyUSB0", "", "imei:35693803564380"] {
            match resolve(&devices, spec) {
                Err(CliError::NoDevice(typed)) => assert_eq!(typed, spec),
                other => panic!("{spec}: {other:?}"),
            }
        }
    }

    #[test]
    fn two_devices_on_one_port_are_ambiguous() {
        let devices = vec![
            device(1, "imei:356938035643809", "/dev/ttyUSB2", "offline"),
            device(4, "imei:490154203237518", "/dev/ttyUSB2", "ready"),
        ];
        match resolve(&devices, "/dev/ttyUSB2") {
            Err(CliError::AmbiguousDevice { paths, .. }) => assert_eq!(
                paths,
                ["/org/m2mhal/Hal1/Devices/1", "/org/m2mhal/Hal1/Devices/4"]
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(resolve(&devices, "4").unwrap().state(), "ready");
    }

    #[test]
    fn missing_interface_is_an_operation_failure() {
        let modem = device(1, "imei:356938035643809", "/dev/ttyUSB2", "ready");
        assert!(modem.interface(iface::DEVICE).unwrap().contains_key("Id"));
        let error = modem.interface(iface::GATT).unwrap_err();
        assert_eq!(error.to_string(), "device 1 has no Gatt interface");
        assert_eq!(error.exit_code(), crate::error::EXIT_FAILED);
    }

    #[test]
    fn a_required_interface_names_the_device_by_number_and_id() {
        let sensor = device(5, "ble:A4:C1:38:00:11:22", "A4:C1:38:00:11:22", "ready");
        assert!(sensor.require(iface::DEVICE, "device").is_ok());
        let error = sensor.require(iface::MESSAGING, "messaging").unwrap_err();
        assert_eq!(
            error.to_string(),
            "device 5 (ble:A4:C1:38:00:11:22) has no messaging"
        );
        assert_eq!(error.exit_code(), crate::error::EXIT_FAILED);
    }

    #[test]
    fn device_numbers_come_from_the_path() {
        assert_eq!(device_number("/org/m2mhal/Hal1/Devices/7"), Some(7));
        assert_eq!(device_number("/org/m2mhal/Hal1"), None);
        assert_eq!(device_number("/org/m2mhal/Hal1/Devices/x"), None);
        assert_eq!(device_label("/org/m2mhal/Hal1"), "/org/m2mhal/Hal1");
        assert_eq!(device_label("/org/m2mhal/Hal1/Devices/42"), "42");
    }

    #[test]
    fn managed_objects_become_devices_sorted_by_number() {
        let mut objects = ManagedObjects::new();
        for (path, with_device) in [
            ("/org/m2mhal/Hal1/Devices/10", true),
            ("/org/m2mhal/Hal1/Devices/9", true),
            ("/org/m2mhal/Hal1/Other", false),
        ] {
            let mut interfaces = std::collections::HashMap::new();
            let name = if with_device {
                iface::DEVICE
            } else {
                "org.example.Other"
            };
            interfaces.insert(name.try_into().unwrap(), Default::default());
            objects.insert(path.try_into().unwrap(), interfaces);
        }
        let devices = devices_from_managed_objects(objects);
        let numbers: Vec<_> = devices.iter().map(Device::number).collect();
        assert_eq!(numbers, [Some(9), Some(10)]);
    }
}
