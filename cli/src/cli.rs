//! The command line: global flags, subcommands and their arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::format::value::parse_hex;

/// Shown at the end of `m2mctl --help`.
const AFTER_HELP: &str = "\
DEVICE may be the object path (/org/m2mhal/Hal1/Devices/3), its number (3),
the device Id (imei:356938035643809, ble:AA:BB:CC:DD:EE:FF) or its port
(/dev/ttyUSB2, or the Bluetooth address of a BLE device).

Exit codes:
  0  success
  1  the operation failed (D-Bus error from the daemon, timeout, message failed,
     the device answered ERROR to `command`)
  2  usage error (bad arguments)
  3  the system bus or m2mhald (org.m2mhal.Hal1) cannot be reached
  4  no device matches DEVICE (or it matches several)

The daemon is looked up on the system bus; DBUS_SYSTEM_BUS_ADDRESS overrides its address.";

/// Command-line client of m2mhald, the m2mhal D-Bus service (org.m2mhal.Hal1 on the system bus).
#[derive(Debug, Parser)]
#[command(name = "m2mctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print machine-readable JSON instead of tables (one object per line for `monitor` and
    /// `gatt subscribe`).
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for the daemon's answers, and for `wait`, `send --wait` and the
    /// notifications of `gatt subscribe --count`.
    #[arg(long, global = true, value_name = "S", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the devices: number, Id, kind, driver, state, model, port, signal.
    List,
    /// Show every property of every interface of one device.
    Show {
        /// The device.
        device: String,
    },
    /// Print device, property, message and GATT events as they happen, until Ctrl-C.
    Monitor {
        /// Exit after this many events.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// Send a message (SMS, satellite burst); prints the message id.
    Send(SendArgs),
    /// List the messages stored for a device.
    Messages {
        /// The device.
        device: String,
        /// Add an INFO column with the driver's extra facts (momsn, mtmsn, attempts, ...).
        #[arg(long, short)]
        verbose: bool,
    },
    /// Forget a stored message.
    Delete {
        /// The device.
        device: String,
        /// Message id (from `send` or `messages`).
        id: String,
    },
    /// Look for incoming messages now (satellite mailbox check, SMS storage re-read).
    Poll {
        /// The device.
        device: String,
    },
    /// Read signal quality and sensor values now.
    Refresh {
        /// The device.
        device: String,
    },
    /// Show a sensor's readings with their units.
    Sensor {
        /// The device.
        device: String,
        /// Read the sensor now (Sensor.Refresh) before showing the readings.
        #[arg(long)]
        refresh: bool,
    },
    /// Show a device's position (Location), and switch its GNSS on or off (privileged).
    Location {
        /// The device.
        device: String,
        /// Switch the GNSS on first (Location.SetEnabled).
        #[arg(long, conflicts_with = "off")]
        on: bool,
        /// Switch the GNSS off first.
        #[arg(long)]
        off: bool,
    },
    /// Write a device's position as NMEA 0183 (RMC, GGA, GSA) to a pty linked at PATH, until
    /// Ctrl-C or SIGTERM: start gpsd on PATH and gpspipe, cgps or chrony (through gpsd) see it.
    Nmea {
        /// The device (one with Location).
        device: String,
        /// Where to link the pty, e.g. /run/m2mhal/gnss0.
        #[arg(long, value_name = "PATH")]
        link: std::path::PathBuf,
        /// Milliseconds between sentence bursts.
        #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
        interval: u64,
    },
    /// Talk to a BLE device over GATT.
    ///
    /// The daemon may take up to 45 s to connect to a device that is not connected yet: pass a
    /// larger --timeout when the default is too short.
    Gatt(GattArgs),
    /// Re-initialise a device.
    Reset {
        /// The device.
        device: String,
    },
    /// Remove an offline device that is gone for good (its stored messages stay; it gets the
    /// same number if it comes back).
    Forget {
        /// The device.
        device: String,
    },
    /// Pass one raw command (AT line) to a device and print its response (privileged).
    #[command(name = "command")]
    Passthrough {
        /// The device.
        device: String,
        /// The command line, e.g. AT+CSQ.
        line: String,
        /// How long the device may take to answer, in milliseconds.
        #[arg(long, value_name = "N", default_value_t = 5000)]
        timeout_ms: u32,
    },
    /// List the loaded driver plugins.
    Plugins,
    /// Report a kernel (udev) event to the daemon, as if udev had seen it.
    ReportKernelEvent(KernelEventArgs),
    /// Wait until a device (or `any` device) exists and is in a state; exit 0 when it is, 1 on timeout.
    Wait {
        /// The device, or `any`.
        device: String,
        /// The state to wait for.
        #[arg(long, default_value = "ready", value_parser = ["initializing", "ready", "offline", "failed"])]
        state: String,
    },
    /// Send through a route (the daemon picks the uplink, fails over, keeps budgets).
    Route(RouteArgs),
    /// List the routes' uplinks: availability and budget left.
    Routes,
    /// List the rules: armed, pending or fired, and when they last fired.
    Rules,
}

/// Arguments of `route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: RouteAction,
}

/// The subcommands of `route`.
#[derive(Debug, Subcommand)]
pub enum RouteAction {
    /// Send a message to a route; prints its id.
    Send(RouteSendArgs),
}

/// Arguments of `route send`.
#[derive(Debug, Args)]
pub struct RouteSendArgs {
    /// The route's name (a `[[route]]` of the daemon's config).
    pub route: String,
    /// The message text (hex bytes with --binary).
    pub text: String,
    /// TEXT is hex; send those bytes with encoding `binary`.
    #[arg(long)]
    pub binary: bool,
    /// Fail the message as `expired` if no uplink carried it within this many seconds.
    #[arg(long, value_name = "S")]
    pub ttl: Option<u32>,
    /// `high` goes before every `normal` message.
    #[arg(long, value_parser = ["normal", "high"])]
    pub priority: Option<String>,
    /// Wait until the message is `sent` (exit 0, prints the uplink) or `failed` (exit 1).
    #[arg(long)]
    pub wait: bool,
}

/// Arguments of `send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The device.
    pub device: String,
    /// Phone number for SMS; "" for the satellite gateway.
    pub destination: String,
    /// The message text (hex bytes with --binary).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub text: Option<String>,
    /// TEXT is hex; send those bytes with encoding `binary`.
    #[arg(long)]
    pub binary: bool,
    /// Send the bytes of this file with encoding `binary`.
    #[arg(long, value_name = "F", conflicts_with = "binary")]
    pub file: Option<PathBuf>,
    /// Wait until the message is `sent` (exit 0) or `failed` (exit 1).
    #[arg(long)]
    pub wait: bool,
}

/// Arguments of `gatt`.
#[derive(Debug, Args)]
pub struct GattArgs {
    /// The device.
    pub device: String,
    /// What to do.
    #[command(subcommand)]
    pub action: GattAction,
}

/// The subcommands of `gatt`. Characteristics are named by UUID, 16-bit (2a19) or 128-bit.
#[derive(Debug, Subcommand)]
pub enum GattAction {
    /// List the device's services, each with its characteristics and their flags (read, write,
    /// notify, ...), and whether the link is up.
    Services,
    /// Read a characteristic and print its value in hex.
    Read {
        /// Characteristic UUID: 16-bit (2a19) or 128-bit.
        uuid: String,
        /// Print the value as UTF-8 text instead of hex.
        #[arg(long)]
        text: bool,
    },
    /// Write a characteristic.
    Write(GattWriteArgs),
    /// Print a characteristic's notifications (hex, one per line) until Ctrl-C or `--count N`.
    Subscribe {
        /// Characteristic UUID: 16-bit (2a19) or 128-bit.
        uuid: String,
        /// Exit after this many notifications; fail (exit 1) when they have not all arrived
        /// within --timeout.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// Bring the link up.
    Connect,
    /// Take the link down.
    Disconnect,
}

/// Arguments of `gatt DEVICE write`.
#[derive(Debug, Args)]
pub struct GattWriteArgs {
    /// Characteristic UUID: 16-bit (2a19) or 128-bit.
    pub uuid: String,
    /// The value in hex (whitespace and `:` between bytes allowed).
    #[arg(required_unless_present = "text", conflicts_with = "text", value_parser = parse_hex_value)]
    pub hex: Option<HexValue>,
    /// Write this text (UTF-8) instead of hex bytes.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Write without response.
    #[arg(long)]
    pub no_response: bool,
}

impl GattWriteArgs {
    /// The bytes to write: the hex value or the text.
    pub fn value(&self) -> Vec<u8> {
        match (&self.hex, &self.text) {
            (Some(HexValue(bytes)), _) => bytes.clone(),
            (None, Some(text)) => text.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        }
    }
}

/// Bytes given on the command line in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexValue(pub Vec<u8>);

/// Arguments of `report-kernel-event`.
#[derive(Debug, Args)]
pub struct KernelEventArgs {
    /// What happened.
    pub action: KernelAction,
    /// Kernel name of the device, e.g. ttyUSB0.
    pub name: String,
    /// Device node; the daemon assumes /dev/NAME when absent.
    #[arg(long, value_name = "PATH")]
    pub devnode: Option<String>,
    /// Kernel subsystem.
    #[arg(long, default_value = "tty")]
    pub subsystem: String,
    /// A udev property, e.g. ID_M2MHAL_CANDIDATE=1 (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_property)]
    pub properties: Vec<(String, String)>,
}

/// The `action` of a kernel event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelAction {
    /// A device appeared.
    Add,
    /// A device went away.
    Remove,
}

impl KernelAction {
    /// The value of the `action` key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
        }
    }
}

/// Parses a positive number of seconds (`10`, `0.5`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number of seconds"))?;
    if seconds.is_nan() || seconds <= 0.0 {
        return Err("the timeout must be more than 0 seconds".to_owned());
    }
    Duration::try_from_secs_f64(seconds).map_err(|error| error.to_string())
}

/// Parses hex digits into bytes.
fn parse_hex_value(text: &str) -> Result<HexValue, String> {
    parse_hex(text).map(HexValue)
}

/// Parses `KEY=VALUE`.
fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("\"{text}\" is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("m2mctl").chain(args.iter().copied()))
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&["wait", "any", "--timeout", "30", "--json"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.timeout, Duration::from_secs(30));
        let Command::Wait { device, state } = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!((device.as_str(), state.as_str()), ("any", "ready"));

        let cli = parse(&["--timeout", "0.5", "list"]).unwrap();
        assert_eq!(cli.timeout, Duration::from_millis(500));
        assert!(!cli.json);
    }

    #[test]
    fn default_timeout_is_ten_seconds() {
        assert_eq!(parse(&["list"]).unwrap().timeout, Duration::from_secs(10));
    }

    #[test]
    fn bad_timeouts_are_usage_errors() {
        for bad in ["0", "-1", "ten", "NaN", "inf"] {
            let error = parse(&[&format!("--timeout={bad}"), "list"]).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ValueValidation, "{bad}");
            assert_eq!(error.exit_code(), 2);
        }
    }

    #[test]
    fn send_with_text_binary_or_file() {
        let cli = parse(&["send", "1", "+4915112345678", "hello", "--wait"]).unwrap();
        let Command::Send(send) = cli.command else {
            panic!()
        };
        assert_eq!(send.text.as_deref(), Some("hello"));
        assert!(send.wait && !send.binary && send.file.is_none());

        let cli = parse(&["send", "2", "", "--file", "/tmp/report.bin"]).unwrap();
        let Command::Send(send) = cli.command else {
            panic!()
        };
        assert_eq!(send.destination, "");
        assert_eq!(send.file, Some(PathBuf::from("/tmp/report.bin")));

        let cli = parse(&["send", "2", "", "--binary", "01ff"]).unwrap();
        let Command::Send(send) = cli.command else {
            panic!()
        };
        assert!(send.binary);
    }

    #[test]
    fn send_needs_exactly_one_payload() {
        let missing = parse(&["send", "1", "+49151"]).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::MissingRequiredArgument);
        let both = parse(&["send", "1", "+49151", "hi", "--file", "f"]).unwrap_err();
        assert_eq!(both.kind(), ErrorKind::ArgumentConflict);
        let binary_file = parse(&["send", "1", "", "--binary", "--file", "f"]).unwrap_err();
        assert_eq!(binary_file.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn kernel_event_arguments() {
        let cli = parse(&[
            "report-kernel-event",
            "add",
            "ttyUSB0",
            "--property",
            "ID_M2MHAL_CANDIDATE=1",
            "--property",
            "ID_VENDOR_ID=2c7c",
            "--devnode",
            "/dev/pts/7",
        ])
        .unwrap();
        let Command::ReportKernelEvent(event) = cli.command else {
            panic!()
        };
        assert_eq!(event.action, KernelAction::Add);
        assert_eq!(event.subsystem, "tty");
        assert_eq!(event.devnode.as_deref(), Some("/dev/pts/7"));
        assert_eq!(
            event.properties,
            [
                ("ID_M2MHAL_CANDIDATE".to_owned(), "1".to_owned()),
                ("ID_VENDOR_ID".to_owned(), "2c7c".to_owned())
            ]
        );
        let bad = parse(&["report-kernel-event", "add", "ttyUSB0", "--property", "=1"]);
        assert_eq!(bad.unwrap_err().kind(), ErrorKind::ValueValidation);
        let bad = parse(&["report-kernel-event", "change", "ttyUSB0"]);
        assert_eq!(bad.unwrap_err().kind(), ErrorKind::InvalidValue);
    }

    #[test]
    fn command_and_wait_options() {
        let cli = parse(&["command", "/dev/ttyUSB2", "AT+CSQ", "--timeout-ms", "300"]).unwrap();
        let Command::Passthrough {
            device,
            line,
            timeout_ms,
        } = cli.command
        else {
            panic!()
        };
        assert_eq!(
            (device.as_str(), line.as_str(), timeout_ms),
            ("/dev/ttyUSB2", "AT+CSQ", 300)
        );
        assert_eq!(
            parse(&["wait", "3", "--state", "sleeping"])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidValue
        );
    }

    #[test]
    fn satellite_send_has_an_empty_destination() {
        let cli = parse(&["send", "3", "", "position 52.52,13.40"]).unwrap();
        let Command::Send(send) = cli.command else {
            panic!()
        };
        assert_eq!(send.destination, "");
        assert_eq!(send.text.as_deref(), Some("position 52.52,13.40"));
    }

    #[test]
    fn location_switches() {
        let cli = parse(&["location", "gnss:ttyACM0", "--on"]).unwrap();
        let Command::Location { device, on, off } = cli.command else {
            panic!("not location");
        };
        assert_eq!((device.as_str(), on, off), ("gnss:ttyACM0", true, false));
        assert!(parse(&["location", "1", "--on", "--off"]).is_err());
    }

    #[test]
    fn sensor_and_messages_flags() {
        let cli = parse(&["sensor", "12", "--refresh", "--json"]).unwrap();
        let Command::Sensor { device, refresh } = cli.command else {
            panic!()
        };
        assert_eq!((device.as_str(), refresh, cli.json), ("12", true, true));
        let cli = parse(&["messages", "3", "-v"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Messages { verbose: true, .. }
        ));
    }

    fn gatt(args: &[&str]) -> Result<GattAction, clap::Error> {
        let cli = parse(&[&["gatt", "AA:BB:CC:DD:EE:FF"], args].concat())?;
        let Command::Gatt(gatt) = cli.command else {
            panic!()
        };
        assert_eq!(gatt.device, "AA:BB:CC:DD:EE:FF");
        Ok(gatt.action)
    }

    #[test]
    fn gatt_subcommands() {
        assert!(matches!(gatt(&["services"]).unwrap(), GattAction::Services));
        assert!(matches!(gatt(&["connect"]).unwrap(), GattAction::Connect));
        let GattAction::Read { uuid, text } = gatt(&["read", "2a19", "--text"]).unwrap() else {
            panic!()
        };
        assert_eq!((uuid.as_str(), text), ("2a19", true));
        let GattAction::Subscribe { uuid, count } =
            gatt(&["subscribe", "2A19", "--count", "3"]).unwrap()
        else {
            panic!()
        };
        assert_eq!((uuid.as_str(), count), ("2A19", Some(3)));
        let missing = gatt(&[]).unwrap_err();
        assert_eq!(missing.exit_code(), 2);
    }

    #[test]
    fn gatt_write_takes_hex_or_text() {
        let GattAction::Write(write) = gatt(&["write", "2a06", "01:ff", "--no-response"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(write.value(), [0x01, 0xff]);
        assert!(write.no_response);
        let GattAction::Write(write) = gatt(&["write", "2a00", "--text", "Küche"]).unwrap() else {
            panic!()
        };
        assert_eq!(write.value(), "Küche".as_bytes());
        assert!(!write.no_response);

        let bad_hex = gatt(&["write", "2a06", "0g"]).unwrap_err();
        assert_eq!(bad_hex.kind(), ErrorKind::ValueValidation);
        assert_eq!(bad_hex.exit_code(), 2);
        let both = gatt(&["write", "2a06", "01", "--text", "x"]).unwrap_err();
        assert_eq!(both.kind(), ErrorKind::ArgumentConflict);
        let neither = gatt(&["write", "2a06"]).unwrap_err();
        assert_eq!(neither.kind(), ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("4  no device matches DEVICE"), "{help}");
        assert!(help.contains("3  the system bus or m2mhald"), "{help}");
    }
}
