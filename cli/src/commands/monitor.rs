//! `monitor`: live events until Ctrl-C or `--count N`.

use futures_util::StreamExt;

use super::{print, print_json};
use crate::bus::Hal;
use crate::error::CliError;
use crate::events::Event;

/// `m2mctl monitor [--count N]`
pub async fn monitor(hal: &Hal, json: bool, count: Option<u64>) -> Result<(), CliError> {
    let mut signals = hal.signals().await?;
    if !hal.daemon_is_running().await? {
        return Err(CliError::DaemonNotRunning);
    }
    let mut remaining = count;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while remaining != Some(0) {
        let message = tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            message = signals.next() => message,
        };
        let Some(message) = message else {
            return Err(CliError::Failed("the bus connection closed".to_owned()));
        };
        let Some(event) = Event::from_message(&message) else {
            continue;
        };
        if json {
            print_json(&event.to_json())?;
        } else {
            print(&event.render())?;
        }
        remaining = remaining.map(|left| left - 1);
    }
    Ok(())
}
