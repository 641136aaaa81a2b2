//! A process held stopped (`SIGSTOP`), as a service that hangs: it keeps its bus name and its
//! connections but answers nothing. Continued (`SIGCONT`) when the guard drops, so a failing
//! test never leaves it stopped.

/// A stopped process; continued when dropped.
pub struct Paused {
    pid: u32,
}

impl Paused {
    /// Stops process `pid`.
    pub fn stop(pid: u32) -> Paused {
        signal(pid, "-STOP");
        Paused { pid }
    }

    /// Continues the process now.
    pub fn resume(self) {}
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal(self.pid, "-CONT");
    }
}

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status();
    assert!(
        status.is_ok_and(|status| status.success()) || std::thread::panicking(),
        "kill {signal} {pid}"
    );
}
