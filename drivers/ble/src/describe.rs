//! What the `ble` driver claims: BTHome advertisers and the generic GATT sensors (Environmental
//! Sensing, Battery), at priority 0 so that a vendor driver can take them over.

use m2mhal_plugin_api::ble::BleRule;
use m2mhal_plugin_api::{DeviceKind, DriverDescription};

use crate::bthome;
use crate::characteristics::{BATTERY_SERVICE, ENVIRONMENTAL_SENSING};

/// The driver's name, as `driver =` in the configuration refers to it.
pub(crate) const DRIVER_NAME: &str = "ble";

/// The description returned by `describe`.
pub(crate) fn description() -> DriverDescription {
    let hex = |uuid16: u16| format!("{uuid16:04x}");
    DriverDescription {
        name: DRIVER_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        kinds: vec![DeviceKind::BleDevice],
        ble: vec![BleRule {
            service_uuids: vec![hex(ENVIRONMENTAL_SENSING), hex(BATTERY_SERVICE)],
            service_data_uuids: vec![hex(bthome::SERVICE_UUID16)],
            priority: 0,
            ..Default::default()
        }],
        ..Default::default()
    }
}
