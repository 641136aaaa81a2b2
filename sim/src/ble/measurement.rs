//! What a simulated sensor measures, and the `key=value` words of the `measure` command.

use serde_json::{Map, Value};

/// One quantity a simulated sensor can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Degrees Celsius.
    Temperature,
    /// Relative humidity, percent.
    Humidity,
    /// Battery charge, percent.
    Battery,
    /// Air pressure, hPa.
    Pressure,
}

impl Quantity {
    /// Every quantity, in the order the BTHome objects carrying them go.
    pub const ALL: [Quantity; 4] = [
        Quantity::Battery,
        Quantity::Temperature,
        Quantity::Humidity,
        Quantity::Pressure,
    ];

    /// Its key in the `measure` command (and in m2mhal's `Sensor.Readings`).
    pub fn key(self) -> &'static str {
        match self {
            Quantity::Temperature => "temperature",
            Quantity::Humidity => "humidity",
            Quantity::Battery => "battery",
            Quantity::Pressure => "pressure",
        }
    }

    /// The values both encodings (BTHome objects, GATT characteristics) can carry.
    fn range(self) -> (f64, f64, &'static str) {
        match self {
            // sint16 in 0.01 degrees, and not below absolute zero.
            Quantity::Temperature => (-273.15, 327.67, "C"),
            Quantity::Humidity | Quantity::Battery => (0.0, 100.0, "%"),
            // BTHome's uint24 in 0.01 hPa.
            Quantity::Pressure => (0.0, 167_772.15, "hPa"),
        }
    }

    fn from_key(key: &str) -> Option<Quantity> {
        Quantity::ALL.into_iter().find(|q| q.key() == key)
    }
}

/// A `measure` word that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasurementError {
    /// No `=` in the word.
    #[error("{0:?} is not key=value")]
    NotAPair(String),
    /// Not one of the quantities.
    #[error("unknown quantity {0:?}: use temperature, humidity, battery or pressure")]
    UnknownQuantity(String),
    /// The value is not a finite number.
    #[error("{key}: {value:?} is not a number")]
    NotANumber {
        /// The quantity.
        key: &'static str,
        /// What was given.
        value: String,
    },
    /// Outside what the sensor can report.
    #[error("{key} must be within {min}..={max} {unit}, not {value}")]
    OutOfRange {
        /// The quantity.
        key: &'static str,
        /// What was given.
        value: f64,
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
        /// Its unit.
        unit: &'static str,
    },
    /// No word at all.
    #[error("nothing measured: give temperature=, humidity=, battery= and/or pressure=")]
    Empty,
}

/// The values a sensor reports; `None` for a quantity it does not report (yet).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Measurement {
    /// Degrees Celsius.
    pub temperature: Option<f64>,
    /// Percent.
    pub humidity: Option<f64>,
    /// Percent.
    pub battery: Option<f64>,
    /// hPa.
    pub pressure: Option<f64>,
}

impl Measurement {
    /// Reads `temperature=21.5 humidity=40 ...` words.
    pub fn parse<'a>(
        words: impl IntoIterator<Item = &'a str>,
    ) -> Result<Measurement, MeasurementError> {
        let mut measurement = Measurement::default();
        for word in words {
            let (key, text) = word
                .split_once('=')
                .ok_or_else(|| MeasurementError::NotAPair(word.to_owned()))?;
            let quantity = Quantity::from_key(key)
                .ok_or_else(|| MeasurementError::UnknownQuantity(key.to_owned()))?;
            let value = parse_value(quantity, text)?;
            *measurement.slot(quantity) = Some(value);
        }
        if measurement == Measurement::default() {
            return Err(MeasurementError::Empty);
        }
        Ok(measurement)
    }

    /// The value of `quantity`, if reported.
    pub fn get(&self, quantity: Quantity) -> Option<f64> {
        match quantity {
            Quantity::Temperature => self.temperature,
            Quantity::Humidity => self.humidity,
            Quantity::Battery => self.battery,
            Quantity::Pressure => self.pressure,
        }
    }

    fn slot(&mut self, quantity: Quantity) -> &mut Option<f64> {
        match quantity {
            Quantity::Temperature => &mut self.temperature,
            Quantity::Humidity => &mut self.humidity,
            Quantity::Battery => &mut self.battery,
            Quantity::Pressure => &mut self.pressure,
        }
    }

    /// Takes the values `newer` reports; the others stay.
    pub fn update(&mut self, newer: &Measurement) {
        for quantity in Quantity::ALL {
            if let Some(value) = newer.get(quantity) {
                *self.slot(quantity) = Some(value);
            }
        }
    }

    /// `{"temperature": 21.5, ...}` with the reported values.
    pub fn to_json(&self) -> Value {
        let fields: Map<String, Value> = Quantity::ALL
            .into_iter()
            .filter_map(|q| Some((q.key().to_owned(), Value::from(self.get(q)?))))
            .collect();
        Value::Object(fields)
    }
}

fn parse_value(quantity: Quantity, text: &str) -> Result<f64, MeasurementError> {
    let key = quantity.key();
    let value: f64 = text
        .parse()
        .ok()
        .filter(|value: &f64| value.is_finite())
        .ok_or_else(|| MeasurementError::NotANumber {
            key,
            value: text.to_owned(),
        })?;
    let (min, max, unit) = quantity.range();
    if !(min..=max).contains(&value) {
        return Err(MeasurementError::OutOfRange {
            key,
            value,
            min,
            max,
            unit,
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_a_measurement_that_updates_another() {
        let newer = Measurement::parse(["temperature=21.5", "battery=90"]).unwrap();
        assert_eq!(newer.temperature, Some(21.5));
        assert_eq!(newer.battery, Some(90.0));
        assert_eq!(newer.humidity, None);
        let mut current = Measurement {
            temperature: Some(20.0),
            humidity: Some(40.0),
            ..Measurement::default()
        };
        current.update(&newer);
        assert_eq!(
            current.to_json(),
            serde_json::json!({"temperature": 21.5, "humidity": 40.0, "battery": 90.0})
        );
    }

    #[test]
    fn bad_words_are_named() {
        assert_eq!(
            Measurement::parse(["temperature"]),
            Err(MeasurementError::NotAPair("temperature".into()))
        );
        assert_eq!(
            Measurement::parse(["wind=3"]),
            Err(MeasurementError::UnknownQuantity("wind".into()))
        );
        assert!(matches!(
            Measurement::parse(["humidity=wet"]),
            Err(MeasurementError::NotANumber {
                key: "humidity",
                ..
            })
        ));
        assert!(matches!(
            Measurement::parse(["humidity=NaN"]),
            Err(MeasurementError::NotANumber { .. })
        ));
        assert!(matches!(
            Measurement::parse(["battery=101"]),
            Err(MeasurementError::OutOfRange { key: "battery", .. })
        ));
        assert!(matches!(
            Measurement::parse(["temperature=-300"]),
            Err(MeasurementError::OutOfRange { .. })
        ));
        assert_eq!(Measurement::parse([]), Err(MeasurementError::Empty));
    }
}
