//! m2msim: simulated devices for m2mhal on pseudo-terminals (and BLE peripherals behind a fake
//! BlueZ, see [`ble`]), so that applications and end-to-end tests can run without hardware.
//!
//! A device is a sans-IO state machine ([`device::SimulatedDevice`]); the plumbing
//! ([`simulator`], [`port`], [`pty`]) puts each one on a pty, prints JSON events on stdout and
//! takes control commands from stdin, a unix socket or a script. A device that talks by itself
//! (the [`gnss`] receiver) does so on a tick.

pub mod at_line;
pub mod ble;
pub mod cli;
pub mod control_plane;
pub mod device;
pub mod gnss;
pub mod help;
pub mod iridium;
pub mod line_quirks;
pub mod modem;
pub mod port;
pub mod pty;
pub mod report;
pub mod simulator;
