//! What the `gnss` driver claims: only ports the configuration or udev names it for. It has no
//! AT rule (a receiver does not answer AT) and no udev rule of its own, so an unknown tty is
//! never opened for it.

use std::collections::BTreeMap;

use m2mhal_plugin_api::{DeviceKind, DriverDescription, UdevRule};

/// The driver's name, as `driver =` in the configuration and `ID_M2MHAL_DRIVER` in udev refer to it.
pub(crate) const DRIVER_NAME: &str = "gnss";
/// NMEA 0183 receivers start at 9600 baud (u-blox, Quectel L76, MediaTek); others are configured.
const DEFAULT_BAUD: u32 = 9_600;

/// The description returned by `describe`.
pub(crate) fn description() -> DriverDescription {
    DriverDescription {
        name: DRIVER_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        kinds: vec![DeviceKind::GnssReceiver],
        udev: vec![UdevRule {
            properties: BTreeMap::from([("ID_M2MHAL_DRIVER".to_owned(), DRIVER_NAME.to_owned())]),
        }],
        default_baud: Some(DEFAULT_BAUD),
        ..DriverDescription::default()
    }
}
