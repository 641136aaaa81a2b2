//! Restarts as a power cut or an OOM kill makes them: the daemon killed with SIGKILL (nothing of
//! its own clean-up runs), and the last bytes a killed host wrote to a port.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use crate::{Daemon, WAIT};

impl Daemon {
    /// Kills the daemon with SIGKILL and waits until it is gone; its directory stays for the
    /// next start ([`Daemon::start_in`]).
    pub async fn kill(mut self) {
        tokio::time::timeout(WAIT, self.child.kill())
            .await
            .expect("m2mhald dies on SIGKILL")
            .expect("kill m2mhald");
    }
}

/// Writes `bytes` to the serial port `path` and closes it at once, as a host that was killed
/// right after writing them: the device acts on them, and whatever it answers stays on the port
/// for the next host to read.
pub fn write_and_vanish(path: &str, bytes: &[u8]) {
    let mut port = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    port.write_all(bytes)
        .unwrap_or_else(|e| panic!("write to {path}: {e}"));
}
