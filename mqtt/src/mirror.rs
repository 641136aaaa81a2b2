//! The daemon's device objects as the bridge mirrors them: what to publish when a device
//! appears, changes or goes, and the Home Assistant discovery to (re)publish.
//!
//! Pure: the D-Bus glue hands in property values already converted to JSON.

use std::collections::{BTreeMap, BTreeSet};

use m2mhal_contract::iface;
use serde_json::{Map, Value as Json, json};

use crate::discovery::{self, DeviceInfo};
use crate::publish::Publish;
use crate::topics::{Topics, node};

/// Properties of one interface, by name.
pub type Properties = Map<String, Json>;

/// One device object: its `Id` and the properties of each of its API interfaces.
#[derive(Debug, Default)]
struct DeviceView {
    /// Short interface name (`Device`, `Signal`, ...) -> properties.
    interfaces: BTreeMap<String, Properties>,
    /// The discovery objects published for it.
    discovered: BTreeSet<String>,
}

impl DeviceView {
    fn property(&self, interface: &str, name: &str) -> Option<&Json> {
        self.interfaces.get(interface)?.get(name)
    }

    fn id(&self) -> Option<&str> {
        self.property(iface::short(iface::DEVICE), "Id")?.as_str()
    }

    fn text(&self, name: &str) -> &str {
        self.property(iface::short(iface::DEVICE), name)
            .and_then(Json::as_str)
            .unwrap_or_default()
    }

    fn has(&self, interface: &str) -> bool {
        self.interfaces.contains_key(iface::short(interface))
    }

    /// The `state` payload: every interface with properties, every property.
    fn state(&self) -> Json {
        Json::Object(
            self.interfaces
                .iter()
                .filter(|(_, properties)| !properties.is_empty())
                .map(|(name, properties)| (name.clone(), Json::Object(properties.clone())))
                .collect(),
        )
    }

    /// The `readings` payload: `Sensor.Readings` plus `UpdatedAt`.
    fn readings(&self) -> Option<Json> {
        let sensor = self.interfaces.get(iface::short(iface::SENSOR))?;
        let mut readings = match sensor.get("Readings") {
            Some(Json::Object(readings)) => readings.clone(),
            _ => Map::new(),
        };
        readings.insert(
            "UpdatedAt".to_owned(),
            sensor.get("UpdatedAt").cloned().unwrap_or(json!(0)),
        );
        Some(Json::Object(readings))
    }

    fn reading_keys(&self) -> Vec<&str> {
        match self.property(iface::short(iface::SENSOR), "Readings") {
            Some(Json::Object(readings)) => readings.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// The mirrored devices, by object path.
#[derive(Debug)]
pub struct Mirror {
    topics: Topics,
    ha_discovery: bool,
    devices: BTreeMap<String, DeviceView>,
}

impl Mirror {
    /// An empty mirror publishing under `topics`, with Home Assistant discovery if asked.
    pub fn new(topics: Topics, ha_discovery: bool) -> Mirror {
        Mirror {
            topics,
            ha_discovery,
            devices: BTreeMap::new(),
        }
    }

    /// Forgets every device without publishing anything (the daemon went; it tells again).
    pub fn clear(&mut self) {
        self.devices.clear();
    }

    /// The `Id` of the device at `path`.
    pub fn device_id(&self, path: &str) -> Option<&str> {
        self.devices.get(path)?.id()
    }

    /// The object path of the device whose topic node is `node`, if it has `Messaging`.
    pub fn messaging_path(&self, wanted: &str) -> Option<&str> {
        self.devices
            .iter()
            .find(|(_, device)| {
                device.id().is_some_and(|id| node(id) == wanted) && device.has(iface::MESSAGING)
            })
            .map(|(path, _)| path.as_str())
    }

    /// Object paths and `Id`s of the devices with `Messaging`.
    pub fn messaging_devices(&self) -> Vec<(String, String)> {
        self.devices
            .iter()
            .filter(|(_, device)| device.has(iface::MESSAGING))
            .filter_map(|(path, device)| Some((path.clone(), device.id()?.to_owned())))
            .collect()
    }

    /// Interfaces were added to the object at `path` (or it appeared).
    pub fn added(
        &mut self,
        path: &str,
        interfaces: impl IntoIterator<Item = (String, Properties)>,
    ) -> Vec<Publish> {
        let device = self.devices.entry(path.to_owned()).or_default();
        for (name, properties) in interfaces {
            if name.starts_with(iface::PREFIX) {
                device
                    .interfaces
                    .insert(iface::short(&name).to_owned(), properties);
            }
        }
        self.publish_device(path)
    }

    /// `PropertiesChanged` of `interface` on the object at `path`.
    pub fn changed(&mut self, path: &str, interface: &str, changed: Properties) -> Vec<Publish> {
        let Some(device) = self.devices.get_mut(path) else {
            return Vec::new();
        };
        let Some(properties) = device.interfaces.get_mut(iface::short(interface)) else {
            return Vec::new();
        };
        properties.extend(changed);
        self.publish_device(path)
    }

    /// Interfaces were removed from the object at `path`: with `Device`, the device is gone.
    pub fn removed(&mut self, path: &str, interfaces: &[String]) -> Vec<Publish> {
        if !interfaces.iter().any(|name| name == iface::DEVICE) {
            let Some(device) = self.devices.get_mut(path) else {
                return Vec::new();
            };
            for name in interfaces {
                device.interfaces.remove(iface::short(name));
            }
            return self.publish_device(path);
        }
        let Some(device) = self.devices.remove(path) else {
            return Vec::new();
        };
        let Some(id) = device.id() else {
            return Vec::new();
        };
        let mut publishes = vec![
            Publish::json(self.topics.removed(), &json!({ "id": id }), false),
            Publish::clear(self.topics.device(id, "state")),
            Publish::clear(self.topics.device(id, "readings")),
        ];
        publishes.extend(
            device
                .discovered
                .iter()
                .map(|object| Publish::clear(self.topics.ha_config(id, object))),
        );
        publishes
    }

    /// Every device's discovery configs again (Home Assistant came online).
    pub fn rediscover(&mut self) -> Vec<Publish> {
        let paths: Vec<String> = self.devices.keys().cloned().collect();
        paths
            .iter()
            .flat_map(|path| self.discovery(path, true))
            .collect()
    }

    /// State and readings of the device at `path`, and the discovery configs of sensors it did
    /// not have before.
    fn publish_device(&mut self, path: &str) -> Vec<Publish> {
        let Some(device) = self.devices.get(path) else {
            return Vec::new();
        };
        let Some(id) = device.id() else {
            return Vec::new();
        };
        let mut publishes = vec![Publish::json(
            self.topics.device(id, "state"),
            &device.state(),
            true,
        )];
        if let Some(readings) = device.readings() {
            publishes.push(Publish::json(
                self.topics.device(id, "readings"),
                &readings,
                true,
            ));
        }
        publishes.extend(self.discovery(path, false));
        publishes
    }

    /// The discovery configs of the device at `path`: all of them when `all`, else only those
    /// not published yet; an empty retained config for each sensor it no longer has.
    fn discovery(&mut self, path: &str, all: bool) -> Vec<Publish> {
        let Some(device) = self.devices.get_mut(path) else {
            return Vec::new();
        };
        if !self.ha_discovery {
            return Vec::new();
        }
        let Some(id) = device.id() else {
            return Vec::new();
        };
        let info = DeviceInfo {
            id,
            manufacturer: device.text("Manufacturer"),
            model: device.text("Model"),
        };
        let configs = discovery::configs(
            &self.topics,
            info,
            device.reading_keys(),
            device.has(iface::SIGNAL),
        );
        let mut publishes: Vec<Publish> = device
            .discovered
            .iter()
            .filter(|object| !configs.contains_key(*object))
            .map(|object| Publish::clear(self.topics.ha_config(id, object)))
            .collect();
        publishes.extend(
            configs
                .iter()
                .filter(|(object, _)| all || !device.discovered.contains(*object))
                .map(|(object, config)| {
                    Publish::json(self.topics.ha_config(id, object), config, true)
                }),
        );
        device.discovered = configs.into_keys().collect();
        publishes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/org/m2mhal/Hal1/Devices/0";

    fn props(value: Json) -> Properties {
        match value {
            Json::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn sensor() -> Vec<(String, Properties)> {
        vec![
            (
                iface::DEVICE.to_owned(),
                props(json!({"Id": "ble:AA:01", "Kind": "ble-device", "Model": "T1"})),
            ),
            (
                iface::SENSOR.to_owned(),
                props(json!({"Readings": {"temperature": 21.5}, "UpdatedAt": 100})),
            ),
            (
                "org.freedesktop.DBus.Properties".to_owned(),
                Properties::new(),
            ),
        ]
    }

    fn topics_of(publishes: &[Publish]) -> Vec<&str> {
        publishes.iter().map(|p| p.topic.as_str()).collect()
    }

    fn mirror(ha: bool) -> Mirror {
        Mirror::new(Topics::new("p", "ha"), ha)
    }

    #[test]
    fn a_new_device_publishes_state_readings_and_discovery() {
        let mut mirror = mirror(true);
        let publishes = mirror.added(PATH, sensor());
        assert_eq!(
            topics_of(&publishes),
            [
                "p/devices/ble_AA_01/state",
                "p/devices/ble_AA_01/readings",
                "ha/sensor/ble_AA_01/temperature/config"
            ]
        );
        assert!(publishes.iter().all(|p| p.retain));
        assert_eq!(
            publishes[0].payload_json(),
            json!({"Device": {"Id": "ble:AA:01", "Kind": "ble-device", "Model": "T1"},
                   "Sensor": {"Readings": {"temperature": 21.5}, "UpdatedAt": 100}})
        );
        assert_eq!(
            publishes[1].payload_json(),
            json!({"temperature": 21.5, "UpdatedAt": 100})
        );
        assert_eq!(mirror.device_id(PATH), Some("ble:AA:01"));
        assert_eq!(mirror.messaging_path("ble_AA_01"), None);
    }

    #[test]
    fn changes_update_state_and_discover_new_readings_only() {
        let mut mirror = mirror(true);
        mirror.added(PATH, sensor());
        let publishes = mirror.changed(
            PATH,
            iface::SENSOR,
            props(json!({"Readings": {"temperature": 22.0}, "UpdatedAt": 101})),
        );
        assert_eq!(
            topics_of(&publishes),
            ["p/devices/ble_AA_01/state", "p/devices/ble_AA_01/readings"]
        );
        assert_eq!(publishes[1].payload_json()["temperature"], 22.0);
        let publishes = mirror.changed(
            PATH,
            iface::SENSOR,
            props(json!({"Readings": {"temperature": 22.0, "humidity": 40.0}})),
        );
        assert_eq!(
            topics_of(&publishes)[2..],
            ["ha/sensor/ble_AA_01/humidity/config"]
        );
        assert!(
            mirror
                .changed("/other", iface::SENSOR, Properties::new())
                .is_empty()
        );
    }

    #[test]
    fn rediscovery_publishes_every_config_again() {
        let mut mirror = mirror(true);
        mirror.added(PATH, sensor());
        let publishes = mirror.rediscover();
        assert_eq!(
            topics_of(&publishes),
            ["ha/sensor/ble_AA_01/temperature/config"]
        );
        let mut without = self::mirror(false);
        without.added(PATH, sensor());
        assert!(without.rediscover().is_empty());
    }

    #[test]
    fn removal_announces_and_clears_what_was_retained() {
        let mut mirror = mirror(true);
        mirror.added(PATH, sensor());
        let publishes = mirror.removed(PATH, &[iface::DEVICE.to_owned(), iface::SENSOR.to_owned()]);
        assert_eq!(
            topics_of(&publishes),
            [
                "p/removed",
                "p/devices/ble_AA_01/state",
                "p/devices/ble_AA_01/readings",
                "ha/sensor/ble_AA_01/temperature/config"
            ]
        );
        assert_eq!(publishes[0].payload_json(), json!({"id": "ble:AA:01"}));
        assert!(!publishes[0].retain);
        assert!(
            publishes[1..]
                .iter()
                .all(|p| p.retain && p.payload.is_empty())
        );
        assert_eq!(mirror.device_id(PATH), None);
        assert!(mirror.removed(PATH, &[iface::DEVICE.to_owned()]).is_empty());
    }

    #[test]
    fn losing_an_interface_republishes_state_and_clears_its_discovery() {
        let mut mirror = mirror(true);
        mirror.added(PATH, sensor());
        let publishes = mirror.removed(PATH, &[iface::SENSOR.to_owned()]);
        assert_eq!(
            topics_of(&publishes),
            [
                "p/devices/ble_AA_01/state",
                "ha/sensor/ble_AA_01/temperature/config"
            ]
        );
        assert!(publishes[1].payload.is_empty());
    }

    #[test]
    fn messaging_devices_are_found_by_node() {
        let mut mirror = mirror(false);
        mirror.added(
            PATH,
            [
                (iface::DEVICE.to_owned(), props(json!({"Id": "imei:1"}))),
                (iface::MESSAGING.to_owned(), props(json!({"Pending": 0}))),
            ],
        );
        assert_eq!(mirror.messaging_path("imei_1"), Some(PATH));
        assert_eq!(
            mirror.messaging_devices(),
            [(PATH.to_owned(), "imei:1".to_owned())]
        );
        mirror.clear();
        assert_eq!(mirror.messaging_path("imei_1"), None);
    }
}
