//! The link between the host and one device, behind one trait: a serial port ([`serial`]) or a
//! BLE peripheral through BlueZ ([`ble`]). (A modem served through ModemManager has no link and
//! no driver: `crate::modemmanager::served` runs it, since MM already is its driver.)
//!
//! A link turns what happens on the wire into driver [`Event`]s and carries out the driver's I/O
//! effects; the device task does everything else the same way for every kind.

pub mod ble;
pub mod serial;

use m2mhal_plugin_api::{Effect, Event};

/// One device's link.
#[async_trait::async_trait]
pub trait Link: Send + Sync {
    /// Waits for the next event from the link. Cancel-safe.
    async fn next(&mut self) -> Event;

    /// Carries out an I/O effect; returns an event if doing so changed the link (a failed write
    /// is a hangup).
    async fn perform(&mut self, effect: Effect) -> Option<Event>;

    /// Lets go of the device (unplug, shutdown).
    fn close(&mut self);
}

/// Logs an effect a link cannot carry out (bytes for a BLE peripheral, GATT for a tty).
fn unsupported(effect: &Effect) {
    tracing::warn!("ignoring an effect this link cannot carry out: {effect:?}");
}
