//! m2mctl: the command-line client of m2mhald (`org.m2mhal.Hal1` on the system bus). The binary
//! is [`main`]; [`cli`] is public for the man page and the shell completions.

mod bus;
pub mod cli;
mod commands;
mod device;
mod error;
mod events;
mod format;
mod pty;
#[cfg(test)]
mod test_support;

use std::process::ExitCode;

use clap::Parser;

use crate::error::CliError;

/// Runs m2mctl with the process's arguments; the exit code is documented in `m2mctl --help`.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(commands::run(cli)),
        Err(error) => Err(CliError::Failed(format!(
            "cannot start the runtime: {error}"
        ))),
    };
    match result {
        Ok(()) | Err(CliError::OutputClosed) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("m2mctl: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
