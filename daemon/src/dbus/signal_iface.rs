//! `org.m2mhal.Hal1.Signal`: link quality, registration and operator.

use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::Request;
use zbus::interface;

use super::error::HalError;
use crate::device::handle::DeviceHandle;

/// How long `Refresh` may take.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// The Signal interface of one device object.
pub struct SignalInterface {
    handle: Arc<DeviceHandle>,
}

impl SignalInterface {
    /// The interface for `handle`'s device.
    pub fn new(handle: Arc<DeviceHandle>) -> Self {
        SignalInterface { handle }
    }
}

#[interface(name = "org.m2mhal.Hal1.Signal")]
impl SignalInterface {
    /// 0..100 percent (Iridium: bars x 20).
    #[zbus(property)]
    fn quality(&self) -> u32 {
        self.handle.state().signal.quality
    }

    /// RSSI in dBm (`+CSQ` for a modem, never the RSRP), 0 when unknown.
    #[zbus(property)]
    fn rssi(&self) -> i32 {
        self.handle.state().signal.rssi
    }

    /// LTE/NR reference signal received power, dBm, 0 when unknown (API 1.1).
    #[zbus(property)]
    fn rsrp(&self) -> i32 {
        self.handle.state().signal.rsrp
    }

    /// LTE/NR reference signal received quality, dB, NaN when unknown (API 1.1).
    #[zbus(property)]
    fn rsrq(&self) -> f64 {
        self.handle.state().signal.rsrq
    }

    /// Signal to interference plus noise ratio, dB, NaN when unknown (API 1.1).
    #[zbus(property)]
    fn sinr(&self) -> f64 {
        self.handle.state().signal.sinr
    }

    /// Access technology (`lte`, `gsm`, `iridium`, `ble`, ...) or "".
    #[zbus(property)]
    fn technology(&self) -> String {
        self.handle.state().signal.technology.clone()
    }

    /// `home`, `roaming`, `searching`, `denied`, `idle`, `unknown`, or "".
    #[zbus(property)]
    fn registration(&self) -> String {
        self.handle.state().signal.registration.clone()
    }

    /// Operator name, "" if unknown.
    #[zbus(property)]
    fn operator(&self) -> String {
        self.handle.state().signal.operator.clone()
    }

    /// Unix seconds of the last reading.
    #[zbus(property)]
    fn updated_at(&self) -> u64 {
        self.handle.state().signal.updated_at
    }

    /// Reads the signal now.
    async fn refresh(&self) -> Result<(), HalError> {
        self.handle.call(Request::Refresh, REFRESH_TIMEOUT).await?;
        Ok(())
    }
}
