//! Errors: [`Error`] for the Rust API, [`BluezError`] for D-Bus replies with BlueZ's names.

use zbus::DBusError;

/// What the Rust API of the fake can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bus refused something (name request, object export, signal).
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    /// Another connection already owns `org.bluez`.
    #[error("org.bluez is already owned on this bus")]
    NameTaken,
    /// Not a `AA:BB:CC:DD:EE:FF` address.
    #[error("invalid Bluetooth address {0:?}")]
    InvalidAddress(String),
    /// Not a 16-, 32- or 128-bit UUID.
    #[error("invalid UUID {0:?}")]
    InvalidUuid(String),
    /// A peripheral with this address was already added.
    #[error("peripheral {0} already exists")]
    DuplicatePeripheral(String),
    /// No peripheral with this address.
    #[error("no peripheral {0}")]
    UnknownPeripheral(String),
    /// The peripheral has no characteristic with this UUID.
    #[error("peripheral {address} has no characteristic {uuid}")]
    UnknownCharacteristic {
        /// The peripheral.
        address: String,
        /// The characteristic UUID asked for.
        uuid: String,
    },
    /// The peripheral has more GATT attributes than fit in 16-bit handles.
    #[error("GATT database of {0} does not fit in 16-bit handles")]
    TooManyAttributes(String),
    /// The fake refused, as BlueZ would refuse a client (e.g. no such device object).
    #[error("refused: {0}")]
    Refused(#[from] BluezError),
    /// `wait_for` saw no matching event in time.
    #[error("no matching event within {0:?}")]
    Timeout(std::time::Duration),
}

/// The errors BlueZ answers method calls with (`org.bluez.Error.*`), with BlueZ's messages.
#[derive(Debug, Clone, PartialEq, DBusError)]
#[zbus(prefix = "org.bluez.Error")]
pub enum BluezError {
    /// `org.bluez.Error.Failed`, with a free text reason.
    Failed(String),
    /// `org.bluez.Error.NotReady`: the adapter is off.
    NotReady(String),
    /// `org.bluez.Error.InProgress`.
    InProgress(String),
    /// `org.bluez.Error.NotConnected`.
    NotConnected(String),
    /// `org.bluez.Error.NotPermitted`, with the reason.
    NotPermitted(String),
    /// `org.bluez.Error.NotSupported`.
    NotSupported(String),
    /// `org.bluez.Error.NotAvailable`.
    NotAvailable(String),
    /// `org.bluez.Error.InvalidArguments`.
    InvalidArguments(String),
    /// `org.bluez.Error.InvalidOffset`.
    InvalidOffset(String),
    /// `org.bluez.Error.InvalidValueLength`.
    InvalidValueLength(String),
    /// `org.bluez.Error.DoesNotExist`.
    DoesNotExist(String),
    /// `org.bluez.Error.AlreadyExists`.
    AlreadyExists(String),
}

impl BluezError {
    /// `NotReady` with BlueZ's message.
    pub fn not_ready() -> Self {
        BluezError::NotReady("Resource Not Ready".into())
    }

    /// `InProgress` as BlueZ's `btd_error_in_progress` words it.
    pub fn in_progress() -> Self {
        BluezError::InProgress("In Progress".into())
    }

    /// `InProgress` as BlueZ's `btd_error_busy` words it.
    pub fn busy() -> Self {
        BluezError::InProgress("Operation already in progress".into())
    }

    /// `NotConnected` with BlueZ's message.
    pub fn not_connected() -> Self {
        BluezError::NotConnected("Not Connected".into())
    }

    /// `NotSupported` with BlueZ's message.
    pub fn not_supported() -> Self {
        BluezError::NotSupported("Operation is not supported".into())
    }

    /// `NotAvailable` with BlueZ's message.
    pub fn not_available() -> Self {
        BluezError::NotAvailable("Operation currently not available".into())
    }

    /// `InvalidArguments` with BlueZ's message.
    pub fn invalid_args() -> Self {
        BluezError::InvalidArguments("Invalid arguments in method call".into())
    }

    /// `DoesNotExist` with BlueZ's message.
    pub fn does_not_exist() -> Self {
        BluezError::DoesNotExist("Does Not Exist".into())
    }

    /// `AlreadyExists` with BlueZ's message.
    pub fn already_exists() -> Self {
        BluezError::AlreadyExists("Already Exists".into())
    }

    /// `Failed` with the given reason.
    pub fn failed(reason: &str) -> Self {
        BluezError::Failed(reason.into())
    }
}

impl From<zbus::Error> for BluezError {
    fn from(error: zbus::Error) -> Self {
        BluezError::Failed(error.to_string())
    }
}
