//! One simulated serial port: the task that connects a device to its pty and to control
//! commands, and survives the host closing the port or the simulator hanging up.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::device::{Output, SimulatedDevice};
use crate::line_quirks::{LineQuirk, LineQuirks};
use crate::pty::{Pty, point_link};
use crate::report;

/// Pause after an unexpected read error, so a broken pty cannot spin the CPU.
const READ_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Waits for the next tick of a device that talks by itself; forever for the others.
async fn next_tick(ticks: &mut Option<tokio::time::Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// A control command for one port and where its JSON reply goes.
#[derive(Debug)]
pub struct ControlRequest {
    /// The command without its `@<index>` prefix.
    pub command: String,
    /// Receives the reply.
    pub reply: oneshot::Sender<Value>,
}

/// A device on its pty.
pub struct Port<D> {
    index: usize,
    device: D,
    pty: Pty,
    link: Option<PathBuf>,
    quirks: LineQuirks,
}

impl<D: SimulatedDevice> Port<D> {
    /// Opens the pty, points `link` at it and prints the ready line.
    pub fn open(index: usize, device: D, link: Option<PathBuf>) -> std::io::Result<Self> {
        let pty = Pty::open()?;
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        let port = Self {
            index,
            device,
            pty,
            link,
            quirks: LineQuirks::new(seed ^ index as u64),
        };
        port.announce()?;
        Ok(port)
    }

    /// Updates the link and prints `{"event":"ready","index":..,"path":..,<identity>}`.
    fn announce(&self) -> std::io::Result<()> {
        if let Some(link) = &self.link {
            point_link(link, self.pty.path())?;
        }
        let mut ready = json!({ "event": "ready", "path": self.pty.path() });
        if let Value::Object(fields) = &mut ready {
            fields.extend(self.device.identity());
        }
        report::print_line(&report::with_index(ready, self.index));
        Ok(())
    }

    /// Serves the host and control requests until the request channel closes.
    pub async fn run(mut self, mut requests: mpsc::Receiver<ControlRequest>) {
        let mut buffer = vec![0; 4096];
        let mut ticks = self.device.tick_interval().map(|period| {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        });
        loop {
            tokio::select! {
                () = next_tick(&mut ticks) => {
                    if !self.quirks.silent {
                        self.talk();
                    }
                },
                read = self.pty.read(&mut buffer) => match read {
                    Ok(count) if count > 0 => self.on_input(count, &buffer).await,
                    Ok(_) => tokio::time::sleep(READ_ERROR_PAUSE).await,
                    Err(error) => {
                        eprintln!("m2msim: port {}: read failed: {error}", self.index);
                        tokio::time::sleep(READ_ERROR_PAUSE).await;
                    }
                },
                request = requests.recv() => match request {
                    Some(request) => {
                        let reply = self.on_control(&request.command).await;
                        // The requester may have gone away; the command took effect anyway.
                        let _ = request.reply.send(report::with_index(reply, self.index));
                    }
                    None => return,
                },
            }
        }
    }

    async fn on_input(&mut self, count: usize, buffer: &[u8]) {
        if self.quirks.silent {
            return;
        }
        let output = self.device.receive(&buffer[..count]);
        self.answer(output).await;
        // The events of work that takes a while (a session's start) are out before it ends.
        while let Some(duration) = self.device.work_in_progress() {
            tokio::time::sleep(duration).await;
            let output = self.device.finish_work();
            self.answer(output).await;
        }
    }

    /// Sends a device's answer to the host, through the line quirks. What the device did (its
    /// events) is reported at once; only its answer is slow.
    async fn answer(&mut self, output: Output) {
        self.send(Output {
            bytes: Vec::new(),
            events: output.events,
        })
        .await;
        if let Some(delay) = self.quirks.delay.filter(|_| !output.bytes.is_empty()) {
            tokio::time::sleep(delay).await;
        }
        let bytes = self.quirks.dress(output.bytes);
        self.send(Output {
            bytes,
            events: Vec::new(),
        })
        .await;
    }

    /// What the device says by itself at a tick, through the line quirks but never waiting: what
    /// the host does not read in time is lost, as it is on a serial line nobody reads.
    fn talk(&mut self) {
        let output = self.device.tick();
        for event in output.events {
            report::print_line(&report::with_index(event, self.index));
        }
        let bytes = self.quirks.dress(output.bytes);
        if let Err(error) = self.pty.try_write(&bytes) {
            eprintln!("m2msim: port {}: output dropped: {error}", self.index);
        }
    }

    async fn on_control(&mut self, command: &str) -> Value {
        if command.trim() == "hangup" {
            return match self.hang_up() {
                Ok(()) => report::ok(),
                Err(error) => report::error(format!("hangup failed: {error}")),
            };
        }
        if let Some(quirk) = LineQuirk::parse(command) {
            return match quirk {
                Ok(quirk) => {
                    self.quirks.set(quirk);
                    report::ok()
                }
                Err(message) => report::error(message),
            };
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        match self.device.control(command, now) {
            Ok(reply) => {
                let unsolicited = if self.quirks.silent {
                    Output::default()
                } else {
                    reply.unsolicited
                };
                self.send(unsolicited).await;
                let mut reply = reply.reply;
                if command.trim() == "status" {
                    self.add_line_status(&mut reply);
                }
                reply
            }
            Err(error) => report::error(error),
        }
    }

    /// Adds the port's path and line quirks to a device's `status` reply.
    fn add_line_status(&self, reply: &mut Value) {
        if let Value::Object(fields) = reply {
            let delay_ms = self.quirks.delay.map(|delay| delay.as_millis());
            fields.insert("path".to_owned(), json!(self.pty.path()));
            fields.insert("slow_ms".to_owned(), json!(delay_ms));
            fields.insert("silent".to_owned(), json!(self.quirks.silent));
            fields.insert("garbage".to_owned(), json!(self.quirks.garbage));
        }
    }

    /// Closes the pty (the host reads end of file) and opens a new one with a new path.
    fn hang_up(&mut self) -> std::io::Result<()> {
        self.pty = Pty::open()?;
        self.announce()
    }

    async fn send(&mut self, output: Output) {
        for event in output.events {
            report::print_line(&report::with_index(event, self.index));
        }
        if output.bytes.is_empty() {
            return;
        }
        if let Err(error) = self.pty.write_all(&output.bytes).await {
            eprintln!("m2msim: port {}: output dropped: {error}", self.index);
        }
    }
}
