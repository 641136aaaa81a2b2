//! A running `m2mhald` on the test bus, with its own config, state and plugin directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use m2mhal_contract::BUS_NAME;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use zbus::Connection;

use crate::binaries::{binary, target_dir};
use crate::bus::{TestBus, wait_for_owner};
use crate::line_child::forward_lines;
use crate::wait::WAIT;

/// A running `m2mhald` with its own config and state directory.
pub struct Daemon {
    pub(crate) child: Child,
    /// Config, state and plugin directories live here.
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    /// Connection used by the test to talk to the daemon.
    pub conn: Connection,
    stderr: mpsc::UnboundedReceiver<String>,
}

/// Directory with the built driver plugins copied in, as an operator would install them.
pub fn install_plugins(dir: &Path) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugin dir");
    for entry in std::fs::read_dir(target_dir()).expect("target dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("libm2mhal_driver_") && name.ends_with(".so") {
            std::fs::copy(entry.path(), plugins.join(&name)).expect("copy plugin");
        }
    }
    plugins
}

/// Installs the test-only plugin `libm2mhal_<driver>.so` (built by a workspace member under
/// `tests/plugins/`) into `dir/plugins` as `libm2mhal_driver_<driver>.so`. Its built name is one
/// the daemon never loads, so no other test and no `make install` ever sees it.
pub fn install_test_plugin(dir: &Path, driver: &str) {
    let built = target_dir().join(format!("libm2mhal_{driver}.so"));
    assert!(
        built.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        built.display()
    );
    let installed = dir
        .join("plugins")
        .join(format!("libm2mhal_driver_{driver}.so"));
    std::fs::copy(&built, installed).expect("copy the test plugin");
}

/// A fresh directory for a daemon, with the built driver plugins installed in `plugins/`. Tests
/// that need more in the directory (extra plugin files, a damaged store) prepare it and use
/// [`Daemon::start_in`].
pub fn daemon_dir() -> tempfile::TempDir {
    let temp = tempfile::tempdir().expect("temp dir");
    install_plugins(temp.path());
    temp
}

/// Writes `m2mhald.toml` in `dir`: its `plugins/` and `state/` directories, then `extra`;
/// returns its path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let config = format!(
        "plugin_dirs = [\"{plugins}\"]\nstate_dir = \"{state}\"\n{extra}\n",
        plugins = dir.join("plugins").display(),
        state = dir.join("state").display(),
    );
    let config_path = dir.join("m2mhald.toml");
    std::fs::write(&config_path, config).expect("write daemon config");
    config_path
}

/// The `m2mhald` command for the config in `dir`, on `bus`, with debug logs on stderr.
fn daemon_command(bus: &TestBus, dir: &Path, extra: &str, env: &[(&str, &str)]) -> Command {
    let config_path = write_config(dir, extra);
    let mut command = Command::new(binary("m2mhald"));
    command
        .arg("--config")
        .arg(&config_path)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env("M2MHAL_LOG", "debug")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `m2mhald` with `extra` config in `dir` until it exits by itself (for configurations it
/// must refuse); returns its exit status and stderr. Fails the test if it is still running after
/// [`WAIT`].
pub async fn run_daemon_to_exit(
    bus: &TestBus,
    dir: &Path,
    extra: &str,
) -> (std::process::ExitStatus, String) {
    let child = daemon_command(bus, dir, extra, &[])
        .spawn()
        .expect("start m2mhald");
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("m2mhald exits by itself")
        .expect("wait for m2mhald");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("[m2mhald] {stderr}");
    (output.status, stderr)
}

impl Daemon {
    /// Starts the daemon with `extra` appended to a config naming a fresh plugin and state
    /// directory, and waits until it owns its bus name.
    pub async fn start(bus: &TestBus, extra: &str) -> Daemon {
        Daemon::start_with_env(bus, extra, &[]).await
    }

    /// Like [`Daemon::start`], with extra environment variables (e.g. `NOTIFY_SOCKET`).
    pub async fn start_with_env(bus: &TestBus, extra: &str, env: &[(&str, &str)]) -> Daemon {
        let temp = daemon_dir();
        let mut daemon = Daemon::start_in_with_env(bus, temp.path(), extra, env).await;
        daemon._temp = Some(temp);
        daemon
    }

    /// Starts the daemon in an existing directory (to restart on the same state).
    pub async fn start_in(bus: &TestBus, dir: &Path, extra: &str) -> Daemon {
        Daemon::start_in_with_env(bus, dir, extra, &[]).await
    }

    /// Like [`Daemon::start_in`], with extra environment variables.
    pub async fn start_in_with_env(
        bus: &TestBus,
        dir: &Path,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Daemon {
        let mut child = daemon_command(bus, dir, extra, env)
            .spawn()
            .expect("start m2mhald");
        let stderr = forward_lines(child.stderr.take().expect("stderr"), "m2mhald");
        let conn = bus.connect().await;
        wait_for_owner(&conn, BUS_NAME, "m2mhald").await;
        Daemon {
            child,
            dir: dir.to_owned(),
            _temp: None,
            conn,
            stderr,
        }
    }

    /// The daemon's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM and returns the exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("m2mhald exits after SIGTERM")
            .expect("wait for m2mhald")
    }

    /// Waits for a log line containing `needle`.
    pub async fn expect_log(&mut self, needle: &str) -> String {
        let mut lines = self.log_until(needle).await;
        lines.pop().unwrap_or_default()
    }

    /// Waits for a log line containing `needle`; returns the lines logged until then, that one
    /// last.
    pub async fn log_until(&mut self, needle: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = self.stderr.recv().await {
                let found = line.contains(needle);
                lines.push(line);
                if found {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(found == Ok(true), "m2mhald never logged {needle:?}");
        lines
    }
}
