//! What the `cellular` driver claims: any port tagged for it by udev, and, as the generic
//! fallback, any port that answers the host's AT identification probe.

use std::collections::BTreeMap;

use m2mhal_plugin_api::{AtRule, DeviceKind, DriverDescription, UdevRule};

/// The driver's name, as `driver =` in the configuration and `ID_M2MHAL_DRIVER` in udev refer to it.
pub(crate) const DRIVER_NAME: &str = "cellular";
/// Baud rate when neither configuration nor udev names one.
const DEFAULT_BAUD: u32 = 115_200;

/// The description returned by `describe`.
pub(crate) fn description() -> DriverDescription {
    DriverDescription {
        name: DRIVER_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        kinds: vec![DeviceKind::CellularModem],
        udev: vec![UdevRule {
            properties: BTreeMap::from([("ID_M2MHAL_DRIVER".to_owned(), DRIVER_NAME.to_owned())]),
        }],
        at: vec![AtRule {
            manufacturer: None,
            model: None,
            priority: 0,
        }],
        default_baud: Some(DEFAULT_BAUD),
        ..Default::default()
    }
}
