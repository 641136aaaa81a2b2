//! A kernel device event (from udev, or reported over D-Bus with `Manager.ReportKernelEvent`):
//! the first step on a device's path, before the [`crate::filter`].

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use thiserror::Error;
use zbus::OwnedVariant;

/// Major numbers of Unix98 pty slaves (`/dev/pts/<n>`), see the kernel's devices.txt.
const PTY_SLAVE_MAJORS: std::ops::RangeInclusive<u32> = 136..=143;

/// The keys `ReportKernelEvent` accepts.
const KNOWN_KEYS: [&str; 5] = ["action", "subsystem", "name", "devnode", "properties"];

/// What happened to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The device appeared.
    Add,
    /// The device went away.
    Remove,
    /// Something about the device changed (udev `change`).
    Change,
}

impl Action {
    /// Parses the udev spelling (`add`, `remove`, `change`).
    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "add" => Some(Action::Add),
            "remove" => Some(Action::Remove),
            "change" => Some(Action::Change),
            _ => None,
        }
    }
}

/// One kernel device event, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelEvent {
    /// What happened.
    pub action: Action,
    /// Kernel subsystem (`tty`).
    pub subsystem: String,
    /// Kernel device name (`ttyUSB0`); never contains `/`.
    pub name: String,
    /// Absolute path of the device node, without `..` components.
    pub devnode: PathBuf,
    /// udev properties (`ID_VENDOR_ID`, `ID_M2MHAL_CANDIDATE`, ...).
    pub properties: BTreeMap<String, String>,
}

/// Why an event was refused. Every message names the key or device node and what was wrong.
#[derive(Debug, Error)]
pub enum KernelEventError {
    /// A required key is absent.
    #[error("kernel event: missing key `{0}`")]
    MissingKey(&'static str),
    /// A key the API does not define.
    #[error(
        "kernel event: unknown key `{0}` (known keys: action, subsystem, name, devnode, properties)"
    )]
    UnknownKey(String),
    /// A value of the wrong D-Bus type.
    #[error("kernel event: key `{key}` must have type `{expected}`, not `{found}`")]
    WrongType {
        /// The key.
        key: &'static str,
        /// The D-Bus signature the API defines for it.
        expected: &'static str,
        /// The D-Bus signature that was sent.
        found: String,
    },
    /// An `action` other than add, remove or change.
    #[error("kernel event: key `action`: unknown action {0:?} (expected add, remove or change)")]
    UnknownAction(String),
    /// An empty `subsystem`.
    #[error("kernel event: key `subsystem` must not be empty")]
    EmptySubsystem,
    /// A `name` that is empty, `.`, `..` or contains `/`.
    #[error(
        "kernel event: key `name`: {0:?} is not a device name (empty, \".\", \"..\" or contains '/')"
    )]
    BadName(String),
    /// A `devnode` that is relative or contains `..`.
    #[error("kernel event: key `devnode`: {0:?} must be an absolute path without \"..\"")]
    BadDevnode(String),
    /// The device node could not be examined (missing, unreadable).
    #[error("device node {}: {error}", devnode.display())]
    NodeUnavailable {
        /// The device node.
        devnode: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The device node exists but is not a tty character device.
    #[error("device node {} is not a tty: {reason}", devnode.display())]
    NotATty {
        /// The device node.
        devnode: PathBuf,
        /// What it is instead.
        reason: String,
    },
}

impl KernelEvent {
    /// A tty at `devnode` appeared with udev `properties` (for a `[[port]]`, which no kernel
    /// event announces, and for a port admitted again after a reload).
    pub fn tty_added(devnode: &Path, properties: BTreeMap<String, String>) -> KernelEvent {
        KernelEvent {
            action: Action::Add,
            subsystem: "tty".into(),
            name: devnode
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            devnode: devnode.to_owned(),
            properties,
        }
    }

    /// Builds an event from the `a{sv}` of `Manager.ReportKernelEvent`: keys `action` s,
    /// `subsystem` s, `name` s, `devnode` s (optional, absolute, default `/dev/<name>`),
    /// `properties` a{ss} (optional). Unknown keys, missing keys, wrong types, an unknown action,
    /// a name with `/`, a relative devnode or one with `..` are errors.
    pub fn from_dbus(dict: &HashMap<String, OwnedVariant>) -> Result<Self, KernelEventError> {
        if let Some(unknown) = dict
            .keys()
            .filter(|key| !KNOWN_KEYS.contains(&key.as_str()))
            .min()
        {
            return Err(KernelEventError::UnknownKey(unknown.clone()));
        }
        let action_text = required_string(dict, "action")?;
        let action = Action::parse(action_text)
            .ok_or_else(|| KernelEventError::UnknownAction(action_text.to_owned()))?;
        let subsystem = required_string(dict, "subsystem")?;
        if subsystem.is_empty() {
            return Err(KernelEventError::EmptySubsystem);
        }
        let name = required_string(dict, "name")?;
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(KernelEventError::BadName(name.to_owned()));
        }
        let devnode = match optional_string(dict, "devnode")? {
            Some(devnode) => checked_devnode(devnode)?,
            None => Path::new("/dev").join(name),
        };
        let properties = match dict.get("properties") {
            Some(value) => {
                string_dict(value).ok_or_else(|| wrong_type("properties", "a{ss}", value))?
            }
            None => BTreeMap::new(),
        };
        Ok(KernelEvent {
            action,
            subsystem: subsystem.to_owned(),
            name: name.to_owned(),
            devnode,
            properties,
        })
    }

    /// For `add` and `change`, checks that the device node exists and is a tty character device:
    /// its `/sys/dev/char/<major>:<minor>/subsystem` resolves to `.../tty`, or its major is a
    /// Unix98 pty slave. A `remove` event is always accepted (its node may already be gone).
    pub fn check_tty_node(&self) -> Result<(), KernelEventError> {
        if self.action == Action::Remove {
            return Ok(());
        }
        let not_a_tty = |reason: String| KernelEventError::NotATty {
            devnode: self.devnode.clone(),
            reason,
        };
        let metadata = std::fs::metadata(&self.devnode).map_err(|error| {
            KernelEventError::NodeUnavailable {
                devnode: self.devnode.clone(),
                error,
            }
        })?;
        if !metadata.file_type().is_char_device() {
            return Err(not_a_tty("not a character device".to_owned()));
        }
        let (major, minor) = (dev_major(metadata.rdev()), dev_minor(metadata.rdev()));
        if PTY_SLAVE_MAJORS.contains(&major) {
            return Ok(());
        }
        let sysfs_link = format!("/sys/dev/char/{major}:{minor}/subsystem");
        match std::fs::canonicalize(&sysfs_link) {
            Ok(subsystem) if subsystem.ends_with("tty") => Ok(()),
            Ok(subsystem) => Err(not_a_tty(format!(
                "character device {major}:{minor} belongs to {}",
                subsystem.display()
            ))),
            Err(error) => Err(not_a_tty(format!(
                "character device {major}:{minor} has no tty subsystem ({sysfs_link}: {error})"
            ))),
        }
    }
}

fn wrong_type(key: &'static str, expected: &'static str, value: &OwnedVariant) -> KernelEventError {
    KernelEventError::WrongType {
        key,
        expected,
        found: value.value_signature().to_string(),
    }
}

fn optional_string<'a>(
    dict: &'a HashMap<String, OwnedVariant>,
    key: &'static str,
) -> Result<Option<&'a str>, KernelEventError> {
    dict.get(key)
        .map(|value| <&str>::try_from(value).map_err(|_| wrong_type(key, "s", value)))
        .transpose()
}

fn required_string<'a>(
    dict: &'a HashMap<String, OwnedVariant>,
    key: &'static str,
) -> Result<&'a str, KernelEventError> {
    optional_string(dict, key)?.ok_or(KernelEventError::MissingKey(key))
}

/// An `a{ss}` value as a map, or `None` for any other type.
fn string_dict(value: &OwnedVariant) -> Option<BTreeMap<String, String>> {
    BTreeMap::try_from(value.try_clone().ok()?).ok()
}

fn checked_devnode(devnode: &str) -> Result<PathBuf, KernelEventError> {
    let path = Path::new(devnode);
    if path.is_absolute() && !path.components().any(|part| part == Component::ParentDir) {
        Ok(path.to_owned())
    } else {
        Err(KernelEventError::BadDevnode(devnode.to_owned()))
    }
}

/// Major number of a Linux `dev_t` (glibc's `gnu_dev_major`).
fn dev_major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)) as u32
}

/// Minor number of a Linux `dev_t` (glibc's `gnu_dev_minor`).
fn dev_minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_serial::SerialPort;

    fn event_dict(entries: &[(&str, OwnedVariant)]) -> HashMap<String, OwnedVariant> {
        entries
            .iter()
            .map(|(key, value)| (key.to_string(), value.try_clone().unwrap()))
            .collect()
    }

    fn string(text: &str) -> OwnedVariant {
        OwnedVariant::try_from(zbus::Variant::from(text)).unwrap()
    }

    fn usb_modem_add() -> Vec<(&'static str, OwnedVariant)> {
        vec![
            ("action", string("add")),
            ("subsystem", string("tty")),
            ("name", string("ttyUSB0")),
        ]
    }

    fn with(
        mut entries: Vec<(&'static str, OwnedVariant)>,
        key: &'static str,
        value: OwnedVariant,
    ) -> HashMap<String, OwnedVariant> {
        entries.retain(|(existing, _)| *existing != key);
        entries.push((key, value));
        event_dict(&entries)
    }

    fn without(key: &str) -> HashMap<String, OwnedVariant> {
        let mut dict = event_dict(&usb_modem_add());
        dict.remove(key);
        dict
    }

    fn error_text(dict: &HashMap<String, OwnedVariant>) -> String {
        KernelEvent::from_dbus(dict).unwrap_err().to_string()
    }

    fn tty_event(action: Action, devnode: &Path) -> KernelEvent {
        KernelEvent {
            action,
            subsystem: "tty".to_owned(),
            name: devnode.file_name().unwrap().to_string_lossy().into_owned(),
            devnode: devnode.to_owned(),
            properties: BTreeMap::new(),
        }
    }

    #[test]
    fn a_minimal_event_gets_the_default_devnode() {
        let event = KernelEvent::from_dbus(&event_dict(&usb_modem_add())).unwrap();
        assert_eq!(
            event,
            KernelEvent {
                action: Action::Add,
                subsystem: "tty".to_owned(),
                name: "ttyUSB0".to_owned(),
                devnode: PathBuf::from("/dev/ttyUSB0"),
                properties: BTreeMap::new(),
            }
        );
    }

    #[test]
    fn a_full_event_keeps_devnode_and_properties() {
        let properties: HashMap<String, String> =
            [("ID_VENDOR_ID", "1199"), ("ID_M2MHAL_DRIVER", "cellular")]
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect();
        let mut entries = usb_modem_add();
        entries.push((
            "devnode",
            string("/dev/serial/by-id/usb-Sierra_MC7455-if02"),
        ));
        entries.push(("properties", OwnedVariant::from(properties)));
        let event = KernelEvent::from_dbus(&event_dict(&entries)).unwrap();
        assert_eq!(
            event.devnode,
            PathBuf::from("/dev/serial/by-id/usb-Sierra_MC7455-if02")
        );
        assert_eq!(
            event.properties.get("ID_VENDOR_ID").map(String::as_str),
            Some("1199")
        );
        assert_eq!(
            event.properties.get("ID_M2MHAL_DRIVER").map(String::as_str),
            Some("cellular")
        );
        assert_eq!(event.properties.len(), 2);
    }

    #[test]
    fn every_action_parses() {
        for (text, action) in [
            ("add", Action::Add),
            ("remove", Action::Remove),
            ("change", Action::Change),
        ] {
            let event =
                KernelEvent::from_dbus(&with(usb_modem_add(), "action", string(text))).unwrap();
            assert_eq!(event.action, action);
        }
        assert_eq!(
            error_text(&with(usb_modem_add(), "action", string("bind"))),
            r#"kernel event: key `action`: unknown action "bind" (expected add, remove or change)"#
        );
    }

    #[test]
    fn missing_keys_are_named() {
        for key in ["action", "subsystem", "name"] {
            assert_eq!(
                error_text(&without(key)),
                format!("kernel event: missing key `{key}`")
            );
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        assert_eq!(
            error_text(&with(
                usb_modem_add(),
                "devpath",
                string("/devices/pci0000:00")
            )),
            "kernel event: unknown key `devpath` (known keys: action, subsystem, name, devnode, properties)"
        );
        let mut dict = with(usb_modem_add(), "seqnum", OwnedVariant::from(4711u64));
        dict.insert("devpath".to_owned(), string("/devices/pci0000:00"));
        assert!(error_text(&dict).starts_with("kernel event: unknown key `devpath`"));
    }

    #[test]
    fn wrong_types_are_named_with_both_signatures() {
        assert_eq!(
            error_text(&with(usb_modem_add(), "name", OwnedVariant::from(7u32))),
            "kernel event: key `name` must have type `s`, not `u`"
        );
        assert_eq!(
            error_text(&with(
                usb_modem_add(),
                "properties",
                string("ID_M2MHAL_CANDIDATE=1")
            )),
            "kernel event: key `properties` must have type `a{ss}`, not `s`"
        );
        let numbers: HashMap<String, u32> = [("ID_M2MHAL_CANDIDATE".to_owned(), 1)]
            .into_iter()
            .collect();
        assert_eq!(
            error_text(&with(
                usb_modem_add(),
                "properties",
                OwnedVariant::from(numbers)
            )),
            "kernel event: key `properties` must have type `a{ss}`, not `a{su}`"
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        for name in ["", ".", "..", "pts/3", "../sda"] {
            assert_eq!(
                error_text(&with(usb_modem_add(), "name", string(name))),
                format!(
                    "kernel event: key `name`: {name:?} is not a device name (empty, \".\", \"..\" or contains '/')"
                )
            );
        }
        assert_eq!(
            error_text(&with(usb_modem_add(), "subsystem", string(""))),
            "kernel event: key `subsystem` must not be empty"
        );
    }

    #[test]
    fn bad_devnodes_are_rejected() {
        for devnode in [
            "ttyUSB0",
            "dev/ttyUSB0",
            "/dev/../etc/shadow",
            "/dev/serial/..",
        ] {
            assert_eq!(
                error_text(&with(usb_modem_add(), "devnode", string(devnode))),
                format!(
                    "kernel event: key `devnode`: {devnode:?} must be an absolute path without \"..\""
                )
            );
        }
    }

    #[test]
    fn device_numbers_split_like_glibc() {
        // makedev(136, 3) and makedev(4, 64) (ttyS0), and a large minor: makedev(188, 300).
        assert_eq!((dev_major(0x8803), dev_minor(0x8803)), (136, 3));
        assert_eq!((dev_major(0x0440), dev_minor(0x0440)), (4, 64));
        assert_eq!((dev_major(0x10_bc2c), dev_minor(0x10_bc2c)), (188, 300));
    }

    #[tokio::test]
    async fn a_pty_slave_is_a_tty() {
        let (_master, slave) = tokio_serial::SerialStream::pair().unwrap();
        let devnode = PathBuf::from(slave.name().unwrap());
        assert!(devnode.starts_with("/dev/pts"), "{}", devnode.display());
        tty_event(Action::Add, &devnode).check_tty_node().unwrap();
        tty_event(Action::Change, &devnode)
            .check_tty_node()
            .unwrap();
    }

    #[test]
    fn a_tty_found_through_sysfs_is_accepted() {
        // /dev/tty is 5:0, a tty that is not a pty slave: accepted through its sysfs subsystem.
        let devnode = Path::new("/dev/tty");
        let metadata = std::fs::metadata(devnode).unwrap();
        assert_eq!(dev_major(metadata.rdev()), 5);
        tty_event(Action::Add, devnode).check_tty_node().unwrap();
    }

    #[test]
    fn dev_null_is_not_a_tty() {
        let message = tty_event(Action::Add, Path::new("/dev/null"))
            .check_tty_node()
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "device node /dev/null is not a tty: character device 1:3 belongs to /sys/class/mem"
        );
    }

    #[test]
    fn a_regular_file_is_not_a_tty() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let message = tty_event(Action::Add, file.path())
            .check_tty_node()
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            format!(
                "device node {} is not a tty: not a character device",
                file.path().display()
            )
        );
    }

    #[test]
    fn a_missing_node_is_named_unless_it_is_being_removed() {
        let devnode = Path::new("/dev/ttyM2MHAL-does-not-exist");
        let message = tty_event(Action::Add, devnode)
            .check_tty_node()
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("device node /dev/ttyM2MHAL-does-not-exist: "),
            "{message}"
        );
        tty_event(Action::Remove, devnode).check_tty_node().unwrap();
    }
}
