//! AT commands without I/O: a framer that splits modem bytes into lines, final results, prompts
//! and binary blocks; a command channel that runs one command at a time and tells responses from
//! URCs; and the probe that identifies an unknown port.
//!
//! For the drivers of AT devices (plugin ABI): the [`queue`] of commands in front of the channel,
//! which arms the host timer of the command in flight; [`raw`] commands from applications; the
//! [`silence`] watch that declares a device silent and paces its probes; the [`ident`]ification
//! values (`AT+CGMI`, `AT+CGSN`, ...); the [`resync`] of the channel after every open; the
//! device [`state`] as last published; the [`link`]
//! that puts queue, silence watch and state together into the lifecycle every AT driver shares;
//! and the [`driver`] routing of host events around that lifecycle.
//!
//! Nothing here reads a clock or touches a file descriptor: bytes and the current time
//! (`now_ms`) go in, events, effects and bytes to write come out.

#![warn(missing_docs)]

pub mod channel;
mod codes;
mod command;
mod config;
pub mod driver;
pub mod framer;
pub mod ident;
pub mod link;
pub mod probe;
pub mod queue;
pub mod raw;
pub mod result;
pub mod resync;
pub mod silence;
pub mod state;

pub use channel::{
    AtChannel, AtError, ChannelBusy, ChannelConfig, ChannelEvent, ChannelOutput, Command, Response,
    Urc,
};
pub use framer::{Frame, Framer};
pub use probe::{Identity, ProbeConfig, ProbeOutcome, ProbeStep, Prober};
pub use result::{CmeError, CmsError, FinalResult};
