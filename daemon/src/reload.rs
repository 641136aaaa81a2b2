//! `systemctl reload m2mhald` (SIGHUP): the config file is read again. A config that parses
//! replaces the one in force, and [`crate::discovery`] applies its ports and driver options; one
//! that does not is refused with a log line and the running config stays. Keys that shape the
//! daemon itself (plugins, store, BLE, and the options of drivers serving BLE devices) take effect
//! only at the next start, and a reload says so.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Config;

/// Re-reads the config file on request and publishes what it reads.
pub struct Reloader {
    path: PathBuf,
    /// The config the daemon started with: what the restart-only keys are in effect.
    started: Arc<Config>,
    /// Drivers serving BLE devices, whose options a reload does not apply.
    ble_drivers: BTreeSet<String>,
    current: watch::Sender<Arc<Config>>,
}

impl Reloader {
    /// A reloader for the file at `path`, which gave `started`; `ble_drivers` serve BLE devices.
    pub fn new(path: PathBuf, started: Arc<Config>, ble_drivers: BTreeSet<String>) -> Self {
        let (current, _) = watch::channel(Arc::clone(&started));
        Reloader {
            path,
            started,
            ble_drivers,
            current,
        }
    }

    /// Follows the config in force.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.current.subscribe()
    }

    /// Reads the file again and puts it in force, or logs why not.
    pub fn reload(&self) {
        let config = match Config::load(&self.path) {
            Ok(config) => config,
            Err(e) => {
                let why = one_line(&e.to_string());
                tracing::error!("config reload refused, the running config stays: {why}");
                return;
            }
        };
        for key in restart_only_changes(&self.started, &config, &self.ble_drivers) {
            tracing::warn!("config reload: {key} changed; that takes a restart of m2mhald");
        }
        self.current.send_replace(Arc::new(config));
    }
}

/// A config error as one journal line: TOML's source excerpt (the lines with a `|` gutter) is
/// left out, the other lines are joined.
fn one_line(error: &str) -> String {
    let is_excerpt = |line: &str| {
        let gutter = line
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit());
        gutter.trim_start().starts_with('|')
    };
    error
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_excerpt(line))
        .collect::<Vec<_>>()
        .join(": ")
}

/// The keys that differ between `old` and `new` among those a reload does not apply: the
/// daemon's own, and the options of `ble_drivers`.
fn restart_only_changes(old: &Config, new: &Config, ble_drivers: &BTreeSet<String>) -> Vec<String> {
    let daemon = [
        ("plugin_dirs", old.plugin_dirs != new.plugin_dirs),
        ("state_dir", old.state_dir != new.state_dir),
        (
            "isolated_drivers",
            old.isolated_drivers != new.isolated_drivers,
        ),
        (
            "in_process_drivers",
            old.in_process_drivers != new.in_process_drivers,
        ),
        ("forget_after", old.forget_after != new.forget_after),
        ("[ble]", old.ble != new.ble),
        ("[modemmanager]", old.modemmanager != new.modemmanager),
        ("[[route]]", old.routes != new.routes),
        ("[[rule]]", old.rules != new.rules),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(key, _)| key.to_owned());
    let ble = ble_drivers
        .iter()
        .filter(|name| old.drivers.get(*name) != new.drivers.get(*name))
        .map(|name| format!("[drivers.{name}] (BLE devices)"));
    daemon.chain(ble).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_keys_a_reload_cannot_apply_are_named() {
        let old = Config::parse("[[port]]\npath = \"/dev/ttyS1\"\n").unwrap();
        let ports_and_options = Config::parse(
            "[[port]]\npath = \"/dev/ttyS2\"\n[drivers.cellular]\nsignal_interval = 5\n",
        )
        .unwrap();
        let ble = BTreeSet::from(["ble".to_owned()]);
        assert!(restart_only_changes(&old, &ports_and_options, &ble).is_empty());
        let daemon = Config::parse(
            "state_dir = \"/tmp/x\"\nisolated_drivers = [\"cellular\"]\n[ble]\nenabled = true\n",
        )
        .unwrap();
        assert_eq!(
            restart_only_changes(&old, &daemon, &ble),
            ["state_dir", "isolated_drivers", "[ble]"]
        );
        let ble_options = Config::parse("[drivers.ble]\nconnect_timeout = 5\n").unwrap();
        assert_eq!(
            restart_only_changes(&old, &ble_options, &ble),
            ["[drivers.ble] (BLE devices)"]
        );
    }

    #[test]
    fn a_toml_error_becomes_one_line_without_the_excerpt() {
        let error = Config::parse("[[port]]\npath = \"/dev/ttyS1\"\nbaudrate = 9600\n")
            .unwrap_err()
            .to_string();
        assert!(error.lines().count() > 1, "{error}");
        let line = one_line(&error);
        assert!(!line.contains('\n') && !line.contains('|'), "{line}");
        assert!(line.starts_with("TOML parse error at line 3"), "{line}");
        assert!(line.contains(": unknown field `baudrate`"), "{line}");
    }

    #[test]
    fn a_file_that_does_not_parse_leaves_the_config_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m2mhald.toml");
        std::fs::write(&path, "[[port]]\npath = \"/dev/ttyS1\"\n").unwrap();
        let started = Arc::new(Config::load(&path).unwrap());
        let reloader = Reloader::new(path.clone(), Arc::clone(&started), BTreeSet::new());
        let current = reloader.subscribe();

        std::fs::write(&path, "[[port]]\npath = \"ttyS2\"\n").unwrap();
        reloader.reload();
        assert_eq!(**current.borrow(), *started);

        std::fs::write(&path, "[[port]]\npath = \"/dev/ttyS2\"\n").unwrap();
        reloader.reload();
        assert_eq!(current.borrow().ports[0].path, PathBuf::from("/dev/ttyS2"));
    }
}
