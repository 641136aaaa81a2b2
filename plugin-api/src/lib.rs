//! The m2mhal driver plugin ABI, version 1.
//!
//! A driver is a sans-IO state machine: the host (m2mhald) owns every file descriptor, timer and
//! thread, hands the driver [`Input`]s (bytes received, timers fired, calls from applications) and
//! carries out the [`Effect`]s it returns (bytes to send, timers to arm, replies, property updates).
//!
//! Across the shared-library boundary the messages travel as CBOR (see [`codec`]) through the
//! `#[repr(C)]` entry table of [`abi`], so fields can be added without breaking older plugins. Rust
//! drivers implement [`sdk::Driver`] and export it with [`export_driver!`]; C drivers implement the
//! table described in `include/m2mhal_plugin.h`.
//!
//! This crate is pure: types and encoding, no runtime, no I/O.
//!
//! The guide for driver authors is `docs/plugins.md` in the m2mhal tree; what ABI v1 freezes and
//! how it grows is `docs/plugin-abi.md`. The smallest useful driver is the example of [`sdk`].

#![deny(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

pub mod abi;
pub mod ble;
pub mod codec;
pub mod describe;
pub mod location;
pub mod messages;
pub mod redact;
pub mod sdk;

pub use describe::{AtIdentity, AtRule, DeviceKind, DriverDescription, PanicStrategy, UdevRule};
pub use location::{Fix, FixMode, LocationSource, LocationUpdate, unix_time};
pub use messages::{
    CallError, CallErrorKind, CallReply, DeviceUpdate, Effect, Encoding, Event, IncomingMessage,
    Input, LogLevel, MessageState, OpenConfig, OutgoingMessage, Request, SensorUpdate,
    SignalUpdate,
};

/// The ABI version this crate implements. A host refuses plugins that report another one.
pub const ABI_VERSION: u32 = 1;

/// The ABI minor version this crate implements: the additions of docs/plugin-abi.md it knows (1
/// for v1.1). It is the crate's own minor version. A plugin declares it in
/// [`DriverDescription::abi_minor`] ([`export_driver!`] fills it in), a host in
/// [`OpenConfig::host_abi_minor`].
pub const ABI_MINOR: u32 = 1;
