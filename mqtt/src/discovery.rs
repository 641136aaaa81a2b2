//! Home Assistant MQTT discovery: one sensor config per reading and per signal quality.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::topics::{Topics, node};

/// The object id of the signal quality sensor (readings use their key).
pub const SIGNAL_QUALITY: &str = "signal_quality";

/// What Home Assistant is told about one sensor of a device.
#[derive(Debug, Clone, Copy)]
pub struct DeviceInfo<'a> {
    /// The device `Id`.
    pub id: &'a str,
    /// `Device.Manufacturer`.
    pub manufacturer: &'a str,
    /// `Device.Model`.
    pub model: &'a str,
}

/// Unit and device class of a `Sensor.Readings` key the API names.
fn reading_unit(key: &str) -> (Option<&'static str>, Option<&'static str>) {
    match key {
        "temperature" => (Some("°C"), Some("temperature")),
        "humidity" => (Some("%"), Some("humidity")),
        "battery" => (Some("%"), Some("battery")),
        "pressure" => (Some("hPa"), Some("pressure")),
        "illuminance" => (Some("lx"), Some("illuminance")),
        _ => (None, None),
    }
}

/// The discovery configs of a device: `object` -> config, for each reading key and, when the
/// device has `Signal`, its quality.
pub fn configs<'k>(
    topics: &Topics,
    device: DeviceInfo<'_>,
    reading_keys: impl IntoIterator<Item = &'k str>,
    has_signal: bool,
) -> BTreeMap<String, Json> {
    let node = node(device.id);
    let device_json = json!({
        "identifiers": [device.id],
        "name": format!("{} {}", device.model, device.id).trim(),
        "manufacturer": device.manufacturer,
        "model": device.model,
    });
    let sensor = |object: &str, name: &str, state_topic: String, template: String| {
        json!({
            "name": name,
            "unique_id": format!("{node}_{object}"),
            "object_id": format!("{node}_{object}"),
            "device": device_json,
            "state_topic": state_topic,
            "value_template": template,
            "availability_topic": topics.status(),
            "state_class": "measurement",
        })
    };
    let mut configs = BTreeMap::new();
    for key in reading_keys {
        let object = crate::topics::node(key);
        let mut config = sensor(
            &object,
            key,
            topics.device(device.id, "readings"),
            format!("{{{{ value_json[{}] }}}}", Json::from(key)),
        );
        let (unit, class) = reading_unit(key);
        if let Some(unit) = unit {
            config["unit_of_measurement"] = json!(unit);
        }
        if let Some(class) = class {
            config["device_class"] = json!(class);
        }
        configs.insert(object, config);
    }
    if has_signal {
        let mut config = sensor(
            SIGNAL_QUALITY,
            "Signal quality",
            topics.device(device.id, "state"),
            "{{ value_json.Signal.Quality }}".to_owned(),
        );
        config["unit_of_measurement"] = json!("%");
        configs.insert(SIGNAL_QUALITY.to_owned(), config);
    }
    configs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sensor_and_a_modem() {
        let topics = Topics::new("m2mhal/gw", "homeassistant");
        let sensor = DeviceInfo {
            id: "ble:AA:BB",
            manufacturer: "Xiaomi",
            model: "LYWSD03MMC",
        };
        let sensor_configs = configs(&topics, sensor, ["temperature", "co2 ppm"], false);
        assert_eq!(
            sensor_configs.keys().collect::<Vec<_>>(),
            ["co2_ppm", "temperature"]
        );
        let temperature = &sensor_configs["temperature"];
        assert_eq!(temperature["unique_id"], "ble_AA_BB_temperature");
        assert_eq!(temperature["device"]["identifiers"], json!(["ble:AA:BB"]));
        assert_eq!(
            temperature["state_topic"],
            "m2mhal/gw/devices/ble_AA_BB/readings"
        );
        assert_eq!(
            temperature["value_template"],
            "{{ value_json[\"temperature\"] }}"
        );
        assert_eq!(temperature["unit_of_measurement"], "°C");
        assert_eq!(temperature["device_class"], "temperature");
        assert_eq!(temperature["availability_topic"], "m2mhal/gw/status");
        assert!(
            sensor_configs["co2_ppm"]
                .get("unit_of_measurement")
                .is_none()
        );

        let modem = DeviceInfo {
            id: "imei:1",
            manufacturer: "",
            model: "",
        };
        let modem_configs = configs(&topics, modem, [], true);
        let quality = &modem_configs[SIGNAL_QUALITY];
        assert_eq!(quality["state_topic"], "m2mhal/gw/devices/imei_1/state");
        assert_eq!(quality["value_template"], "{{ value_json.Signal.Quality }}");
        assert_eq!(quality["device"]["name"], "imei:1");
    }
}
