//! The names of the m2mhal D-Bus API (docs/dbus, the API contract), written once for every
//! crate that speaks it: the daemon, `m2mctl`, the end-to-end tests and any bridge to come.
//!
//! Plain constants and small functions, no D-Bus library: a client picks its own.

/// The well-known bus name of m2mhald on the system bus.
pub const BUS_NAME: &str = "org.m2mhal.Hal1";
/// Object path of the manager (and of the ObjectManager).
pub const MANAGER_PATH: &str = "/org/m2mhal/Hal1";
/// The node under which the device objects live.
pub const DEVICES_PATH: &str = "/org/m2mhal/Hal1/Devices";
/// Device objects are this prefix plus a decimal number.
pub const DEVICES_PATH_PREFIX: &str = "/org/m2mhal/Hal1/Devices/";

/// The object path of device number `number`: `/org/m2mhal/Hal1/Devices/<number>`.
pub fn device_path(number: u64) -> String {
    format!("{DEVICES_PATH_PREFIX}{number}")
}

/// The `<n>` of `/org/m2mhal/Hal1/Devices/<n>`; `None` for any other path.
pub fn device_number(path: &str) -> Option<u64> {
    path.strip_prefix(DEVICES_PATH_PREFIX)?.parse().ok()
}

/// Interface names of the API.
pub mod iface {
    /// `org.m2mhal.Hal1.Manager`
    pub const MANAGER: &str = "org.m2mhal.Hal1.Manager";
    /// `org.m2mhal.Hal1.Device`
    pub const DEVICE: &str = "org.m2mhal.Hal1.Device";
    /// `org.m2mhal.Hal1.Signal`
    pub const SIGNAL: &str = "org.m2mhal.Hal1.Signal";
    /// `org.m2mhal.Hal1.Messaging`
    pub const MESSAGING: &str = "org.m2mhal.Hal1.Messaging";
    /// `org.m2mhal.Hal1.Gatt`
    pub const GATT: &str = "org.m2mhal.Hal1.Gatt";
    /// `org.m2mhal.Hal1.Sensor`
    pub const SENSOR: &str = "org.m2mhal.Hal1.Sensor";
    /// `org.m2mhal.Hal1.Location` (API 1.1)
    pub const LOCATION: &str = "org.m2mhal.Hal1.Location";
    /// `org.m2mhal.Hal1.Data` (API 1.1)
    pub const DATA: &str = "org.m2mhal.Hal1.Data";
    /// `org.m2mhal.Hal1.Router` (on `/org/m2mhal/Hal1`, API 1.1)
    pub const ROUTER: &str = "org.m2mhal.Hal1.Router";
    /// Prefix shared by every interface of the API.
    pub const PREFIX: &str = "org.m2mhal.Hal1.";
    /// Every interface of the API.
    pub const ALL: [&str; 9] = [
        MANAGER, DEVICE, SIGNAL, MESSAGING, GATT, SENSOR, LOCATION, DATA, ROUTER,
    ];

    /// `Device` for `org.m2mhal.Hal1.Device`; names of other APIs unchanged.
    pub fn short(name: &str) -> &str {
        name.strip_prefix(PREFIX).unwrap_or(name)
    }
}

/// Member names of `org.m2mhal.Hal1.Messaging` (methods and signals).
pub mod messaging {
    /// `Send(s destination, ay payload, a{sv} options) -> s id`.
    pub const SEND: &str = "Send";
    /// `List() -> aa{sv}`.
    pub const LIST: &str = "List";
    /// Signal `Received(s id, s peer, ay payload, a{sv} info)`.
    pub const RECEIVED: &str = "Received";
    /// Signal `StateChanged(s id, s state, s error)`.
    pub const STATE_CHANGED: &str = "StateChanged";
}

/// Error names of the API: every failed call answers with one of these.
pub mod error {
    /// Prefix of the API's error names, with its final dot: the name is this plus the kind.
    pub const PREFIX: &str = "org.m2mhal.Hal1.Error.";
    /// The device or driver cannot do this.
    pub const NOT_SUPPORTED: &str = "org.m2mhal.Hal1.Error.NotSupported";
    /// An argument is malformed.
    pub const INVALID_ARGUMENT: &str = "org.m2mhal.Hal1.Error.InvalidArgument";
    /// The device is not ready for this now.
    pub const NOT_READY: &str = "org.m2mhal.Hal1.Error.NotReady";
    /// The device did not answer in time.
    pub const TIMEOUT: &str = "org.m2mhal.Hal1.Error.Timeout";
    /// The payload does not fit.
    pub const PAYLOAD_TOO_LARGE: &str = "org.m2mhal.Hal1.Error.PayloadTooLarge";
    /// The caller may not do this.
    pub const NOT_AUTHORIZED: &str = "org.m2mhal.Hal1.Error.NotAuthorized";
    /// The device went away.
    pub const DEVICE_GONE: &str = "org.m2mhal.Hal1.Error.DeviceGone";
    /// Anything else.
    pub const FAILED: &str = "org.m2mhal.Hal1.Error.Failed";
    /// Every error name of the API.
    pub const ALL: [&str; 8] = [
        NOT_SUPPORTED,
        INVALID_ARGUMENT,
        NOT_READY,
        TIMEOUT,
        PAYLOAD_TOO_LARGE,
        NOT_AUTHORIZED,
        DEVICE_GONE,
        FAILED,
    ];
}

/// The polkit action ids that guard the privileged methods (dist/polkit/org.m2mhal.Hal1.policy).
pub mod action {
    /// `Send`, `Delete`.
    pub const MESSAGING: &str = "org.m2mhal.Hal1.Messaging";
    /// `List` (reading stored messages).
    pub const MESSAGING_READ: &str = "org.m2mhal.Hal1.MessagingRead";
    /// `Reset`, `Forget`, `Gatt.Write`, `ReportKernelEvent`, `Location.SetEnabled`.
    pub const CONTROL: &str = "org.m2mhal.Hal1.Control";
    /// `Command` (raw AT pass-through).
    pub const COMMAND: &str = "org.m2mhal.Hal1.Command";
    /// Every action of the API.
    pub const ALL: [&str; 4] = [MESSAGING, MESSAGING_READ, CONTROL, COMMAND];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_below_the_bus_name() {
        let names = iface::ALL
            .iter()
            .chain(&error::ALL)
            .chain(&action::ALL)
            .chain([&iface::PREFIX, &error::PREFIX]);
        for name in names {
            assert!(name.starts_with(&format!("{BUS_NAME}.")), "{name}");
        }
        for error in error::ALL {
            let kind = error.strip_prefix(error::PREFIX).unwrap_or_default();
            assert!(!kind.is_empty() && !kind.contains('.'), "{error}");
        }
    }

    #[test]
    fn device_paths_are_below_the_manager() {
        assert_eq!(DEVICES_PATH, format!("{MANAGER_PATH}/Devices"));
        assert_eq!(DEVICES_PATH_PREFIX, format!("{DEVICES_PATH}/"));
        assert_eq!(device_path(3), "/org/m2mhal/Hal1/Devices/3");
        assert_eq!(device_number(&device_path(42)), Some(42));
        assert_eq!(device_number(MANAGER_PATH), None);
        assert_eq!(device_number("/org/m2mhal/Hal1/Devices/x"), None);
    }

    #[test]
    fn short_interface_names() {
        assert_eq!(iface::short(iface::DEVICE), "Device");
        assert_eq!(
            iface::short("org.freedesktop.DBus.Properties"),
            "org.freedesktop.DBus.Properties"
        );
    }
}
