//! The link to a tty: bytes both ways, a hangup when the port goes, `Opened` when it is back.

use std::path::PathBuf;
use std::time::Duration;

use m2mhal_plugin_api::{Effect, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::SerialStream;

use super::{Link, unsupported};
use crate::port;

/// How long a write to the device may take before the port counts as hung up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// First and largest delay between attempts to reopen a port that hung up.
const REOPEN_FIRST: Duration = Duration::from_secs(1);
const REOPEN_MAX: Duration = Duration::from_secs(30);
/// Read buffer size.
const READ_CHUNK: usize = 4096;

/// A serial port, reopened with backoff after a hangup.
pub struct SerialLink {
    devnode: PathBuf,
    baud: u32,
    port: Option<SerialStream>,
    reopen_at: Option<Instant>,
    reopen_delay: Duration,
    buf: Vec<u8>,
}

impl SerialLink {
    /// A link over an open port.
    pub fn new(devnode: PathBuf, baud: u32, port: SerialStream) -> Self {
        SerialLink {
            devnode,
            baud,
            port: Some(port),
            reopen_at: None,
            reopen_delay: REOPEN_FIRST,
            buf: vec![0; READ_CHUNK],
        }
    }

    /// Bytes read, a hangup, or (after a hangup) `Opened` once the port could be reopened.
    async fn read(&mut self) -> Event {
        loop {
            let Some(port) = self.port.as_mut() else {
                match self.reopen_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
                match port::open(&self.devnode, self.baud) {
                    Ok(port) => {
                        tracing::info!("port reopened");
                        self.port = Some(port);
                        self.reopen_at = None;
                        self.reopen_delay = REOPEN_FIRST;
                        return Event::Opened;
                    }
                    Err(e) => {
                        tracing::debug!("{e}");
                        self.schedule_reopen();
                        continue;
                    }
                }
            };
            return match port.read(&mut self.buf).await {
                Ok(0) => self.hangup("end of file"),
                Ok(n) => {
                    tracing::trace!("rx {}", self.buf[..n].escape_ascii());
                    Event::Rx(self.buf[..n].to_vec())
                }
                Err(e) => self.hangup(&e.to_string()),
            };
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Option<Event> {
        let Some(port) = self.port.as_mut() else {
            tracing::debug!("dropping {} bytes: port is closed", bytes.len());
            return None;
        };
        tracing::trace!("tx {}", bytes.escape_ascii());
        let result = tokio::time::timeout(WRITE_TIMEOUT, async {
            port.write_all(bytes).await?;
            port.flush().await
        })
        .await;
        match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(self.hangup(&format!("write failed: {e}"))),
            Err(_) => Some(self.hangup("write timed out")),
        }
    }

    /// The port hung up: drop it and try to reopen it from time to time.
    fn hangup(&mut self, why: &str) -> Event {
        tracing::info!("port hung up ({why})");
        self.port = None;
        self.schedule_reopen();
        Event::Hangup
    }

    fn schedule_reopen(&mut self) {
        self.reopen_at = Some(Instant::now() + self.reopen_delay);
        self.reopen_delay = (self.reopen_delay * 2).min(REOPEN_MAX);
    }
}

#[async_trait::async_trait]
impl Link for SerialLink {
    async fn next(&mut self) -> Event {
        self.read().await
    }

    async fn perform(&mut self, effect: Effect) -> Option<Event> {
        match effect {
            Effect::Tx(bytes) => self.write(&bytes).await,
            other => {
                unsupported(&other);
                None
            }
        }
    }

    fn close(&mut self) {
        self.port = None;
    }
}
