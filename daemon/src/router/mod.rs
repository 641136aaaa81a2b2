//! The router: one durable outbox above every uplink (`Router.Send`) and the local rules, run
//! by a task around the sans-I/O `m2mhal_routing` state machines.
//!
//! - `service`: the task (store, devices, time) and the [`service::RouterHandle`] others reach
//!   it by.
//! - `uplink`: a device as an uplink: its availability, attempts and withdraws through the
//!   device's own outbox (`device::outgoing`).
//! - `mqtt_uplink`: an MQTT bridge as an uplink (`mqtt:<name>`): attempts and withdraws through
//!   the bridge that registered under that name.
//! - `observer`: the [`crate::device::observer::DeviceObserver`] that tells the router about
//!   devices (availability, readings, message states) on the way to the bus.
//!
//! Nothing here knows D-Bus: the router reports through [`service::RouterSignals`], which
//! `dbus/router_iface.rs` implements.

pub mod mqtt_uplink;
pub mod observer;
pub mod service;
pub mod uplink;
