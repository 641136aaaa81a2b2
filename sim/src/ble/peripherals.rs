//! The ready-made peripherals of `m2msim ble` and what a new measurement does to each: a BTHome
//! advertiser changes its advertisement, a GATT sensor its characteristic values, a phone has
//! nothing to measure.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use m2mhal_fake_bluez::{Address, AddressType, PeripheralSpec};
use serde_json::{Value, json};

use super::bthome::{self, Key};
use super::measurement::Measurement;

/// Apple's company identifier, in the manufacturer data of every iPhone.
const APPLE: u16 = 0x004c;

/// What a new BTHome sensor measures until told otherwise.
const BTHOME_INITIAL: Measurement = Measurement {
    temperature: Some(21.0),
    humidity: Some(45.0),
    battery: Some(100.0),
    pressure: None,
};

/// A BTHome v2 advertiser: its measurement, packet id and, if encrypted, key and counter.
#[derive(Debug, Clone)]
pub struct BthomeSensor {
    address: [u8; 6],
    measurement: Measurement,
    packet_id: u8,
    encryption: Option<(Key, u32)>,
}

impl BthomeSensor {
    /// A sensor at `address`, encrypted when it has a `key`.
    pub fn new(address: Address, key: Option<Key>) -> BthomeSensor {
        BthomeSensor {
            address: address.0,
            measurement: BTHOME_INITIAL,
            packet_id: 1,
            encryption: key.map(|key| (key, 1)),
        }
    }

    /// Takes a new measurement: a new packet id (and counter) so receivers see a new packet.
    pub fn measure(&mut self, newer: &Measurement) {
        self.measurement.update(newer);
        self.packet_id = self.packet_id.wrapping_add(1);
        if let Some((_, counter)) = &mut self.encryption {
            *counter = counter.wrapping_add(1);
        }
    }

    /// The service data it advertises now.
    pub fn service_data(&self) -> BTreeMap<String, Vec<u8>> {
        let objects = bthome::objects(Some(self.packet_id), &self.measurement);
        let data = match &self.encryption {
            Some((key, counter)) => bthome::encrypted(&objects, key, &self.address, *counter),
            None => bthome::plain(&objects),
        };
        BTreeMap::from([(bthome::SERVICE_UUID.to_owned(), data)])
    }

    /// The peripheral: a beacon (not connectable) with its name and service data.
    pub fn spec(&self, name: &str) -> PeripheralSpec {
        PeripheralSpec {
            address: Address(self.address),
            name: Some(name.to_owned()),
            rssi: -67,
            service_data: self.service_data(),
            connectable: false,
            ..PeripheralSpec::default()
        }
    }
}

/// What kind of peripheral, with its state.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A BTHome v2 advertiser.
    Bthome(BthomeSensor),
    /// A GATT Environmental Sensing sensor and what it measures now.
    Ess(Measurement),
    /// A phone walking by.
    Phone,
}

/// A peripheral the simulator added.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// Its kind and state.
    pub kind: Kind,
    /// Its advertised name.
    pub name: String,
    /// Whether it is in range.
    pub in_range: bool,
}

impl Simulated {
    /// Its line in `status`.
    pub fn to_json(&self, address: &Address) -> Value {
        let mut fields = json!({
            "address": address.to_string(),
            "name": self.name,
            "in_range": self.in_range,
        });
        let (kind, details) = match &self.kind {
            Kind::Bthome(sensor) => (
                "bthome",
                json!({
                    "encrypted": sensor.encryption.is_some(),
                    "packet_id": sensor.packet_id,
                    "measurement": sensor.measurement.to_json(),
                }),
            ),
            Kind::Ess(measurement) => ("ess", json!({ "measurement": measurement.to_json() })),
            Kind::Phone => ("phone", json!({})),
        };
        fields["kind"] = json!(kind);
        if let (Value::Object(fields), Value::Object(details)) = (&mut fields, details) {
            fields.extend(details);
        }
        fields
    }
}

/// The name a sensor gets when the command names none: its kind and the end of its address.
pub fn default_name(prefix: &str, address: &Address) -> String {
    let [.., e, f] = address.0;
    format!("{prefix} {e:02X}{f:02X}")
}

/// A phone: a random (resolvable private) address type, Apple manufacturer data (a "Nearby Info"
/// message) and a random name, connectable, with no services.
pub fn phone_spec(address: Address) -> PeripheralSpec {
    PeripheralSpec {
        address,
        address_type: AddressType::Random,
        name: Some(random_phone_name()),
        rssi: -72,
        manufacturer_data: BTreeMap::from([(
            APPLE,
            vec![0x10, 0x05, 0x01, 0x18, 0x2f, 0x8c, 0x41],
        )]),
        ..PeripheralSpec::default()
    }
}

/// "iPhone" and four random hex digits, different on every run.
fn random_phone_name() -> String {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("iPhone {:04X}", random & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Address {
        "A4:C1:38:00:11:22".parse().unwrap()
    }

    #[test]
    fn a_new_measurement_is_a_new_packet() {
        let mut sensor = BthomeSensor::new(address(), None);
        let first = sensor.service_data()["fcd2"].clone();
        // 40, packet id 1, battery 100 %, 21.00 C, 45.00 %.
        assert_eq!(
            first,
            [
                0x40, 0x00, 0x01, 0x01, 0x64, 0x02, 0x34, 0x08, 0x03, 0x94, 0x11
            ]
        );
        sensor.measure(&Measurement::parse(["temperature=22"]).unwrap());
        let second = sensor.service_data()["fcd2"].clone();
        assert_eq!(
            second,
            [
                0x40, 0x00, 0x02, 0x01, 0x64, 0x02, 0x98, 0x08, 0x03, 0x94, 0x11
            ]
        );
    }

    #[test]
    fn an_encrypted_sensor_counts_its_packets() {
        let key = [7; 16];
        let mut sensor = BthomeSensor::new(address(), Some(key));
        let first = sensor.service_data()["fcd2"].clone();
        assert_eq!(first[0], 0x41);
        // Info byte, 10 bytes of ciphertext, counter 1, MIC.
        assert_eq!(first.len(), 1 + 10 + 4 + 4);
        assert_eq!(first[11..15], [1, 0, 0, 0]);
        sensor.measure(&Measurement::parse(["battery=50"]).unwrap());
        assert_eq!(sensor.service_data()["fcd2"][11..15], [2, 0, 0, 0]);
    }

    #[test]
    fn a_phone_is_an_apple_device_with_a_random_name() {
        let spec = phone_spec(address());
        assert!(spec.manufacturer_data.contains_key(&0x004c));
        assert!(spec.service_data.is_empty() && spec.uuids.is_empty());
        assert!(spec.name.unwrap().starts_with("iPhone "));
        assert_eq!(spec.address_type, AddressType::Random);
    }
}
