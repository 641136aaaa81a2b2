//! `forget`: remove an offline device's object for good.

use crate::bus::{Hal, iface};
use crate::error::CliError;

/// `m2mctl forget DEVICE`: `Device.Forget()`; the daemon refuses a device that is not offline.
pub async fn forget(hal: &Hal, spec: &str) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    hal.call(&device.path, iface::DEVICE, "Forget", &()).await
}
