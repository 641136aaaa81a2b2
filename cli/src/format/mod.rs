//! Turning D-Bus values into text for people and JSON for scripts.

pub mod table;
pub mod time;
pub mod value;
