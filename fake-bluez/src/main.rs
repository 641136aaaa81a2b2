//! `m2mhal-fake-bluez`: serves a fake `org.bluez` on a bus and takes control commands on stdin
//! (see the `script` module of the library), printing every event as a JSON line on stdout.

use std::time::Duration;

use clap::Parser;
use m2mhal_fake_bluez::{FakeBluez, script};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Command line.
#[derive(Parser)]
#[command(about = "A fake BlueZ on D-Bus, driven by commands on stdin")]
struct Args {
    /// Bus address (default: the system bus, which honours DBUS_SYSTEM_BUS_ADDRESS).
    #[arg(long)]
    bus: Option<String>,
    /// How long Connect waits for an unreachable peripheral, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    connect_timeout_ms: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let conn = match &args.bus {
        Some(address) => {
            zbus::connection::Builder::address(address.as_str())
                .build()
                .await?
        }
        None => zbus::Connection::system().await?,
    };
    let timeout = Duration::from_millis(args.connect_timeout_ms);
    let bluez = FakeBluez::start_with_connect_timeout(conn, timeout).await?;
    let mut changes = bluez.subscribe();
    let mut printed = 0;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let Some(line) = line? else { break };
                if let Err(message) = execute(&bluez, &line).await {
                    let error = serde_json::json!({"event": "error", "line": line, "message": message});
                    println!("{error}");
                }
            }
            Ok(()) = changes.changed() => {}
        }
        printed = print_events(&bluez, printed);
    }
    print_events(&bluez, printed);
    Ok(())
}

/// Parses and runs one line.
async fn execute(bluez: &FakeBluez, line: &str) -> Result<(), String> {
    match script::parse(line)? {
        Some(command) => script::run(bluez, command).await.map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// Prints the events logged since index `printed` as JSON lines; returns the new index.
fn print_events(bluez: &FakeBluez, printed: usize) -> usize {
    let events = bluez.events_since(printed);
    for event in &events {
        if let Ok(line) = serde_json::to_string(event) {
            println!("{line}");
        }
    }
    printed + events.len()
}
