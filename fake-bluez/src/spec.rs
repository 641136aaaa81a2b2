//! What a test or the simulator describes: peripherals, their GATT layout and their
//! advertisements. All of it (de)serializes as JSON, for the binary's script mode; byte strings
//! are hex text there (`"0a1b"`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A Bluetooth device address, shown as `AA:BB:CC:DD:EE:FF`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// The name BlueZ gives the device object under its adapter: `dev_AA_BB_CC_DD_EE_FF`.
    pub fn object_name(&self) -> String {
        format!("dev_{}", self.to_string().replace(':', "_"))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02X}:{b:02X}:{c:02X}:{d:02X}:{e:02X}:{g:02X}")
    }
}

impl FromStr for Address {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidAddress(text.to_owned());
        let mut bytes = [0u8; 6];
        let mut parts = text.split(':');
        for byte in &mut bytes {
            let part = parts.next().ok_or_else(invalid)?;
            if part.len() != 2 {
                return Err(invalid());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| invalid())?;
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(Address(bytes))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The LE address type, as BlueZ's `AddressType` property spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressType {
    /// A public (IEEE-assigned) address.
    #[default]
    Public,
    /// A random (static or private) address.
    Random,
}

impl AddressType {
    /// The property value: `"public"` or `"random"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AddressType::Public => "public",
            AddressType::Random => "random",
        }
    }
}

/// A simulated BLE peripheral: what it advertises and the GATT database it serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeripheralSpec {
    /// Its address.
    pub address: Address,
    /// Public or random address.
    pub address_type: AddressType,
    /// The advertised local name, if any.
    pub name: Option<String>,
    /// Signal strength the adapter receives, in dBm.
    pub rssi: i16,
    /// Advertised TX power level, in dBm.
    pub tx_power: Option<i16>,
    /// Advertised GAP appearance.
    pub appearance: Option<u16>,
    /// Manufacturer-specific data: company id to bytes.
    #[serde(with = "hex_map")]
    pub manufacturer_data: BTreeMap<u16, Vec<u8>>,
    /// Service data: service UUID (any length, normalised on add) to bytes.
    #[serde(with = "hex_map")]
    pub service_data: BTreeMap<String, Vec<u8>>,
    /// Advertised service UUIDs.
    pub uuids: Vec<String>,
    /// Whether it accepts connections (false for a pure beacon).
    pub connectable: bool,
    /// The ATT MTU the connection ends up with.
    pub mtu: u16,
    /// Its GATT services, in handle order.
    pub services: Vec<ServiceSpec>,
}

impl Default for PeripheralSpec {
    fn default() -> Self {
        PeripheralSpec {
            address: Address::default(),
            address_type: AddressType::Public,
            name: None,
            rssi: -60,
            tx_power: None,
            appearance: None,
            manufacturer_data: BTreeMap::new(),
            service_data: BTreeMap::new(),
            uuids: Vec::new(),
            connectable: true,
            mtu: 247,
            services: Vec::new(),
        }
    }
}

/// A GATT service of a peripheral.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Service UUID (any length).
    pub uuid: String,
    /// Primary (true) or secondary service.
    #[serde(default = "primary_default")]
    pub primary: bool,
    /// Its characteristics, in handle order.
    #[serde(default)]
    pub characteristics: Vec<CharSpec>,
}

fn primary_default() -> bool {
    true
}

/// A GATT characteristic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharSpec {
    /// Characteristic UUID (any length).
    pub uuid: String,
    /// BlueZ flag names: `read`, `write`, `write-without-response`, `notify`, `indicate`,
    /// `reliable-write`, ...
    pub flags: Vec<String>,
    /// The value the peripheral holds.
    #[serde(default, with = "hex")]
    pub value: Vec<u8>,
    /// Descriptors; a Client Characteristic Configuration descriptor is added for `notify` and
    /// `indicate` characteristics that don't list one.
    #[serde(default)]
    pub descriptors: Vec<DescSpec>,
}

/// A GATT descriptor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescSpec {
    /// Descriptor UUID (any length).
    pub uuid: String,
    /// `read` and/or `write`.
    pub flags: Vec<String>,
    /// The value the peripheral holds.
    #[serde(default, with = "hex")]
    pub value: Vec<u8>,
}

/// A change in what a peripheral advertises; `None` leaves a field as it was.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdvUpdate {
    /// New received signal strength, in dBm.
    pub rssi: Option<i16>,
    /// New service data (the whole set the advertisement carries).
    #[serde(with = "hex_map_option")]
    pub service_data: Option<BTreeMap<String, Vec<u8>>>,
    /// New manufacturer data (the whole set the advertisement carries).
    #[serde(with = "hex_map_option")]
    pub manufacturer_data: Option<BTreeMap<u16, Vec<u8>>>,
}

/// Lower-case hex text for byte strings.
pub(crate) mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    /// `[0x0a, 0x1b]` as `"0a1b"`.
    pub fn encode(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `"0a1b"` (or `"0A1B"`) as bytes; `None` if it isn't an even number of hex digits.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        if !text.len().is_multiple_of(2) || !text.is_ascii() {
            return None;
        }
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect()
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text).ok_or_else(|| serde::de::Error::custom(format!("not hex bytes: {text:?}")))
    }
}

/// Maps whose values are byte strings, as hex text.
mod hex_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, S>(map: &BTreeMap<K, Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        S: Serializer,
    {
        serializer.collect_map(map.iter().map(|(k, v)| (k, super::hex::encode(v))))
    }

    pub fn deserialize<'de, K, D>(deserializer: D) -> Result<BTreeMap<K, Vec<u8>>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        D: Deserializer<'de>,
    {
        BTreeMap::<K, String>::deserialize(deserializer)?
            .into_iter()
            .map(|(k, text)| {
                super::hex::decode(&text)
                    .map(|v| (k, v))
                    .ok_or_else(|| serde::de::Error::custom(format!("not hex bytes: {text:?}")))
            })
            .collect()
    }
}

/// Optional maps whose values are byte strings, as hex text.
mod hex_map_option {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, S>(
        map: &Option<BTreeMap<K, Vec<u8>>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        S: Serializer,
    {
        match map {
            Some(map) => super::hex_map::serialize(map, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, K, D>(deserializer: D) -> Result<Option<BTreeMap<K, Vec<u8>>>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        D: Deserializer<'de>,
    {
        super::hex_map::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_and_names_its_object() {
        let address: Address = "aa:bb:cc:dd:ee:0f".parse().unwrap();
        assert_eq!(address.to_string(), "AA:BB:CC:DD:EE:0F");
        assert_eq!(address.object_name(), "dev_AA_BB_CC_DD_EE_0F");
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for text in [
            "",
            "AA:BB:CC:DD:EE",
            "AA:BB:CC:DD:EE:FF:00",
            "AAB:B:CC:DD:EE:FF",
            "GG:BB:CC:DD:EE:FF",
        ] {
            assert!(text.parse::<Address>().is_err(), "{text}");
        }
    }

    #[test]
    fn spec_reads_from_script_json_with_hex_bytes() {
        let spec: PeripheralSpec = serde_json::from_str(
            r#"{"address":"C4:7C:8D:6A:11:22","name":"Flower care","rssi":-48,
                "service_data":{"fe95":"7120980000"},
                "manufacturer_data":{"76":"0215"},
                "services":[{"uuid":"180f","characteristics":[
                    {"uuid":"2a19","flags":["read","notify"],"value":"64"}]}]}"#,
        )
        .unwrap();
        assert_eq!(spec.address.to_string(), "C4:7C:8D:6A:11:22");
        assert_eq!(spec.rssi, -48);
        assert_eq!(
            spec.service_data["fe95"],
            vec![0x71, 0x20, 0x98, 0x00, 0x00]
        );
        assert_eq!(spec.manufacturer_data[&76], vec![0x02, 0x15]);
        assert_eq!(spec.services[0].characteristics[0].value, vec![0x64]);
        assert!(spec.services[0].primary);
        assert!(spec.connectable);
    }

    #[test]
    fn odd_hex_is_rejected() {
        assert_eq!(hex::decode("0a1"), None);
        assert_eq!(hex::decode("zz"), None);
        assert_eq!(hex::decode("0A1b"), Some(vec![0x0a, 0x1b]));
    }
}
