//! The control plane every simulator shares: control lines from stdin, a `--script` file and a
//! unix socket, one JSON reply each, `quit`, and shutdown on SIGINT or SIGTERM.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::help::{self, CommandHelp};
use crate::report;

/// What runs the control commands of one kind of simulator.
pub trait Commands: Send + Sync + 'static {
    /// Runs one command (trimmed; not blank, not a `#` comment, not `quit` or `help`) and returns
    /// its JSON reply.
    fn execute(&self, command: &str) -> impl Future<Output = Value> + Send;

    /// The commands [`Commands::execute`] takes, for `help`.
    fn help(&self) -> Vec<CommandHelp>;
}

/// The `on` or `off` of a control command; `None` for other words.
pub fn parse_on_off(word: &str) -> Option<bool> {
    match word {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// Why the control plane could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ControlStartError {
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
    /// Termination signals cannot be watched.
    #[error("cannot watch signals: {0}")]
    Signals(std::io::Error),
}

/// What is set up before a simulator announces itself: the script read, the control socket
/// bound and the termination signals watched, so that a signal right after the ready line
/// already shuts down cleanly.
pub struct Startup {
    script: Option<String>,
    socket: Option<(UnixListener, PathBuf)>,
    terminate: Signal,
    interrupt: Signal,
}

impl Startup {
    /// Reads `script` and binds the `socket` path when given, and watches SIGTERM and SIGINT.
    pub fn prepare(
        script: Option<&Path>,
        socket: Option<&Path>,
    ) -> Result<Self, ControlStartError> {
        let script =
            match script {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
                    ControlStartError::Script {
                        path: path.to_owned(),
                        source,
                    }
                })?),
                None => None,
            };
        let socket = match socket {
            Some(path) => Some((bind_control_socket(path)?, path.to_owned())),
            None => None,
        };
        Ok(Self {
            script,
            socket,
            terminate: signal(SignalKind::terminate()).map_err(ControlStartError::Signals)?,
            interrupt: signal(SignalKind::interrupt()).map_err(ControlStartError::Signals)?,
        })
    }
}

/// Binds the control socket, replacing a stale socket file left by an earlier run.
fn bind_control_socket(path: &Path) -> Result<UnixListener, ControlStartError> {
    use std::os::unix::fs::FileTypeExt;

    let stale =
        std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_socket());
    if stale {
        let _ = std::fs::remove_file(path);
    }
    UnixListener::bind(path).map_err(|source| ControlStartError::ControlSocket {
        path: path.to_owned(),
        source,
    })
}

/// A simulator's commands and the shutdown signal.
pub struct ControlPlane<C> {
    commands: Arc<C>,
    quit: watch::Sender<bool>,
}

impl<C: Commands> ControlPlane<C> {
    /// A control plane for `commands`; [`ControlPlane::run`] starts serving it.
    pub fn new(commands: Arc<C>) -> Arc<Self> {
        let (quit, _) = watch::channel(false);
        Arc::new(Self { commands, quit })
    }

    /// Serves stdin, the script and the socket of `startup` until `quit`, SIGINT or SIGTERM,
    /// then removes the socket file.
    pub async fn run(self: &Arc<Self>, startup: Startup) {
        let Startup {
            script,
            socket,
            mut terminate,
            mut interrupt,
        } = startup;
        tokio::spawn(Arc::clone(self).serve_stdin());
        let socket_path = socket.map(|(listener, path)| {
            tokio::spawn(Arc::clone(self).serve_socket(listener));
            path
        });
        if let Some(script) = script {
            tokio::spawn(Arc::clone(self).run_script(script));
        }
        tokio::select! {
            () = self.quit_requested() => {}
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        if let Some(path) = socket_path {
            let _ = std::fs::remove_file(path);
        }
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
        if line == "help" {
            let mut commands = self.commands.help();
            commands.extend_from_slice(help::CONTROL_PLANE);
            return Some(help::reply(&commands));
        }
        Some(self.commands.execute(line).await)
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
    async fn serve_stdin(self: Arc<Self>) {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(reply) = self.execute(&line).await {
                report::print_line(&reply);
            }
            self.quit_if_asked(&line);
        }
    }

    /// Runs a script of control lines; `sleep <ms>` lines pause it.
    async fn run_script(self: Arc<Self>, script: String) {
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
    async fn serve_socket(self: Arc<Self>, listener: UnixListener) {
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

    async fn serve_connection(self: Arc<Self>, stream: UnixStream) {
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
    async fn quit_requested(&self) {
        let mut quit = self.quit.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = quit.wait_for(|quit| *quit).await;
    }
}
