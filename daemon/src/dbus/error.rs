//! The `org.m2mhal.Hal1.Error.*` errors of the API, each with a message naming what was wrong.

use m2mhal_plugin_api::{CallError, CallErrorKind};

/// An error returned to a D-Bus caller.
#[derive(Debug, zbus::DBusError)]
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
