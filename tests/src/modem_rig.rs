//! One simulated modem on a configured port of a running daemon.

use zbus::Connection;

use crate::bus::TestBus;
use crate::daemon::Daemon;
use crate::devices::wait_for_device;
use crate::sim::Sim;

/// One simulated modem on a configured port of a running daemon, ready to use.
pub struct ModemRig {
    /// The daemon.
    pub daemon: Daemon,
    /// The simulator (device 0 is the modem of `path`).
    pub sim: Sim,
    /// The private bus.
    pub bus: TestBus,
    /// The pty of the modem.
    pub port: String,
    /// The device object of the modem.
    pub path: String,
}

impl ModemRig {
    /// Starts a bus, `m2msim <sim_args>` and a daemon whose config names device 0's port, plus
    /// `extra` config; waits until the device is `ready`.
    pub async fn start(sim_args: &[&str], extra: &str) -> ModemRig {
        let bus = TestBus::start().await;
        let sim = Sim::start(sim_args, 1).await;
        let port = sim.path(0);
        let daemon = Daemon::start(&bus, &format!("{}\n{extra}", port_config(&port))).await;
        let path = wait_for_device(&daemon.conn, &port, "ready").await;
        ModemRig {
            daemon,
            sim,
            bus,
            port,
            path,
        }
    }

    /// The test's connection to the daemon.
    pub fn conn(&self) -> &Connection {
        &self.daemon.conn
    }
}

/// A `[[port]]` table for `path`.
pub fn port_config(path: &str) -> String {
    format!("[[port]]\npath = \"{path}\"\n")
}
