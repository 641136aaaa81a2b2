//! A running simulator: its ports, the control command sources (stdin, unix socket, script)
//! and shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::device::SimulatedDevice;
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
    /// The `--script` file cannot be read.
    #[error("cannot read script {path}: {source}")]
    Script {
        /// The script path.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// The `--control` socket cannot be bound.
    #[error("cannot listen on control socket {path}: {source}")]
    ControlSocket {
        /// The socket path.
        path: PathBuf,
        /// The bind error.
        source: std::io::Error,
    },
    /// A pty or its link cannot be set up.
    #[error("cannot open a pty: {0}")]
    Pty(std::io::Error),
    /// Termination signals cannot be watched.
    #[error("cannot watch signals: {0}")]
    Signals(std::io::Error),
}

/// Runs `devices` on ptys until `quit`, SIGINT or SIGTERM, then removes links and the socket.
pub async fn run<D: SimulatedDevice>(
    devices: Vec<D>,
    options: &SimulatorOptions,
) -> Result<(), RunError> {
    use tokio::signal::unix::{SignalKind, signal};

    let script = match &options.script {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|source| RunError::Script {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let listener = match &options.control {
        Some(path) => Some(bind_control_socket(path)?),
        None => None,
    };
    let mut terminate = signal(SignalKind::terminate()).map_err(RunError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(RunError::Signals)?;
    let simulator = Simulator::start(devices, options.link.as_deref()).map_err(RunError::Pty)?;
    tokio::spawn(Arc::clone(&simulator).serve_stdin());
    if let Some(listener) = listener {
        tokio::spawn(Arc::clone(&simulator).serve_socket(listener));
    }
    if let Some(script) = script {
        tokio::spawn(Arc::clone(&simulator).run_script(script));
    }
    tokio::select! {
        () = simulator.quit_requested() => {}
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    simulator.remove_links();
    if let Some(path) = &options.control {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Binds the control socket, replacing a stale socket file left by an earlier run.
fn bind_control_socket(path: &Path) -> Result<UnixListener, RunError> {
    use std::os::unix::fs::FileTypeExt;

    let stale =
        std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_socket());
    if stale {
        let _ = std::fs::remove_file(path);
    }
    UnixListener::bind(path).map_err(|source| RunError::ControlSocket {
        path: path.to_owned(),
        source,
    })
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

/// The running ports and the shutdown signal.
pub struct Simulator {
    ports: Vec<mpsc::Sender<ControlRequest>>,
    links: Vec<PathBuf>,
    quit: watch::Sender<bool>,
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
        let (quit, _) = watch::channel(false);
        Ok(Arc::new(Self { ports, links, quit }))
    }

    /// Runs one control line and returns its JSON reply; `None` for blank and `#` comment lines.
    pub async fn execute(&self, line: &str) -> Option<Value> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        if line == "quit" {
            // Takes effect in `quit_if_asked`, once this reply is out.
            return Some(report::ok());
        }
        let (index, command) = match split_target(line) {
            Ok(target) => target,
            Err(message) => return Some(report::error(message)),
        };
        let Some(port) = self.ports.get(index) else {
            return Some(report::error(format!(
                "no port {index}: there are {}",
                self.ports.len()
            )));
        };
        let (reply, answer) = oneshot::channel();
        let request = ControlRequest {
            command: command.to_owned(),
            reply,
        };
        if port.send(request).await.is_err() {
            return Some(report::error(format!("port {index} has stopped")));
        }
        Some(
            answer
                .await
                .unwrap_or_else(|_| report::error(format!("port {index} has stopped"))),
        )
    }

    /// Signals `quit` after its reply was printed or sent, so a controller always reads the answer
    /// before the simulator exits.
    fn quit_if_asked(&self, line: &str) {
        if line.trim() == "quit" {
            self.quit.send_replace(true);
        }
    }

    /// Reads control lines from stdin and prints the replies. End of input is not a quit: a
    /// simulator started in the background keeps running.
    pub async fn serve_stdin(self: Arc<Self>) {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(reply) = self.execute(&line).await {
                report::print_line(&reply);
            }
            self.quit_if_asked(&line);
        }
    }

    /// Runs a script of control lines; `sleep <ms>` lines pause it.
    pub async fn run_script(self: Arc<Self>, script: String) {
        for line in script.lines() {
            let reply = match line.trim().strip_prefix("sleep ") {
                Some(ms) => match ms.trim().parse() {
                    Ok(ms) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        None
                    }
                    Err(_) => Some(report::error(format!(
                        "script: {line:?}: sleep takes milliseconds"
                    ))),
                },
                None => self.execute(line).await,
            };
            if let Some(reply) = reply {
                report::print_line(&reply);
            }
            self.quit_if_asked(line);
        }
    }

    /// Accepts control connections on a unix socket: one command per line, one JSON line back.
    pub async fn serve_socket(self: Arc<Self>, listener: UnixListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(Arc::clone(&self).serve_connection(stream));
                }
                Err(error) => {
                    eprintln!("m2msim: control socket: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn serve_connection(self: Arc<Self>, stream: tokio::net::UnixStream) {
        let (reader, mut writer) = stream.into_split();
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Some(reply) = self.execute(&line).await else {
                continue;
            };
            if writer
                .write_all(format!("{reply}\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            self.quit_if_asked(&line);
        }
    }

    /// Waits for `quit`.
    pub async fn quit_requested(&self) {
        let mut quit = self.quit.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = quit.wait_for(|quit| *quit).await;
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
