//! Turning D-Bus values into text for people and JSON for scripts.

pub mod gatt;
pub mod location;
pub mod nmea;
pub mod sensor;
pub mod signal;
pub mod table;
pub mod time;
pub mod value;
