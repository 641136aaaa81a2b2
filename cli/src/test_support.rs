//! Builders shared by the unit tests.

use std::collections::BTreeMap;

use zbus::{OwnedVariant, Variant};

use crate::bus::iface;
use crate::device::{Device, Properties};

/// An owned variant holding `value`.
pub fn owned<'a>(value: impl Into<Variant<'a>>) -> OwnedVariant {
    OwnedVariant::try_from(value.into()).unwrap()
}

/// A property map from (name, value) pairs.
pub fn properties<'a, V: Into<Variant<'a>>>(
    entries: impl IntoIterator<Item = (&'a str, V)>,
) -> Properties {
    entries
        .into_iter()
        .map(|(name, value)| (name.to_owned(), owned(value)))
        .collect()
}

/// A cellular modem object `/org/m2mhal/Hal1/Devices/<number>` with only the Device interface.
pub fn device(number: u64, id: &str, port: &str, state: &str) -> Device {
    let reason = if state == "offline" { "unplugged" } else { "" };
    let device_properties = properties([
        ("Id", id),
        ("Kind", "cellular-modem"),
        ("Driver", "cellular"),
        ("Manufacturer", "Quectel"),
        ("Model", "EG25"),
        ("Port", port),
        ("State", state),
        ("StateReason", reason),
    ]);
    Device {
        path: m2mhal_contract::device_path(number),
        interfaces: BTreeMap::from([(iface::DEVICE.to_owned(), device_properties)]),
    }
}
