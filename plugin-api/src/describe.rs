//! What a driver declares about itself: which devices it can claim and how they are recognised.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The family of device a driver handles; exposed as the `Kind` property on D-Bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    /// A 3GPP modem speaking AT commands (`cellular-modem`).
    CellularModem,
    /// A satellite terminal such as an Iridium SBD modem (`satellite-terminal`).
    SatelliteTerminal,
    /// A Bluetooth Low Energy peripheral (`ble-device`).
    BleDevice,
    /// A standalone GNSS receiver on a serial port (`gnss-receiver`, API 1.1).
    GnssReceiver,
    /// A sensor that is not a BLE peripheral, such as a serial sensor (`sensor`, API 1.1).
    Sensor,
    /// Anything else a third-party driver serves (`generic`, API 1.1).
    Generic,
}

impl DeviceKind {
    /// The string used for this kind on D-Bus.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::CellularModem => "cellular-modem",
            DeviceKind::SatelliteTerminal => "satellite-terminal",
            DeviceKind::BleDevice => "ble-device",
            DeviceKind::GnssReceiver => "gnss-receiver",
            DeviceKind::Sensor => "sensor",
            DeviceKind::Generic => "generic",
        }
    }
}

/// Returned by a plugin's `describe` entry: its identity and its claim rules. Build it with
/// `..Default::default()` so that fields added later keep your code compiling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriverDescription {
    /// Short driver name (`cellular`, `iridium`, ...); what `driver =` in the config refers to.
    pub name: String,
    /// The plugin's own version string.
    pub version: String,
    /// Device kinds this driver creates.
    pub kinds: Vec<DeviceKind>,
    /// Serial ports whose udev properties match any of these rules are handed to this driver
    /// without AT identification.
    #[serde(default)]
    pub udev: Vec<UdevRule>,
    /// After the host's AT probe, the driver whose best matching rule has the highest priority
    /// claims the port.
    #[serde(default)]
    pub at: Vec<AtRule>,
    /// Baud rate to use when neither the config nor udev names one.
    #[serde(default)]
    pub default_baud: Option<u32>,
    /// BLE peripherals matching any of these rules are claimed by this driver.
    #[serde(default)]
    pub ble: Vec<crate::ble::BleRule>,
    /// How the plugin was built to handle a panic. [`crate::export_driver!`] fills it in (leave
    /// it `None`); `None` is a plugin that does not say (built before ABI v1.1, or in C). The host
    /// never runs an `Abort` plugin in its own process: a panic there would abort the host.
    /// Left out of the CBOR when `None`, so the description of a plugin that does not say is the
    /// same bytes as before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic_strategy: Option<PanicStrategy>,
    /// The ABI minor version the plugin was built against ([`crate::ABI_MINOR`] of its
    /// `m2mhal-plugin-api`; ABI v1.1). [`crate::export_driver!`] fills it in (leave it `None`);
    /// `None` is a plugin that does not say (built before v1.1, or a C plugin that leaves it
    /// out), which means 0: v1.0. Left out of the CBOR when `None`, like `panic_strategy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi_minor: Option<u32>,
}

impl DriverDescription {
    /// The ABI version the plugin declares, as `v1.N` (`v1.0` for a plugin that does not say).
    pub fn abi(&self) -> String {
        format!("v{}.{}", crate::ABI_VERSION, self.abi_minor.unwrap_or(0))
    }
}

/// What a panic in the plugin does: `cfg(panic)` of the plugin's build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanicStrategy {
    /// Panics unwind to the entry points, which catch them (`panic = "unwind"`, the default).
    Unwind,
    /// Panics abort the process that runs the plugin (`panic = "abort"` in the build profile).
    Abort,
}

impl PanicStrategy {
    /// The strategy of the code being compiled where this is expanded: give it
    /// `cfg!(panic = "unwind")`.
    pub const fn of_build(unwinds: bool) -> Self {
        if unwinds {
            PanicStrategy::Unwind
        } else {
            PanicStrategy::Abort
        }
    }
}

/// Matches a port by its udev properties: every listed property must be present and equal
/// (compared case-insensitively, so `ID_VENDOR_ID=2C7C` matches `2c7c`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdevRule {
    /// Property name to required value.
    pub properties: BTreeMap<String, String>,
}

impl UdevRule {
    /// Whether `properties` satisfy this rule. An empty rule matches nothing.
    pub fn matches(&self, properties: &BTreeMap<String, String>) -> bool {
        !self.properties.is_empty()
            && self.properties.iter().all(|(key, want)| {
                properties
                    .get(key)
                    .is_some_and(|have| have.eq_ignore_ascii_case(want))
            })
    }
}

/// Matches a port by what the device answered to the host's AT identification probe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRule {
    /// Case-insensitive substring of the `+CGMI` answer; `None` matches any manufacturer.
    #[serde(default)]
    pub manufacturer: Option<String>,
    /// Case-insensitive substring of the `+CGMM` answer; `None` matches any model.
    #[serde(default)]
    pub model: Option<String>,
    /// Higher wins when several drivers match. A generic driver uses 0, a vendor driver more.
    #[serde(default)]
    pub priority: i32,
}

impl AtRule {
    /// Whether the identification answers satisfy this rule.
    pub fn matches(&self, identity: &AtIdentity) -> bool {
        contains_ignore_case(&identity.manufacturer, self.manufacturer.as_deref())
            && contains_ignore_case(&identity.model, self.model.as_deref())
    }
}

fn contains_ignore_case(haystack: &str, needle: Option<&str>) -> bool {
    needle.is_none_or(|needle| {
        haystack
            .to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase())
    })
}

/// What a port answered to the host's identification probe (`AT+CGMI`, `AT+CGMM`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtIdentity {
    /// Answer to `AT+CGMI`, trimmed ("" if the device gave none).
    pub manufacturer: String,
    /// Answer to `AT+CGMM`, trimmed ("" if the device gave none).
    pub model: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(manufacturer: &str, model: &str) -> AtIdentity {
        AtIdentity {
            manufacturer: manufacturer.into(),
            model: model.into(),
        }
    }

    #[test]
    fn at_rule_matches_substrings_ignoring_case() {
        let rule = AtRule {
            manufacturer: Some("iridium".into()),
            model: None,
            priority: 100,
        };
        assert!(rule.matches(&identity("Iridium", "IRIDIUM 9600 Family SBD Transceiver")));
        assert!(!rule.matches(&identity("Quectel", "EG25")));
        assert!(AtRule::default().matches(&identity("", "")));
    }

    #[test]
    fn kinds_of_api_1_1_use_their_d_bus_names_on_the_wire() {
        for kind in [
            DeviceKind::CellularModem,
            DeviceKind::SatelliteTerminal,
            DeviceKind::BleDevice,
            DeviceKind::GnssReceiver,
            DeviceKind::Sensor,
            DeviceKind::Generic,
        ] {
            let wire = ciborium::Value::serialized(&kind).unwrap();
            assert_eq!(wire, ciborium::Value::Text(kind.as_str().into()));
            assert_eq!(wire.deserialized::<DeviceKind>().unwrap(), kind);
        }
    }

    #[test]
    fn udev_rule_needs_every_property() {
        let rule = UdevRule {
            properties: [
                ("ID_VENDOR_ID".into(), "2c7c".into()),
                ("ID_MODEL_ID".into(), "0125".into()),
            ]
            .into(),
        };
        let mut props: BTreeMap<String, String> = [("ID_VENDOR_ID".into(), "2C7C".into())].into();
        assert!(!rule.matches(&props));
        props.insert("ID_MODEL_ID".into(), "0125".into());
        assert!(rule.matches(&props));
        assert!(!UdevRule::default().matches(&props));
    }
}
