//! The `[modemmanager]` table of the daemon's config.

use std::collections::BTreeSet;

use serde::Deserialize;
use thiserror::Error;

/// Whether m2mhald talks to ModemManager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Follow ModemManager whenever it is on the bus; never open a port of a modem it manages.
    #[default]
    Auto,
    /// Never talk to ModemManager: every modem is served directly.
    Off,
}

/// The `[modemmanager]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModemManagerConfig {
    /// `auto` (default) or `off`.
    pub mode: Mode,
    /// Ids (`imei:<IMEI>`) of modems m2mhald takes from ModemManager (`InhibitDevice`) and
    /// drives itself while it runs.
    pub own: Vec<String>,
    /// Enable modems ModemManager reports disabled. Default `true`.
    pub enable: bool,
    /// Delete an incoming SMS from ModemManager once it is in m2mhal's store. Default `true`.
    pub delete_received: bool,
    /// Switch the GNSS of modems served through ModemManager on (MM's gps-raw source) once
    /// they are enabled. Default `false` (it costs power); `Location.SetEnabled` switches it.
    pub gnss: bool,
}

impl Default for ModemManagerConfig {
    fn default() -> Self {
        ModemManagerConfig {
            mode: Mode::Auto,
            own: Vec::new(),
            enable: true,
            delete_received: true,
            gnss: false,
        }
    }
}

/// A `[modemmanager]` value that cannot be right.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModemManagerConfigError {
    /// An `own` entry that is not a modem Id.
    #[error("[modemmanager] own: {0:?} is not a modem Id like \"imei:356938035643809\"")]
    BadOwnId(String),
    /// The same Id twice in `own`.
    #[error("[modemmanager] own: {0:?} is listed more than once")]
    DuplicateOwnId(String),
}

impl ModemManagerConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), ModemManagerConfigError> {
        let mut seen = BTreeSet::new();
        for id in &self.own {
            if !is_modem_id(id) {
                return Err(ModemManagerConfigError::BadOwnId(id.clone()));
            }
            if !seen.insert(id.as_str()) {
                return Err(ModemManagerConfigError::DuplicateOwnId(id.clone()));
            }
        }
        Ok(())
    }
}

/// Whether `id` is the Id a modem gets: `imei:` and the IMEI's 15 digits.
fn is_modem_id(id: &str) -> bool {
    id.strip_prefix("imei:")
        .is_some_and(|imei| imei.len() == 15 && imei.bytes().all(|byte| byte.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    #[test]
    fn the_design_example_parses() {
        let config = Config::parse(
            "[modemmanager]\nmode = \"auto\"\nown = []\nenable = true\ndelete_received = true\n",
        )
        .unwrap();
        assert_eq!(config.modemmanager, ModemManagerConfig::default());
    }

    #[test]
    fn defaults_follow_modemmanager() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.modemmanager.mode, Mode::Auto);
        assert!(config.modemmanager.own.is_empty());
        assert!(config.modemmanager.enable);
        assert!(config.modemmanager.delete_received);
        assert!(!config.modemmanager.gnss);
    }

    #[test]
    fn off_own_and_switches() {
        let config = Config::parse(
            "[modemmanager]\nmode = \"off\"\nown = [\"imei:356938035643809\"]\nenable = false\ndelete_received = false\ngnss = true\n",
        )
        .unwrap();
        assert_eq!(
            config.modemmanager,
            ModemManagerConfig {
                mode: Mode::Off,
                own: vec!["imei:356938035643809".to_owned()],
                enable: false,
                delete_received: false,
                gnss: true,
            }
        );
    }

    #[test]
    fn bad_values_are_named() {
        let error = |text: &str| Config::parse(text).unwrap_err().to_string();
        let mode = error("[modemmanager]\nmode = \"sometimes\"\n");
        assert!(mode.contains("sometimes"), "{mode}");
        let id = error("[modemmanager]\nown = [\"356938035643809\"]\n");
        assert!(id.contains("\"356938035643809\" is not a modem Id"), "{id}");
        let short = error("[modemmanager]\nown = [\"imei:12345\"]\n");
        assert!(short.contains("imei:12345"), "{short}");
        let twice =
            error("[modemmanager]\nown = [\"imei:356938035643809\", \"imei:356938035643809\"]\n");
        assert!(twice.contains("more than once"), "{twice}");
        let unknown = error("[modemmanager]\nenabled = true\n");
        assert!(unknown.contains("enabled"), "{unknown}");
    }
}
