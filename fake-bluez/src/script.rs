//! The control language of the `m2mhal-fake-bluez` binary: one command per line.
//!
//! ```text
//! add {"address":"C4:7C:8D:6A:11:22","name":"Flower care","services":[...]}
//! range C4:7C:8D:6A:11:22 off
//! advertise C4:7C:8D:6A:11:22 {"rssi":-70,"service_data":{"fe95":"7120"}}
//! value C4:7C:8D:6A:11:22 2a19 64
//! drop C4:7C:8D:6A:11:22
//! expire C4:7C:8D:6A:11:22
//! power off
//! restart
//! ```
//!
//! Blank lines and lines starting with `#` are ignored.

use crate::spec::hex;
use crate::{Address, AdvUpdate, Error, FakeBluez, PeripheralSpec};

/// One parsed command.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// `add <PeripheralSpec JSON>`.
    Add(Box<PeripheralSpec>),
    /// `range <address> on|off`.
    Range(Address, bool),
    /// `advertise <address> <AdvUpdate JSON>`.
    Advertise(Address, AdvUpdate),
    /// `value <address> <characteristic uuid> <hex bytes>`.
    Value(Address, String, Vec<u8>),
    /// `drop <address>`: link loss.
    Drop(Address),
    /// `expire <address>`: the device object goes away.
    Expire(Address),
    /// `power on|off`.
    Power(bool),
    /// `restart`.
    Restart,
}

/// Parses a line; `Ok(None)` for a blank line or comment, `Err` with a reason otherwise.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let command = match verb {
        "add" => Command::Add(Box::new(json(rest)?)),
        "range" => {
            let (address, state) = two_words(rest)?;
            Command::Range(address.parse().map_err(text)?, on_off(state)?)
        }
        "advertise" => {
            let (address, update) = rest
                .split_once(char::is_whitespace)
                .ok_or("missing update")?;
            Command::Advertise(address.parse().map_err(text)?, json(update)?)
        }
        "value" => {
            let mut words = rest.split_whitespace();
            let (Some(address), Some(uuid), value, None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err("usage: value <address> <uuid> <hex>".into());
            };
            let value = hex::decode(value.unwrap_or("")).ok_or("value is not hex bytes")?;
            Command::Value(address.parse().map_err(text)?, uuid.into(), value)
        }
        "drop" => Command::Drop(rest.parse().map_err(text)?),
        "expire" => Command::Expire(rest.parse().map_err(text)?),
        "power" => Command::Power(on_off(rest)?),
        "restart" if rest.is_empty() => Command::Restart,
        _ => return Err(format!("unknown command {line:?}")),
    };
    Ok(Some(command))
}

/// Carries out a command on the fake.
pub async fn run(bluez: &FakeBluez, command: Command) -> Result<(), Error> {
    match command {
        Command::Add(spec) => bluez.add_peripheral(*spec).await,
        Command::Range(address, in_range) => bluez.set_in_range(address, in_range).await,
        Command::Advertise(address, update) => bluez.advertise(address, update).await,
        Command::Value(address, uuid, value) => {
            bluez.set_value(address, &uuid, value).await.map(|_| ())
        }
        Command::Drop(address) => bluez.drop_link(address).await.map(|_| ()),
        Command::Expire(address) => bluez.expire_device(address).await,
        Command::Power(on) => bluez.set_powered(on).await,
        Command::Restart => bluez.restart().await,
    }
}

fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(text_of)
}

fn text(error: Error) -> String {
    error.to_string()
}

fn text_of(error: serde_json::Error) -> String {
    error.to_string()
}

fn two_words(text: &str) -> Result<(&str, &str), String> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(a), Some(b), None) => Ok((a, b)),
        _ => Err(format!("expected two words, got {text:?}")),
    }
}

fn on_off(word: &str) -> Result<bool, String> {
    match word {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected on or off, got {word:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Address {
        "C4:7C:8D:6A:11:22".parse().unwrap()
    }

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse("range C4:7C:8D:6A:11:22 off").unwrap(),
            Some(Command::Range(address(), false))
        );
        assert_eq!(
            parse("value C4:7C:8D:6A:11:22 2a19 6401").unwrap(),
            Some(Command::Value(address(), "2a19".into(), vec![0x64, 0x01]))
        );
        assert_eq!(
            parse(r#"advertise C4:7C:8D:6A:11:22 {"rssi":-70}"#).unwrap(),
            Some(Command::Advertise(
                address(),
                AdvUpdate {
                    rssi: Some(-70),
                    ..Default::default()
                }
            ))
        );
        assert_eq!(parse("power on").unwrap(), Some(Command::Power(true)));
        assert_eq!(parse("restart").unwrap(), Some(Command::Restart));
        assert_eq!(parse("  # comment").unwrap(), None);
        let Some(Command::Add(spec)) =
            parse(r#"add {"address":"C4:7C:8D:6A:11:22","name":"Flower care"}"#).unwrap()
        else {
            panic!("not an add");
        };
        assert_eq!(spec.name.as_deref(), Some("Flower care"));
    }

    #[test]
    fn bad_lines_are_reported_not_panicked_on() {
        for line in [
            "fly away",
            "range C4:7C:8D:6A:11:22 maybe",
            "range nothing off",
            "value C4:7C:8D:6A:11:22 2a19 6",
            "add {not json",
            "advertise C4:7C:8D:6A:11:22",
            "restart now",
            "drop",
        ] {
            assert!(parse(line).is_err(), "{line}");
        }
    }
}
