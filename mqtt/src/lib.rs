//! `m2mhal-mqtt`: the bridge between m2mhald (a D-Bus client of its public API) and an MQTT
//! broker (the contract is the design page `mqtt-bridge.md`).
//!
//! The decisions are pure modules: [`topics`] (names), [`json`] (D-Bus values as JSON),
//! [`mirror`] (what to publish for the daemon's objects), [`discovery`] (Home Assistant),
//! [`payload`] (incoming messages, commands, results), [`sends`] (commands in flight),
//! [`cursor`] (which incoming messages are new), [`flight`] (publishes awaiting PUBACK) and
//! [`store`] (the durable queue). [`dbus`], [`link`], [`uplink`] (the daemon's Router uplink)
//! and [`bridge`] are the thin glue.

pub mod bridge;
pub mod cli;
pub mod config;
pub mod cursor;
pub mod dbus;
pub mod discovery;
pub mod flight;
pub mod json;
pub mod link;
pub mod mirror;
pub mod payload;
pub mod publish;
pub mod sends;
pub mod store;
pub mod topics;
pub mod uplink;
