//! `m2mhald --config FILE`: the m2mhal daemon; `m2mhald --check-plugin FILE` checks a driver
//! plugin file. (`m2mhald [--plugin-fd FD] --driver-worker PLUGIN`
//! is a worker process the daemon starts to check a plugin or to run an isolated driver, see
//! `m2mhald::worker`.)

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use m2mhald::cli::Args;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_env("M2MHAL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Journal lines stay short: the span says which device, the message what happened.
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Some(plugin) = args.driver_worker {
        return m2mhald::worker::serve::serve(&plugin, args.plugin_fd);
    }
    if let Some(plugin) = args.check_plugin {
        return m2mhald::plugin_check::run(&plugin);
    }
    let config = match m2mhald::config::Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("m2mhald: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("m2mhald: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(m2mhald::run(config, args.config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("m2mhald: {e}");
            ExitCode::FAILURE
        }
    }
}
