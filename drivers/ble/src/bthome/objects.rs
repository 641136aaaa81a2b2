//! The BTHome v2 object table (<https://bthome.io/format/>) and the walk over a packet's objects.
//!
//! Every reading is converted to the unit of its key (see the crate documentation): `distance` is
//! in metres whether the device sent millimetres (0x40) or decimetres (0x41), `volume` in litres,
//! `mass` in kilograms. Binary sensors read 0 or 1, `button` is the event code (1 press,
//! 2 double press, 3 triple press, 4 long press, 5 long double, 6 long triple, 0x80 hold).

use std::collections::BTreeMap;

use super::{Packet, Stop};

/// What an object id stands for.
#[derive(Debug, Clone, Copy)]
enum Object {
    /// 0x00, the packet id (uint8).
    PacketId,
    /// A reading: a little-endian integer scaled to the key's unit.
    Reading {
        key: &'static str,
        int: Int,
        scale: Scale,
    },
    /// 0x3C: dimmer event (none, rotate left, rotate right) and number of steps.
    Dimmer,
    /// Device information that is not a reading (device type, firmware version): skipped.
    Skip(usize),
    /// A length byte and that many bytes (text, raw): skipped.
    Counted,
}

/// A little-endian integer.
#[derive(Debug, Clone, Copy)]
struct Int {
    bytes: usize,
    signed: bool,
}

/// Scaling of the integer to the reading's unit.
#[derive(Debug, Clone, Copy)]
enum Scale {
    /// Divided by 10^n: the decimal factors of the format, exactly (25.06, not 25.060000000000002).
    Decimal(i32),
    /// Multiplied by a factor that is not a power of ten.
    Factor(f64),
}

use Scale::{Decimal, Factor};

const fn unsigned(key: &'static str, bytes: usize, scale: Scale) -> Object {
    Object::Reading {
        key,
        int: Int {
            bytes,
            signed: false,
        },
        scale,
    }
}

const fn signed(key: &'static str, bytes: usize, scale: Scale) -> Object {
    Object::Reading {
        key,
        int: Int {
            bytes,
            signed: true,
        },
        scale,
    }
}

/// A binary sensor: one byte, 0 or 1.
const fn flag(key: &'static str) -> Object {
    unsigned(key, 1, Decimal(0))
}

/// Pounds per hundredth of a pound, in kilograms.
const CENTI_POUND_KG: f64 = 0.01 * 0.453_592_37;

/// The object with this id, if this decoder knows it.
fn object(id: u8) -> Option<Object> {
    Some(match id {
        0x00 => Object::PacketId,
        0x01 => unsigned("battery", 1, Decimal(0)),
        0x02 => signed("temperature", 2, Decimal(2)),
        0x03 => unsigned("humidity", 2, Decimal(2)),
        0x04 => unsigned("pressure", 3, Decimal(2)),
        0x05 => unsigned("illuminance", 3, Decimal(2)),
        0x06 => unsigned("mass", 2, Decimal(2)),
        0x07 => unsigned("mass", 2, Factor(CENTI_POUND_KG)),
        0x08 => signed("dew_point", 2, Decimal(2)),
        0x09 => unsigned("count", 1, Decimal(0)),
        0x0A => unsigned("energy", 3, Decimal(3)),
        0x0B => unsigned("power", 3, Decimal(2)),
        0x0C => unsigned("voltage", 2, Decimal(3)),
        0x0D => unsigned("pm25", 2, Decimal(0)),
        0x0E => unsigned("pm10", 2, Decimal(0)),
        0x0F => flag("generic_boolean"),
        0x10 => flag("power_on"),
        0x11 => flag("opening"),
        0x12 => unsigned("co2", 2, Decimal(0)),
        0x13 => unsigned("tvoc", 2, Decimal(0)),
        0x14 => unsigned("moisture", 2, Decimal(2)),
        0x15 => flag("battery_low"),
        0x16 => flag("battery_charging"),
        0x17 => flag("carbon_monoxide"),
        0x18 => flag("cold"),
        0x19 => flag("connectivity"),
        0x1A => flag("door"),
        0x1B => flag("garage_door"),
        0x1C => flag("gas_detected"),
        0x1D => flag("heat"),
        0x1E => flag("light"),
        0x1F => flag("lock"),
        0x20 => flag("moisture_detected"),
        0x21 => flag("motion"),
        0x22 => flag("moving"),
        0x23 => flag("occupancy"),
        0x24 => flag("plug"),
        0x25 => flag("presence"),
        0x26 => flag("problem"),
        0x27 => flag("running"),
        0x28 => flag("safety"),
        0x29 => flag("smoke"),
        0x2A => flag("sound"),
        0x2B => flag("tamper"),
        0x2C => flag("vibration"),
        0x2D => flag("window"),
        0x2E => unsigned("humidity", 1, Decimal(0)),
        0x2F => unsigned("moisture", 1, Decimal(0)),
        0x3A => unsigned("button", 1, Decimal(0)),
        0x3C => Object::Dimmer,
        0x3D => unsigned("count", 2, Decimal(0)),
        0x3E => unsigned("count", 4, Decimal(0)),
        0x3F => signed("rotation", 2, Decimal(1)),
        0x40 => unsigned("distance", 2, Decimal(3)),
        0x41 => unsigned("distance", 2, Decimal(1)),
        0x42 => unsigned("duration", 3, Decimal(3)),
        0x43 => unsigned("current", 2, Decimal(3)),
        0x44 => unsigned("speed", 2, Decimal(2)),
        0x45 => signed("temperature", 2, Decimal(1)),
        0x46 => unsigned("uv_index", 1, Decimal(1)),
        0x47 => unsigned("volume", 2, Decimal(1)),
        0x48 => unsigned("volume", 2, Decimal(3)),
        0x49 => unsigned("flow_rate", 2, Decimal(3)),
        0x4A => unsigned("voltage", 2, Decimal(1)),
        0x4B => unsigned("gas", 3, Decimal(3)),
        0x4C => unsigned("gas", 4, Decimal(3)),
        0x4D => unsigned("energy", 4, Decimal(3)),
        0x4E => unsigned("volume", 4, Decimal(3)),
        0x4F => unsigned("water", 4, Decimal(3)),
        0x50 => unsigned("timestamp", 4, Decimal(0)),
        0x51 => unsigned("acceleration", 2, Decimal(3)),
        0x52 => unsigned("gyroscope", 2, Decimal(3)),
        0x53 | 0x54 => Object::Counted,
        0x55 => unsigned("volume_storage", 4, Decimal(3)),
        0x56 => unsigned("conductivity", 2, Decimal(0)),
        0x57 => signed("temperature", 1, Decimal(0)),
        0x58 => signed("temperature", 1, Factor(0.35)),
        0x59 => signed("count", 1, Decimal(0)),
        0x5A => signed("count", 2, Decimal(0)),
        0x5B => signed("count", 4, Decimal(0)),
        0x5C => signed("power", 4, Decimal(2)),
        0x5D => signed("current", 2, Decimal(3)),
        0x5E => unsigned("direction", 2, Decimal(2)),
        0x5F => unsigned("precipitation", 2, Decimal(1)),
        0x60 => unsigned("channel", 1, Decimal(0)),
        0x61 => unsigned("rotational_speed", 2, Decimal(0)),
        0x62 => signed("speed", 4, Decimal(6)),
        0x63 => signed("acceleration", 4, Decimal(6)),
        0x64 => unsigned("light_level", 1, Decimal(0)),
        0xF0 => Object::Skip(2),
        0xF1 => Object::Skip(4),
        0xF2 => Object::Skip(3),
        _ => return None,
    })
}

impl Int {
    /// The value of exactly `self.bytes` little-endian bytes.
    fn read(self, bytes: &[u8]) -> f64 {
        let raw = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
        if self.signed {
            let unused = 64 - 8 * self.bytes as u32;
            (((raw << unused) as i64) >> unused) as f64
        } else {
            raw as f64
        }
    }
}

impl Scale {
    fn apply(self, raw: f64) -> f64 {
        match self {
            Decimal(places) => raw / 10f64.powi(places),
            Factor(factor) => raw * factor,
        }
    }
}

impl Object {
    /// Length of the value that starts at `value`, if it can be known.
    fn value_len(self, value: &[u8]) -> Option<usize> {
        match self {
            Object::PacketId => Some(1),
            Object::Reading { int, .. } => Some(int.bytes),
            Object::Dimmer => Some(2),
            Object::Skip(len) => Some(len),
            Object::Counted => value.first().map(|&len| 1 + usize::from(len)),
        }
    }
}

/// The dimmer reading: steps turned right, negative to the left.
fn dimmer_steps(value: &[u8]) -> f64 {
    match value {
        [1, steps] => -f64::from(*steps),
        [2, steps] => f64::from(*steps),
        _ => 0.0,
    }
}

/// Walks the objects of a (decrypted) packet.
pub(super) fn parse(mut rest: &[u8]) -> Packet {
    let mut packet = Packet {
        packet_id: None,
        readings: Vec::new(),
        stopped: None,
    };
    let mut occurrences: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut push = |readings: &mut Vec<(String, f64)>, key: &'static str, value: f64| {
        let count = occurrences.entry(key).or_default();
        *count += 1;
        let name = match *count {
            1 => key.to_owned(),
            n => format!("{key}_{n}"),
        };
        readings.push((name, value));
    };
    while let Some((&id, after_id)) = rest.split_first() {
        let Some(object) = object(id) else {
            packet.stopped = Some(Stop::UnknownObject(id));
            break;
        };
        let Some((value, after)) = object
            .value_len(after_id)
            .and_then(|len| after_id.split_at_checked(len))
        else {
            packet.stopped = Some(Stop::Truncated(id));
            break;
        };
        rest = after;
        match object {
            Object::PacketId => packet.packet_id = value.first().copied(),
            Object::Reading { key, int, scale } => {
                push(&mut packet.readings, key, scale.apply(int.read(value)));
            }
            Object::Dimmer => push(&mut packet.readings, "dimmer", dimmer_steps(value)),
            Object::Skip(_) | Object::Counted => {}
        }
    }
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The one reading of `object`.
    #[track_caller]
    fn single(object: &str) -> (String, f64) {
        let packet = parse(&hex(object));
        assert_eq!(packet.stopped, None, "{object}");
        assert_eq!(packet.readings.len(), 1, "{object}");
        packet.readings[0].clone()
    }

    #[test]
    fn examples_of_the_format_page() {
        // Object, key, value: the "Example" and "Result" columns of bthome.io/format (the signed
        // ones at the end worked out by hand).
        let examples: &[(&str, &str, f64)] = &[
            ("0161", "battery", 97.0),
            ("02CA09", "temperature", 25.06),
            ("03BF13", "humidity", 50.55),
            ("04138A01", "pressure", 1008.83),
            ("05138A14", "illuminance", 13460.67),
            ("065E1F", "mass", 80.3),
            ("08CA06", "dew_point", 17.38),
            ("0960", "count", 96.0),
            ("0A138A14", "energy", 1346.067),
            ("0B021B00", "power", 69.14),
            ("0C020C", "voltage", 3.074),
            ("0D120C", "pm25", 3090.0),
            ("0E021C", "pm10", 7170.0),
            ("12E204", "co2", 1250.0),
            ("14020C", "moisture", 30.74),
            ("2E23", "humidity", 35.0),
            ("2F23", "moisture", 35.0),
            ("3D0960", "count", 24585.0),
            ("3E2A2C0960", "count", 1_611_213_866.0),
            ("3F020C", "rotation", 307.4),
            ("400C00", "distance", 0.012),
            ("414E00", "distance", 7.8),
            ("424E3400", "duration", 13.39),
            ("434E34", "current", 13.39),
            ("444E34", "speed", 133.9),
            ("451101", "temperature", 27.3),
            ("4632", "uv_index", 5.0),
            ("4A020C", "voltage", 307.4),
            ("4B138A14", "gas", 1346.067),
            ("4C41018A01", "gas", 25821.505),
            ("4D12138A14", "energy", 344_593.17),
            ("4F87562A01", "water", 19551.879),
            ("5AF4FF", "count", -12.0),
            ("5D4ECB", "current", -13.49),
            ("57EA", "temperature", -22.0),
        ];
        for &(object, key, value) in examples {
            assert_eq!(single(object), (key.to_owned(), value), "{object}");
        }
    }

    #[test]
    fn conversions_to_the_key_unit() {
        // 0x07 is hundredths of a pound: 74.86 lb = 33.955...kg.
        let (key, kg) = single("073E1D");
        assert_eq!(key, "mass");
        assert!((kg - 74.86 * 0.453_592_37).abs() < 1e-9);
        // 0x48 is millilitres.
        assert_eq!(single("48DC87"), ("volume".to_owned(), 34.78));
        // 0x58 counts steps of 0.35 C.
        let (_, celsius) = single("58E3");
        assert!((celsius - -29.0 * 0.35).abs() < 1e-9);
    }

    #[test]
    fn binary_sensors_and_events() {
        assert_eq!(single("1001"), ("power_on".to_owned(), 1.0));
        assert_eq!(single("1100"), ("opening".to_owned(), 0.0));
        assert_eq!(single("0F01"), ("generic_boolean".to_owned(), 1.0));
        assert_eq!(single("2D01"), ("window".to_owned(), 1.0));
        assert_eq!(single("3A04"), ("button".to_owned(), 4.0));
        assert_eq!(single("3C0103"), ("dimmer".to_owned(), -3.0));
        assert_eq!(single("3C0203"), ("dimmer".to_owned(), 3.0));
    }

    #[test]
    fn negative_temperatures() {
        // -5.5 C: -550 = 0xFDDA; -0.01 C: 0xFFFF; 0.1 C resolution: -12.3 C = -123 = 0xFF85.
        assert_eq!(single("02DAFD"), ("temperature".to_owned(), -5.5));
        assert_eq!(single("02FFFF"), ("temperature".to_owned(), -0.01));
        assert_eq!(single("4585FF"), ("temperature".to_owned(), -12.3));
    }

    #[test]
    fn repeated_keys_are_numbered() {
        // Two buttons and two temperatures.
        let packet = parse(&hex("3A01 3A00 02CA09 45 1101"));
        let keys: Vec<&str> = packet.readings.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["button", "button_2", "temperature", "temperature_2"]);
    }

    #[test]
    fn device_information_text_and_raw_are_skipped() {
        // Device type, firmware 4.2.1.0 (4 bytes) and 6.1.0 (3 bytes), text "Hello" and raw bytes.
        let packet = parse(&hex(
            "F00100 F100010204 F2000106 5305 48656C6C6F 5402 ABCD 0161",
        ));
        assert_eq!(packet.readings, [("battery".to_owned(), 97.0)]);
        assert_eq!(packet.stopped, None);
    }

    #[test]
    fn unknown_object_stops_the_walk_but_keeps_what_came_before() {
        let packet = parse(&hex("0161 EE0102 02CA09"));
        assert_eq!(packet.readings, [("battery".to_owned(), 97.0)]);
        assert_eq!(packet.stopped, Some(Stop::UnknownObject(0xEE)));
    }

    #[test]
    fn truncated_values_stop_the_walk() {
        let packet = parse(&hex("0161 02CA"));
        assert_eq!(packet.readings, [("battery".to_owned(), 97.0)]);
        assert_eq!(packet.stopped, Some(Stop::Truncated(0x02)));
        assert_eq!(
            parse(&hex("5305 4865")).stopped,
            Some(Stop::Truncated(0x53))
        );
        assert_eq!(parse(&hex("53")).stopped, Some(Stop::Truncated(0x53)));
    }
}
