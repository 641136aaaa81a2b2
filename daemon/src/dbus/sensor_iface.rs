//! `org.m2mhal.Hal1.Sensor`: readings with SI-style keys, whatever the device speaks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::Request;
use zbus::{OwnedVariant, interface};

use super::error::HalError;
use crate::device::handle::DeviceHandle;

/// How long `Refresh` may take, connecting included.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(45);

/// The Sensor interface of one device object.
pub struct SensorInterface {
    handle: Arc<DeviceHandle>,
}

impl SensorInterface {
    /// The interface for `handle`'s device.
    pub fn new(handle: Arc<DeviceHandle>) -> Self {
        SensorInterface { handle }
    }
}

#[interface(name = "org.m2mhal.Hal1.Sensor")]
impl SensorInterface {
    /// Readings as doubles: `temperature` (degrees C), `humidity` (%), `battery` (%), `pressure`
    /// (hPa), `illuminance` (lx), ...
    #[zbus(property)]
    fn readings(&self) -> HashMap<String, OwnedVariant> {
        self.handle
            .state()
            .sensor
            .readings
            .iter()
            .map(|(key, value)| (key.clone(), OwnedVariant::from(*value)))
            .collect()
    }

    /// Unix seconds of the last reading.
    #[zbus(property)]
    fn updated_at(&self) -> u64 {
        self.handle.state().sensor.updated_at
    }

    /// Reads the device now where it can be read.
    async fn refresh(&self) -> Result<(), HalError> {
        self.handle.call(Request::Refresh, REFRESH_TIMEOUT).await?;
        Ok(())
    }
}
