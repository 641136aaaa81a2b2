//! The control commands of `m2msim ble`, one per line (see the module documentation of
//! [`crate::ble`] for the list): parsing, and why a command failed.

use m2mhal_fake_bluez::Address;

use super::bthome::{self, Key};
use super::measurement::{Measurement, MeasurementError};
use crate::control_plane::parse_on_off;
use crate::help::CommandHelp;

/// The control commands of `m2msim ble`, for `help` and `m2msim ble --help`.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp::new(ADD_BTHOME, "a BTHome v2 sensor starts advertising"),
    CommandHelp::new(ADD_ESS, "an Environmental Sensing GATT sensor appears"),
    CommandHelp::new("add-phone <ADDR>", "a phone walks by (no driver claims it)"),
    CommandHelp::new(MEASURE, "a sensor measures new values"),
    CommandHelp::new(VALUE, "a characteristic takes a value (notified)"),
    CommandHelp::new(
        "range <ADDR> on|off",
        "a peripheral comes into or leaves range",
    ),
    CommandHelp::new("drop <ADDR>", "the link to a peripheral is lost"),
    CommandHelp::new("expire <ADDR>", "BlueZ forgets the device object"),
    CommandHelp::new("power on|off", "the adapter powers on or off"),
    CommandHelp::new("restart", "bluetoothd restarts"),
    CommandHelp::new("events", "what clients did so far"),
    CommandHelp::new("status", "the peripherals"),
];

/// Why a control command failed.
#[derive(Debug, thiserror::Error)]
pub enum BleControlError {
    /// The first word is not a command.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The arguments do not fit the command; the text is its usage.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// Not a `AA:BB:CC:DD:EE:FF` address.
    #[error("{0:?} is not a Bluetooth address like AA:BB:CC:DD:EE:FF")]
    Address(String),
    /// `--key` is not 32 hex digits.
    #[error("--key takes 32 hex digits (a 128-bit AES key), not {0:?}")]
    Key(String),
    /// `value` got something that is not hex bytes.
    #[error("{0:?} is not hex bytes")]
    Hex(String),
    /// `measure` words that cannot be used.
    #[error(transparent)]
    Measurement(#[from] MeasurementError),
    /// `measure` on a peripheral that measures nothing.
    #[error("{0} is a phone: it measures nothing")]
    NothingToMeasure(Address),
    /// The fake BlueZ refused.
    #[error(transparent)]
    Bluez(#[from] m2mhal_fake_bluez::Error),
}

/// A parsed control command.
#[derive(Debug, Clone, PartialEq)]
pub enum BleControl {
    /// `add-bthome <ADDR> [name] [--key HEX32]`.
    AddBthome {
        /// Its address.
        address: Address,
        /// Its advertised name.
        name: Option<String>,
        /// The key when it encrypts.
        key: Option<Key>,
    },
    /// `add-ess <ADDR> [name]`.
    AddEss {
        /// Its address.
        address: Address,
        /// Its advertised name.
        name: Option<String>,
    },
    /// `add-phone <ADDR>`.
    AddPhone(Address),
    /// `measure <ADDR> key=value...`.
    Measure(Address, Measurement),
    /// `value <ADDR> <UUID> <HEX>`: a characteristic takes a value (notified when subscribed).
    Value(Address, String, Vec<u8>),
    /// `range <ADDR> on|off`.
    Range(Address, bool),
    /// `drop <ADDR>`: link loss.
    Drop(Address),
    /// `expire <ADDR>`: the device object goes away (disconnected first), as when BlueZ expires
    /// a temporary device.
    Expire(Address),
    /// `power on|off`: the adapter.
    Power(bool),
    /// `restart`: bluetoothd restarts.
    Restart,
    /// `events`: what clients did so far.
    Events,
    /// `status`: the peripherals.
    Status,
}

const ADD_BTHOME: &str = "add-bthome <ADDR> [name] [--key HEX32]";
const ADD_ESS: &str = "add-ess <ADDR> [name]";
const MEASURE: &str = "measure <ADDR> temperature=21.5 humidity=40 battery=90 pressure=1013.2";
const VALUE: &str = "value <ADDR> <UUID> <HEX>";

impl BleControl {
    /// Parses a command line (not blank, not a comment).
    pub fn parse(line: &str) -> Result<BleControl, BleControlError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let usage = BleControlError::Usage;
        let command = match words.as_slice() {
            ["add-bthome", address, rest @ ..] => {
                let (name, key) = name_and_key(rest)?;
                BleControl::AddBthome {
                    address: parse_address(address)?,
                    name,
                    key,
                }
            }
            ["add-bthome", ..] => return Err(usage(ADD_BTHOME)),
            ["add-ess", address] => BleControl::AddEss {
                address: parse_address(address)?,
                name: None,
            },
            ["add-ess", address, name] => BleControl::AddEss {
                address: parse_address(address)?,
                name: Some((*name).to_owned()),
            },
            ["add-ess", ..] => return Err(usage(ADD_ESS)),
            ["add-phone", address] => BleControl::AddPhone(parse_address(address)?),
            ["add-phone", ..] => return Err(usage("add-phone <ADDR>")),
            ["measure", address, words @ ..] => BleControl::Measure(
                parse_address(address)?,
                Measurement::parse(words.iter().copied())?,
            ),
            ["measure", ..] => return Err(usage(MEASURE)),
            ["value", address, uuid, hex] => BleControl::Value(
                parse_address(address)?,
                (*uuid).to_owned(),
                parse_hex(hex).ok_or_else(|| BleControlError::Hex((*hex).to_owned()))?,
            ),
            ["value", ..] => return Err(usage(VALUE)),
            ["range", address, switch] => BleControl::Range(
                parse_address(address)?,
                on_off(switch, "range <ADDR> on|off")?,
            ),
            ["range", ..] => return Err(usage("range <ADDR> on|off")),
            ["drop", address] => BleControl::Drop(parse_address(address)?),
            ["drop", ..] => return Err(usage("drop <ADDR>")),
            ["expire", address] => BleControl::Expire(parse_address(address)?),
            ["expire", ..] => return Err(usage("expire <ADDR>")),
            ["power", switch] => BleControl::Power(on_off(switch, "power on|off")?),
            ["power", ..] => return Err(usage("power on|off")),
            ["restart"] => BleControl::Restart,
            ["events"] => BleControl::Events,
            ["status"] => BleControl::Status,
            _ => return Err(BleControlError::UnknownCommand(line.trim().to_owned())),
        };
        Ok(command)
    }
}

/// The optional name and `--key HEX32` of `add-bthome`, in either order.
fn name_and_key(words: &[&str]) -> Result<(Option<String>, Option<Key>), BleControlError> {
    let mut name = None;
    let mut key = None;
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if *word == "--key" {
            let text = words.next().ok_or(BleControlError::Usage(ADD_BTHOME))?;
            let parsed =
                bthome::parse_key(text).ok_or_else(|| BleControlError::Key((*text).to_owned()))?;
            if key.replace(parsed).is_some() {
                return Err(BleControlError::Usage(ADD_BTHOME));
            }
        } else if name.replace((*word).to_owned()).is_some() {
            return Err(BleControlError::Usage(ADD_BTHOME));
        }
    }
    Ok((name, key))
}

fn parse_address(text: &str) -> Result<Address, BleControlError> {
    text.parse()
        .map_err(|_| BleControlError::Address(text.to_owned()))
}

/// `0a1B` as bytes; `None` unless an even number of hex digits.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn on_off(word: &str, usage: &'static str) -> Result<bool, BleControlError> {
    parse_on_off(word).ok_or(BleControlError::Usage(usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Address {
        "A4:C1:38:00:11:22".parse().unwrap()
    }

    #[test]
    fn commands_parse() {
        assert_eq!(
            BleControl::parse("add-bthome A4:C1:38:00:11:22").unwrap(),
            BleControl::AddBthome {
                address: address(),
                name: None,
                key: None
            }
        );
        assert_eq!(
            BleControl::parse(
                "add-bthome a4:c1:38:00:11:22 --key 231d39c1d7cc1ab1aee224cd096db932 Garden"
            )
            .unwrap(),
            BleControl::AddBthome {
                address: address(),
                name: Some("Garden".into()),
                key: bthome::parse_key("231d39c1d7cc1ab1aee224cd096db932"),
            }
        );
        assert_eq!(
            BleControl::parse("add-ess A4:C1:38:00:11:22 Kitchen").unwrap(),
            BleControl::AddEss {
                address: address(),
                name: Some("Kitchen".into())
            }
        );
        assert_eq!(
            BleControl::parse("measure A4:C1:38:00:11:22 humidity=40").unwrap(),
            BleControl::Measure(address(), Measurement::parse(["humidity=40"]).unwrap())
        );
        assert_eq!(
            BleControl::parse("value A4:C1:38:00:11:22 2a19 5A").unwrap(),
            BleControl::Value(address(), "2a19".into(), vec![0x5a])
        );
        assert_eq!(
            BleControl::parse("range A4:C1:38:00:11:22 off").unwrap(),
            BleControl::Range(address(), false)
        );
        assert_eq!(
            BleControl::parse("  power on ").unwrap(),
            BleControl::Power(true)
        );
        assert_eq!(
            BleControl::parse("expire A4:C1:38:00:11:22").unwrap(),
            BleControl::Expire(address())
        );
        assert_eq!(BleControl::parse("restart").unwrap(), BleControl::Restart);
        assert_eq!(BleControl::parse("events").unwrap(), BleControl::Events);
    }

    #[test]
    fn bad_commands_say_why() {
        let error = |line: &str| BleControl::parse(line).unwrap_err().to_string();
        assert_eq!(error("fly"), "unknown command \"fly\"");
        assert_eq!(error("add-ess"), format!("usage: {ADD_ESS}"));
        assert_eq!(
            error("add-bthome A4:C1:38:00:11:22 --key 1234"),
            "--key takes 32 hex digits (a 128-bit AES key), not \"1234\""
        );
        assert_eq!(
            error("add-bthome A4:C1:38:00:11:22 one two"),
            format!("usage: {ADD_BTHOME}")
        );
        assert_eq!(
            error("drop A4:C1:38"),
            "\"A4:C1:38\" is not a Bluetooth address like AA:BB:CC:DD:EE:FF"
        );
        assert_eq!(
            error("measure A4:C1:38:00:11:22 wind=3"),
            "unknown quantity \"wind\": use temperature, humidity, battery or pressure"
        );
        assert_eq!(
            error("value A4:C1:38:00:11:22 2a19 5"),
            "\"5\" is not hex bytes"
        );
        assert_eq!(
            error("range A4:C1:38:00:11:22 maybe"),
            "usage: range <ADDR> on|off"
        );
        assert_eq!(error("restart now"), "unknown command \"restart now\"");
    }
}
