//! `m2mhal-mqtt --config FILE`: the m2mhal MQTT bridge.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use m2mhal_mqtt::cli::Args;
use m2mhal_mqtt::config::Config;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_env("M2MHAL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("m2mhal-mqtt: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("m2mhal-mqtt: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(m2mhal_mqtt::bridge::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("m2mhal-mqtt: {e}");
            ExitCode::FAILURE
        }
    }
}
