//! Opening serial ports (tty I/O is tokio-serial's: exclusive open, raw mode, given baud).

use std::path::Path;

use tokio_serial::{SerialPortBuilderExt, SerialStream};

/// Baud rate when neither the config nor the driver names one.
pub const DEFAULT_BAUD: u32 = 115_200;

/// A port could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {path}: {source}")]
pub struct PortError {
    /// The device node.
    pub path: String,
    /// What the system said.
    #[source]
    pub source: tokio_serial::Error,
}

/// Opens `path` exclusively (TIOCEXCL and flock) in raw mode at `baud`.
pub fn open(path: &Path, baud: u32) -> Result<SerialStream, PortError> {
    let name = path.to_string_lossy().into_owned();
    tokio_serial::new(name.clone(), baud)
        .open_native_async()
        .map_err(|source| PortError { path: name, source })
}
