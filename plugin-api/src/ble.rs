//! Bluetooth Low Energy parts of the ABI: advertisements, GATT layout and operations, claim
//! rules. UUIDs always travel in canonical form: lower-case, 128-bit, hyphenated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The Bluetooth base UUID that 16- and 32-bit UUIDs expand into.
const BASE_UUID_SUFFIX: &str = "-0000-1000-8000-00805f9b34fb";

/// Canonical form of a UUID given as 16-bit (`2a19`, `0x2A19`), 32-bit or 128-bit text;
/// `None` if it is not a UUID.
pub fn normalize_uuid(text: &str) -> Option<String> {
    let text = text.trim();
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let is_hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
    match hex.len() {
        4 | 8 if is_hex(hex) => Some(format!(
            "{:0>8}{BASE_UUID_SUFFIX}",
            hex.to_ascii_lowercase()
        )),
        36 => {
            let groups: Vec<&str> = hex.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            (lengths == [8, 4, 4, 4, 12] && groups.iter().all(|g| is_hex(g)))
                .then(|| hex.to_ascii_lowercase())
        }
        32 if is_hex(hex) => {
            let h = hex.to_ascii_lowercase();
            Some(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        _ => None,
    }
}

/// The 16-bit short form of a canonical UUID built on the Bluetooth base, if it has one.
pub fn short_uuid(uuid: &str) -> Option<u16> {
    let head = uuid.strip_suffix(BASE_UUID_SUFFIX)?;
    let head = head.strip_prefix("0000")?;
    u16::from_str_radix(head, 16).ok()
}

/// One advertisement (or scan response) as the host saw it, merged with what it knew before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Advertisement {
    /// Device address, upper-case `AA:BB:CC:DD:EE:FF`.
    pub address: String,
    /// Advertised local name.
    pub name: Option<String>,
    /// Received signal strength, dBm.
    pub rssi: Option<i16>,
    /// Advertised transmit power, dBm.
    pub tx_power: Option<i16>,
    /// Manufacturer-specific data by company id.
    pub manufacturer_data: BTreeMap<u16, ByteBuf>,
    /// Service data by canonical service UUID.
    pub service_data: BTreeMap<String, ByteBuf>,
    /// Advertised service UUIDs, canonical.
    pub services: Vec<String>,
}

/// What makes a BLE driver claim a peripheral: any listed UUID, company id or name pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BleRule {
    /// Advertised service UUIDs (any form [`normalize_uuid`] accepts).
    pub service_uuids: Vec<String>,
    /// Service data UUIDs (BTHome is `fcd2`).
    pub service_data_uuids: Vec<String>,
    /// Manufacturer (company) ids.
    pub manufacturer_ids: Vec<u16>,
    /// Local name patterns; `*` matches any run of characters.
    pub name_patterns: Vec<String>,
    /// Higher wins when several drivers match.
    pub priority: i32,
}

impl BleRule {
    /// Whether the advertisement satisfies any criterion of this rule.
    pub fn matches(&self, adv: &Advertisement) -> bool {
        fn any_listed<'a>(list: &[String], mut present: impl Iterator<Item = &'a String>) -> bool {
            let wanted: Vec<String> = list.iter().filter_map(|u| normalize_uuid(u)).collect();
            present.any(|u| wanted.contains(u))
        }
        any_listed(&self.service_uuids, adv.services.iter())
            || any_listed(&self.service_data_uuids, adv.service_data.keys())
            || adv
                .manufacturer_data
                .keys()
                .any(|id| self.manufacturer_ids.contains(id))
            || adv.name.as_deref().is_some_and(|name| {
                self.name_patterns
                    .iter()
                    .any(|pattern| glob_matches(pattern, name))
            })
    }
}

/// `*`-only glob matching.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A GATT service of a connected peripheral.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GattService {
    /// Canonical UUID.
    pub uuid: String,
    /// Its characteristics.
    pub characteristics: Vec<GattCharacteristic>,
}

/// A GATT characteristic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GattCharacteristic {
    /// Canonical UUID.
    pub uuid: String,
    /// BlueZ-style flags: `read`, `write`, `write-without-response`, `notify`, `indicate`, ...
    pub flags: Vec<String>,
}

/// A GATT operation the driver asks the host to perform; the result comes back as
/// [`crate::Event::GattDone`] with the same `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GattOp {
    /// Driver-chosen id correlating the result.
    pub op: u64,
    /// Canonical characteristic UUID.
    pub characteristic: String,
    /// What to do.
    pub action: GattAction,
}

/// The kinds of GATT operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GattAction {
    /// Read the value.
    Read,
    /// Write a value.
    Write {
        /// The bytes to write.
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
        /// Write request (true) or command (false).
        with_response: bool,
    },
    /// Start notifications (or indications).
    Subscribe,
    /// Stop them.
    Unsubscribe,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_normalize_from_every_form() {
        let battery = "00002a19-0000-1000-8000-00805f9b34fb";
        assert_eq!(normalize_uuid("2a19").as_deref(), Some(battery));
        assert_eq!(normalize_uuid("0x2A19").as_deref(), Some(battery));
        assert_eq!(
            normalize_uuid("00002A19-0000-1000-8000-00805F9B34FB").as_deref(),
            Some(battery)
        );
        assert_eq!(
            normalize_uuid("00002a1900001000800000805f9b34fb").as_deref(),
            Some(battery)
        );
        assert_eq!(normalize_uuid("2a1"), None);
        assert_eq!(normalize_uuid("zz19"), None);
        assert_eq!(normalize_uuid("00002a19-0000-1000-8000_00805f9b34fb"), None);
        assert_eq!(short_uuid(battery), Some(0x2a19));
        assert_eq!(short_uuid("12345678-0000-1000-8000-00805f9b34fb"), None);
    }

    #[test]
    fn rules_match_any_criterion() {
        let mut adv = Advertisement {
            address: "A4:C1:38:00:11:22".into(),
            name: Some("ATC_001122".into()),
            ..Default::default()
        };
        let by_name = BleRule {
            name_patterns: vec!["ATC_*".into()],
            ..Default::default()
        };
        assert!(by_name.matches(&adv));
        let bthome = BleRule {
            service_data_uuids: vec!["fcd2".into()],
            ..Default::default()
        };
        assert!(!bthome.matches(&adv));
        adv.service_data
            .insert(normalize_uuid("fcd2").unwrap(), ByteBuf::from(vec![0x40]));
        assert!(bthome.matches(&adv));
        assert!(!BleRule::default().matches(&adv));
    }

    #[test]
    fn glob_patterns() {
        assert!(glob_matches("ATC_*", "ATC_1234"));
        assert!(glob_matches("*sensor*", "my sensor 2"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(!glob_matches("a*b*c", "acb"));
        assert!(glob_matches("a*b*c", "a-b-c"));
    }
}
