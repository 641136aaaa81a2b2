//! One function per subcommand, and the stdout writer they share.

mod control;
mod devices;
mod forget;
mod gatt;
mod location;
mod messaging;
mod monitor;
mod nmea;
mod router;
mod sensor;
mod wait;

use std::io::Write;

use serde_json::Value as Json;

use crate::bus::Hal;
use crate::cli::{Cli, Command, RouteAction, RouteArgs};
use crate::error::CliError;

/// Runs the subcommand the user asked for.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let hal = Hal::connect(cli.timeout).await?;
    let json = cli.json;
    match cli.command {
        Command::List => devices::list(&hal, json).await,
        Command::Show { device } => devices::show(&hal, json, &device).await,
        Command::Monitor { count } => monitor::monitor(&hal, json, count).await,
        Command::Send(args) => messaging::send(&hal, json, &args).await,
        Command::Messages { device, verbose } => {
            messaging::messages(&hal, json, &device, verbose).await
        }
        Command::Delete { device, id } => messaging::delete(&hal, &device, &id).await,
        Command::Poll { device } => messaging::poll(&hal, &device).await,
        Command::Refresh { device } => control::refresh(&hal, &device).await,
        Command::Sensor { device, refresh } => sensor::sensor(&hal, json, &device, refresh).await,
        Command::Location { device, on, off } => {
            let switch = (on || off).then_some(on);
            location::location(&hal, json, &device, switch).await
        }
        Command::Nmea {
            device,
            link,
            interval,
        } => nmea::nmea(&hal, &device, &link, interval).await,
        Command::Gatt(args) => gatt::gatt(&hal, json, &args).await,
        Command::Reset { device } => control::reset(&hal, &device).await,
        Command::Forget { device } => forget::forget(&hal, &device).await,
        Command::Passthrough {
            device,
            line,
            timeout_ms,
        } => control::command(&hal, json, &device, &line, timeout_ms).await,
        Command::Plugins => control::plugins(&hal, json).await,
        Command::ReportKernelEvent(args) => control::report_kernel_event(&hal, &args).await,
        Command::Wait { device, state } => wait::wait(&hal, json, &device, &state).await,
        Command::Route(RouteArgs {
            action: RouteAction::Send(args),
        }) => router::send(&hal, json, &args).await,
        Command::Routes => router::routes(&hal, json).await,
        Command::Rules => router::rules(&hal, json).await,
    }
}

/// Writes `text` to stdout, ending it with a newline when it has none.
fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    write!(stdout, "{text}{newline}")
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::BrokenPipe => CliError::OutputClosed,
            _ => CliError::Failed(format!("cannot write to stdout: {error}")),
        })
}

/// Writes `value` to stdout as one line of JSON.
fn print_json(value: &Json) -> Result<(), CliError> {
    print(&value.to_string())
}
