//! MQTT rigs for the `m2mhal-mqtt` tests: a real Mosquitto broker on loopback ([`Broker`]), a
//! test client that records what the broker delivers ([`Probe`]), a test CA for TLS
//! ([`TestCa`]), and the bridge itself ([`Bridge`]).

mod bridge;
mod broker;
mod ca;
mod probe;

pub use bridge::{Bridge, bridge_config};
pub use broker::{Broker, Listener, mosquitto_available};
pub use ca::TestCa;
pub use probe::{Delivery, Probe};
