//! The strict filter: decides whether a tty from a [`KernelEvent`] may be opened at all.
//!
//! A tty is admitted only if the config file names it, or udev (or a reported event) tagged it
//! for m2mhal. Any other tty is never opened.

use std::path::Path;

use crate::config::{Config, is_driver_name};
use crate::kernel_event::KernelEvent;

/// udev property that marks a port as worth probing.
const CANDIDATE: &str = "ID_M2MHAL_CANDIDATE";
/// udev property that names the driver for a port.
const DRIVER: &str = "ID_M2MHAL_DRIVER";
/// udev property with which an administrator keeps m2mhal off a tagged port.
const IGNORE: &str = "ID_M2MHAL_IGNORE";

/// The filter's verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The device node is the `[[port]]` at `index` in [`Config::ports`].
    Configured {
        /// Index into [`Config::ports`].
        index: usize,
    },
    /// udev tagged the port: `ID_M2MHAL_CANDIDATE=1` (probe) or `ID_M2MHAL_DRIVER=<name>`.
    Tagged {
        /// The driver named by `ID_M2MHAL_DRIVER`, if any.
        driver: Option<String>,
    },
    /// Never open this port; the reason is fit for a debug log line.
    Rejected(&'static str),
}

/// Decides whether `event`'s device may be opened.
///
/// In order: a subsystem other than `tty` is rejected; a device node equal to a `[[port]]` path
/// (literally, or after resolving symlinks on both sides, so a `/dev/serial/by-id/...` entry
/// matches `/dev/ttyUSB2`) is `Configured` (the config file is the administrator's explicit
/// word, so it wins over `ID_M2MHAL_IGNORE`); `ID_M2MHAL_IGNORE=1` is rejected;
/// `ID_M2MHAL_DRIVER=<name>` or `ID_M2MHAL_CANDIDATE=1` is `Tagged`; anything else is rejected.
pub fn admit(event: &KernelEvent, config: &Config) -> Admission {
    if event.subsystem != "tty" {
        return Admission::Rejected("subsystem is not tty");
    }
    if let Some(index) = configured_port(&event.devnode, config) {
        return Admission::Configured { index };
    }
    let property = |key: &str| event.properties.get(key).map(String::as_str);
    if property(IGNORE) == Some("1") {
        return Admission::Rejected("ID_M2MHAL_IGNORE=1");
    }
    match property(DRIVER) {
        Some(driver) if is_driver_name(driver) => Admission::Tagged {
            driver: Some(driver.to_owned()),
        },
        Some(_) => Admission::Rejected("ID_M2MHAL_DRIVER is not a valid driver name"),
        None if property(CANDIDATE) == Some("1") => Admission::Tagged { driver: None },
        None => Admission::Rejected(
            "neither configured nor tagged ID_M2MHAL_CANDIDATE=1 or ID_M2MHAL_DRIVER",
        ),
    }
}

/// Index of the `[[port]]` whose path is `devnode`, literally or once both are canonicalized.
fn configured_port(devnode: &Path, config: &Config) -> Option<usize> {
    if config.ports.is_empty() {
        return None;
    }
    if let Some(index) = config.ports.iter().position(|port| port.path == devnode) {
        return Some(index);
    }
    let devnode = std::fs::canonicalize(devnode).ok()?;
    config
        .ports
        .iter()
        .position(|port| std::fs::canonicalize(&port.path).is_ok_and(|path| path == devnode))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::config::PortConfig;
    use crate::kernel_event::Action;

    fn event(subsystem: &str, devnode: &Path, properties: &[(&str, &str)]) -> KernelEvent {
        KernelEvent {
            action: Action::Add,
            subsystem: subsystem.to_owned(),
            name: devnode.file_name().unwrap().to_string_lossy().into_owned(),
            devnode: devnode.to_owned(),
            properties: properties
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn config_with_ports(paths: &[&Path]) -> Config {
        Config {
            ports: paths
                .iter()
                .map(|path| PortConfig {
                    path: path.to_path_buf(),
                    driver: None,
                    baud: None,
                })
                .collect(),
            ..Config::default()
        }
    }

    const USB0: &str = "/dev/ttyUSB0";

    fn tagged(properties: &[(&str, &str)]) -> Admission {
        admit(
            &event("tty", Path::new(USB0), properties),
            &Config::default(),
        )
    }

    #[test]
    fn a_configured_port_is_admitted_with_its_index() {
        let config = config_with_ports(&[Path::new("/dev/ttymxc1"), Path::new("/dev/ttyS2")]);
        assert_eq!(
            admit(&event("tty", Path::new("/dev/ttyS2"), &[]), &config),
            Admission::Configured { index: 1 }
        );
    }

    #[test]
    fn a_configured_symlink_matches_the_node_it_points_to() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("ttyUSB2");
        std::fs::write(&node, b"").unwrap();
        let by_id = dir.path().join("usb-Quectel_EG25-if02-port0");
        std::os::unix::fs::symlink(&node, &by_id).unwrap();
        let config = config_with_ports(&[Path::new("/dev/ttymxc1"), &by_id]);
        assert_eq!(
            admit(&event("tty", &node, &[]), &config),
            Admission::Configured { index: 1 }
        );
        // And the other way round: an event for the symlink, the node in the config.
        let config = config_with_ports(&[&node]);
        assert_eq!(
            admit(&event("tty", &by_id, &[]), &config),
            Admission::Configured { index: 0 }
        );
    }

    #[test]
    fn a_configured_port_wins_over_ignore() {
        let config = config_with_ports(&[Path::new(USB0)]);
        assert_eq!(
            admit(&event("tty", Path::new(USB0), &[(IGNORE, "1")]), &config),
            Admission::Configured { index: 0 }
        );
    }

    #[test]
    fn a_candidate_tag_is_admitted_without_a_driver() {
        assert_eq!(
            tagged(&[(CANDIDATE, "1")]),
            Admission::Tagged { driver: None }
        );
    }

    #[test]
    fn a_driver_tag_names_the_driver() {
        assert_eq!(
            tagged(&[(DRIVER, "cellular")]),
            Admission::Tagged {
                driver: Some("cellular".to_owned())
            }
        );
        assert_eq!(
            tagged(&[(CANDIDATE, "1"), (DRIVER, "iridium")]),
            Admission::Tagged {
                driver: Some("iridium".to_owned())
            }
        );
    }

    #[test]
    fn a_driver_tag_that_is_not_a_driver_name_is_rejected() {
        assert_eq!(
            tagged(&[(CANDIDATE, "1"), (DRIVER, "../../tmp/evil")]),
            Admission::Rejected("ID_M2MHAL_DRIVER is not a valid driver name")
        );
    }

    #[test]
    fn ignore_overrides_the_tags() {
        for tags in [[(CANDIDATE, "1")], [(DRIVER, "cellular")]] {
            let mut properties = tags.to_vec();
            properties.push((IGNORE, "1"));
            assert_eq!(
                tagged(&properties),
                Admission::Rejected("ID_M2MHAL_IGNORE=1")
            );
        }
        assert_eq!(
            tagged(&[(CANDIDATE, "1"), (IGNORE, "0")]),
            Admission::Tagged { driver: None }
        );
    }

    #[test]
    fn an_untagged_unconfigured_tty_is_rejected() {
        let reason = Admission::Rejected(
            "neither configured nor tagged ID_M2MHAL_CANDIDATE=1 or ID_M2MHAL_DRIVER",
        );
        assert_eq!(tagged(&[]), reason);
        assert_eq!(
            tagged(&[(CANDIDATE, "0"), ("ID_VENDOR_ID", "1199")]),
            reason
        );
        let config = config_with_ports(&[Path::new("/dev/ttyS1")]);
        assert_eq!(
            admit(&event("tty", Path::new("/dev/ttyS2"), &[]), &config),
            reason
        );
    }

    #[test]
    fn another_subsystem_is_rejected_even_when_configured_and_tagged() {
        let devnode = PathBuf::from("/dev/sda");
        let config = config_with_ports(&[&devnode]);
        assert_eq!(
            admit(&event("block", &devnode, &[(CANDIDATE, "1")]), &config),
            Admission::Rejected("subsystem is not tty")
        );
    }
}
