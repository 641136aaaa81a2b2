//! Reloading a running daemon's config (`systemctl reload m2mhald` is SIGHUP).

use crate::{Daemon, write_config};

impl Daemon {
    /// Rewrites the daemon's config file with `extra` (after the same plugin and state
    /// directories), sends SIGHUP and waits for the daemon's verdict; returns that log line
    /// (`config reloaded: ...` or `config reload refused ...`).
    pub async fn reload(&mut self, extra: &str) -> String {
        write_config(&self.dir, extra);
        self.reload_file().await
    }

    /// Sends SIGHUP without touching the file (it may have been written by the test) and waits
    /// for the daemon's verdict, as [`Daemon::reload`].
    pub async fn reload_file(&mut self) -> String {
        let pid = self.pid().expect("m2mhald runs");
        let status = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -HUP {pid}: {status}");
        self.expect_log("config reload").await
    }
}
