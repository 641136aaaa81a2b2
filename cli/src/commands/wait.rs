//! `wait`: block until a device (or any device) exists and is in a given state.

use futures_util::{Stream, StreamExt};
use serde_json::json;
use zbus::Message;

use super::{print, print_json};
use crate::bus::Hal;
use crate::device::{self, Device};
use crate::error::CliError;
use crate::events::Event;

/// What `wait` accepts instead of a device to mean "the first device that gets there".
const ANY_DEVICE: &str = "any";

/// `m2mctl wait DEVICE|any [--state S]`: prints the path of the device that reached the state.
///
/// The daemon does not need to be running yet: m2mctl waits for it to appear.
pub async fn wait(hal: &Hal, json: bool, target: &str, state: &str) -> Result<(), CliError> {
    let mut signals = hal.signals().await?;
    let mut last_seen = String::new();
    let waiting = wait_until(hal, &mut signals, target, state, &mut last_seen);
    let path = tokio::time::timeout(hal.timeout(), waiting)
        .await
        .map_err(|_| CliError::Timeout {
            what: format!("{} to be {state} ({last_seen})", describe(target)),
            after: hal.timeout(),
        })??;
    if json {
        print_json(&json!({"path": path}))
    } else {
        print(&path)
    }
}

/// Re-checks the devices after every event that may change a device's state.
async fn wait_until(
    hal: &Hal,
    signals: &mut (impl Stream<Item = Message> + Unpin),
    target: &str,
    state: &str,
    last_seen: &mut String,
) -> Result<String, CliError> {
    loop {
        let devices = match hal.devices().await {
            Ok(devices) => Some(devices),
            Err(CliError::DaemonNotRunning) => None,
            Err(error) => return Err(error),
        };
        match check(devices.as_deref(), target, state)? {
            Ok(path) => return Ok(path),
            Err(status) => *last_seen = status,
        }
        loop {
            let Some(message) = signals.next().await else {
                return Err(CliError::Failed("the bus connection closed".to_owned()));
            };
            if Event::from_message(&message).is_some_and(|event| event.may_change_device_state()) {
                break;
            }
        }
    }
}

/// `Ok(Ok(path))` when the target device is in `state`, `Ok(Err(what is seen instead))` when not
/// yet; `devices` is `None` while the daemon is not running. Ambiguous names fail at once.
fn check(
    devices: Option<&[Device]>,
    target: &str,
    state: &str,
) -> Result<Result<String, String>, CliError> {
    let Some(devices) = devices else {
        return Ok(Err("m2mhald is not running".to_owned()));
    };
    if target == ANY_DEVICE {
        let found = devices.iter().find(|device| device.state() == state);
        return Ok(match found {
            Some(device) => Ok(device.path.clone()),
            None if devices.is_empty() => Err("there are no devices".to_owned()),
            None => Err(format!("no device is {state}")),
        });
    }
    match device::resolve(devices, target) {
        Ok(device) if device.state() == state => Ok(Ok(device.path.clone())),
        Ok(device) => Ok(Err(format!("it is {}", device.state()))),
        Err(CliError::NoDevice(_)) => Ok(Err("no such device yet".to_owned())),
        Err(error) => Err(error),
    }
}

/// `any device` or `device "3"`.
fn describe(target: &str) -> String {
    if target == ANY_DEVICE {
        "any device".to_owned()
    } else {
        format!("device \"{target}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::device;

    fn fleet() -> Vec<Device> {
        vec![
            device(1, "imei:356938035643809", "/dev/ttyUSB2", "initializing"),
            device(2, "serial:300234063904190", "/dev/ttymxc1", "ready"),
        ]
    }

    #[test]
    fn named_device_in_or_not_in_the_state() {
        let devices = fleet();
        assert_eq!(
            check(Some(&devices), "/dev/ttymxc1", "ready").unwrap(),
            Ok("/org/m2mhal/Hal1/Devices/2".to_owned())
        );
        assert_eq!(
            check(Some(&devices), "1", "ready").unwrap(),
            Err("it is initializing".to_owned())
        );
        assert_eq!(
            check(Some(&devices), "imei:490154203237518", "ready").unwrap(),
            Err("no such device yet".to_owned())
        );
    }

    #[test]
    fn any_device_takes_the_first_in_the_state() {
        let devices = fleet();
        assert_eq!(
            check(Some(&devices), "any", "initializing").unwrap(),
            Ok("/org/m2mhal/Hal1/Devices/1".to_owned())
        );
        assert_eq!(
            check(Some(&devices), "any", "failed").unwrap(),
            Err("no device is failed".to_owned())
        );
        assert_eq!(
            check(Some(&[]), "any", "ready").unwrap(),
            Err("there are no devices".to_owned())
        );
    }

    #[test]
    fn absent_daemon_is_waited_for() {
        assert_eq!(
            check(None, "any", "ready").unwrap(),
            Err("m2mhald is not running".to_owned())
        );
    }

    #[test]
    fn ambiguous_device_fails_at_once() {
        let devices = vec![
            device(1, "imei:356938035643809", "/dev/ttyUSB2", "offline"),
            device(4, "imei:490154203237518", "/dev/ttyUSB2", "initializing"),
        ];
        let error = check(Some(&devices), "/dev/ttyUSB2", "ready").unwrap_err();
        assert_eq!(error.exit_code(), crate::error::EXIT_NO_DEVICE);
    }
}
