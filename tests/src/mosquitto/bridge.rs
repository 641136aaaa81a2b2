//! `m2mhal-mqtt` on the test bus, with its own config and state directory.

use std::path::Path;
use std::process::Stdio;

use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::binaries::binary;
use crate::bus::TestBus;
use crate::line_child::forward_lines;
use crate::wait::WAIT;

/// The `[mqtt]` config of a bridge: broker `url`, topic prefix `prefix`, state in `state_dir`,
/// then `extra` lines of the table.
pub fn bridge_config(url: &str, prefix: &str, state_dir: &Path, extra: &str) -> String {
    format!(
        "[mqtt]\nurl = \"{url}\"\nclient_id = \"{prefix}\"\ntopic_prefix = \"{prefix}\"\n\
         state_dir = \"{}\"\nkeepalive = 5\n{extra}\n",
        state_dir.display()
    )
}

/// A running `m2mhal-mqtt`; killed when dropped.
pub struct Bridge {
    child: Child,
    stderr: mpsc::UnboundedReceiver<String>,
}

impl Bridge {
    /// Starts the bridge on `bus` with `config` (see [`bridge_config`]), written into `dir`.
    pub fn start(bus: &TestBus, dir: &Path, config: &str) -> Bridge {
        let path = dir.join("m2mhal-mqtt.toml");
        std::fs::write(&path, config).expect("write the bridge config");
        let mut child = Command::new(binary("m2mhal-mqtt"))
            .arg("--config")
            .arg(&path)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            // The bridge's own debug lines, not its libraries' (rumqttc logs every packet).
            .env("M2MHAL_LOG", "info,m2mhal_mqtt=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start m2mhal-mqtt");
        let stderr = forward_lines(child.stderr.take().expect("stderr is piped"), "m2mhal-mqtt");
        Bridge { child, stderr }
    }

    /// The bridge's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Forgets the log lines read so far (for [`Bridge::expect_logs`] counting from now).
    pub fn forget_logs(&mut self) {
        while self.stderr.try_recv().is_ok() {}
    }

    /// Kills the bridge with SIGKILL (no goodbye to the broker) and waits for it.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("kill m2mhal-mqtt");
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("m2mhal-mqtt dies")
            .expect("wait for m2mhal-mqtt");
    }

    /// Stops the bridge with SIGTERM; its exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("m2mhal-mqtt exits after SIGTERM")
            .expect("wait for m2mhal-mqtt")
    }

    /// Waits until the bridge logged `count` lines containing `needle`.
    pub async fn expect_logs(&mut self, needle: &str, count: usize) {
        let found = tokio::time::timeout(WAIT, async {
            let mut seen = 0;
            while seen < count {
                match self.stderr.recv().await {
                    Some(line) if line.contains(needle) => seen += 1,
                    Some(_) => {}
                    None => return false,
                }
            }
            true
        })
        .await;
        assert_eq!(
            found,
            Ok(true),
            "m2mhal-mqtt never logged {needle:?} {count} times"
        );
    }
}
