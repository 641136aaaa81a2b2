//! The `m2msim` command: `m2msim modem|iridium [--count N] [--link PATH] ...`, `m2msim ble`.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use m2msim::ble::{self, BleOptions};
use m2msim::iridium::{self, IridiumOptions};
use m2msim::modem::{DEFAULT_IMEI, Identity, ModemState, is_valid_imei};
use m2msim::simulator::{self, SimulatorOptions};

/// Simulated devices for m2mhal on pseudo-terminals.
#[derive(Debug, Parser)]
#[command(name = "m2msim", version)]
struct Cli {
    #[command(subcommand)]
    device: DeviceKind,
}

#[derive(Debug, Subcommand)]
enum DeviceKind {
    /// Simulated 3GPP cellular modems speaking AT (think Quectel EG25).
    Modem(ModemArgs),
    /// Simulated Iridium 9603 SBD transceivers and their gateway.
    Iridium(IridiumOptions),
    /// Simulated BLE peripherals (BTHome, GATT sensors, phones) behind a fake BlueZ on D-Bus.
    Ble(BleOptions),
}

#[derive(Debug, Args)]
struct ModemArgs {
    /// Number of modems.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    count: u16,
    /// IMEI of modem 0; the others count up from it.
    #[arg(long, default_value = DEFAULT_IMEI, value_parser = parse_imei)]
    imei: String,
    /// Echo stays on whatever ATE0 says (a firmware quirk).
    #[arg(long)]
    echo: bool,
    #[command(flatten)]
    simulator: SimulatorOptions,
}

fn parse_imei(text: &str) -> Result<String, String> {
    if is_valid_imei(text) {
        Ok(text.to_owned())
    } else {
        Err("an IMEI has 15 digits, the last one the Luhn check digit".to_owned())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Multi-threaded: an Iridium session blocks its port's task (see `m2msim::iridium`).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("m2msim: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.device {
            DeviceKind::Modem(args) => {
                let modems = (0..usize::from(args.count))
                    .map(|index| ModemState::new(Identity::for_index(&args.imei, index), args.echo))
                    .collect();
                simulator::run::<ModemState>(modems, &args.simulator)
                    .await
                    .map_err(|error| error.to_string())
            }
            DeviceKind::Iridium(options) => iridium::run(&options)
                .await
                .map_err(|error| error.to_string()),
            DeviceKind::Ble(options) => ble::run(&options).await.map_err(|error| error.to_string()),
        }
    });
    // Stdin is read on a blocking thread that nothing can interrupt: do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("m2msim: {error}");
            ExitCode::FAILURE
        }
    }
}
