//! `org.m2mhal.Hal1.Device`: identity and state of every device.

use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::{CallReply, Request};
use zbus::message::Header;
use zbus::{Connection, interface};

use super::authorize::{Action, authorize};
use super::error::HalError;
use super::registry::Registry;
use crate::device::handle::DeviceHandle;

/// Default and largest timeouts of `Command`, in milliseconds.
const COMMAND_DEFAULT_TIMEOUT_MS: u32 = 10_000;
const COMMAND_MAX_TIMEOUT_MS: u32 = 300_000;
/// How long `Reset` may take.
const RESET_TIMEOUT: Duration = Duration::from_secs(60);
/// Extra time the host grants on top of a driver-side timeout before it gives up itself.
pub(crate) const REPLY_MARGIN: Duration = Duration::from_secs(2);

/// The Device interface of one device object.
pub struct DeviceInterface {
    handle: Arc<DeviceHandle>,
    registry: Arc<Registry>,
}

impl DeviceInterface {
    /// The interface for `handle`'s device, published in `registry`.
    pub fn new(handle: Arc<DeviceHandle>, registry: Arc<Registry>) -> Self {
        DeviceInterface { handle, registry }
    }
}

/// Checks a raw command line: printable ASCII, no line terminators.
fn check_command_line(command: &str) -> Result<(), HalError> {
    if command.trim().is_empty() {
        return Err(HalError::InvalidArgument("command is empty".into()));
    }
    if let Some(bad) = command.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(HalError::InvalidArgument(format!(
            "command contains {bad:?}; only printable ASCII without line terminators is allowed"
        )));
    }
    Ok(())
}

#[interface(name = "org.m2mhal.Hal1.Device")]
impl DeviceInterface {
    /// Stable identity that survives replug and restart (`imei:...`, `ble:...`, `serial:...`).
    #[zbus(property)]
    fn id(&self) -> String {
        self.handle.state().id.clone()
    }

    /// `cellular-modem`, `satellite-terminal` or `ble-device`.
    #[zbus(property)]
    fn kind(&self) -> String {
        self.handle.state().kind.clone()
    }

    /// Name of the plugin that owns the device.
    #[zbus(property)]
    fn driver(&self) -> String {
        self.handle.state().driver.clone()
    }

    /// Manufacturer as reported by the device.
    #[zbus(property)]
    fn manufacturer(&self) -> String {
        self.handle.state().manufacturer.clone()
    }

    /// Model as reported by the device.
    #[zbus(property)]
    fn model(&self) -> String {
        self.handle.state().model.clone()
    }

    /// Firmware revision as reported by the device.
    #[zbus(property)]
    fn revision(&self) -> String {
        self.handle.state().revision.clone()
    }

    /// Serial number; the IMEI for modems and Iridium terminals.
    #[zbus(property)]
    fn serial_number(&self) -> String {
        self.handle.state().serial_number.clone()
    }

    /// Device node or Bluetooth address.
    #[zbus(property)]
    fn port(&self) -> String {
        self.handle.state().port.clone()
    }

    /// `initializing`, `ready`, `offline` or `failed`.
    #[zbus(property)]
    fn state(&self) -> String {
        self.handle.state().state.clone()
    }

    /// Machine-readable reason when not ready, or "".
    #[zbus(property)]
    fn state_reason(&self) -> String {
        self.handle.state().state_reason.clone()
    }

    /// Interfaces this object implements besides Device: `signal`, `messaging`, ...
    #[zbus(property)]
    fn capabilities(&self) -> Vec<String> {
        self.handle.state().capabilities.clone()
    }

    /// Re-initialises the device.
    async fn reset(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), HalError> {
        authorize(conn, &header, Action::Control).await?;
        self.handle.call(Request::Reset, RESET_TIMEOUT).await?;
        Ok(())
    }

    /// Removes an `offline` device's object; its stored messages stay, and it gets the same
    /// object back if it returns. Any other state: `NotReady`.
    async fn forget(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), HalError> {
        authorize(conn, &header, Action::Control).await?;
        self.registry.forget(conn, &self.handle).await
    }

    /// Raw command pass-through (one AT line) for diagnostics; returns the device's answer.
    async fn command(
        &self,
        command: String,
        timeout_ms: u32,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<String, HalError> {
        authorize(conn, &header, Action::Command).await?;
        check_command_line(&command)?;
        let timeout_ms = match timeout_ms {
            0 => COMMAND_DEFAULT_TIMEOUT_MS,
            ms if ms > COMMAND_MAX_TIMEOUT_MS => {
                return Err(HalError::InvalidArgument(format!(
                    "timeout_ms {ms} is above the limit of {COMMAND_MAX_TIMEOUT_MS}"
                )));
            }
            ms => ms,
        };
        let request = Request::Command {
            line: command,
            timeout_ms,
        };
        let wait = Duration::from_millis(u64::from(timeout_ms)) + REPLY_MARGIN;
        match self.handle.call(request, wait).await? {
            CallReply::Text(text) => Ok(text),
            other => Err(HalError::Failed(format!(
                "driver answered the command with {other:?} instead of text"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_checked() {
        assert!(check_command_line("AT+CSQ").is_ok());
        assert!(check_command_line("  ").is_err());
        assert!(check_command_line("AT\r\nAT+CFUN=0").is_err());
        assert!(check_command_line("AT\u{1a}").is_err());
    }
}
