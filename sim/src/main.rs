//! The `m2msim` command: `m2msim modem|iridium|gnss [--count N] [--link PATH] ...`, `m2msim ble`.

use std::process::ExitCode;

use m2msim::ble;
use m2msim::cli::{self, DeviceKind};
use m2msim::gnss;
use m2msim::iridium;
use m2msim::modem::{Identity, ModemState};
use m2msim::simulator;

fn main() -> ExitCode {
    let cli = cli::parse();
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
                    .map(|index| {
                        ModemState::new(Identity::for_index(&args.imei, index), args.echo)
                            .with_vendor(args.vendor)
                            .with_gnss(args.gnss)
                    })
                    .collect();
                simulator::run::<ModemState>(modems, &args.simulator)
                    .await
                    .map_err(|error| error.to_string())
            }
            DeviceKind::Iridium(options) => iridium::run(&options)
                .await
                .map_err(|error| error.to_string()),
            DeviceKind::Gnss(options) => {
                gnss::run(&options).await.map_err(|error| error.to_string())
            }
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
