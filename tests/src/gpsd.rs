//! gpsd and its clients (Debian's `gpsd`, `gpsd-clients`) fed by `m2mctl nmea`: the gpsd interop
//! rig. gpsd listens on a free loopback port of its own, never on the system's 2947.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::binaries::binary;
use crate::wait::{WAIT, wait_until};

/// Where Debian installs gpsd.
const GPSD: &str = "/usr/sbin/gpsd";
/// Where Debian installs gpspipe.
const GPSPIPE: &str = "/usr/bin/gpspipe";

/// Whether gpsd and gpspipe are installed; says so on stderr when not.
pub fn gpsd_available() -> bool {
    let available = Path::new(GPSD).exists() && Path::new(GPSPIPE).exists();
    if !available {
        eprintln!("skipping: gpsd and gpsd-clients are not installed (scripts/install-deps.sh)");
    }
    available
}

/// `m2mctl nmea DEVICE --link <dir>/gnss0` on `bus_address`, and gpsd reading that link; both
/// killed when dropped.
pub struct GpsdRig {
    _feeder: Child,
    _gpsd: Child,
    /// gpsd's TCP port on 127.0.0.1.
    pub port: u16,
    /// The pty link gpsd reads.
    pub link: PathBuf,
}

impl GpsdRig {
    /// Starts the feeder for `device` (every 200 ms) and, once its link exists, gpsd on it.
    pub async fn start(bus_address: &str, device: &str, dir: &Path) -> GpsdRig {
        let link = dir.join("gnss0");
        let feeder = Command::new(binary("m2mctl"))
            .args(["nmea", device, "--interval", "200", "--link"])
            .arg(&link)
            .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
            .kill_on_drop(true)
            .spawn()
            .expect("start m2mctl nmea");
        wait_until("the NMEA pty link", async || link.exists()).await;
        let port = free_port();
        let gpsd = Command::new(GPSD)
            // Foreground, poll without waiting for a client, read-only, our own port and socket.
            .args(["-N", "-n", "-b", "-S", &port.to_string(), "-F"])
            .arg(dir.join("gpsd.sock"))
            .arg(&link)
            // gpsd announces fixes on the system bus: the private one here.
            .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start gpsd");
        GpsdRig {
            _feeder: feeder,
            _gpsd: gpsd,
            port,
            link,
        }
    }

    /// `gpspipe -w -n <count>` against this gpsd: the JSON objects it printed (nothing when
    /// gpsd is not listening yet).
    pub async fn gpspipe(&self, count: u32) -> Vec<Value> {
        let run = Command::new(GPSPIPE)
            .args(["-w", "-n", &count.to_string()])
            .arg(format!("127.0.0.1:{}", self.port))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output();
        let Ok(Ok(output)) = tokio::time::timeout(WAIT, run).await else {
            return Vec::new();
        };
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// A loopback TCP port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}
