//! `m2msim ble`: simulated BLE peripherals behind a fake BlueZ, so that m2mhal's BLE side can be
//! tried without hardware.
//!
//! It serves `org.bluez` (the `m2mhal-fake-bluez` crate: adapter `/org/bluez/hci0`, devices,
//! GATT) on the system bus, which is `DBUS_SYSTEM_BUS_ADDRESS` or `--bus ADDRESS`, prints
//! `{"event":"ready","bus":...,"adapter":"/org/bluez/hci0"}` once it owns the name, then takes
//! control commands on stdin (and from `--script FILE`, where `sleep <ms>` lines pause), one per
//! line, answering each with one JSON line (`ok`, `error`, `status` or `events`):
//!
//! ```text
//! add-bthome <ADDR> [name] [--key HEX32]  a BTHome v2 advertiser (temperature, humidity,
//!                                         battery; AES-CCM encrypted with --key)
//! add-ess <ADDR> [name]                   a GATT sensor: Device Information, Battery and
//!                                         Environmental Sensing (read + notify), and a vendor
//!                                         service with a 128-bit read/write/notify
//!                                         characteristic; advertises 181a
//! add-phone <ADDR>                        a phone: Apple manufacturer data, a random name
//! measure <ADDR> temperature=21.5 humidity=40 battery=90 pressure=1013.2
//!                                         new values: a new advertisement, or new GATT values
//!                                         (notified when subscribed)
//! value <ADDR> <UUID> <HEX>               a characteristic takes a value (notified when
//!                                         subscribed)
//! range <ADDR> on|off                     into or out of range (out while connected: link loss)
//! drop <ADDR>                             link loss
//! expire <ADDR>                           the device object goes (disconnected first), as when
//!                                         BlueZ expires a temporary device
//! power on|off                            the adapter
//! restart                                 bluetoothd restarts: every device object goes
//! events                                  what clients did so far (the fake's event log)
//! status                                  the peripherals and the adapter
//! quit
//! ```
//!
//! Peripherals in range advertise again every `--adv-interval` milliseconds. The bus must let
//! the simulator own `org.bluez` and its clients call it (on a real system that is the policy
//! of the bluetooth package; stop the real bluetoothd first).

mod bthome;
mod control;
mod ess;
mod measurement;
mod peripherals;
mod simulator;

pub use control::{BleControl, BleControlError, COMMANDS};
pub use ess::{LABEL_CHARACTERISTIC, VENDOR_SERVICE};
pub use measurement::{Measurement, MeasurementError, Quantity};
pub use simulator::BleSimulator;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::control_plane::{ControlPlane, ControlStartError, Startup};
use crate::report;

/// Where the system bus is when `DBUS_SYSTEM_BUS_ADDRESS` is not set.
const DEFAULT_SYSTEM_BUS: &str = "unix:path=/var/run/dbus/system_bus_socket";

/// The options of `m2msim ble`.
#[derive(Debug, Clone, clap::Args)]
pub struct BleOptions {
    /// D-Bus address of the bus to serve org.bluez on [default: DBUS_SYSTEM_BUS_ADDRESS, else the
    /// system bus].
    #[arg(long, value_name = "ADDRESS")]
    pub bus: Option<String>,
    /// Run the control commands of FILE at start (`sleep <ms>` lines pause).
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// How often peripherals in range advertise, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub adv_interval: u64,
}

/// Why `m2msim ble` could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum BleRunError {
    /// The script or the signals cannot be set up.
    #[error(transparent)]
    Control(#[from] ControlStartError),
    /// The bus cannot be reached.
    #[error("cannot connect to the bus {bus}: {source}")]
    Bus {
        /// Its address.
        bus: String,
        /// What went wrong.
        source: zbus::Error,
    },
    /// `org.bluez` cannot be served (name taken, not allowed by the bus policy).
    #[error("cannot serve org.bluez: {0}")]
    Bluez(#[from] m2mhal_fake_bluez::Error),
}

/// Runs the simulator until `quit`, SIGINT or SIGTERM.
pub async fn run(options: &BleOptions) -> Result<(), BleRunError> {
    let startup = Startup::prepare(options.script.as_deref(), None)?;
    let bus = options.bus.clone().unwrap_or_else(|| {
        std::env::var("DBUS_SYSTEM_BUS_ADDRESS").unwrap_or_else(|_| DEFAULT_SYSTEM_BUS.to_owned())
    });
    let conn = zbus::connection::Builder::address(bus.as_str())
        .build()
        .await
        .map_err(|source| BleRunError::Bus {
            bus: bus.clone(),
            source,
        })?;
    let simulator = BleSimulator::start(conn, bus).await?;
    report::print_line(&simulator.ready_line());
    let interval = Duration::from_millis(options.adv_interval);
    tokio::spawn(Arc::clone(&simulator).advertise_periodically(interval));
    ControlPlane::new(simulator).run(startup).await;
    Ok(())
}
