//! A umockdev testbed with a fake USB modem and a fake Arduino.

use std::path::Path;

use serde_json::Value;
use tokio::process::Command;

use crate::line_child::LineChild;
use crate::python::SYSTEM_PYTHON;
use crate::wait::WAIT;

/// umockdev's preload library: it shows a process the testbed's `/sys` and `/dev` and its
/// uevents instead of the system's.
const UMOCKDEV_PRELOAD: &str = "libumockdev-preload.so.0";

/// A umockdev testbed run by `tests/umockdev/fake_usb.py` (see its doc string): a fake USB
/// modem whose `/dev/ttyUSB2` is a pty of `m2msim`, and a fake untagged Arduino. The helper
/// bind-mounts ptys into the testbed, so the tests must run as root.
pub struct FakeUsb {
    child: LineChild,
    /// The testbed's root directory (`UMOCKDEV_DIR`).
    pub root: String,
    /// The pty behind the Arduino's `/dev/ttyACM0`: opening the node opens it.
    pub arduino_pty: String,
}

impl FakeUsb {
    /// Starts the helper and waits for its testbed.
    pub async fn start() -> FakeUsb {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("umockdev/fake_usb.py");
        let mut command = Command::new(SYSTEM_PYTHON);
        command.arg(script).env("LD_PRELOAD", UMOCKDEV_PRELOAD);
        let child = LineChild::spawn(&mut command, "fake_usb")
            .expect("start fake_usb.py (packages umockdev, gir1.2-umockdev-1.0, python3-gi)");
        let mut fake = FakeUsb {
            child,
            root: String::new(),
            arduino_pty: String::new(),
        };
        let ready = fake.next_line().await;
        assert_eq!(ready["event"], "ready", "{ready}");
        fake.root = ready["root"].as_str().expect("root").to_owned();
        fake.arduino_pty = ready["arduino"].as_str().expect("arduino").to_owned();
        fake
    }

    /// The environment that puts a process (the daemon) into the testbed.
    pub fn env(&self) -> [(&str, &str); 2] {
        [
            ("UMOCKDEV_DIR", self.root.as_str()),
            ("LD_PRELOAD", UMOCKDEV_PRELOAD),
        ]
    }

    /// Runs one helper command (`add-modem PTY`, `change-modem`, `remove-modem`, `add-arduino`),
    /// which must succeed.
    pub async fn ok(&mut self, line: &str) {
        self.child.send(line).await;
        let reply = self.next_line().await;
        assert_eq!(
            reply["event"], "ok",
            "fake_usb.py refused {line:?}: {reply}"
        );
    }

    async fn next_line(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.child.lines.recv())
            .await
            .ok()
            .flatten()
            .expect("fake_usb.py answers");
        serde_json::from_str(&line).expect("fake_usb.py prints JSON")
    }
}

impl Drop for FakeUsb {
    /// Undoes what the helper cannot once it is killed: its bind mounts and its testbed.
    fn drop(&mut self) {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let inside = format!("{}/", self.root);
        for point in mounts
            .lines()
            .filter_map(|line| line.split(' ').nth(1))
            .filter(|point| point.starts_with(&inside))
        {
            let _ = std::process::Command::new("umount")
                .args(["-l", point])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
