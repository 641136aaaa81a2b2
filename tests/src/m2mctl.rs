//! Running `m2mctl` against the test bus, as root or as another user.

use std::process::Stdio;

use tokio::process::Command;

use crate::binaries::binary;
use crate::other_user;
use crate::wait::WAIT;

/// What a finished `m2mctl` run printed and returned.
#[derive(Debug)]
pub struct CtlOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `m2mctl <args>` against `bus_address` (as `DBUS_SYSTEM_BUS_ADDRESS`) and waits for it.
pub async fn m2mctl(bus_address: &str, args: &[&str]) -> CtlOutput {
    run_m2mctl(bus_address, None, args).await
}

/// Like [`m2mctl`], as the unprivileged user `uid` (the test must run as root, and the bus must
/// be open to that user: [`TestBus::open_to_all_users`]).
pub async fn m2mctl_as_user(bus_address: &str, uid: u32, args: &[&str]) -> CtlOutput {
    run_m2mctl(bus_address, Some(uid), args).await
}

async fn run_m2mctl(bus_address: &str, uid: Option<u32>, args: &[&str]) -> CtlOutput {
    let as_user = uid.map(|uid| (uid, other_user::ReachableBinary::new("m2mctl")));
    let mut command = match &as_user {
        Some((uid, m2mctl)) => {
            let mut command = Command::new(m2mctl.path());
            command.current_dir(m2mctl.dir()).uid(*uid).gid(*uid);
            command
        }
        None => Command::new(binary("m2mctl")),
    };
    let child = command
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start m2mctl");
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("m2mctl {args:?} did not finish"))
        .expect("wait for m2mctl");
    let output = CtlOutput {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!("[m2mctl {args:?}] {output:?}");
    output
}
