//! The command line of `m2mhald` (also what its man page is made of).

use std::path::PathBuf;

use clap::Parser;

/// The m2mhal hardware abstraction daemon (D-Bus service org.m2mhal.Hal1 on the system bus).
#[derive(Debug, Parser)]
#[command(
    name = "m2mhald",
    version,
    about,
    after_help = "The log level is set by M2MHAL_LOG (e.g. M2MHAL_LOG=debug); logs go to stderr \
                  (the journal under systemd)."
)]
pub struct Args {
    /// Configuration file (TOML).
    #[arg(long, default_value = "/etc/m2mhal/m2mhald.toml")]
    pub config: PathBuf,
    /// Check a driver plugin file as the daemon would before loading it, in a child process:
    /// print what it declares and every rule it breaks (file name, ownership, ABI version,
    /// table name and version against describe's); exit status 0 if it breaks none, 1 if it
    /// does. Starts no daemon.
    #[arg(
        long = "check-plugin",
        value_name = "FILE",
        conflicts_with = "driver_worker"
    )]
    pub check_plugin: Option<PathBuf>,
    /// Internal: serve the driver plugin at this path on stdin/stdout for the daemon.
    #[arg(long = "driver-worker", value_name = "PLUGIN", hide = true)]
    pub driver_worker: Option<PathBuf>,
    /// Internal: with `--driver-worker`, load the plugin from this inherited open descriptor.
    #[arg(
        long = "plugin-fd",
        value_name = "FD",
        hide = true,
        requires = "driver_worker"
    )]
    pub plugin_fd: Option<i32>,
}
