//! What can go wrong in m2mctl, and the exit code each failure maps to.

use std::time::Duration;

/// Exit code: the operation failed (a D-Bus error, a timeout, a local failure).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the command line was wrong (clap uses the same code for its errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the system bus or the daemon cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit code: no device matches what the user named.
pub const EXIT_NO_DEVICE: u8 = 4;

/// A failure of one m2mctl invocation; its `Display` is the text after `m2mctl: `.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line parsed but makes no sense (e.g. `--binary` with a payload that is not hex).
    #[error("{0}")]
    Usage(String),
    /// The system bus itself cannot be reached.
    #[error("cannot connect to the system bus: {0}")]
    BusUnreachable(String),
    /// Nobody owns `org.m2mhal.Hal1`.
    #[error("m2mhald is not running on the system bus (org.m2mhal.Hal1 not found)")]
    DaemonNotRunning,
    /// The daemon stopped while m2mctl was waiting for it.
    #[error("m2mhald left the system bus")]
    DaemonLeft,
    /// No device matches the user's device argument.
    #[error("no device matches \"{0}\"")]
    NoDevice(String),
    /// Several devices match the user's device argument.
    #[error("\"{spec}\" is ambiguous, it matches {}", .paths.join(", "))]
    AmbiguousDevice {
        /// What the user typed.
        spec: String,
        /// The object paths of the matching devices.
        paths: Vec<String>,
    },
    /// The daemon (or the bus) answered with a D-Bus error.
    #[error("{short_name}: {message}")]
    DBus {
        /// Last component of the error name, e.g. `PayloadTooLarge`.
        short_name: String,
        /// The human-readable message that came with the error.
        message: String,
    },
    /// No answer or no event arrived in time.
    #[error("timed out after {} waiting for {what}", format_duration(*.after))]
    Timeout {
        /// What m2mctl was waiting for.
        what: String,
        /// How long it waited.
        after: Duration,
    },
    /// Whoever read stdout went away (`m2mctl monitor | head -1`): stop quietly, exit 0.
    #[error("stdout was closed")]
    OutputClosed,
    /// Anything else that made the operation fail (unexpected reply, unreadable file, ...).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The process exit code for this failure (documented in `m2mctl --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::OutputClosed => 0,
            Self::Usage(_) => EXIT_USAGE,
            Self::BusUnreachable(_) | Self::DaemonNotRunning | Self::DaemonLeft => EXIT_UNREACHABLE,
            Self::NoDevice(_) | Self::AmbiguousDevice { .. } => EXIT_NO_DEVICE,
            Self::DBus { .. } | Self::Timeout { .. } | Self::Failed(_) => EXIT_FAILED,
        }
    }

    /// Turns an error reply or a transport failure from zbus into the user-facing error.
    pub fn from_zbus(error: zbus::Error) -> Self {
        match error {
            zbus::Error::MethodError(name, message, _) => Self::dbus(name.as_str(), message),
            zbus::Error::FDO(fdo) => Self::from_fdo(*fdo),
            other => Self::Failed(format!("D-Bus: {other}")),
        }
    }

    /// Turns a standard `org.freedesktop.DBus.Error.*` reply into the user-facing error.
    pub fn from_fdo(error: zbus::fdo::Error) -> Self {
        use zbus::DBusError;
        use zbus::fdo::Error as Fdo;
        match error {
            Fdo::ServiceUnknown(_)
            | Fdo::NameHasNoOwner(_)
            | Fdo::SpawnExecFailed(_)
            | Fdo::SpawnForkFailed(_)
            | Fdo::SpawnChildExited(_)
            | Fdo::SpawnChildSignaled(_)
            | Fdo::SpawnFailed(_) => Self::DaemonNotRunning,
            Fdo::ZBus(inner) => Self::from_zbus(inner),
            other => Self::dbus(
                other.name().as_str(),
                other.description().map(str::to_owned),
            ),
        }
    }

    /// A D-Bus error reply, named by the last component of its error name.
    fn dbus(error_name: &str, message: Option<String>) -> Self {
        let short_name = error_name
            .rsplit('.')
            .next()
            .unwrap_or(error_name)
            .to_owned();
        Self::DBus {
            short_name,
            message: message.unwrap_or_else(|| "(no message)".to_owned()),
        }
    }
}

impl From<zbus::Error> for CliError {
    fn from(error: zbus::Error) -> Self {
        Self::from_zbus(error)
    }
}

impl From<zbus::fdo::Error> for CliError {
    fn from(error: zbus::fdo::Error) -> Self {
        Self::from_fdo(error)
    }
}

/// `10 s`, `1.5 s`: how long a timeout was, for messages.
pub fn format_duration(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_error_shows_last_name_component_and_message() {
        let error = CliError::dbus(
            m2mhal_contract::error::PAYLOAD_TOO_LARGE,
            Some("payload is 2000 bytes, MaxPayload is 1200".to_owned()),
        );
        assert_eq!(
            error.to_string(),
            "PayloadTooLarge: payload is 2000 bytes, MaxPayload is 1200"
        );
        assert_eq!(error.exit_code(), EXIT_FAILED);
    }

    #[test]
    fn missing_service_means_daemon_not_running() {
        let error = CliError::from_fdo(zbus::fdo::Error::ServiceUnknown(
            "The name org.m2mhal.Hal1 was not provided by any .service files".to_owned(),
        ));
        assert_eq!(
            error.to_string(),
            "m2mhald is not running on the system bus (org.m2mhal.Hal1 not found)"
        );
        assert_eq!(error.exit_code(), EXIT_UNREACHABLE);
    }

    #[test]
    fn standard_errors_keep_their_name() {
        let error = CliError::from_fdo(zbus::fdo::Error::AccessDenied(
            "Rejected send message".to_owned(),
        ));
        assert_eq!(error.to_string(), "AccessDenied: Rejected send message");
        assert_eq!(error.exit_code(), EXIT_FAILED);
    }

    #[test]
    fn unknown_device_exit_code_and_text() {
        let error = CliError::NoDevice("x".to_owned());
        assert_eq!(error.to_string(), "no device matches \"x\"");
        assert_eq!(error.exit_code(), EXIT_NO_DEVICE);
    }

    #[test]
    fn timeout_names_the_wait() {
        let error = CliError::Timeout {
            what: "a reply to Send".to_owned(),
            after: Duration::from_millis(1500),
        };
        assert_eq!(
            error.to_string(),
            "timed out after 1.5 s waiting for a reply to Send"
        );
    }
}
