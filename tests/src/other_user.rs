//! Running workspace binaries as another user. The checkout may live where that user cannot go
//! (a `mktemp -d` directory, `/root`: mode 0700), so the binary is first made reachable: hard
//! linked (or, across file systems, copied) into a fresh directory everyone may enter.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A workspace binary at a path every user can reach; removed on drop.
pub struct ReachableBinary {
    path: PathBuf,
    dir: tempfile::TempDir,
}

impl ReachableBinary {
    /// Makes the workspace binary `name` ([`crate::binary`]) reachable by every user.
    pub fn new(name: &str) -> ReachableBinary {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open the directory to all users");
        let path = dir.path().join(name);
        let built = crate::binary(name);
        if std::fs::hard_link(&built, &path).is_err() {
            std::fs::copy(&built, &path).expect("copy the binary");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("let all users run the binary");
        ReachableBinary { path, dir }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory it is in, a working directory every user can use.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
