//! AT commands without I/O: a framer that splits modem bytes into lines, final results, prompts
//! and binary blocks; a command channel that runs one command at a time and tells responses from
//! URCs; and the probe that identifies an unknown port.
//!
//! Nothing here reads a clock or touches a file descriptor: bytes and the current time
//! (`now_ms`) go in, events and bytes to write come out.

#![warn(missing_docs)]

pub mod channel;
mod codes;
mod command;
mod config;
pub mod framer;
pub mod probe;
pub mod result;

pub use channel::{
    AtChannel, AtError, ChannelBusy, ChannelConfig, ChannelEvent, ChannelOutput, Command, Response,
    Urc,
};
pub use framer::{Frame, Framer};
pub use probe::{Identity, ProbeConfig, ProbeOutcome, ProbeStep, Prober};
pub use result::{CmeError, CmsError, FinalResult};
