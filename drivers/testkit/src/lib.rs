//! Test support for m2mhal driver plugins (a dev-dependency), for m2mhal's own drivers and for a
//! vendor's, out of the m2mhal tree: transcript tests of a driver without a daemon or a device.
//!
//! - [`Host`]: a fake host for transcript tests, generic over any
//!   [`Driver`](m2mhal_plugin_api::sdk::Driver) of a serial device or a BLE peripheral. It runs
//!   the driver in the daemon's own host core (`m2mhal-host-core`), on a virtual clock, and records
//!   everything the core asks for, so that a test exercises what the daemon runs and reads like a
//!   device log:
//!
//!   ```
//!   # use m2mhal_plugin_api::sdk::{Driver, Effects};
//!   # use m2mhal_plugin_api::{DeviceUpdate, DriverDescription, Effect, Event, Input, OpenConfig};
//!   # /// Asks for the signal quality once and is ready when the modem answers `OK`.
//!   # struct Probe { out: Effects }
//!   # impl Driver for Probe {
//!   #     fn describe() -> DriverDescription { DriverDescription::default() }
//!   #     fn open(_: OpenConfig) -> Result<Self, String> { Ok(Probe { out: Effects::new() }) }
//!   #     fn handle(&mut self, input: Input) -> Vec<Effect> {
//!   #         match input.event {
//!   #             Event::Opened => self.out.push(Effect::Tx(b"AT+CSQ\r".to_vec())),
//!   #             Event::Rx(bytes) if bytes.ends_with(b"OK\r\n") => self.out.device(DeviceUpdate {
//!   #                 id: Some("probe:1".into()),
//!   #                 state: Some("ready".into()),
//!   #                 ..Default::default()
//!   #             }),
//!   #             _ => {}
//!   #         }
//!   #         self.out.take()
//!   #     }
//!   # }
//!   let mut modem = m2mhal_driver_testkit::Host::<Probe>::new();
//!   modem.open();
//!   modem.expect_tx("AT+CSQ");
//!   modem.rx("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
//!   // or, the same in one line: modem.ok("AT+CSQ", &["+CSQ: 20,99"]);
//!   assert_eq!(modem.state(), ("ready", ""));
//!   ```
//! - [`PluginClient`]: the plugin as the daemon sees it, through nothing but its exported C entry
//!   table, CBOR in and out ([`linked_plugin!`] gets it); [`PluginClient::check_common`] runs the
//!   checks every plugin must pass.
//! - [`outgoing`]: a message to send.

#![deny(missing_docs)]

mod c_abi;
mod host;
mod message;

pub use c_abi::{CommonChecks, OpenOutcome, PluginClient, PluginInstance, writes};
pub use host::{EPOCH, Host, LinkRequest};
pub use m2mhal_host_core::StateChange;
pub use message::outgoing;

/// The plugin API, for the code [`linked_plugin!`] generates.
#[doc(hidden)]
pub use m2mhal_plugin_api as plugin_api;
