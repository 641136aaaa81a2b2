//! m2mhal driver for NMEA 0183 GNSS receivers on a serial port: u-blox, Quectel L76/LC29,
//! MediaTek, SiRF in NMEA mode, and any other receiver that talks NMEA.
//!
//! The driver is a sans-IO state machine ([`GnssDriver`]) that only listens: it verifies every
//! sentence's checksum (a damaged sentence is dropped whole, never half used), puts the GGA, RMC,
//! GSA, GSV, VTG and GLL sentences of each epoch together into one fix and reports it as
//! `org.m2mhal.Hal1.Location`. A u-blox names itself in TXT sentences at power-up; those give the
//! device's manufacturer, model and firmware. The driver claims a port only when the
//! configuration (`driver = "gnss"`) or udev (`ID_M2MHAL_DRIVER=gnss`) names it. It is exported
//! as the `gnss` plugin (`libm2mhal_driver_gnss.so`).
//!
//! The sentences are verified, decoded and assembled into fixes by the `m2mhal-nmea` crate
//! (shared with the cellular driver, the daemon, `m2msim` and `m2mctl`). Module map: `lines`
//! cuts the byte stream into lines; `identity` is the device's `Id` and the u-blox TXT identity;
//! `driver` is the state machine; `timers` and `describe` name its timers and its claim rules.

mod describe;
mod driver;
mod identity;
mod lines;
mod timers;

pub use driver::GnssDriver;

m2mhal_plugin_api::export_driver!(GnssDriver, "gnss");
