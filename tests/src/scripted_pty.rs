//! A scripted serial device on a pty, for drivers of devices m2msim does not simulate (the
//! examples' sensor): it answers each line it receives that is a key of its script with that
//! key's answer, and ignores every other line.

use std::collections::HashMap;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;

/// A pty whose slave side is the device's port; stops answering when dropped.
pub struct ScriptedPty {
    path: String,
    task: JoinHandle<()>,
}

impl ScriptedPty {
    /// Opens the pty and answers `request` lines (`READ?`) with their `answer` (`T=21.5`), each
    /// answer followed by CR LF. Needs a tokio runtime.
    pub fn start(script: &[(&str, &str)]) -> ScriptedPty {
        let pair = openpty(None, None).expect("open a pty");
        for side in [&pair.master, &pair.slave] {
            let mut termios = tcgetattr(side).expect("pty attributes");
            cfmakeraw(&mut termios);
            tcsetattr(side, SetArg::TCSANOW, &termios).expect("raw pty");
        }
        let path = nix::unistd::ttyname(&pair.slave)
            .expect("pty name")
            .to_string_lossy()
            .into_owned();
        let flags =
            OFlag::from_bits_truncate(fcntl(&pair.master, FcntlArg::F_GETFL).expect("flags"));
        fcntl(&pair.master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).expect("non-blocking");
        // SAFETY: the `File` owns the master descriptor and nothing else closes or replaces it
        // while the `AsyncFd` holds the `File`.
        let master =
            unsafe { AsyncFd::register(File::from(pair.master)) }.expect("register the pty");
        let script: HashMap<String, String> = script
            .iter()
            .map(|(request, answer)| ((*request).to_owned(), format!("{answer}\r\n")))
            .collect();
        let task = tokio::spawn(answer_lines(master, pair.slave, script));
        ScriptedPty { path, task }
    }

    /// The device node a driver opens.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Drop for ScriptedPty {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads lines from `master` and answers those in `script`. Holds `_slave` open, so that the
/// master never reads EIO while the driver has the port closed.
async fn answer_lines(master: AsyncFd<File>, _slave: OwnedFd, script: HashMap<String, String>) {
    let mut line = Vec::new();
    let mut buffer = [0u8; 256];
    loop {
        let Ok(mut ready) = master.readable().await else {
            return;
        };
        let read = match ready.try_io(|fd| fd.get_ref().read(&mut buffer)) {
            Ok(Ok(read)) => read,
            Ok(Err(e)) if e.kind() == ErrorKind::Interrupted => continue,
            Ok(Err(_)) => return,
            Err(_would_block) => continue,
        };
        for &byte in &buffer[..read] {
            if byte != b'\r' && byte != b'\n' {
                line.push(byte);
                continue;
            }
            let request = String::from_utf8_lossy(&line).into_owned();
            line.clear();
            if let Some(answer) = script.get(request.trim()) {
                // A few bytes into an empty pty buffer: the write does not block.
                let mut device: &File = master.get_ref();
                if device.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}
