//! The pty `m2mctl nmea` writes to: its slave side, reached through a symlink, plays a GNSS
//! receiver's serial port for gpsd or any other NMEA consumer.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::ttyname;

use crate::error::CliError;

/// A pty pair whose slave is linked at a path; the slave stays open here too, so that writes
/// never fail while the consumer has it closed.
pub struct LinkedPty {
    master: File,
    _slave: OwnedFd,
    link: PathBuf,
}

impl LinkedPty {
    /// Opens a raw pty and points `link` at its slave (replacing a symlink that is there).
    pub fn open(link: &Path) -> Result<Self, CliError> {
        let failed = |what: &str, error: &dyn std::fmt::Display| {
            CliError::Failed(format!("cannot {what}: {error}"))
        };
        let pair = openpty(None, None).map_err(|e| failed("open a pty", &e))?;
        for fd in [&pair.master, &pair.slave] {
            let mut termios = tcgetattr(fd).map_err(|e| failed("set up the pty", &e))?;
            cfmakeraw(&mut termios);
            tcsetattr(fd, SetArg::TCSANOW, &termios).map_err(|e| failed("set up the pty", &e))?;
        }
        let flags = fcntl(&pair.master, FcntlArg::F_GETFL)
            .map(OFlag::from_bits_truncate)
            .map_err(|e| failed("set up the pty", &e))?;
        fcntl(&pair.master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))
            .map_err(|e| failed("set up the pty", &e))?;
        let path = ttyname(&pair.slave).map_err(|e| failed("name the pty", &e))?;
        let is_link = std::fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink());
        if is_link {
            std::fs::remove_file(link)
                .map_err(|e| failed(&format!("replace {}", link.display()), &e))?;
        }
        std::os::unix::fs::symlink(&path, link)
            .map_err(|e| failed(&format!("link {}", link.display()), &e))?;
        Ok(LinkedPty {
            master: File::from(pair.master),
            _slave: pair.slave,
            link: link.to_owned(),
        })
    }

    /// Writes `text`; what the consumer does not read in time is dropped, as a receiver's
    /// output is when nobody listens.
    pub fn send(&mut self, text: &str) {
        let _ = self.master.write(text.as_bytes());
    }
}

impl Drop for LinkedPty {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.link);
    }
}
