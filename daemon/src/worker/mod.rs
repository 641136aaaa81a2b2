//! Driver worker processes: the short-lived one that checks each plugin before the daemon maps
//! it ([`crate::plugin_host`]), and one per device for the drivers named in `isolated_drivers`.
//!
//! A worker is the daemon binary run as `m2mhald --plugin-fd 3 --driver-worker <plugin file>`: it
//! loads that one plugin from the open file the daemon hands it as descriptor 3 (the file the
//! daemon opened, [`PluginFile`]), with the same checks as the daemon
//! ([`crate::plugin_host::Library::load`]), and relays
//! [`protocol`] requests from its stdin to the plugin's C ABI, and the plugin's answers to its
//! stdout ([`serve`]). The daemon side is [`Worker`]: a driver that crashes or hangs takes down only
//! its worker, and the daemon sees a [`PluginError`] like any other driver failure.

pub mod protocol;
pub mod serve;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::plugin_file::PluginFile;
use crate::plugin_host::PluginError;
use protocol::{ProtocolError, Reply, Request};

/// How long a worker has to answer one request before it is killed.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(5);
/// How long a worker that closed its stdout has to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);
/// The hidden command-line flag that makes `m2mhald` a worker.
pub const WORKER_FLAG: &str = "--driver-worker";
/// The hidden command-line flag naming the descriptor a worker loads its plugin from.
pub const PLUGIN_FD_FLAG: &str = "--plugin-fd";
/// The descriptor under which a worker inherits its open plugin file.
pub const PLUGIN_FD: RawFd = 3;

/// A running worker process hosting one plugin (and at most one instance of its driver); killed
/// when dropped.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    pid: u32,
}

impl Worker {
    /// Starts a worker for the open plugin file `plugin`. Its stderr is the daemon's, so its logs
    /// go where the daemon's go.
    pub fn spawn(plugin: &PluginFile) -> Result<Worker, PluginError> {
        let failed = |message: String| PluginError::Worker {
            call: "start",
            message,
        };
        let exe = std::env::current_exe()
            .map_err(|e| failed(format!("cannot find the daemon's executable: {e}")))?;
        let source = plugin.as_fd().as_raw_fd();
        let mut command = Command::new(&exe);
        command
            .arg(PLUGIN_FD_FLAG)
            .arg(PLUGIN_FD.to_string())
            .arg(WORKER_FLAG)
            .arg(plugin.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        // SAFETY: the closure runs in the forked child before exec and only makes system calls
        // (no allocation, no locks), as `pre_exec` requires; `source` stays open in the daemon
        // while `plugin` is borrowed, which outlasts the spawn.
        unsafe { command.pre_exec(move || inherit_as_plugin_fd(source)) };
        let mut child = command
            .spawn()
            .map_err(|e| failed(format!("cannot run {}: {e}", exe.display())))?;
        let pid = child.id().unwrap_or_default();
        match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => Ok(Worker {
                child,
                stdin,
                stdout,
                pid,
            }),
            _ => Err(failed("its pipes were not set up".into())),
        }
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `request` (for the entry point `call`) and returns the bytes the plugin answered.
    /// A worker that does not answer within [`ANSWER_DEADLINE`] is killed; one that dies is
    /// reported with how it ended.
    pub async fn call(
        &mut self,
        call: &'static str,
        request: &Request,
    ) -> Result<Vec<u8>, PluginError> {
        let exchange = async {
            protocol::write_frame_async(&mut self.stdin, request).await?;
            let payload = protocol::read_frame_async(&mut self.stdout).await?;
            protocol::decode::<Reply>(&payload)
        };
        let outcome = tokio::time::timeout(ANSWER_DEADLINE, exchange).await;
        match outcome {
            Ok(Ok(reply)) => reply_result(call, reply),
            Ok(Err(ProtocolError::Io(_))) => Err(self.died(call).await),
            Ok(Err(e)) => {
                let _ = self.child.kill().await;
                Err(PluginError::Worker {
                    call,
                    message: format!("{e} (killed)"),
                })
            }
            Err(_) => {
                let _ = self.child.kill().await;
                Err(PluginError::Unresponsive { call })
            }
        }
    }

    /// The error for a worker whose pipe broke: how it ended, killing it if it did not.
    async fn died(&mut self, call: &'static str) -> PluginError {
        let status = match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => exit_text(status),
            Ok(Err(e)) => format!("cannot tell how: {e}"),
            Err(_) => {
                let _ = self.child.kill().await;
                "it closed its pipe (killed)".to_owned()
            }
        };
        PluginError::WorkerDied { call, status }
    }
}

/// In a forked child: makes `source` the child's [`PLUGIN_FD`], open across exec.
fn inherit_as_plugin_fd(source: RawFd) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    // SAFETY: `source` is open in the child (a copy of the daemon's descriptor table).
    let source = unsafe { BorrowedFd::borrow_raw(source) };
    if source.as_raw_fd() == PLUGIN_FD {
        // dup2 onto itself would leave close-on-exec set.
        fcntl(source, FcntlArg::F_SETFD(FdFlag::empty()))?;
    } else {
        // SAFETY: whatever the child had as PLUGIN_FD was close-on-exec (Rust opens everything
        // so) and is replaced; the new descriptor must outlive this function, hence into_raw_fd.
        let _inherited = unsafe { nix::unistd::dup2_raw(source, PLUGIN_FD) }?.into_raw_fd();
    }
    Ok(())
}

/// The outcome of `call` that a worker's `reply` describes.
fn reply_result(call: &'static str, reply: Reply) -> Result<Vec<u8>, PluginError> {
    match reply {
        Reply::Ok(bytes) => Ok(bytes),
        Reply::Failed { message } => Err(PluginError::Failed { call, message }),
        Reply::Panicked { message } => Err(PluginError::Panicked { call, message }),
        Reply::Refused { message } => Err(PluginError::Refused(message)),
    }
}

/// How a process ended, for a log line: `signal 6 (SIGABRT)`, `exit status 1`.
fn exit_text(status: ExitStatus) -> String {
    if let Some(signal) = status.signal() {
        match nix::sys::signal::Signal::try_from(signal) {
            Ok(name) => format!("signal {signal} ({})", name.as_str()),
            Err(_) => format!("signal {signal}"),
        }
    } else if let Some(code) = status.code() {
        format!("exit status {code}")
    } else {
        status.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_named_by_signal_or_status() {
        // Raw wait statuses: a signal number in the low 7 bits, an exit code in the next byte.
        assert_eq!(exit_text(ExitStatus::from_raw(6)), "signal 6 (SIGABRT)");
        assert_eq!(exit_text(ExitStatus::from_raw(9)), "signal 9 (SIGKILL)");
        assert_eq!(exit_text(ExitStatus::from_raw(1 << 8)), "exit status 1");
        assert_eq!(exit_text(ExitStatus::from_raw(0)), "exit status 0");
    }

    #[test]
    fn replies_become_the_errors_an_in_process_plugin_gives() {
        assert_eq!(
            reply_result("handle", Reply::Ok(vec![0x80])).unwrap(),
            [0x80]
        );
        let failed = reply_result(
            "open",
            Reply::Failed {
                message: "no such modem".into(),
            },
        );
        assert_eq!(
            failed.unwrap_err().to_string(),
            "open failed: no such modem"
        );
        let panicked = reply_result(
            "handle",
            Reply::Panicked {
                message: "index out of bounds".into(),
            },
        );
        assert_eq!(
            panicked.unwrap_err().to_string(),
            "handle panicked: index out of bounds"
        );
        let refused = reply_result(
            "describe",
            Reply::Refused {
                message: "plugin speaks ABI v9, this daemon speaks v1".into(),
            },
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "plugin speaks ABI v9, this daemon speaks v1"
        );
    }

    #[test]
    fn deadline_and_death_read_as_operators_need_them() {
        assert_eq!(
            PluginError::Unresponsive { call: "handle" }.to_string(),
            "handle: the driver did not answer within 5 s (killed)"
        );
        assert_eq!(
            PluginError::WorkerDied {
                call: "handle",
                status: exit_text(ExitStatus::from_raw(6)),
            }
            .to_string(),
            "handle: the driver's worker died: signal 6 (SIGABRT)"
        );
    }
}
