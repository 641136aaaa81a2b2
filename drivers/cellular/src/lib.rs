//! m2mhal driver for 3GPP TS 27.007 / 27.005 cellular modems (Quectel, SIMCom, u-blox, Telit,
//! Sierra and other modems that speak the standard AT command set).
//!
//! The driver is a sans-IO state machine ([`CellularDriver`]): it initialises the modem, keeps the
//! signal and registration properties fresh, sends SMS in PDU mode and hands received SMS to the
//! host, deleting them from the modem only after the host has committed them; a Quectel or SIMCom
//! modem's GNSS reports the location (off unless configured or switched on). It is exported as
//! the `cellular` plugin (`libm2mhal_driver_cellular.so`).
//!
//! Module map: `driver` handles the host events that the routing shared by AT drivers
//! (`m2mhal_at::driver`) hands over, and owns the link (`m2mhal_at::link`: command queue,
//! silence watch, published state) in front of the one `AtChannel`; `purpose` says why each command was
//! sent; `init` is the initialisation sequence; `signal` parses signal, registration and operator
//! answers; `inbox` and `outbox` are the SMS receive and send flows; `gnss` is the modem's GNSS
//! (Quectel, SIMCom, u-blox, Telit; one module each) and `driver::location` switches and polls
//! it; `timers` names the timers.

mod describe;
mod driver;
mod gnss;
mod inbox;
mod init;
mod outbox;
mod parse;
mod progress;
mod purpose;
mod signal;
mod timers;

pub use driver::CellularDriver;
pub use outbox::MAX_PAYLOAD;

m2mhal_plugin_api::export_driver!(CellularDriver, "cellular");
