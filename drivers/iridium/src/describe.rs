//! What the `iridium` driver claims: ports tagged for it by udev, and every port whose
//! `AT+CGMI` answer names Iridium (ahead of the generic cellular driver).

use std::collections::BTreeMap;

use m2mhal_plugin_api::{AtRule, DeviceKind, DriverDescription, UdevRule};

/// The driver's name, as `driver =` in the configuration and `ID_M2MHAL_DRIVER` in udev refer to it.
const DRIVER_NAME: &str = "iridium";
/// Claim priority of the AT rule: above the cellular driver's generic rule (0).
const AT_PRIORITY: i32 = 100;
/// The 9602/9603 serial port runs at 19200 baud by default.
const DEFAULT_BAUD: u32 = 19_200;

/// The description returned by `describe`.
pub(crate) fn description() -> DriverDescription {
    DriverDescription {
        name: DRIVER_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        kinds: vec![DeviceKind::SatelliteTerminal],
        udev: vec![UdevRule {
            properties: BTreeMap::from([("ID_M2MHAL_DRIVER".to_owned(), DRIVER_NAME.to_owned())]),
        }],
        at: vec![AtRule {
            manufacturer: Some("iridium".to_owned()),
            model: None,
            priority: AT_PRIORITY,
        }],
        default_baud: Some(DEFAULT_BAUD),
        ..DriverDescription::default()
    }
}
