//! A simulated GATT environmental sensor: Device Information (0x180A), Battery (0x180F) and
//! Environmental Sensing (0x181A) with their standard characteristics, plus a vendor service with
//! a 128-bit writable characteristic for trying generic GATT access. Values are encoded as the
//! GATT Specification Supplement says.

use m2mhal_fake_bluez::{Address, CharSpec, PeripheralSpec, ServiceSpec};

use super::measurement::{Measurement, Quantity};

/// The vendor service of the simulated sensor (128-bit).
pub const VENDOR_SERVICE: &str = "6d326d73-696d-4000-8000-000000000001";
/// Its characteristic: read, write (with and without response) and notify; holds a label.
pub const LABEL_CHARACTERISTIC: &str = "6d326d73-696d-4000-8000-000000000002";

/// What a new sensor measures until told otherwise.
pub const INITIAL: Measurement = Measurement {
    temperature: Some(21.0),
    humidity: Some(45.0),
    battery: Some(100.0),
    pressure: Some(1013.25),
};

/// The characteristic that carries `quantity`.
fn characteristic(quantity: Quantity) -> &'static str {
    match quantity {
        Quantity::Battery => "2a19",
        Quantity::Temperature => "2a6e",
        Quantity::Humidity => "2a6f",
        Quantity::Pressure => "2a6d",
    }
}

/// The characteristic value for `quantity` at `value` (range-checked when measured):
/// Battery Level uint8 %, Temperature sint16 0.01 C, Humidity uint16 0.01 %, Pressure uint32
/// 0.1 Pa.
fn encode(quantity: Quantity, value: f64) -> Vec<u8> {
    match quantity {
        Quantity::Battery => vec![value.round() as u8],
        Quantity::Temperature => ((value * 100.0).round() as i16).to_le_bytes().to_vec(),
        Quantity::Humidity => ((value * 100.0).round() as u16).to_le_bytes().to_vec(),
        // 1 hPa = 100 Pa = 1000 units of 0.1 Pa.
        Quantity::Pressure => ((value * 1000.0).round() as u32).to_le_bytes().to_vec(),
    }
}

/// The characteristic values for what `measurement` reports: (UUID, value) pairs.
pub fn values(measurement: &Measurement) -> Vec<(&'static str, Vec<u8>)> {
    Quantity::ALL
        .into_iter()
        .filter_map(|q| Some((characteristic(q), encode(q, measurement.get(q)?))))
        .collect()
}

/// The peripheral: advertises its name and the Environmental Sensing service, connectable.
pub fn spec(address: Address, name: &str, measurement: &Measurement) -> PeripheralSpec {
    let value_of = |quantity| {
        measurement
            .get(quantity)
            .map(|value| encode(quantity, value))
            .unwrap_or_default()
    };
    let sensor = |quantity| {
        characteristic_spec(
            characteristic(quantity),
            &["read", "notify"],
            value_of(quantity),
        )
    };
    let text =
        |uuid: &str, value: &str| characteristic_spec(uuid, &["read"], value.as_bytes().to_vec());
    let [a, b, c, d, e, f] = address.0;
    let serial = format!("{a:02X}{b:02X}{c:02X}{d:02X}{e:02X}{f:02X}");
    PeripheralSpec {
        address,
        name: Some(name.to_owned()),
        rssi: -58,
        uuids: vec!["181a".to_owned()],
        services: vec![
            service(
                "180a",
                vec![
                    text("2a29", "m2msim"),
                    text("2a24", name),
                    text("2a26", env!("CARGO_PKG_VERSION")),
                    text("2a25", &serial),
                ],
            ),
            service("180f", vec![sensor(Quantity::Battery)]),
            service(
                "181a",
                vec![
                    sensor(Quantity::Temperature),
                    sensor(Quantity::Humidity),
                    sensor(Quantity::Pressure),
                ],
            ),
            service(
                VENDOR_SERVICE,
                vec![characteristic_spec(
                    LABEL_CHARACTERISTIC,
                    &["read", "write", "write-without-response", "notify"],
                    b"m2msim".to_vec(),
                )],
            ),
        ],
        ..PeripheralSpec::default()
    }
}

fn service(uuid: &str, characteristics: Vec<CharSpec>) -> ServiceSpec {
    ServiceSpec {
        uuid: uuid.to_owned(),
        primary: true,
        characteristics,
    }
}

fn characteristic_spec(uuid: &str, flags: &[&str], value: Vec<u8>) -> CharSpec {
    CharSpec {
        uuid: uuid.to_owned(),
        flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
        value,
        descriptors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_gatt_supplement() {
        let measurement = Measurement::parse([
            "temperature=21.5",
            "humidity=40",
            "battery=90",
            "pressure=1013.2",
        ])
        .unwrap();
        assert_eq!(
            values(&measurement),
            vec![
                ("2a19", vec![90]),
                // 2150 = 0x0866
                ("2a6e", vec![0x66, 0x08]),
                // 4000 = 0x0FA0
                ("2a6f", vec![0xa0, 0x0f]),
                // 1013.2 hPa = 101320 Pa = 1013200 (0x000F75D0) in 0.1 Pa
                ("2a6d", vec![0xd0, 0x75, 0x0f, 0x00]),
            ]
        );
        let cold = Measurement::parse(["temperature=-10.25"]).unwrap();
        // -1025 = 0xFBFF
        assert_eq!(values(&cold), vec![("2a6e", vec![0xff, 0xfb])]);
    }

    #[test]
    fn the_sensor_advertises_ess_and_serves_the_standard_services() {
        let address = "C0:FF:EE:00:00:01".parse().unwrap();
        let spec = spec(address, "ESS sensor", &INITIAL);
        assert_eq!(spec.uuids, ["181a"]);
        assert!(spec.connectable);
        let services: Vec<&str> = spec.services.iter().map(|s| s.uuid.as_str()).collect();
        assert_eq!(services, ["180a", "180f", "181a", VENDOR_SERVICE]);
        let serial = &spec.services[0].characteristics[3];
        assert_eq!(
            (serial.uuid.as_str(), serial.value.as_slice()),
            ("2a25", &b"C0FFEE000001"[..])
        );
        let temperature = &spec.services[2].characteristics[0];
        assert_eq!(temperature.flags, ["read", "notify"]);
        // 21.00 C = 2100 = 0x0834
        assert_eq!(temperature.value, [0x34, 0x08]);
    }
}
