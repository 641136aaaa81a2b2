//! The standard GATT services and characteristics the driver uses by itself, with their
//! decoders (Bluetooth GATT Specification Supplement): Device Information (0x180A), Battery
//! (0x180F) and Environmental Sensing (0x181A).

use m2mhal_plugin_api::DeviceUpdate;
use m2mhal_plugin_api::ble::short_uuid;

/// Environmental Sensing service.
pub(crate) const ENVIRONMENTAL_SENSING: u16 = 0x181a;
/// Battery service.
pub(crate) const BATTERY_SERVICE: u16 = 0x180f;

/// Canonical form of a 16-bit UUID.
pub(crate) fn uuid16(short: u16) -> String {
    format!("{short:08x}-0000-1000-8000-00805f9b34fb")
}

/// A characteristic whose value is a sensor reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SensorCharacteristic {
    /// 0x2A19 Battery Level: uint8, percent (0..=100).
    BatteryLevel,
    /// 0x2A6E Temperature: sint16, 0.01 degrees C; 0x8000 = not known.
    Temperature,
    /// 0x2A6F Humidity: uint16, 0.01 %; 0xFFFF = not known.
    Humidity,
    /// 0x2A6D Pressure: uint32, 0.1 Pa (published in hPa).
    Pressure,
}

/// A sensor value that does not follow its characteristic's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ValueError {
    /// Not the characteristic's size.
    #[error("{name}: {got} bytes, expected {expected}")]
    Length {
        /// The characteristic.
        name: &'static str,
        /// Bytes received.
        got: usize,
        /// Its size.
        expected: usize,
    },
    /// A value the specification prohibits.
    #[error("{name}: value {raw} is out of range")]
    OutOfRange {
        /// The characteristic.
        name: &'static str,
        /// The raw value.
        raw: i64,
    },
}

impl SensorCharacteristic {
    /// In the order they are read.
    pub const ALL: [SensorCharacteristic; 4] = [
        SensorCharacteristic::BatteryLevel,
        SensorCharacteristic::Temperature,
        SensorCharacteristic::Humidity,
        SensorCharacteristic::Pressure,
    ];

    /// Its 16-bit UUID.
    pub fn uuid16(self) -> u16 {
        match self {
            SensorCharacteristic::BatteryLevel => 0x2a19,
            SensorCharacteristic::Temperature => 0x2a6e,
            SensorCharacteristic::Humidity => 0x2a6f,
            SensorCharacteristic::Pressure => 0x2a6d,
        }
    }

    /// The one with this canonical UUID.
    pub fn from_uuid(uuid: &str) -> Option<SensorCharacteristic> {
        let short = short_uuid(uuid)?;
        Self::ALL.into_iter().find(|c| c.uuid16() == short)
    }

    /// The `Sensor.Readings` key of its value.
    pub fn reading_key(self) -> &'static str {
        match self {
            SensorCharacteristic::BatteryLevel => "battery",
            SensorCharacteristic::Temperature => "temperature",
            SensorCharacteristic::Humidity => "humidity",
            SensorCharacteristic::Pressure => "pressure",
        }
    }

    /// Its name in the specification, for logs.
    fn name(self) -> &'static str {
        match self {
            SensorCharacteristic::BatteryLevel => "Battery Level",
            SensorCharacteristic::Temperature => "Temperature",
            SensorCharacteristic::Humidity => "Humidity",
            SensorCharacteristic::Pressure => "Pressure",
        }
    }

    /// The reading in the key's unit; `None` when the device says "value is not known".
    pub fn decode(self, value: &[u8]) -> Result<Option<f64>, ValueError> {
        let name = self.name();
        let out_of_range = |raw: i64| ValueError::OutOfRange { name, raw };
        match self {
            SensorCharacteristic::BatteryLevel => match exact(name, value)? {
                [percent @ 0..=100] => Ok(Some(f64::from(percent))),
                [raw] => Err(out_of_range(i64::from(raw))),
            },
            SensorCharacteristic::Temperature => {
                let raw = i16::from_le_bytes(exact(name, value)?);
                Ok((raw != i16::MIN).then(|| f64::from(raw) / 100.0))
            }
            SensorCharacteristic::Humidity => match u16::from_le_bytes(exact(name, value)?) {
                u16::MAX => Ok(None),
                raw @ 0..=10_000 => Ok(Some(f64::from(raw) / 100.0)),
                raw => Err(out_of_range(i64::from(raw))),
            },
            SensorCharacteristic::Pressure => {
                let raw = u32::from_le_bytes(exact(name, value)?);
                // 0.1 Pa units; 1 hPa = 100 Pa = 1000 units.
                Ok(Some(f64::from(raw) / 1000.0))
            }
        }
    }
}

/// The value of a fixed-size characteristic.
fn exact<const N: usize>(name: &'static str, value: &[u8]) -> Result<[u8; N], ValueError> {
    value.try_into().map_err(|_| ValueError::Length {
        name,
        got: value.len(),
        expected: N,
    })
}

/// A Device Information (0x180A) string characteristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InfoCharacteristic {
    /// 0x2A29 Manufacturer Name String.
    Manufacturer,
    /// 0x2A24 Model Number String.
    Model,
    /// 0x2A26 Firmware Revision String.
    FirmwareRevision,
    /// 0x2A25 Serial Number String.
    SerialNumber,
}

impl InfoCharacteristic {
    /// In the order they are read.
    pub const ALL: [InfoCharacteristic; 4] = [
        InfoCharacteristic::Manufacturer,
        InfoCharacteristic::Model,
        InfoCharacteristic::FirmwareRevision,
        InfoCharacteristic::SerialNumber,
    ];

    /// Its 16-bit UUID.
    pub fn uuid16(self) -> u16 {
        match self {
            InfoCharacteristic::Manufacturer => 0x2a29,
            InfoCharacteristic::Model => 0x2a24,
            InfoCharacteristic::FirmwareRevision => 0x2a26,
            InfoCharacteristic::SerialNumber => 0x2a25,
        }
    }

    /// The device update that publishes `value` (UTF-8, NUL padding and blanks trimmed);
    /// `None` when nothing is left.
    pub fn update(self, value: &[u8]) -> Option<DeviceUpdate> {
        let text = String::from_utf8_lossy(value);
        let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        if text.is_empty() {
            return None;
        }
        let text = Some(text.to_owned());
        let mut update = DeviceUpdate::default();
        match self {
            InfoCharacteristic::Manufacturer => update.manufacturer = text,
            InfoCharacteristic::Model => update.model = text,
            InfoCharacteristic::FirmwareRevision => update.revision = text,
            InfoCharacteristic::SerialNumber => update.serial_number = text,
        }
        Some(update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_2a6e() {
        let t = SensorCharacteristic::Temperature;
        // 0x09D2 = 2514 -> 25.14 C.
        assert_eq!(t.decode(&[0xd2, 0x09]), Ok(Some(25.14)));
        // -10.5 C = -1050 = 0xFBE6; the lowest allowed value, -273.15 C = 0x954D.
        assert_eq!(t.decode(&[0xe6, 0xfb]), Ok(Some(-10.5)));
        assert_eq!(t.decode(&[0x4d, 0x95]), Ok(Some(-273.15)));
        // 0x8000: value is not known.
        assert_eq!(t.decode(&[0x00, 0x80]), Ok(None));
        assert_eq!(
            t.decode(&[0xd2]),
            Err(ValueError::Length {
                name: "Temperature",
                got: 1,
                expected: 2
            })
        );
    }

    #[test]
    fn humidity_2a6f() {
        let h = SensorCharacteristic::Humidity;
        // 0x1388 = 5000 -> 50.00 %, 0x1A0B = 6667 -> 66.67 %.
        assert_eq!(h.decode(&[0x88, 0x13]), Ok(Some(50.0)));
        assert_eq!(h.decode(&[0x0b, 0x1a]), Ok(Some(66.67)));
        assert_eq!(h.decode(&[0xff, 0xff]), Ok(None));
        assert!(matches!(
            h.decode(&[0x11, 0x27]),
            Err(ValueError::OutOfRange { raw: 10_001, .. })
        ));
    }

    #[test]
    fn pressure_2a6d() {
        // Standard atmosphere 101325 Pa = 1013250 (0x000F7602) -> 1013.25 hPa.
        let p = SensorCharacteristic::Pressure;
        assert_eq!(p.decode(&[0x02, 0x76, 0x0f, 0x00]), Ok(Some(1013.25)));
        assert!(p.decode(&[0x02, 0x76, 0x0f]).is_err());
    }

    #[test]
    fn battery_level_2a19() {
        let b = SensorCharacteristic::BatteryLevel;
        assert_eq!(b.decode(&[0x5a]), Ok(Some(90.0)));
        assert_eq!(b.decode(&[100]), Ok(Some(100.0)));
        assert!(matches!(
            b.decode(&[101]),
            Err(ValueError::OutOfRange { raw: 101, .. })
        ));
        assert!(b.decode(&[]).is_err());
    }

    #[test]
    fn sensor_characteristics_by_uuid() {
        assert_eq!(
            SensorCharacteristic::from_uuid("00002a6e-0000-1000-8000-00805f9b34fb"),
            Some(SensorCharacteristic::Temperature)
        );
        assert_eq!(
            SensorCharacteristic::from_uuid("00002a29-0000-1000-8000-00805f9b34fb"),
            None
        );
        assert_eq!(uuid16(0x2a19), "00002a19-0000-1000-8000-00805f9b34fb");
    }

    #[test]
    fn device_information_strings() {
        let update = InfoCharacteristic::Manufacturer
            .update(b"Nordic Semiconductor\0\0\0")
            .unwrap();
        assert_eq!(update.manufacturer.as_deref(), Some("Nordic Semiconductor"));
        let update = InfoCharacteristic::FirmwareRevision
            .update(b" 1.2.3 ")
            .unwrap();
        assert_eq!(update.revision.as_deref(), Some("1.2.3"));
        let update = InfoCharacteristic::SerialNumber.update(b"SN\xff1").unwrap();
        assert_eq!(update.serial_number.as_deref(), Some("SN\u{fffd}1"));
        assert_eq!(InfoCharacteristic::Model.update(b"\0\0"), None);
    }
}
