//! Watching files for being opened, to prove a port was or was never touched.

use std::collections::HashMap;
use std::path::PathBuf;

/// Watches files for being opened by anybody (inotify `IN_OPEN`), to prove a port was or was
/// never touched.
pub struct OpenWatch {
    inotify: nix::sys::inotify::Inotify,
    watches: HashMap<nix::sys::inotify::WatchDescriptor, PathBuf>,
    opened: Vec<PathBuf>,
}

impl OpenWatch {
    /// Starts watching `paths`.
    pub fn new(paths: &[&str]) -> OpenWatch {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let inotify =
            Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).expect("inotify");
        let watches = paths
            .iter()
            .map(|path| {
                let watch = inotify
                    .add_watch(*path, AddWatchFlags::IN_OPEN)
                    .expect("watch a path");
                (watch, PathBuf::from(path))
            })
            .collect();
        OpenWatch {
            inotify,
            watches,
            opened: Vec::new(),
        }
    }

    /// Every watched path opened since the watch began (each once).
    pub fn opened(&mut self) -> Vec<PathBuf> {
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for event in events {
                if let Some(path) = self.watches.get(&event.wd)
                    && !self.opened.contains(path)
                {
                    self.opened.push(path.clone());
                }
            }
        }
        self.opened.clone()
    }
}
