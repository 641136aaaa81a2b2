//! A running serial simulator: its ports, where control commands for them go, and shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::control_plane::{Commands, ControlPlane, ControlStartError, Startup};
use crate::device::SimulatedDevice;
use crate::help::{self, CommandHelp};
use crate::port::{ControlRequest, Port};
use crate::report;

/// Control requests queued per port before senders wait.
const REQUEST_QUEUE: usize = 16;

/// Options every kind of simulated device has: links, control socket, start script.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SimulatorOptions {
    /// Symlink PATH to the port of device 0 (PATH-1, PATH-2, ... for the others).
    #[arg(long, value_name = "PATH")]
    pub link: Option<PathBuf>,
    /// Run the control commands of FILE at start (`sleep <ms>` lines pause).
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Also take control commands on the unix socket PATH (one per line, one JSON reply line).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
}

/// Why the simulator could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The script, the control socket or the signals cannot be set up.
    #[error(transparent)]
    Control(#[from] ControlStartError),
    /// A pty or its link cannot be set up.
    #[error("cannot open a pty: {0}")]
    Pty(std::io::Error),
}

/// Runs `devices` on ptys until `quit`, SIGINT or SIGTERM, then removes links and the socket.
pub async fn run<D: SimulatedDevice>(
    devices: Vec<D>,
    options: &SimulatorOptions,
) -> Result<(), RunError> {
    let startup = Startup::prepare(options.script.as_deref(), options.control.as_deref())?;
    let simulator = Simulator::start(devices, options.link.as_deref()).map_err(RunError::Pty)?;
    ControlPlane::new(Arc::clone(&simulator)).run(startup).await;
    simulator.remove_links();
    Ok(())
}

/// Where a control command goes: `@<index> <command>` or the first port.
fn split_target(line: &str) -> Result<(usize, &str), String> {
    let Some(addressed) = line.strip_prefix('@') else {
        return Ok((0, line));
    };
    let (index, command) = addressed
        .split_once(char::is_whitespace)
        .unwrap_or((addressed, ""));
    let index = index
        .parse()
        .map_err(|_| format!("{index:?} is not a port index"))?;
    Ok((index, command.trim()))
}

/// The symlink path of port `index`: `PATH` for port 0, `PATH-<index>` for the others.
pub fn link_path(link: &Path, index: usize) -> PathBuf {
    if index == 0 {
        return link.to_owned();
    }
    let mut path = link.as_os_str().to_owned();
    path.push(format!("-{index}"));
    PathBuf::from(path)
}

/// The control commands of a simulator of `D`s: the device's, then the serial port's.
pub fn commands<D: SimulatedDevice>() -> Vec<CommandHelp> {
    [D::COMMANDS, help::SERIAL_PORT].concat()
}

/// The running ports.
pub struct Simulator {
    ports: Vec<mpsc::Sender<ControlRequest>>,
    links: Vec<PathBuf>,
    commands: Vec<CommandHelp>,
}

impl Simulator {
    /// Opens one pty per device, in order (each prints its ready line), and starts serving them.
    /// `link` names the symlinks (see [`link_path`]).
    pub fn start<D: SimulatedDevice>(
        devices: Vec<D>,
        link: Option<&Path>,
    ) -> std::io::Result<Arc<Self>> {
        let mut ports = Vec::new();
        let mut links = Vec::new();
        for (index, device) in devices.into_iter().enumerate() {
            let link = link.map(|link| link_path(link, index));
            let port = Port::open(index, device, link.clone())?;
            links.extend(link);
            let (sender, receiver) = mpsc::channel(REQUEST_QUEUE);
            tokio::spawn(port.run(receiver));
            ports.push(sender);
        }
        Ok(Arc::new(Self {
            ports,
            links,
            commands: commands::<D>(),
        }))
    }

    /// Removes the symlinks this simulator made.
    pub fn remove_links(&self) {
        for link in &self.links {
            let is_link = std::fs::symlink_metadata(link)
                .is_ok_and(|metadata| metadata.file_type().is_symlink());
            if is_link {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}

impl Commands for Simulator {
    /// Sends the command to its port (`@<index> <command>`, port 0 without a prefix) and returns
    /// the port's reply.
    async fn execute(&self, line: &str) -> Value {
        let (index, command) = match split_target(line) {
            Ok(target) => target,
            Err(message) => return report::error(message),
        };
        let Some(port) = self.ports.get(index) else {
            return report::error(format!("no port {index}: there are {}", self.ports.len()));
        };
        let (reply, answer) = oneshot::channel();
        let request = ControlRequest {
            command: command.to_owned(),
            reply,
        };
        if port.send(request).await.is_err() {
            return report::error(format!("port {index} has stopped"));
        }
        answer
            .await
            .unwrap_or_else(|_| report::error(format!("port {index} has stopped")))
    }

    fn help(&self) -> Vec<CommandHelp> {
        self.commands.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_links() {
        assert_eq!(split_target("signal 20"), Ok((0, "signal 20")));
        assert_eq!(split_target("@3 sms +49 hi"), Ok((3, "sms +49 hi")));
        assert!(split_target("@x signal 20").is_err());
        assert_eq!(
            link_path(Path::new("/tmp/modem"), 0),
            Path::new("/tmp/modem")
        );
        assert_eq!(
            link_path(Path::new("/tmp/modem"), 2),
            Path::new("/tmp/modem-2")
        );
    }
}
