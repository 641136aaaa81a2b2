//! The command line of `m2mhal-mqtt` (also what its man page is made of).

use std::path::PathBuf;

use clap::Parser;

/// The m2mhal MQTT bridge: mirrors m2mhald's devices and messages to an MQTT broker and takes
/// send commands from it.
#[derive(Debug, Parser)]
#[command(
    name = "m2mhal-mqtt",
    version,
    about,
    after_help = "The log level is set by M2MHAL_LOG (e.g. M2MHAL_LOG=debug); logs go to stderr \
                  (the journal under systemd). The D-Bus system bus is the one of \
                  DBUS_SYSTEM_BUS_ADDRESS when set."
)]
pub struct Args {
    /// Configuration file (TOML).
    #[arg(long, default_value = "/etc/m2mhal/m2mhal-mqtt.toml")]
    pub config: PathBuf,
}
