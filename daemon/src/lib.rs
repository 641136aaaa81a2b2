//! m2mhald: the m2mhal hardware abstraction daemon.
//!
//! The path of a device is one straight line: [`kernel_event`] -> [`filter`] -> probe -> claim by a
//! plugin -> device task -> D-Bus. Messages are kept in the [`store`].

pub mod config;
pub mod filter;
pub mod kernel_event;
pub mod store;
