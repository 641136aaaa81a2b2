//! `nmea DEVICE --link PATH [--interval MS]`: the device's Location as NMEA 0183 on a pty, for
//! gpsd (gpspipe, cgps, chrony through gpsd) and other NMEA consumers; see docs/gpsd.md.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{SignalKind, signal};

use crate::bus::{Hal, iface};
use crate::error::CliError;
use crate::format::nmea::location_sentences;
use crate::pty::LinkedPty;

/// `m2mctl nmea DEVICE --link PATH --interval MS`: every `interval_ms`, the Location as RMC,
/// GGA and GSA on a pty linked at `link`, until Ctrl-C or SIGTERM (the link is removed then).
pub async fn nmea(hal: &Hal, spec: &str, link: &Path, interval_ms: u64) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    device.interface(iface::LOCATION)?;
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|e| CliError::Failed(format!("cannot watch for SIGTERM: {e}")))?;
    let mut pty = LinkedPty::open(link)?;
    let mut ticks = tokio::time::interval(Duration::from_millis(interval_ms));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = ticks.tick() => {
                let location = hal.properties(&device.path, iface::LOCATION).await?;
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(0));
                pty.send(&location_sentences(&location, now_ms));
            }
        }
    }
}
