//! The host of one m2mhal device, sans I/O: what the daemon's device task and the driver
//! testkit's fake host both run.
//!
//! [`DeviceHost`] takes inputs (link events, calls, outgoing messages, the time) and gives back
//! [`Action`]s (drive the driver, write to the link, change the device's properties, commit to the
//! store, signal, reply); the runner carries them out and hands in the [`Answer`]s the core waits
//! for. No clock, no channel, no bus, no database inside: the daemon runs it under tokio with
//! zbus and SQLite around it, the testkit with a virtual clock and recording lists.
//!
//! - [`host`]: the state machine (driver timers, the call table and the callers' deadlines,
//!   effects, restart backoff, replaying commits to a reinitialising driver).
//! - [`outbox`]: an outgoing message's life, committed before it is signalled.
//! - [`action`]: the actions out and the answers in.
//! - [`backoff`]: when to try a failing thing again.

#![deny(missing_docs)]

pub mod action;
pub mod backoff;
mod calls;
pub mod host;
pub mod outbox;
mod timers;

pub use action::{Action, Answer, IncomingOutcome, Now, Publication, Update};
pub use calls::Deadline;
pub use host::{DeviceHost, NOT_READY_RETRY_MS, REPLAYED_COMMITS};
pub use outbox::{Outgoing, StateChange};

/// Device lifecycle states (`Device.State`).
pub mod states {
    /// Being set up by its driver.
    pub const INITIALIZING: &str = "initializing";
    /// Usable.
    pub const READY: &str = "ready";
    /// Known but not reachable now.
    pub const OFFLINE: &str = "offline";
    /// Broken; see `StateReason`.
    pub const FAILED: &str = "failed";
}
