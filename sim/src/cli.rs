//! The command line of `m2msim`: `m2msim modem|iridium|gnss [--count N] [--link PATH] ...`,
//! `m2msim ble`; each kind's `--help` lists its control commands.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::ble::{self, BleOptions};
use crate::gnss::{GnssOptions, SimulatedReceiver};
use crate::help::{self, CommandHelp};
use crate::iridium::{IridiumOptions, Transceiver};
use crate::modem::{DEFAULT_IMEI, ModemState, Vendor, is_valid_imei};
use crate::simulator::{self, SimulatorOptions};

/// Simulated devices for m2mhal on pseudo-terminals.
#[derive(Debug, Parser)]
#[command(name = "m2msim", version)]
pub struct Cli {
    /// The kind of device to simulate.
    #[command(subcommand)]
    pub device: DeviceKind,
}

/// The kinds of simulated devices.
#[derive(Debug, Subcommand)]
pub enum DeviceKind {
    /// Simulated 3GPP cellular modems speaking AT (think Quectel EG25).
    Modem(ModemArgs),
    /// Simulated Iridium 9603 SBD transceivers and their gateway.
    Iridium(IridiumOptions),
    /// Simulated NMEA 0183 GNSS receivers (think u-blox NEO-M8N) sending a burst every epoch.
    Gnss(GnssOptions),
    /// Simulated BLE peripherals (BTHome, GATT sensors, phones) behind a fake BlueZ on D-Bus.
    Ble(BleOptions),
}

/// `m2msim modem` options.
#[derive(Debug, Args)]
pub struct ModemArgs {
    /// Number of modems.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub count: u16,
    /// IMEI of modem 0; the others count up from it.
    #[arg(long, default_value = DEFAULT_IMEI, value_parser = parse_imei)]
    pub imei: String,
    /// Echo stays on whatever ATE0 says (a firmware quirk).
    #[arg(long)]
    pub echo: bool,
    /// The modems have a GNSS receiver, off, driven by their vendor's commands (Quectel:
    /// AT+QGPS, AT+QGPSLOC, AT+QGPSEND; u-blox: AT+UGPS, AT+UGRMC; Telit: AT$GPSP, AT$GPSACP).
    #[arg(long)]
    pub gnss: bool,
    /// Whose modems they are: what AT+CGMI/AT+CGMM/AT+CGMR answer and which GNSS commands.
    #[arg(long, value_enum, default_value_t = Vendor::Quectel)]
    pub vendor: Vendor,
    /// Links, control socket and start script.
    #[command(flatten)]
    pub simulator: SimulatorOptions,
}

fn parse_imei(text: &str) -> Result<String, String> {
    if is_valid_imei(text) {
        Ok(text.to_owned())
    } else {
        Err("an IMEI has 15 digits, the last one the Luhn check digit".to_owned())
    }
}

/// The control commands of each kind of simulator, with the control plane's own.
fn control_commands(kind: &str) -> Vec<CommandHelp> {
    let mut commands = match kind {
        "modem" => simulator::commands::<ModemState>(),
        "iridium" => simulator::commands::<Transceiver>(),
        "gnss" => simulator::commands::<SimulatedReceiver>(),
        _ => ble::COMMANDS.to_vec(),
    };
    commands.extend_from_slice(help::CONTROL_PLANE);
    commands
}

/// The clap command of `m2msim`, each kind's control commands at the end of its help (also what
/// the man page is made of).
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    for kind in ["modem", "iridium", "gnss", "ble"] {
        command = command.mut_subcommand(kind, |sub| {
            sub.after_help(help::text(&control_commands(kind)))
        });
    }
    command
}

/// Parses the process's arguments; prints help or a usage error and exits as clap does.
pub fn parse() -> Cli {
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|error| error.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_lists_its_control_commands_in_its_help() {
        let mut command = command();
        command.build();
        let help = |kind: &str| {
            let mut sub = command.find_subcommand(kind).expect("subcommand").clone();
            sub.render_long_help().to_string()
        };
        let modem = help("modem");
        for usage in ["signal <csq", "sms <from> <text>", "hangup", "help", "quit"] {
            assert!(modem.contains(usage), "{usage}: {modem}");
        }
        let iridium = help("iridium");
        for usage in ["mt <text>", "ring", "mo-status", "hangup", "help"] {
            assert!(iridium.contains(usage), "{usage}: {iridium}");
        }
        let gnss = help("gnss");
        for usage in [
            "position <lat> <lon>",
            "fix <none|2d|3d>",
            "bad-checksums",
            "hangup",
        ] {
            assert!(gnss.contains(usage), "{usage}: {gnss}");
        }
        let ble = help("ble");
        for usage in ["add-bthome <ADDR>", "power on|off", "help"] {
            assert!(ble.contains(usage), "{usage}: {ble}");
        }
        assert!(!ble.contains("hangup"), "{ble}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }
}
