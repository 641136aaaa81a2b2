//! The `org.m2mhal.Hal1.Error.*` errors of the API, each with a message naming what was wrong.

use m2mhal_plugin_api::{CallError, CallErrorKind};

use crate::device::handle::DeviceError;
use crate::device::outgoing::AcceptError;

/// An error returned to a D-Bus caller.
#[derive(Debug, zbus::DBusError)]
// A literal, as the attribute needs; the tests check it against `m2mhal_contract::error`.
#[zbus(prefix = "org.m2mhal.Hal1.Error")]
pub enum HalError {
    /// A transport-level zbus failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The device or driver cannot do this.
    NotSupported(String),
    /// An argument is malformed.
    InvalidArgument(String),
    /// The device is not ready for this now.
    NotReady(String),
    /// The device did not answer in time.
    Timeout(String),
    /// The payload does not fit.
    PayloadTooLarge(String),
    /// The caller may not do this.
    NotAuthorized(String),
    /// The device went away.
    DeviceGone(String),
    /// Anything else.
    Failed(String),
}

impl From<CallError> for HalError {
    fn from(error: CallError) -> Self {
        let message = error.message;
        match error.kind {
            CallErrorKind::NotSupported => HalError::NotSupported(message),
            CallErrorKind::InvalidArgument => HalError::InvalidArgument(message),
            CallErrorKind::NotReady => HalError::NotReady(message),
            CallErrorKind::Timeout => HalError::Timeout(message),
            CallErrorKind::PayloadTooLarge => HalError::PayloadTooLarge(message),
            CallErrorKind::Failed => HalError::Failed(message),
        }
    }
}

impl From<DeviceError> for HalError {
    fn from(error: DeviceError) -> Self {
        match error {
            DeviceError::Gone(message) => HalError::DeviceGone(message),
            DeviceError::Timeout(message) => HalError::Timeout(message),
            DeviceError::Call(error) => HalError::from(error),
        }
    }
}

impl From<AcceptError> for HalError {
    fn from(error: AcceptError) -> Self {
        match error {
            AcceptError::InvalidArgument(message) => HalError::InvalidArgument(message),
            AcceptError::PayloadTooLarge(message) => HalError::PayloadTooLarge(message),
            AcceptError::Device(error) => HalError::from(error),
            AcceptError::Store(_) => HalError::Failed(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use m2mhal_contract::error;
    use zbus::DBusError;

    use super::HalError;
    use crate::device::handle::DeviceError;
    use m2mhal_plugin_api::{CallError, CallErrorKind};

    #[test]
    fn error_names_are_the_contract_names() {
        let message = String::new;
        let errors = [
            (HalError::NotSupported(message()), error::NOT_SUPPORTED),
            (
                HalError::InvalidArgument(message()),
                error::INVALID_ARGUMENT,
            ),
            (HalError::NotReady(message()), error::NOT_READY),
            (HalError::Timeout(message()), error::TIMEOUT),
            (
                HalError::PayloadTooLarge(message()),
                error::PAYLOAD_TOO_LARGE,
            ),
            (HalError::NotAuthorized(message()), error::NOT_AUTHORIZED),
            (HalError::DeviceGone(message()), error::DEVICE_GONE),
            (HalError::Failed(message()), error::FAILED),
        ];
        for (hal_error, contract) in errors {
            assert_eq!(hal_error.name().as_str(), contract);
        }
    }

    #[test]
    fn device_errors_become_their_api_errors_with_their_message() {
        let errors = [
            (DeviceError::Gone("gone".into()), error::DEVICE_GONE),
            (DeviceError::Timeout("slow".into()), error::TIMEOUT),
            (
                DeviceError::Call(CallError::new(CallErrorKind::NotSupported, "no")),
                error::NOT_SUPPORTED,
            ),
        ];
        for (device_error, contract) in errors {
            let message = device_error.to_string();
            let hal_error = HalError::from(device_error);
            assert_eq!(hal_error.name().as_str(), contract);
            assert_eq!(hal_error.description(), Some(message.as_str()));
        }
    }
}
