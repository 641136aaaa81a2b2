//! What one instance is configured with: the peripheral's address (the host's `port`) and the
//! driver options from the daemon configuration.
//!
//! Options:
//! - `bthome_key`: the 32 hex digit AES key of an encrypted BTHome device.
//! - `connect`: `auto` (default: connect when the advertisement shows the Environmental Sensing or
//!   Battery service and carries no BTHome data), `always` (a GATT device whatever it advertises)
//!   or `never` (connect only when an application asks for it).
//! - `absent_after`: seconds without an advertisement (and without a link) after which the device
//!   counts as out of range (`offline`, `out-of-range`); default 300, 0 never.

use m2mhal_plugin_api::OpenConfig;

/// A Bluetooth device address in the order it is written: `54:48:E6:8F:80:A5` is
/// `[0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5]`.
pub(crate) type Address = [u8; 6];

/// The AES-128 key of an encrypted BTHome device.
pub(crate) type BindKey = [u8; 16];

/// When the driver brings the link up by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectMode {
    /// When the advertisement shows a GATT sensor.
    Auto,
    /// Always: the device is read over GATT.
    Always,
    /// Only for application requests.
    Never,
}

/// The parsed configuration of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    /// The address, for the BTHome nonce.
    pub address: Address,
    /// The address as text, upper-case with colons (the device id is `ble:` and this).
    pub address_text: String,
    /// `bthome_key`.
    pub bthome_key: Option<BindKey>,
    /// `connect`.
    pub connect: ConnectMode,
    /// `absent_after`, in milliseconds; 0 = never.
    pub absent_after_ms: u64,
}

/// The configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The port is not a Bluetooth address.
    #[error("port {0:?} is not a Bluetooth address (AA:BB:CC:DD:EE:FF)")]
    Address(String),
    /// `bthome_key` is not 16 bytes of hex.
    #[error("option bthome_key: expected 32 hexadecimal digits")]
    BindKey,
    /// `connect` has an unknown value.
    #[error("option connect: {0:?} is not one of auto, always, never")]
    Connect(String),
    /// `absent_after` is not a number of seconds.
    #[error("option absent_after: {0:?} is not a number of seconds")]
    AbsentAfter(String),
}

impl Config {
    /// Reads the address from `port` and the options.
    pub fn parse(open: &OpenConfig) -> Result<Config, ConfigError> {
        let address =
            parse_address(&open.port).ok_or_else(|| ConfigError::Address(open.port.clone()))?;
        let bthome_key = open
            .options
            .get("bthome_key")
            .map(|text| hex_bytes(text.trim()).ok_or(ConfigError::BindKey))
            .transpose()?;
        let connect = match open.options.get("connect").map(|text| text.trim()) {
            None | Some("auto") => ConnectMode::Auto,
            Some("always") => ConnectMode::Always,
            Some("never") => ConnectMode::Never,
            Some(other) => return Err(ConfigError::Connect(other.to_owned())),
        };
        let absent_after_ms = match open.options.get("absent_after") {
            None => DEFAULT_ABSENT_AFTER_S * 1000,
            Some(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|_| ConfigError::AbsentAfter(text.clone()))?
                .saturating_mul(1000),
        };
        Ok(Config {
            address,
            address_text: address
                .iter()
                .map(|byte| format!("{byte:02X}"))
                .collect::<Vec<_>>()
                .join(":"),
            bthome_key,
            connect,
            absent_after_ms,
        })
    }
}

/// Seconds without advertisements before a device counts as out of range.
const DEFAULT_ABSENT_AFTER_S: u64 = 300;

/// `AA:BB:CC:DD:EE:FF` (either case) as bytes.
fn parse_address(text: &str) -> Option<Address> {
    let groups: Vec<&str> = text.trim().split(':').collect();
    if groups.len() != 6 || groups.iter().any(|group| group.len() != 2) {
        return None;
    }
    hex_bytes(&groups.concat())
}

/// Exactly `N` bytes written as `2 * N` hex digits.
fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(port: &str, options: &[(&str, &str)]) -> OpenConfig {
        OpenConfig {
            port: port.into(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..OpenConfig::default()
        }
    }

    #[test]
    fn address_and_defaults() {
        let config = Config::parse(&open("54:48:e6:8F:80:A5", &[])).unwrap();
        assert_eq!(config.address, [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5]);
        assert_eq!(config.address_text, "54:48:E6:8F:80:A5");
        assert_eq!(config.bthome_key, None);
        assert_eq!(config.connect, ConnectMode::Auto);
    }

    #[test]
    fn options() {
        let config = Config::parse(&open(
            "54:48:E6:8F:80:A5",
            &[
                ("bthome_key", "231d39c1d7cc1ab1aee224cd096db932"),
                ("connect", "always"),
            ],
        ))
        .unwrap();
        assert_eq!(
            config.bthome_key,
            Some([
                0x23, 0x1d, 0x39, 0xc1, 0xd7, 0xcc, 0x1a, 0xb1, 0xae, 0xe2, 0x24, 0xcd, 0x09, 0x6d,
                0xb9, 0x32
            ])
        );
        assert_eq!(config.connect, ConnectMode::Always);
    }

    #[test]
    fn bad_values_are_named() {
        for port in [
            "/dev/ttyUSB0",
            "54:48:E6:8F:80",
            "54:48:E6:8F:80:A",
            "5448E68F80A5",
        ] {
            assert_eq!(
                Config::parse(&open(port, &[])),
                Err(ConfigError::Address(port.into()))
            );
        }
        for key in [
            "231d39c1",
            "231d39c1d7cc1ab1aee224cd096db93g",
            "é31d39c1d7cc1ab1aee224cd096db9",
        ] {
            assert_eq!(
                Config::parse(&open("54:48:E6:8F:80:A5", &[("bthome_key", key)])),
                Err(ConfigError::BindKey)
            );
        }
        assert_eq!(
            Config::parse(&open("54:48:E6:8F:80:A5", &[("connect", "sometimes")])),
            Err(ConfigError::Connect("sometimes".into()))
        );
    }
}
