//! The fake's state: the adapter, the clients' discovery sessions, the simulated peripherals and
//! BlueZ's view of each (the Device1 object). Plain data plus the rules BlueZ applies to
//! advertisements; no D-Bus here.

use std::collections::{BTreeMap, BTreeSet};

use crate::filter::{DiscoveryFilter, Sighting};
use crate::gatt;
use crate::spec::{Address, PeripheralSpec};

/// BlueZ's RSSI delta threshold while discovering without any filter: smaller changes are not
/// reported.
const RSSI_DELTA_THRESHOLD: i16 = 8;

/// Everything the fake knows.
#[derive(Default)]
pub struct World {
    /// The adapter's settings.
    pub adapter: AdapterState,
    /// Discovery filters per client (unique bus name); kept across sessions like BlueZ does.
    pub filters: BTreeMap<String, DiscoveryFilter>,
    /// Clients with a discovery session.
    pub discovery_sessions: BTreeSet<String>,
    /// The simulated peripherals.
    pub peripherals: BTreeMap<Address, Peripheral>,
}

/// The adapter's settings.
pub struct AdapterState {
    /// Powered.
    pub powered: bool,
    /// Alias set by a client, if any.
    pub alias: Option<String>,
    /// Discoverable.
    pub discoverable: bool,
    /// DiscoverableTimeout, seconds.
    pub discoverable_timeout: u32,
    /// Pairable.
    pub pairable: bool,
    /// PairableTimeout, seconds.
    pub pairable_timeout: u32,
    /// Connectable.
    pub connectable: bool,
}

impl Default for AdapterState {
    fn default() -> Self {
        AdapterState {
            powered: true,
            alias: None,
            discoverable: false,
            discoverable_timeout: 180,
            pairable: true,
            pairable_timeout: 0,
            connectable: true,
        }
    }
}

/// A simulated peripheral.
pub struct Peripheral {
    /// Its description; `rssi`, `manufacturer_data` and `service_data` follow its current
    /// advertisement. UUIDs are canonical.
    pub spec: PeripheralSpec,
    /// Whether the adapter can hear it.
    pub in_range: bool,
    /// Its GATT database.
    pub gatt: Vec<gatt::Service>,
    /// BlueZ's device object for it, once discovered.
    pub device: Option<Device>,
}

impl Peripheral {
    /// Whether a client is connected to it.
    pub fn connected(&self) -> bool {
        self.device.as_ref().is_some_and(|d| d.link == Link::Up)
    }

    /// What its advertisement shows a discovery filter.
    pub fn sighting<'a>(&'a self, address: &'a str) -> Sighting<'a> {
        Sighting {
            address,
            name: self.spec.name.as_deref(),
            uuids: &self.spec.uuids,
            rssi: self.spec.rssi,
            tx_power: self.spec.tx_power,
        }
    }
}

/// The state of the link to a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// No connection.
    Down,
    /// A `Connect` is waiting for the peripheral.
    Connecting,
    /// Connected.
    Up,
}

/// BlueZ's view of a device: the Device1 properties that change.
pub struct Device {
    /// Remote name.
    pub name: Option<String>,
    /// Alias set by a client.
    pub alias: Option<String>,
    /// Last RSSI; `None` once discovery stopped.
    pub rssi: Option<i16>,
    /// Last TX power; `None` once discovery stopped.
    pub tx_power: Option<i16>,
    /// Appearance.
    pub appearance: Option<u16>,
    /// Manufacturer data.
    pub manufacturer_data: BTreeMap<u16, Vec<u8>>,
    /// Service data, by canonical UUID.
    pub service_data: BTreeMap<String, Vec<u8>>,
    /// Known service UUIDs (advertised, then resolved).
    pub uuids: BTreeSet<String>,
    /// Paired.
    pub paired: bool,
    /// Trusted (client-settable).
    pub trusted: bool,
    /// Blocked (client-settable).
    pub blocked: bool,
    /// Link state.
    pub link: Link,
    /// ServicesResolved.
    pub services_resolved: bool,
}

impl Device {
    /// The device as BlueZ creates it from a first advertisement.
    pub fn discovered(spec: &PeripheralSpec) -> Device {
        Device {
            name: spec.name.clone(),
            alias: None,
            rssi: Some(spec.rssi),
            tx_power: spec.tx_power,
            appearance: spec.appearance,
            manufacturer_data: spec.manufacturer_data.clone(),
            service_data: spec.service_data.clone(),
            uuids: spec.uuids.iter().cloned().collect(),
            paired: false,
            trusted: false,
            blocked: false,
            link: Link::Down,
            services_resolved: false,
        }
    }

    /// Applies a further advertisement the way BlueZ does; returns the Device1 properties to
    /// signal. RSSI is reported when it moved by at least `rssi_delta` (0: every time); data
    /// maps are replaced and always reported with `duplicate_data`, otherwise merged and
    /// reported when an entry changed.
    pub fn apply_advertisement(
        &mut self,
        spec: &PeripheralSpec,
        duplicate_data: bool,
        rssi_delta: i16,
    ) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if spec.name.is_some() && spec.name != self.name {
            self.name = spec.name.clone();
            changed.push("Name");
            if self.alias.is_none() {
                changed.push("Alias");
            }
        }
        let rssi_moved = self.rssi.is_none_or(|old| {
            (i32::from(old) - i32::from(spec.rssi)).abs() >= i32::from(rssi_delta)
        });
        if rssi_moved {
            self.rssi = Some(spec.rssi);
            changed.push("RSSI");
        }
        if spec.tx_power.is_some() && spec.tx_power != self.tx_power {
            self.tx_power = spec.tx_power;
            changed.push("TxPower");
        }
        let new_uuids: Vec<&String> = spec
            .uuids
            .iter()
            .filter(|u| !self.uuids.contains(*u))
            .collect();
        if !new_uuids.is_empty() {
            self.uuids.extend(new_uuids.into_iter().cloned());
            changed.push("UUIDs");
        }
        if update_data(
            &mut self.manufacturer_data,
            &spec.manufacturer_data,
            duplicate_data,
        ) {
            changed.push("ManufacturerData");
        }
        if update_data(&mut self.service_data, &spec.service_data, duplicate_data) {
            changed.push("ServiceData");
        }
        changed
    }

    /// The Alias property: the client's alias, else the name, else the address with dashes.
    pub fn alias_or_name(&self, address: &Address) -> String {
        self.alias
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| address.to_string().replace(':', "-"))
    }
}

/// Updates advertised data from a new advertisement; whether to signal it.
fn update_data<K: Ord + Clone>(
    current: &mut BTreeMap<K, Vec<u8>>,
    advertised: &BTreeMap<K, Vec<u8>>,
    duplicate_data: bool,
) -> bool {
    if advertised.is_empty() {
        return false;
    }
    if duplicate_data {
        *current = advertised.clone();
        return true;
    }
    let mut changed = false;
    for (key, value) in advertised {
        if current.get(key) != Some(value) {
            current.insert(key.clone(), value.clone());
            changed = true;
        }
    }
    changed
}

impl World {
    /// Whether any discovery session is running.
    pub fn discovering(&self) -> bool {
        !self.discovery_sessions.is_empty()
    }

    /// The filter of a discovering client, if it set one.
    fn session_filters(&self) -> impl Iterator<Item = Option<&DiscoveryFilter>> {
        self.discovery_sessions
            .iter()
            .map(|client| self.filters.get(client))
    }

    /// Whether the adapter reports this peripheral's advertisement now: it is in range and some
    /// discovery session's filter (or lack of one) lets it through.
    pub fn reports(&self, address: &Address) -> bool {
        let Some(peripheral) = self.peripherals.get(address) else {
            return false;
        };
        let text = address.to_string();
        let sighting = peripheral.sighting(&text);
        peripheral.in_range
            && self
                .session_filters()
                .any(|filter| filter.is_none_or(|f| f.matches(&sighting)))
    }

    /// Whether some session asked for duplicate data.
    pub fn duplicate_data(&self) -> bool {
        self.session_filters().flatten().any(|f| f.duplicate_data)
    }

    /// The RSSI delta under which changes go unreported: BlueZ drops it once any session has a
    /// filter.
    pub fn rssi_delta(&self) -> i16 {
        if self.session_filters().any(|f| f.is_some()) {
            0
        } else {
            RSSI_DELTA_THRESHOLD
        }
    }

    /// The device object of a peripheral, if discovered.
    pub fn device(&self, address: &Address) -> Option<&Device> {
        self.peripherals.get(address)?.device.as_ref()
    }

    /// Mutable device object of a peripheral, if discovered.
    pub fn device_mut(&mut self, address: &Address) -> Option<&mut Device> {
        self.peripherals.get_mut(address)?.device.as_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PeripheralSpec {
        PeripheralSpec {
            name: Some("Flower care".into()),
            rssi: -60,
            manufacturer_data: [(0x0157, vec![1])].into(),
            ..Default::default()
        }
    }

    #[test]
    fn rssi_changes_below_the_delta_are_not_reported_without_a_filter() {
        let mut device = Device::discovered(&spec());
        let mut next = spec();
        next.rssi = -55;
        assert_eq!(
            device.apply_advertisement(&next, false, 8),
            Vec::<&str>::new()
        );
        next.rssi = -52;
        assert_eq!(device.apply_advertisement(&next, false, 8), ["RSSI"]);
        assert_eq!(device.rssi, Some(-52));
    }

    #[test]
    fn with_a_filter_every_advertisement_reports_rssi() {
        let mut device = Device::discovered(&spec());
        assert_eq!(device.apply_advertisement(&spec(), false, 0), ["RSSI"]);
    }

    #[test]
    fn manufacturer_data_merges_unless_duplicates_are_asked_for() {
        let mut device = Device::discovered(&spec());
        let mut next = spec();
        next.manufacturer_data = [(0x004c, vec![2])].into();
        assert_eq!(
            device.apply_advertisement(&next, false, 8),
            ["ManufacturerData"]
        );
        assert_eq!(device.manufacturer_data.len(), 2);
        assert_eq!(
            device.apply_advertisement(&next, false, 8),
            Vec::<&str>::new()
        );
        assert_eq!(
            device.apply_advertisement(&next, true, 8),
            ["ManufacturerData"]
        );
        assert_eq!(device.manufacturer_data, next.manufacturer_data);
    }

    #[test]
    fn alias_falls_back_to_name_then_address() {
        let address: Address = "AA:BB:CC:DD:EE:FF".parse().unwrap();
        let mut device = Device::discovered(&PeripheralSpec::default());
        assert_eq!(device.alias_or_name(&address), "AA-BB-CC-DD-EE-FF");
        device.name = Some("Thermo".into());
        assert_eq!(device.alias_or_name(&address), "Thermo");
        device.alias = Some("Kitchen".into());
        assert_eq!(device.alias_or_name(&address), "Kitchen");
    }
}
