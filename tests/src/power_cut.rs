//! Power cuts: killing `m2mhald` with SIGKILL at a chosen moment, the simulator's record of what
//! went out, and putting a serial line back into a known state between two daemons.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll as poll_fds};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::{BUS_NAME, Daemon, Sim, WAIT, wait_until};

/// ESC: ends a `> ` prompt without sending (3GPP TS 27.005 `+CMGS`).
const ESCAPE: u8 = 0x1B;

/// Kills the daemon with SIGKILL, as a power cut or the OOM killer would, and waits until the
/// bus has seen it go (its name has no owner), so that the next daemon can take the name.
pub async fn kill_hard(daemon: Daemon) {
    let pid = daemon
        .pid()
        .and_then(|pid| i32::try_from(pid).ok())
        .expect("the daemon runs");
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("SIGKILL m2mhald");
    let dbus = zbus::fdo::DBusProxy::new(&daemon.conn)
        .await
        .expect("bus proxy");
    let name = zbus::names::BusName::try_from(BUS_NAME).expect("bus name");
    wait_until("the killed m2mhald to lose its bus name", || async {
        !dbus.name_has_owner(name.clone()).await.unwrap_or(true)
    })
    .await;
}

impl Sim {
    /// Every event of `kind` the simulator printed so far and no call took yet, oldest first.
    /// A control command goes first: its reply comes after every event printed before it, so
    /// none is still on its way.
    pub async fn events_so_far(&mut self, kind: &str) -> Vec<Value> {
        self.status(0).await;
        let (taken, kept): (Vec<Value>, Vec<Value>) = std::mem::take(&mut self.backlog)
            .into_iter()
            .partition(|value| value["event"] == kind);
        self.backlog = VecDeque::from(kept);
        taken
    }
}

/// Does to the modem line at `path` what a restarted daemon must do before it trusts an answer
/// (AT-channel resynchronisation): ends a `> ` prompt left open by the killed daemon with ESC,
/// then sends `AT+CGSN` and reads until `imei` comes back, so that every stale answer is read
/// and gone. For tests that check what happens to messages across kills on their own.
pub async fn settle_modem_line(path: &Path, imei: &str) {
    let path = path.to_owned();
    let imei = imei.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut port = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        port.write_all(&[ESCAPE, b'\r'])
            .and_then(|()| port.write_all(b"AT+CGSN\r"))
            .expect("write to the modem line");
        read_until(&mut port, &imei);
    })
    .await
    .expect("settle the modem line");
}

/// Reads `port` until what came contains `needle`; fails the test after [`WAIT`].
fn read_until(port: &mut std::fs::File, needle: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 512];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "the line never answered {needle:?}; read {seen:?}"
        );
        let timeout =
            PollTimeout::try_from(left.as_millis().min(1000) as i32).expect("poll timeout");
        let mut fds = [PollFd::new(port.as_fd(), PollFlags::POLLIN)];
        if poll_fds(&mut fds, timeout).expect("poll the line") == 0 {
            continue;
        }
        let count = port.read(&mut buffer).expect("read the line");
        seen.extend_from_slice(&buffer[..count]);
    }
}
