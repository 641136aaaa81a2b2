//! A plugin file opened once, so that the code a worker process checked is the code the daemon
//! maps.
//!
//! The daemon opens each plugin file, hands the open file to the checking worker as an inherited
//! descriptor, and loads the same descriptor afterwards (through `/proc/self/fd/<n>`, since
//! `dlopen` takes a path). A plugin replaced on disk after the check (a new file renamed over it,
//! as package managers do) is therefore never the one mapped: the daemon maps the inode it
//! checked. One changed in place (same inode, new size or modification time) is refused.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The size and modification time of an open file; any write to it changes them. (Not the
/// change time: unlinking or renaming over the file changes that, and the content stays.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime: (i64, i64),
}

impl Stamp {
    fn of(file: &File) -> std::io::Result<Stamp> {
        let metadata = file.metadata()?;
        Ok(Stamp {
            size: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
        })
    }
}

/// Why a plugin file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PluginFileError {
    /// The file could not be opened or inspected.
    #[error("cannot open it: {0}")]
    Open(#[from] std::io::Error),
    /// The file was written to after it was opened (and checked).
    #[error("it changed on disk while it was being checked")]
    Changed,
}

/// An open plugin file and the name it was found under.
#[derive(Debug)]
pub struct PluginFile {
    path: PathBuf,
    file: File,
    stamp: Stamp,
}

impl PluginFile {
    /// Opens the plugin file at `path` (read-only, closed on exec).
    pub fn open(path: &Path) -> Result<PluginFile, PluginFileError> {
        let file = File::open(path)?;
        let stamp = Stamp::of(&file)?;
        Ok(PluginFile {
            path: path.to_owned(),
            file,
            stamp,
        })
    }

    /// The path it was found under, for log lines and process titles.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path that opens this very file (not whatever is at [`Self::path`] now).
    pub fn load_path(&self) -> PathBuf {
        descriptor_path(self.file.as_raw_fd())
    }

    /// Whether the file still has the size and times it had when opened.
    pub fn ensure_unchanged(&self) -> Result<(), PluginFileError> {
        if Stamp::of(&self.file)? == self.stamp {
            Ok(())
        } else {
            Err(PluginFileError::Changed)
        }
    }

    /// Keeps the descriptor open for the life of the process. A library that `dlopen` mapped
    /// and could not unmap stays known under its `/proc/self/fd/<n>` name; were `<n>` reused for
    /// another plugin, `dlopen` would hand back the old library.
    pub fn keep_open_for_good(self) {
        let _never_closed = self.file.into_raw_fd();
    }
}

impl AsFd for PluginFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// The path under which this process opens its descriptor `fd` again.
pub fn descriptor_path(fd: RawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{fd}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_file_is_loaded_even_after_a_replacement_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libm2mhal_driver_x.so");
        std::fs::write(&path, b"checked").unwrap();
        let file = PluginFile::open(&path).unwrap();
        let replacement = dir.path().join("new");
        std::fs::write(&replacement, b"replaced").unwrap();
        std::fs::rename(&replacement, &path).unwrap();
        assert_eq!(std::fs::read(file.load_path()).unwrap(), b"checked");
        assert_eq!(file.path(), path);
        assert!(file.ensure_unchanged().is_ok());
    }

    #[test]
    fn a_file_written_in_place_is_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libm2mhal_driver_x.so");
        std::fs::write(&path, b"checked").unwrap();
        let file = PluginFile::open(&path).unwrap();
        std::fs::write(&path, b"trunc").unwrap();
        assert!(matches!(
            file.ensure_unchanged(),
            Err(PluginFileError::Changed)
        ));
    }
}
