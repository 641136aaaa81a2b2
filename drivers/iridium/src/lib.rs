//! m2mhal driver for Iridium Short Burst Data terminals: the 9602 and 9603 transceivers and the
//! boards built on them (RockBLOCK and others), following the Iridium ISU AT Command Reference.
//!
//! The driver is a sans-IO state machine ([`IridiumDriver`]): it initialises the terminal, tracks
//! signal bars and service availability from `+CIEV` indications, sends messages through SBD
//! sessions (`AT+SBDWB`, `AT+SBDIX`) with retries that respect the power budget, and downloads
//! mobile-terminated messages (`AT+SBDRB`), clearing them from the terminal only after the host
//! has committed them. It is exported as the `iridium` plugin (`libm2mhal_driver_iridium.so`).
//!
//! Module map: `driver` handles the host events that the routing shared by AT drivers
//! (`m2mhal_at::driver`) hands over, and owns the link (`m2mhal_at::link`: command queue,
//! silence watch, published state) in front of the one `AtChannel`; `driver::session` runs the SBD sessions;
//! `init` is the initialisation sequence; `signal` reads bars and service; `sbd` is the binary message
//! format (checksums, MT blocks, message keys); `sbdix` parses session results and classifies MO
//! status codes; `outbox` holds the messages waiting to go out; `options` and `timers` hold the
//! configuration and the timers.

mod describe;
mod driver;
mod init;
mod options;
mod outbox;
mod parse;
mod resume;
mod sbd;
mod sbdix;
mod signal;
mod timers;

pub use driver::IridiumDriver;
pub use sbd::MAX_PAYLOAD;

m2mhal_plugin_api::export_driver!(IridiumDriver, "iridium");
