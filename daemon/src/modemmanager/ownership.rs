//! Which modems ModemManager manages, and whether a tty belongs to one of them: the claim path
//! never opens such a port. Pure; [`super::watch`] keeps it up to date from the bus.

use std::collections::BTreeMap;

use zbus::Variant;

/// One modem ModemManager manages, as far as ownership goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedModem {
    /// MM's object path of the modem.
    pub path: String,
    /// MM's `Device`: the sysfs path of the physical device (`/sys/devices/.../1-1`).
    pub device: String,
    /// MM's `Ports`: the kernel names of the modem's ports (`ttyUSB2`, `wwan0`, ...).
    pub ports: Vec<String>,
    /// MM's `EquipmentIdentifier`: the IMEI of a 3GPP modem ("" when not known).
    pub equipment_id: String,
    /// How often ModemManager added or removed other interfaces of the modem (Location,
    /// Messaging, ...) since it exported it: it does as it gets to know the modem.
    pub interface_changes: u64,
}

impl ManagedModem {
    /// The modem object at `path` from its `org.freedesktop.ModemManager1.Modem` properties (as
    /// `GetManagedObjects` and `InterfacesAdded` carry them; `property` looks one up by name);
    /// `None` without a `Device`.
    pub fn from_properties<'v>(
        path: &str,
        property: impl Fn(&str) -> Option<&'v Variant<'v>>,
    ) -> Option<Self> {
        let text = |name: &str| {
            property(name).and_then(|value| String::try_from(value.try_clone().ok()?).ok())
        };
        let device = text("Device").filter(|device| !device.is_empty())?;
        let ports = property("Ports")
            .and_then(|value| Vec::<(String, u32)>::try_from(value.try_clone().ok()?).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        Some(ManagedModem {
            path: path.to_owned(),
            device,
            ports,
            equipment_id: text("EquipmentIdentifier").unwrap_or_default(),
            interface_changes: 0,
        })
    }

    /// The m2mhal `Id` the modem has whichever way it is served: `imei:<IMEI>`; `None` for an
    /// equipment identifier that is no IMEI.
    pub fn id(&self) -> Option<String> {
        let imei = &self.equipment_id;
        (imei.len() == 15 && imei.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| format!("imei:{imei}"))
    }

    /// Whether the tty `name` with udev `properties` is a port of this modem: its sysfs path
    /// (`DEVPATH`) lies under the modem's device, or ModemManager lists its name.
    pub fn has_port(&self, name: &str, properties: &BTreeMap<String, String>) -> bool {
        let under_device = properties.get("DEVPATH").is_some_and(|devpath| {
            format!("/sys{devpath}")
                .strip_prefix(&self.device)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        under_device || self.ports.iter().any(|port| port == name)
    }
}

/// The modems ModemManager manages, by object path, and whether it is on the bus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedModems {
    /// ModemManager is on the bus now (while it is away, its modems stay listed: it will be
    /// back for them).
    pub present: bool,
    modems: BTreeMap<String, ManagedModem>,
}

impl ManagedModems {
    /// Adds (or replaces) a modem.
    pub fn insert(&mut self, modem: ManagedModem) {
        self.modems.insert(modem.path.clone(), modem);
    }

    /// Records that ModemManager added or removed interfaces of the modem at `path`; false
    /// when it is not known.
    pub fn interfaces_changed(&mut self, path: &str) -> bool {
        let modem = self.modems.get_mut(path);
        modem.map(|modem| modem.interface_changes += 1).is_some()
    }

    /// Removes the modem at `path`, if known.
    pub fn remove(&mut self, path: &str) {
        self.modems.remove(path);
    }

    /// How many modems ModemManager manages.
    pub fn len(&self) -> usize {
        self.modems.len()
    }

    /// Whether ModemManager manages no modem.
    pub fn is_empty(&self) -> bool {
        self.modems.is_empty()
    }

    /// The modems, in the order of their object paths.
    pub fn iter(&self) -> impl Iterator<Item = &ManagedModem> {
        self.modems.values()
    }

    /// The modem the tty `name` with udev `properties` belongs to, if ModemManager manages it.
    pub fn owner_of(
        &self,
        name: &str,
        properties: &BTreeMap<String, String>,
    ) -> Option<&ManagedModem> {
        self.modems
            .values()
            .find(|modem| modem.has_port(name, properties))
    }
}

/// Whether ModemManager may take the tty with udev `properties` once it has probed it: its
/// rules made it a candidate (`ID_MM_CANDIDATE`), and nothing told it to keep off.
pub fn modemmanager_candidate(properties: &BTreeMap<String, String>) -> bool {
    let set = |name: &str| properties.get(name).is_some_and(|value| value == "1");
    set("ID_MM_CANDIDATE") && !set("ID_MM_DEVICE_IGNORE") && !set("ID_MM_PORT_IGNORE")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const DEVICE: &str = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1";

    fn modem() -> ManagedModem {
        ManagedModem {
            path: "/org/freedesktop/ModemManager1/Modem/0".to_owned(),
            device: DEVICE.to_owned(),
            ports: vec!["ttyUSB2".to_owned(), "wwan0".to_owned()],
            equipment_id: "356938035643809".to_owned(),
            interface_changes: 0,
        }
    }

    fn devpath(path: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("DEVPATH".to_owned(), path.to_owned())])
    }

    #[test]
    fn a_port_under_the_device_or_named_by_mm_is_the_modems() {
        let modem = modem();
        let tty = "/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.3/ttyUSB3/tty/ttyUSB3";
        assert!(modem.has_port("ttyUSB3", &devpath(tty)));
        assert!(modem.has_port("ttyUSB2", &BTreeMap::new()));
        // 1-10 is another device, whose path merely starts with the same characters.
        let other = "/devices/pci0000:00/0000:00:14.0/usb1/1-10/1-10:1.0/ttyUSB4/tty/ttyUSB4";
        assert!(!modem.has_port("ttyUSB4", &devpath(other)));
        assert!(!modem.has_port("ttyS0", &devpath("/devices/platform/serial8250/tty/ttyS0")));
    }

    #[test]
    fn candidates_are_what_modemmanagers_rules_left_to_it() {
        let properties = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(modemmanager_candidate(&properties(&[(
            "ID_MM_CANDIDATE",
            "1"
        )])));
        assert!(!modemmanager_candidate(&properties(&[])));
        assert!(!modemmanager_candidate(&properties(&[
            ("ID_MM_CANDIDATE", "1"),
            ("ID_MM_DEVICE_IGNORE", "1")
        ])));
        assert!(!modemmanager_candidate(&properties(&[
            ("ID_MM_CANDIDATE", "1"),
            ("ID_MM_PORT_IGNORE", "1")
        ])));
    }

    #[test]
    fn modems_come_and_go() {
        let mut modems = ManagedModems::default();
        assert!(modems.owner_of("ttyUSB2", &BTreeMap::new()).is_none());
        modems.insert(modem());
        assert_eq!(modems.len(), 1);
        let owner = modems.owner_of("ttyUSB2", &BTreeMap::new()).unwrap();
        assert_eq!(owner.path, "/org/freedesktop/ModemManager1/Modem/0");
        modems.remove("/org/freedesktop/ModemManager1/Modem/0");
        assert!(modems.is_empty());
    }

    #[test]
    fn a_modem_is_read_from_its_properties() {
        let properties = HashMap::from([
            ("Device", Variant::from(DEVICE)),
            ("EquipmentIdentifier", Variant::from("356938035643809")),
            (
                "Ports",
                Variant::from(vec![
                    ("ttyUSB2".to_owned(), 3u32),
                    ("wwan0".to_owned(), 2u32),
                ]),
            ),
        ]);
        let read =
            ManagedModem::from_properties("/org/freedesktop/ModemManager1/Modem/0", |name| {
                properties.get(name)
            });
        assert_eq!(read, Some(modem()));
        assert_eq!(modem().id().as_deref(), Some("imei:356938035643809"));
        let esn = ManagedModem {
            equipment_id: "8088AB12".to_owned(),
            ..modem()
        };
        assert_eq!(esn.id(), None);
        assert_eq!(ManagedModem::from_properties("/m", |_| None), None);
    }

    #[test]
    fn interface_changes_are_counted_for_known_modems_only() {
        let mut modems = ManagedModems::default();
        modems.insert(modem());
        assert!(modems.interfaces_changed("/org/freedesktop/ModemManager1/Modem/0"));
        assert!(!modems.interfaces_changed("/org/freedesktop/ModemManager1/SIM/0"));
        let counted: Vec<u64> = modems.iter().map(|m| m.interface_changes).collect();
        assert_eq!(counted, [1]);
    }
}
