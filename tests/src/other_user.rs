//! Running workspace binaries as another user. The checkout may live where that user cannot go
//! (a `mktemp -d` directory, `/root`: mode 0700), so the binary is first made reachable: hard
//! linked (or, across file systems, copied) into a fresh directory everyone may enter.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::WAIT;

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

/// `m2mctl --json monitor` running as another user: the events that user's bus connection is
/// given, one JSON object each, in order.
pub struct UserMonitor {
    _binary: ReachableBinary,
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every event read so far, oldest first.
    pub seen: Vec<Value>,
}

impl UserMonitor {
    /// Starts the monitor as `uid` on the bus at `bus_address` (the bus must be open to that
    /// user: [`crate::TestBus::open_to_all_users`]).
    pub fn start(bus_address: &str, uid: u32) -> UserMonitor {
        let binary = ReachableBinary::new("m2mctl");
        let mut child = Command::new(binary.path())
            .args(["--json", "monitor"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
            .uid(uid)
            .gid(uid)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start m2mctl monitor");
        let stdout = child.stdout.take().expect("stdout is piped");
        UserMonitor {
            _binary: binary,
            _child: child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Waits at most `wait` for the next event matching `accept`; `None` if none came by then.
    pub async fn next_within(
        &mut self,
        wait: std::time::Duration,
        mut accept: impl FnMut(&Value) -> bool,
    ) -> Option<Value> {
        let found = tokio::time::timeout(wait, async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                eprintln!("[m2mctl monitor as another user] {line}");
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                self.seen.push(event.clone());
                if accept(&event) {
                    return Some(event);
                }
            }
            None
        })
        .await;
        found.ok().flatten()
    }

    /// Waits for the next event matching `accept`; fails the test after [`WAIT`].
    pub async fn expect(&mut self, what: &str, accept: impl FnMut(&Value) -> bool) -> Value {
        self.next_within(WAIT, accept)
            .await
            .unwrap_or_else(|| panic!("the monitor never saw {what}"))
    }
}
