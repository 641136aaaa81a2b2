//! The daemon's configuration file (`m2mhald --config FILE`, TOML).
//!
//! Parsing is strict: an unknown key anywhere is an error naming that key, and every validation
//! error names the offending value, so a typo never silently changes what the daemon does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::modemmanager::config::{ModemManagerConfig, ModemManagerConfigError};
use crate::route_config::{self, RouteConfig, RouteConfigError, RuleConfig};

/// Why a configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The file was read but its content is not a valid configuration.
    #[error("config file {}: {error}", path.display())]
    InFile {
        /// The config file.
        path: PathBuf,
        /// What is wrong with its content.
        error: Box<ConfigError>,
    },
    /// Not TOML, an unknown key, or a value of the wrong type (the message names the key).
    #[error(transparent)]
    Syntax(#[from] toml::de::Error),
    /// A `[[port]]` path that is not absolute.
    #[error("[[port]] path {0:?} is not an absolute path")]
    RelativePortPath(PathBuf),
    /// The same `[[port]]` path configured twice.
    #[error("[[port]] path {0:?} is configured more than once")]
    DuplicatePort(PathBuf),
    /// A `[[port]]` with `baud = 0`.
    #[error("[[port]] path {0:?}: baud must be greater than 0")]
    ZeroBaud(PathBuf),
    /// A `[[port]]` driver name that cannot name a plugin.
    #[error(
        "[[port]] path {path:?}: driver {driver:?} is not a driver name (letters, digits, '_', '-')"
    )]
    BadDriverName {
        /// The port.
        path: PathBuf,
        /// The rejected driver name.
        driver: String,
    },
    /// An `isolated_drivers` entry that cannot name a plugin.
    #[error("isolated_drivers: {0:?} is not a driver name (letters, digits, '_', '-')")]
    BadIsolatedDriver(String),
    /// An `in_process_drivers` entry that cannot name a plugin.
    #[error("in_process_drivers: {0:?} is not a driver name (letters, digits, '_', '-')")]
    BadInProcessDriver(String),
    /// A driver named both in `isolated_drivers` and `in_process_drivers`.
    #[error("driver {0:?} is in both isolated_drivers and in_process_drivers")]
    IsolatedAndInProcess(String),
    /// An entry of `[ble] allow` that is not a Bluetooth address.
    #[error("[ble] allow: {0:?} is not a Bluetooth address like AA:BB:CC:DD:EE:FF")]
    BadBleAddress(String),
    /// A `[ble] bthome_keys` entry whose key is not 32 hex digits.
    #[error("[ble] bthome_keys: the key for {0:?} must be 32 hex digits (a 128-bit AES key)")]
    BadBthomeKey(String),
    /// A bad `[modemmanager]` value.
    #[error(transparent)]
    ModemManager(#[from] ModemManagerConfigError),
    /// A `[[route]]` or `[[rule]]` that does not hold together.
    #[error(transparent)]
    Routing(#[from] RouteConfigError),
}

/// The whole configuration file. Every key is optional; see each field for its default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directories searched for `libm2mhal_driver_<name>.so` plugins. Default
    /// `["/usr/lib/m2mhal/drivers"]`.
    pub plugin_dirs: Vec<PathBuf>,
    /// Where the durable store lives. Default `/var/lib/m2mhal`.
    pub state_dir: PathBuf,
    /// Devices on fixed UARTs (`[[port]]` tables), probed without any kernel event.
    #[serde(rename = "port")]
    pub ports: Vec<PortConfig>,
    /// Bluetooth Low Energy scanning (`[ble]`).
    pub ble: BleConfig,
    /// Per-driver options (`[drivers.<name>]`), handed to that driver when it is opened.
    pub drivers: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// Drivers whose every device runs in a worker process of its own, so that a crash or hang
    /// of the driver takes down only that worker. Default empty: the drivers shipped with m2mhal
    /// run in the daemon, every other driver is isolated anyway (see `in_process_drivers`).
    pub isolated_drivers: Vec<String>,
    /// Drivers not shipped with m2mhal that run in the daemon's process all the same (trusted
    /// third-party drivers). Default empty: each device of a third-party driver runs in a worker
    /// process of its own. A plugin built with `panic = "abort"` is isolated regardless.
    pub in_process_drivers: Vec<String>,
    /// Seconds a device may stay `offline` before the daemon forgets it (as `Device.Forget`
    /// does). Default 0: never.
    pub forget_after: u64,
    /// Living with ModemManager (`[modemmanager]`).
    pub modemmanager: ModemManagerConfig,
    /// Named routes over the uplinks (`[[route]]`, `Router.Send`).
    #[serde(rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// Local rules that send a message on a route (`[[rule]]`).
    #[serde(rename = "rule")]
    pub rules: Vec<RuleConfig>,
}

/// One `[[port]]` table: a serial device on a fixed path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Absolute path of the device node (a `/dev/serial/by-id/...` symlink is fine).
    pub path: PathBuf,
    /// Driver to use; when absent the port is probed and the first plugin that claims it wins.
    pub driver: Option<String>,
    /// Line speed; when absent the driver's default is used.
    pub baud: Option<u32>,
}

/// The `[ble]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BleConfig {
    /// Scan through BlueZ. Default `false`.
    pub enabled: bool,
    /// BlueZ adapter name. Default `hci0`.
    pub adapter: String,
    /// Addresses exposed even if no driver claims them, upper-case `AA:BB:CC:DD:EE:FF`.
    pub allow: Vec<String>,
    /// Per-device BTHome encryption keys (32 hex digits), by upper-case address.
    pub bthome_keys: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            plugin_dirs: vec![PathBuf::from("/usr/lib/m2mhal/drivers")],
            state_dir: PathBuf::from("/var/lib/m2mhal"),
            ports: Vec::new(),
            ble: BleConfig::default(),
            drivers: BTreeMap::new(),
            isolated_drivers: Vec::new(),
            in_process_drivers: Vec::new(),
            forget_after: 0,
            modemmanager: ModemManagerConfig::default(),
            routes: Vec::new(),
            rules: Vec::new(),
        }
    }
}

impl Default for BleConfig {
    fn default() -> Self {
        BleConfig {
            enabled: false,
            adapter: "hci0".to_owned(),
            allow: Vec::new(),
            bthome_keys: BTreeMap::new(),
        }
    }
}

impl Config {
    /// `forget_after` as a delay, or `None` when devices are never forgotten by themselves.
    pub fn forget_after(&self) -> Option<Duration> {
        (self.forget_after > 0).then(|| Duration::from_secs(self.forget_after))
    }

    /// Reads and parses the config file at `path`; every error names the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Config::parse(&text).map_err(|error| ConfigError::InFile {
            path: path.to_owned(),
            error: Box::new(error),
        })
    }

    /// Parses and validates configuration text. BLE addresses come back upper-case.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text)?;
        config.validate_ports()?;
        config.modemmanager.validate()?;
        if let Some(bad) = config
            .isolated_drivers
            .iter()
            .find(|name| !is_driver_name(name))
        {
            return Err(ConfigError::BadIsolatedDriver(bad.clone()));
        }
        if let Some(bad) = config
            .in_process_drivers
            .iter()
            .find(|name| !is_driver_name(name))
        {
            return Err(ConfigError::BadInProcessDriver(bad.clone()));
        }
        if let Some(both) = config
            .in_process_drivers
            .iter()
            .find(|name| config.isolated_drivers.contains(name))
        {
            return Err(ConfigError::IsolatedAndInProcess(both.clone()));
        }
        config.ble.allow = config
            .ble
            .allow
            .iter()
            .map(|address| normalize_ble_address(address))
            .collect::<Result<_, _>>()?;
        config.ble.bthome_keys = config
            .ble
            .bthome_keys
            .iter()
            .map(|(address, key)| {
                let well_formed = key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit());
                if !well_formed {
                    return Err(ConfigError::BadBthomeKey(address.clone()));
                }
                Ok((normalize_ble_address(address)?, key.to_ascii_lowercase()))
            })
            .collect::<Result<_, _>>()?;
        let routes = route_config::routes(&config.routes)?;
        route_config::rules(&config.rules, &routes)?;
        Ok(config)
    }

    /// The `[drivers.<driver>]` options as strings: TOML strings without their quotes, every
    /// other value in its TOML form (`30`, `true`, `[1, 2]`). Empty when the table is absent.
    pub fn driver_options(&self, driver: &str) -> BTreeMap<String, String> {
        let Some(options) = self.drivers.get(driver) else {
            return BTreeMap::new();
        };
        options
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    toml::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), text)
            })
            .collect()
    }

    fn validate_ports(&self) -> Result<(), ConfigError> {
        let mut seen = BTreeSet::new();
        for port in &self.ports {
            if !port.path.is_absolute() {
                return Err(ConfigError::RelativePortPath(port.path.clone()));
            }
            if !seen.insert(port.path.as_path()) {
                return Err(ConfigError::DuplicatePort(port.path.clone()));
            }
            if port.baud == Some(0) {
                return Err(ConfigError::ZeroBaud(port.path.clone()));
            }
            if let Some(driver) = &port.driver
                && !is_driver_name(driver)
            {
                return Err(ConfigError::BadDriverName {
                    path: port.path.clone(),
                    driver: driver.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Whether `name` can name a driver plugin: non-empty ASCII letters, digits, `_` and `-` (so it
/// can never smuggle a path into `libm2mhal_driver_<name>.so`).
pub fn is_driver_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// `aa:bb:cc:dd:ee:ff` -> `AA:BB:CC:DD:EE:FF`; anything else is an error naming it.
fn normalize_ble_address(address: &str) -> Result<String, ConfigError> {
    let groups: Vec<&str> = address.split(':').collect();
    let well_formed = groups.len() == 6
        && groups
            .iter()
            .all(|group| group.len() == 2 && group.bytes().all(|byte| byte.is_ascii_hexdigit()));
    if well_formed {
        Ok(address.to_ascii_uppercase())
    } else {
        Err(ConfigError::BadBleAddress(address.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from dbus-api-v1.md, "Daemon command line and config".
    const API_EXAMPLE: &str = r#"
plugin_dirs = ["/usr/lib/m2mhal/drivers"]   # loads the libm2mhal_driver_*.so files found there
state_dir = "/var/lib/m2mhal"               # durable store lives here
[[port]]                                    # a device on a fixed UART; repeatable
path = "/dev/ttymxc1"
driver = "cellular"                         # optional: probe when absent
baud = 115200                               # optional
[ble]
enabled = true                              # scan through BlueZ (org.bluez on the system bus)
adapter = "hci0"
allow = ["AA:BB:CC:DD:EE:FF"]               # extra addresses to expose even if no driver claims them
"#;

    fn error_text(text: &str) -> String {
        Config::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn the_api_example_parses() {
        let config = Config::parse(API_EXAMPLE).unwrap();
        assert_eq!(
            config.plugin_dirs,
            [PathBuf::from("/usr/lib/m2mhal/drivers")]
        );
        assert_eq!(config.state_dir, PathBuf::from("/var/lib/m2mhal"));
        assert_eq!(
            config.ports,
            [PortConfig {
                path: PathBuf::from("/dev/ttymxc1"),
                driver: Some("cellular".to_owned()),
                baud: Some(115200),
            }]
        );
        assert_eq!(
            config.ble,
            BleConfig {
                enabled: true,
                adapter: "hci0".to_owned(),
                allow: vec!["AA:BB:CC:DD:EE:FF".to_owned()],
                bthome_keys: BTreeMap::new(),
            }
        );
        assert!(config.drivers.is_empty());
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(
            config.plugin_dirs,
            [PathBuf::from("/usr/lib/m2mhal/drivers")]
        );
        assert_eq!(config.state_dir, PathBuf::from("/var/lib/m2mhal"));
        assert!(config.ports.is_empty());
        assert!(!config.ble.enabled);
        assert_eq!(config.ble.adapter, "hci0");
        assert!(config.ble.allow.is_empty());
    }

    #[test]
    fn a_port_needs_only_its_path_and_ble_keys_default_one_by_one() {
        let config = Config::parse(
            "[[port]]\npath = \"/dev/ttyS1\"\n[[port]]\npath = \"/dev/ttyS2\"\n[ble]\nenabled = true\n",
        )
        .unwrap();
        let paths: Vec<_> = config.ports.iter().map(|port| port.path.clone()).collect();
        assert_eq!(
            paths,
            [PathBuf::from("/dev/ttyS1"), PathBuf::from("/dev/ttyS2")]
        );
        assert_eq!(config.ports[0].driver, None);
        assert_eq!(config.ports[0].baud, None);
        assert!(config.ble.enabled);
        assert_eq!(config.ble.adapter, "hci0");
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level_naming_the_key() {
        for (text, key) in [
            ("plugin_dir = []\n", "plugin_dir"),
            (
                "[[port]]\npath = \"/dev/ttyS1\"\nbaudrate = 9600\n",
                "baudrate",
            ),
            ("[ble]\nenable = true\n", "enable"),
            ("[bluetooth]\nenabled = true\n", "bluetooth"),
        ] {
            let message = error_text(text);
            assert!(message.contains(&format!("`{key}`")), "{key}: {message}");
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_is_rejected() {
        let message = error_text("[[port]]\npath = \"/dev/ttyS1\"\nbaud = \"fast\"\n");
        assert!(message.contains("baud"), "{message}");
    }

    #[test]
    fn a_port_without_a_path_is_rejected() {
        assert!(error_text("[[port]]\nbaud = 9600\n").contains("`path`"));
    }

    #[test]
    fn port_validation_errors_name_the_value() {
        assert_eq!(
            error_text("[[port]]\npath = \"ttyS1\"\n"),
            r#"[[port]] path "ttyS1" is not an absolute path"#
        );
        assert_eq!(
            error_text("[[port]]\npath = \"/dev/ttyS1\"\nbaud = 0\n"),
            r#"[[port]] path "/dev/ttyS1": baud must be greater than 0"#
        );
        assert_eq!(
            error_text("[[port]]\npath = \"/dev/ttyS1\"\n[[port]]\npath = \"/dev/ttyS1\"\n"),
            r#"[[port]] path "/dev/ttyS1" is configured more than once"#
        );
        assert_eq!(
            error_text("[[port]]\npath = \"/dev/ttyS1\"\ndriver = \"../evil\"\n"),
            r#"[[port]] path "/dev/ttyS1": driver "../evil" is not a driver name (letters, digits, '_', '-')"#
        );
    }

    #[test]
    fn ble_addresses_are_validated_and_stored_upper_case() {
        let config = Config::parse("[ble]\nallow = [\"aa:bb:cc:dd:ee:0f\"]\n").unwrap();
        assert_eq!(config.ble.allow, ["AA:BB:CC:DD:EE:0F"]);
        let config = Config::parse(
            "[ble.bthome_keys]\n\"a4:c1:38:00:11:22\" = \"231D39C1D7CC1AB1AEE224CD096DB932\"\n",
        )
        .unwrap();
        assert_eq!(
            config.ble.bthome_keys["A4:C1:38:00:11:22"],
            "231d39c1d7cc1ab1aee224cd096db932"
        );
        let bad = Config::parse("[ble.bthome_keys]\n\"A4:C1:38:00:11:22\" = \"1234\"\n");
        assert!(matches!(bad, Err(ConfigError::BadBthomeKey(_))));
        for bad in [
            "AA:BB:CC:DD:EE",
            "AA:BB:CC:DD:EE:FF:00",
            "AABBCCDDEEFF",
            "AA:BB:CC:DD:EE:GG",
            "A:BB:CC:DD:EE:FFF",
        ] {
            assert_eq!(
                error_text(&format!("[ble]\nallow = [\"{bad}\"]\n")),
                format!("[ble] allow: {bad:?} is not a Bluetooth address like AA:BB:CC:DD:EE:FF")
            );
        }
    }

    #[test]
    fn driver_options_are_stringified() {
        let config = Config::parse(
            "[drivers.cellular]\nsignal_interval = 30\napn = \"internet\"\nroaming = false\n\n[drivers.iridium]\nretries = 3\n",
        )
        .unwrap();
        let options = config.driver_options("cellular");
        let expected: BTreeMap<String, String> = [
            ("apn", "internet"),
            ("roaming", "false"),
            ("signal_interval", "30"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(options, expected);
        assert_eq!(
            config
                .driver_options("iridium")
                .get("retries")
                .map(String::as_str),
            Some("3")
        );
        assert!(config.driver_options("ble").is_empty());
    }

    #[test]
    fn isolated_drivers_are_a_list_of_driver_names() {
        assert!(Config::parse("").unwrap().isolated_drivers.is_empty());
        let config = Config::parse(
            "isolated_drivers = [\"cellular\", \"acme-x1\"]\n[[port]]\npath = \"/dev/ttyS1\"\n",
        )
        .unwrap();
        assert_eq!(config.isolated_drivers, ["cellular", "acme-x1"]);
        assert_eq!(
            error_text("isolated_drivers = [\"cellular\", \"../evil\"]\n"),
            r#"isolated_drivers: "../evil" is not a driver name (letters, digits, '_', '-')"#
        );
        assert!(error_text("isolated_drivers = \"cellular\"\n").contains("isolated_drivers"));
    }

    #[test]
    fn in_process_drivers_are_driver_names_not_also_isolated() {
        assert!(Config::parse("").unwrap().in_process_drivers.is_empty());
        let config = Config::parse("in_process_drivers = [\"acme-x1\"]\n").unwrap();
        assert_eq!(config.in_process_drivers, ["acme-x1"]);
        assert_eq!(
            error_text("in_process_drivers = [\"../evil\"]\n"),
            r#"in_process_drivers: "../evil" is not a driver name (letters, digits, '_', '-')"#
        );
        assert_eq!(
            error_text("isolated_drivers = [\"acme\"]\nin_process_drivers = [\"acme\"]\n"),
            r#"driver "acme" is in both isolated_drivers and in_process_drivers"#
        );
    }

    #[test]
    fn forget_after_is_seconds_and_zero_means_never() {
        assert_eq!(Config::parse("").unwrap().forget_after(), None);
        assert_eq!(
            Config::parse("forget_after = 0\n").unwrap().forget_after(),
            None
        );
        assert_eq!(
            Config::parse("forget_after = 86400\n")
                .unwrap()
                .forget_after(),
            Some(Duration::from_secs(86400))
        );
        assert!(error_text("forget_after = -1\n").contains("forget_after"));
    }

    #[test]
    fn load_names_the_file_in_every_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let message = Config::load(&missing).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("cannot read config file {}: ", missing.display())),
            "{message}"
        );

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[[port]]\npath = \"ttyS1\"\n").unwrap();
        assert_eq!(
            Config::load(&bad).unwrap_err().to_string(),
            format!(
                r#"config file {}: [[port]] path "ttyS1" is not an absolute path"#,
                bad.display()
            )
        );

        let good = dir.path().join("good.toml");
        std::fs::write(&good, API_EXAMPLE).unwrap();
        assert_eq!(
            Config::load(&good).unwrap(),
            Config::parse(API_EXAMPLE).unwrap()
        );
    }
}
