//! One device: its properties, its handle for D-Bus, and the task that runs its driver.

pub mod handle;
pub mod link;
pub mod location;
pub mod span;
pub mod state;
pub mod task;
