//! A BLE rig: `m2msim ble` serving org.bluez on the test bus, and a daemon with BLE enabled.

use zbus::Connection;

use crate::bus::TestBus;
use crate::daemon::Daemon;
use crate::sim::Sim;

/// `[ble]` config scanning adapter `hci0`, with `extra` after it (`allow = [...]`, more tables).
pub fn ble_config(extra: &str) -> String {
    format!("[ble]\nenabled = true\nadapter = \"hci0\"\n{extra}\n")
}

/// A private bus with BlueZ's policy, `m2msim ble` serving org.bluez on it, and a daemon with
/// BLE enabled.
pub struct BleRig {
    /// The daemon.
    pub daemon: Daemon,
    /// The simulator; add peripherals and drive them with its control commands.
    pub sim: Sim,
    /// The private bus.
    pub bus: TestBus,
}

impl BleRig {
    /// Starts the bus and `m2msim ble` (peripherals advertise every 200 ms), runs the control
    /// commands `setup` (each must succeed), then starts the daemon with `config` (which should
    /// hold a `[ble]` table, see [`ble_config`]).
    pub async fn start(setup: &[&str], config: &str) -> BleRig {
        let bus = TestBus::start_with_bluez().await;
        let mut sim = Sim::start(&["ble", "--bus", &bus.address, "--adv-interval", "200"], 1).await;
        for line in setup {
            sim.ok(line).await;
        }
        let daemon = Daemon::start(&bus, config).await;
        BleRig { daemon, sim, bus }
    }

    /// The test's connection to the daemon.
    pub fn conn(&self) -> &Connection {
        &self.daemon.conn
    }
}
