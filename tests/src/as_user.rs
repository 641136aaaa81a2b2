//! Running workspace binaries as another (unprivileged) user: from a copy that user can reach,
//! since the checkout and its `target/` may be private to the user running the tests.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::{WAIT, binary};

/// A copy of a workspace binary in a temporary directory every user may enter (mode 0755).
pub struct ReachableBinary {
    _dir: tempfile::TempDir,
    /// The copy.
    pub path: PathBuf,
}

impl ReachableBinary {
    /// Copies the workspace binary `name`.
    pub fn copy(name: &str) -> ReachableBinary {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open the temp dir to all users");
        let path = dir.path().join(name);
        std::fs::copy(binary(name), &path).expect("copy the binary");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make the copy executable by all users");
        ReachableBinary { _dir: dir, path }
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
        let binary = ReachableBinary::copy("m2mctl");
        let mut child = Command::new(&binary.path)
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
