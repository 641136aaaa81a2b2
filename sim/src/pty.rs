//! A pseudo-terminal pair whose slave side plays the device's serial port.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::ttyname;
use tokio::io::unix::AsyncFd;

/// How long a write waits for the host to read before the rest is dropped (a modem without
/// flow control loses what nobody reads).
const WRITE_PATIENCE: Duration = Duration::from_secs(1);

/// The master side of a pty, made non-blocking for tokio, plus the slave kept open so that
/// the master never reads EIO while the host has the port closed.
#[derive(Debug)]
pub struct Pty {
    master: AsyncFd<File>,
    _slave: OwnedFd,
    path: PathBuf,
}

impl Pty {
    /// Opens a pty pair with both sides in raw mode. Needs a tokio runtime.
    pub fn open() -> io::Result<Self> {
        let pair = openpty(None, None)?;
        make_raw(&pair.master)?;
        make_raw(&pair.slave)?;
        let path = ttyname(&pair.slave)?;
        let flags = OFlag::from_bits_truncate(fcntl(&pair.master, FcntlArg::F_GETFL)?);
        fcntl(&pair.master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        // SAFETY: the `File` owns the master descriptor and nothing else closes or replaces it
        // while the `AsyncFd` holds the `File`.
        let master = unsafe { AsyncFd::register(File::from(pair.master))? };
        Ok(Self {
            master,
            _slave: pair.slave,
            path,
        })
    }

    /// The slave device path the host opens, for example `/dev/pts/7`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what the host wrote.
    pub async fn read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            if let Ok(result) = guard.try_io(|master| master.get_ref().read(buffer)) {
                return result;
            }
        }
    }

    /// Writes all of `bytes` unless the host stops reading for `WRITE_PATIENCE`.
    pub async fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let mut guard = tokio::time::timeout(WRITE_PATIENCE, self.master.writable())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the host does not read"))??;
            match guard.try_io(|master| master.get_ref().write(rest)) {
                Ok(Ok(written)) => rest = &rest[written..],
                Ok(Err(error)) => return Err(error),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// Writes what of `bytes` fits now and drops the rest (the host is not reading).
    pub fn try_write(&self, bytes: &[u8]) -> io::Result<()> {
        match self.master.get_ref().write(bytes) {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(error) => Err(error),
        }
    }
}

fn make_raw(fd: &OwnedFd) -> nix::Result<()> {
    let mut termios = tcgetattr(fd)?;
    cfmakeraw(&mut termios);
    tcsetattr(fd, SetArg::TCSANOW, &termios)
}

/// Points the symlink `link` at `target`, replacing what was there atomically.
pub fn point_link(link: &Path, target: &Path) -> io::Result<()> {
    let mut temporary = link.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let _ = std::fs::remove_file(&temporary);
    std::os::unix::fs::symlink(target, &temporary)?;
    std::fs::rename(&temporary, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_cross_the_pty_unchanged() {
        let pty = Pty::open().unwrap();
        let mut host = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(pty.path())
            .unwrap();
        // Raw mode on both sides: no CR/LF translation, no echo by the line discipline.
        host.write_all(b"AT\r\n").unwrap();
        let mut buffer = [0; 16];
        let read = pty.read(&mut buffer).await.unwrap();
        assert_eq!(&buffer[..read], b"AT\r\n");
        pty.write_all(b"\r\nOK\r\n").await.unwrap();
        let read = host.read(&mut buffer).unwrap();
        assert_eq!(&buffer[..read], b"\r\nOK\r\n");
    }

    #[test]
    fn link_is_replaced() {
        let directory = std::env::temp_dir().join(format!("m2msim-link-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let link = directory.join("modem");
        point_link(&link, Path::new("/dev/pts/1")).unwrap();
        point_link(&link, Path::new("/dev/pts/2")).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/dev/pts/2"));
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
