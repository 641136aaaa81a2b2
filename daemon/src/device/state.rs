//! The properties of one device, and how driver updates change them.

use std::collections::BTreeMap;

use m2mhal_plugin_api::ble::GattService;
use m2mhal_plugin_api::{DeviceUpdate, LocationUpdate, SensorUpdate, SignalUpdate};

use super::location::LocationState;

pub use m2mhal_host_core::states;

/// Everything the world may know of one device (what its D-Bus interfaces expose).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceState {
    /// `Device.Id`.
    pub id: String,
    /// `Device.Kind`.
    pub kind: String,
    /// `Device.Driver`.
    pub driver: String,
    /// `Device.Manufacturer`.
    pub manufacturer: String,
    /// `Device.Model`.
    pub model: String,
    /// `Device.Revision`.
    pub revision: String,
    /// `Device.SerialNumber`.
    pub serial_number: String,
    /// `Device.Port`.
    pub port: String,
    /// `Device.State`.
    pub state: String,
    /// `Device.StateReason`.
    pub state_reason: String,
    /// `Device.Capabilities`.
    pub capabilities: Vec<String>,
    /// Driver-reported extras (IMSI, ICCID, ...).
    pub extra: BTreeMap<String, String>,
    /// `Messaging.MaxPayload`.
    pub max_payload: u32,
    /// `Messaging.Pending`.
    pub pending: u32,
    /// The `Signal` interface's properties.
    pub signal: SignalState,
    /// `Gatt.Connected`.
    pub connected: bool,
    /// `Gatt.Services`.
    pub services: Vec<String>,
    /// The services with their characteristics (`Gatt.Characteristics`).
    pub gatt_services: Vec<GattService>,
    /// The `Sensor` interface's properties.
    pub sensor: SensorState,
    /// The `Location` interface's properties.
    pub location: LocationState,
    /// The `Data` interface's properties.
    pub data: DataState,
}

/// `org.m2mhal.Hal1.Data` properties (API 1.1): the data connection someone else runs on the
/// device (ModemManager's bearer), read-only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataState {
    /// `Connected`.
    pub connected: bool,
    /// `Interface` (`wwan0`), "" when unknown.
    pub interface: String,
    /// `Ipv4`: address/prefix, "" when none.
    pub ipv4: String,
    /// `Ipv6`: address/prefix, "" when none.
    pub ipv6: String,
    /// `Apn`, "" when unknown.
    pub apn: String,
}

/// `org.m2mhal.Hal1.Sensor` properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SensorState {
    /// `Readings`.
    pub readings: BTreeMap<String, f64>,
    /// `UpdatedAt`, unix seconds.
    pub updated_at: u64,
}

/// `org.m2mhal.Hal1.Signal` properties.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalState {
    /// `Quality`, percent.
    pub quality: u32,
    /// `Rssi`, dBm (`+CSQ` for a modem).
    pub rssi: i32,
    /// `Rsrp`, dBm, 0 when unknown.
    pub rsrp: i32,
    /// `Rsrq`, dB, NaN when unknown.
    pub rsrq: f64,
    /// `Sinr`, dB, NaN when unknown.
    pub sinr: f64,
    /// `Technology`.
    pub technology: String,
    /// `Registration`.
    pub registration: String,
    /// `Operator`.
    pub operator: String,
    /// `UpdatedAt`, unix seconds.
    pub updated_at: u64,
}

impl Default for SignalState {
    /// Nothing known: zero levels, NaN ratios, "" texts.
    fn default() -> Self {
        SignalState {
            quality: 0,
            rssi: 0,
            rsrp: 0,
            rsrq: f64::NAN,
            sinr: f64::NAN,
            technology: String::new(),
            registration: String::new(),
            operator: String::new(),
            updated_at: 0,
        }
    }
}

/// A property of a device (the D-Bus side names it and knows its interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    /// [`DeviceState::id`].
    Id,
    /// [`DeviceState::kind`].
    Kind,
    /// [`DeviceState::driver`].
    Driver,
    /// [`DeviceState::manufacturer`].
    Manufacturer,
    /// [`DeviceState::model`].
    Model,
    /// [`DeviceState::revision`].
    Revision,
    /// [`DeviceState::serial_number`].
    SerialNumber,
    /// [`DeviceState::port`].
    Port,
    /// [`DeviceState::state`].
    State,
    /// [`DeviceState::state_reason`].
    StateReason,
    /// [`DeviceState::capabilities`].
    Capabilities,
    /// [`DeviceState::max_payload`].
    MaxPayload,
    /// [`DeviceState::pending`].
    Pending,
    /// [`SignalState::quality`].
    Quality,
    /// [`SignalState::rssi`].
    Rssi,
    /// [`SignalState::rsrp`].
    Rsrp,
    /// [`SignalState::rsrq`].
    Rsrq,
    /// [`SignalState::sinr`].
    Sinr,
    /// [`SignalState::technology`].
    Technology,
    /// [`SignalState::registration`].
    Registration,
    /// [`SignalState::operator`].
    Operator,
    /// [`SignalState::updated_at`].
    SignalUpdatedAt,
    /// [`DeviceState::connected`].
    Connected,
    /// [`DeviceState::services`].
    Services,
    /// [`DeviceState::gatt_services`].
    GattServices,
    /// [`SensorState::readings`].
    Readings,
    /// [`SensorState::updated_at`].
    SensorUpdatedAt,
    /// [`LocationState::enabled`].
    LocationEnabled,
    /// The fix's latitude.
    Latitude,
    /// The fix's longitude.
    Longitude,
    /// The fix's altitude.
    Altitude,
    /// The fix's time.
    FixTime,
    /// The fix's mode.
    FixMode,
    /// The fix's horizontal dilution of precision.
    Hdop,
    /// The speed over ground.
    Speed,
    /// The course over ground.
    Course,
    /// Satellites used in the fix.
    Satellites,
    /// Where the fix came from.
    LocationSource,
    /// The serving cell's identity.
    Cell,
    /// [`DataState::connected`].
    DataConnected,
    /// [`DataState::interface`].
    DataInterface,
    /// [`DataState::ipv4`].
    Ipv4,
    /// [`DataState::ipv6`].
    Ipv6,
    /// [`DataState::apn`].
    Apn,
}

/// Which properties an update changed, in the order it changed them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changed(Vec<Property>);

impl Changed {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `property` changed.
    pub fn contains(&self, property: Property) -> bool {
        self.0.contains(&property)
    }

    /// The changed properties, in order.
    pub fn properties(&self) -> &[Property] {
        &self.0
    }

    pub(super) fn push(&mut self, property: Property) {
        self.0.push(property);
    }
}

fn set<T: PartialEq>(field: &mut T, value: Option<T>, property: Property, changed: &mut Changed) {
    if let Some(value) = value
        && *field != value
    {
        *field = value;
        changed.push(property);
    }
}

/// [`set`] for a ratio where NaN means unknown: unknown after unknown is no change.
fn set_ratio(field: &mut f64, value: Option<f64>, property: Property, changed: &mut Changed) {
    if let Some(value) = value
        && field.to_bits() != value.to_bits()
        && !(field.is_nan() && value.is_nan())
    {
        *field = value;
        changed.push(property);
    }
}

impl DeviceState {
    /// A device that a driver has just claimed on `port`.
    pub fn new(driver: &str, kind: &str, port: &str) -> Self {
        DeviceState {
            id: String::new(),
            kind: kind.to_owned(),
            driver: driver.to_owned(),
            manufacturer: String::new(),
            model: String::new(),
            revision: String::new(),
            serial_number: String::new(),
            port: port.to_owned(),
            state: states::INITIALIZING.to_owned(),
            state_reason: String::new(),
            capabilities: Vec::new(),
            extra: BTreeMap::new(),
            max_payload: 0,
            pending: 0,
            signal: SignalState::default(),
            connected: false,
            services: Vec::new(),
            gatt_services: Vec::new(),
            sensor: SensorState::default(),
            location: LocationState::default(),
            data: DataState::default(),
        }
    }

    /// Applies a driver's device update; returns what changed.
    pub fn apply_device(&mut self, update: DeviceUpdate) -> Changed {
        let mut changed = Changed::default();
        let d = &mut changed;
        set(&mut self.id, update.id, Property::Id, d);
        set(
            &mut self.kind,
            update.kind.map(|k| k.as_str().to_owned()),
            Property::Kind,
            d,
        );
        set(
            &mut self.manufacturer,
            update.manufacturer,
            Property::Manufacturer,
            d,
        );
        set(&mut self.model, update.model, Property::Model, d);
        set(&mut self.revision, update.revision, Property::Revision, d);
        set(
            &mut self.serial_number,
            update.serial_number,
            Property::SerialNumber,
            d,
        );
        set(&mut self.state, update.state, Property::State, d);
        set(
            &mut self.state_reason,
            update.state_reason,
            Property::StateReason,
            d,
        );
        set(
            &mut self.capabilities,
            update.capabilities,
            Property::Capabilities,
            d,
        );
        if let Some(extra) = update.extra {
            self.extra.extend(extra);
        }
        set(
            &mut self.max_payload,
            update.max_payload,
            Property::MaxPayload,
            &mut changed,
        );
        let g = &mut changed;
        set(
            &mut self.connected,
            update.connected,
            Property::Connected,
            g,
        );
        set(&mut self.services, update.services, Property::Services, g);
        set(
            &mut self.gatt_services,
            update.gatt_services,
            Property::GattServices,
            g,
        );
        changed
    }

    /// Merges a driver's sensor readings; returns what changed.
    pub fn apply_sensor(&mut self, update: SensorUpdate) -> Changed {
        let mut changed = Changed::default();
        let s = &mut changed;
        let mut readings = self.sensor.readings.clone();
        readings.extend(update.readings);
        set(
            &mut self.sensor.readings,
            Some(readings),
            Property::Readings,
            s,
        );
        set(
            &mut self.sensor.updated_at,
            update.updated_at,
            Property::SensorUpdatedAt,
            s,
        );
        changed
    }

    /// Applies a driver's signal update; returns what changed.
    pub fn apply_signal(&mut self, update: SignalUpdate) -> Changed {
        let mut changed = Changed::default();
        let s = &mut changed;
        let signal = &mut self.signal;
        set(
            &mut signal.quality,
            update.quality.map(|q| q.min(100)),
            Property::Quality,
            s,
        );
        set(&mut signal.rssi, update.rssi, Property::Rssi, s);
        set(&mut signal.rsrp, update.rsrp, Property::Rsrp, s);
        set_ratio(&mut signal.rsrq, update.rsrq, Property::Rsrq, s);
        set_ratio(&mut signal.sinr, update.sinr, Property::Sinr, s);
        set(
            &mut signal.technology,
            update.technology,
            Property::Technology,
            s,
        );
        set(
            &mut signal.registration,
            update.registration,
            Property::Registration,
            s,
        );
        set(&mut signal.operator, update.operator, Property::Operator, s);
        set(
            &mut signal.updated_at,
            update.updated_at,
            Property::SignalUpdatedAt,
            s,
        );
        changed
    }

    /// Takes over every property of `new` (a device that came back); returns what changed.
    pub fn replace_with(&mut self, new: DeviceState) -> Changed {
        let mut changed = self.apply_device(DeviceUpdate {
            id: Some(new.id),
            kind: None,
            manufacturer: Some(new.manufacturer),
            model: Some(new.model),
            revision: Some(new.revision),
            serial_number: Some(new.serial_number),
            state: Some(new.state),
            state_reason: Some(new.state_reason),
            capabilities: Some(new.capabilities),
            max_payload: Some(new.max_payload),
            extra: Some(new.extra),
            connected: Some(new.connected),
            services: Some(new.services),
            gatt_services: Some(new.gatt_services),
        });
        set(&mut self.kind, Some(new.kind), Property::Kind, &mut changed);
        set(
            &mut self.driver,
            Some(new.driver),
            Property::Driver,
            &mut changed,
        );
        set(&mut self.port, Some(new.port), Property::Port, &mut changed);
        let signal = new.signal;
        let signal_changed = self.apply_signal(SignalUpdate {
            quality: Some(signal.quality),
            rssi: Some(signal.rssi),
            rsrp: Some(signal.rsrp),
            rsrq: Some(signal.rsrq),
            sinr: Some(signal.sinr),
            technology: Some(signal.technology),
            registration: Some(signal.registration),
            operator: Some(signal.operator),
            updated_at: Some(signal.updated_at),
        });
        changed.0.extend(signal_changed.0);
        let s = &mut changed;
        set(
            &mut self.sensor.readings,
            Some(new.sensor.readings),
            Property::Readings,
            s,
        );
        set(
            &mut self.sensor.updated_at,
            Some(new.sensor.updated_at),
            Property::SensorUpdatedAt,
            s,
        );
        let location_changed = self.apply_location(LocationUpdate {
            enabled: Some(new.location.enabled),
            fix: Some(new.location.fix),
        });
        changed.0.extend(location_changed.0);
        changed.0.extend(self.set_cell(new.location.cell).0);
        changed.0.extend(self.set_data(new.data).0);
        changed
    }

    /// Sets the data connection's properties; returns what changed.
    pub fn set_data(&mut self, data: DataState) -> Changed {
        let mut changed = Changed::default();
        let d = &mut changed;
        let now = &mut self.data;
        set(
            &mut now.connected,
            Some(data.connected),
            Property::DataConnected,
            d,
        );
        set(
            &mut now.interface,
            Some(data.interface),
            Property::DataInterface,
            d,
        );
        set(&mut now.ipv4, Some(data.ipv4), Property::Ipv4, d);
        set(&mut now.ipv6, Some(data.ipv6), Property::Ipv6, d);
        set(&mut now.apn, Some(data.apn), Property::Apn, d);
        changed
    }

    /// Sets state and reason (host-side transitions such as unplug); returns what changed.
    pub fn set_state(&mut self, state: &str, reason: &str) -> Changed {
        self.apply_device(DeviceUpdate {
            state: Some(state.to_owned()),
            state_reason: Some(reason.to_owned()),
            ..Default::default()
        })
    }

    /// Sets the number of pending outgoing messages; returns what changed.
    pub fn set_pending(&mut self, pending: u32) -> Changed {
        let mut changed = Changed::default();
        set(
            &mut self.pending,
            Some(pending),
            Property::Pending,
            &mut changed,
        );
        changed
    }

    /// Whether the device implements the capability (`signal`, `messaging`, ...).
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_reports_only_what_changed() {
        let mut state = DeviceState::new("cellular", "cellular-modem", "/dev/ttyUSB2");
        let changed = state.apply_device(DeviceUpdate {
            id: Some("imei:356938035643809".into()),
            state: Some(states::INITIALIZING.into()),
            max_payload: Some(1200),
            ..Default::default()
        });
        assert_eq!(changed.properties(), [Property::Id, Property::MaxPayload]);
        let changed = state.apply_signal(SignalUpdate {
            quality: Some(250),
            operator: Some(String::new()),
            ..Default::default()
        });
        assert_eq!(changed.properties(), [Property::Quality]);
        assert_eq!(state.signal.quality, 100);
        assert!(state.set_pending(0).is_empty());
    }

    #[test]
    fn unknown_ratios_are_nan_and_stay_unchanged() {
        let mut state = DeviceState::new("cellular", "cellular-modem", "/dev/ttyUSB2");
        assert!(state.signal.rsrq.is_nan() && state.signal.sinr.is_nan());
        let lte = SignalUpdate {
            rsrp: Some(-93),
            rsrq: Some(-9.5),
            sinr: Some(f64::NAN),
            ..Default::default()
        };
        assert_eq!(
            state.apply_signal(lte.clone()).properties(),
            [Property::Rsrp, Property::Rsrq]
        );
        assert!(state.apply_signal(lte).is_empty());
        let lost = SignalUpdate {
            rsrq: Some(f64::NAN),
            ..Default::default()
        };
        assert_eq!(state.apply_signal(lost).properties(), [Property::Rsrq]);
        assert!(state.signal.rsrq.is_nan());
    }

    #[test]
    fn sensor_readings_merge_by_key() {
        let mut state = DeviceState::new("ble", "ble-device", "A4:C1:38:00:11:22");
        let reading = |pairs: &[(&str, f64)], at| SensorUpdate {
            readings: pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            updated_at: Some(at),
        };
        let changed = state.apply_sensor(reading(&[("temperature", 21.5)], 10));
        assert_eq!(
            changed.properties(),
            [Property::Readings, Property::SensorUpdatedAt]
        );
        state.apply_sensor(reading(&[("battery", 90.0)], 11));
        assert_eq!(state.sensor.readings.len(), 2);
        let changed = state.apply_sensor(reading(&[("battery", 90.0)], 11));
        assert!(changed.is_empty());
    }
}
