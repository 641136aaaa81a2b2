//! `monitor`: live events until Ctrl-C or `--count N`; and the event loop `gatt subscribe` shares.

use futures_util::{Stream, StreamExt};
use zbus::Message;

use super::{print, print_json};
use crate::bus::Hal;
use crate::error::CliError;
use crate::events::Event;

/// `m2mctl monitor [--count N]`
pub async fn monitor(hal: &Hal, json: bool, count: Option<u64>) -> Result<(), CliError> {
    let signals = hal.signals().await?;
    if !hal.daemon_is_running().await? {
        return Err(CliError::DaemonNotRunning);
    }
    follow(signals, count, |event| {
        if json {
            print_json(&event.to_json())?;
        } else {
            print(&event.render())?;
        }
        Ok(true)
    })
    .await
}

/// Hands every event decoded from `signals` to `handle` until Ctrl-C (`Ok`), until `handle`
/// has returned `Ok(true)` (it printed the event) `count` times, or until `handle` fails.
pub async fn follow(
    mut signals: impl Stream<Item = Message> + Unpin,
    count: Option<u64>,
    mut handle: impl FnMut(Event) -> Result<bool, CliError>,
) -> Result<(), CliError> {
    let mut remaining = count;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while remaining != Some(0) {
        let message = tokio::select! {
            // Ctrl-C first: its handler is installed when first polled, before any event is
            // handled, and it wins over a busy stream.
            biased;
            _ = &mut ctrl_c => return Ok(()),
            message = signals.next() => message,
        };
        let Some(message) = message else {
            return Err(CliError::Failed("the bus connection closed".to_owned()));
        };
        let Some(event) = Event::from_message(&message) else {
            continue;
        };
        if handle(event)? {
            remaining = remaining.map(|left| left - 1);
        }
    }
    Ok(())
}
