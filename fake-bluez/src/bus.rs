//! The bus the fake lives on in tests: a private `dbus-daemon` of type system on a socket in a
//! temporary directory, with the bus policy the caller asks for.
//!
//! The fake's own tests and `m2msim`'s use [`ALLOW_ALL_POLICY`]; the end-to-end harness builds a
//! system-like policy and adds [`BLUEZ_POLICY`] to it.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use zbus::Connection;

/// A policy that lets every user connect, own any name and call anyone.
pub const ALLOW_ALL_POLICY: &str = r#"<policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>"#;

/// What Debian's `bluetooth.conf` grants root: owning `org.bluez` and calling it (for a fake
/// BlueZ and its clients run by root on a bus that denies by default).
pub const BLUEZ_POLICY: &str = r#"<policy user="root">
    <allow own="org.bluez"/>
    <allow send_destination="org.bluez"/>
  </policy>"#;

/// How long [`PrivateBus::start`] waits for `dbus-daemon` to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often it tries to connect meanwhile.
const STARTUP_POLL: Duration = Duration::from_millis(10);

/// Why a private bus did not come up.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The temporary directory or the config file could not be made.
    #[error("preparing the bus directory: {0}")]
    Setup(#[source] std::io::Error),
    /// `dbus-daemon` could not be run.
    #[error("running dbus-daemon (package dbus): {0}")]
    Spawn(#[source] std::io::Error),
    /// `dbus-daemon` exited before accepting connections (a bad config, say).
    #[error("dbus-daemon exited at startup with {0}")]
    Exited(ExitStatus),
    /// `dbus-daemon` runs but took no connection in time.
    #[error("the private bus took no connection within {0:?}")]
    Timeout(Duration),
}

/// A running private `dbus-daemon` of type system. Dropping it kills the daemon and removes its
/// directory.
pub struct PrivateBus {
    child: Child,
    dir: tempfile::TempDir,
    address: String,
}

impl PrivateBus {
    /// Starts a bus with [`ALLOW_ALL_POLICY`] and waits until it accepts connections.
    pub async fn start() -> Result<PrivateBus, BusError> {
        PrivateBus::start_with_policy(ALLOW_ALL_POLICY).await
    }

    /// Starts a bus whose config holds `policy` (`<policy>`, `<includedir>` and the like, as
    /// text) after the type, socket and authentication, and waits until it accepts connections.
    pub async fn start_with_policy(policy: &str) -> Result<PrivateBus, BusError> {
        let dir = tempfile::tempdir().map_err(BusError::Setup)?;
        let socket = dir.path().join("system_bus_socket");
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  {policy}
</busconfig>
"#,
            socket = socket.display()
        );
        let config_path = dir.path().join("system.conf");
        std::fs::write(&config_path, config).map_err(BusError::Setup)?;
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config_path.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .spawn()
            .map_err(BusError::Spawn)?;
        let mut bus = PrivateBus {
            child,
            dir,
            address: format!("unix:path={}", socket.display()),
        };
        bus.wait_until_up().await?;
        Ok(bus)
    }

    /// Polls until a connection succeeds; fails early if the daemon exits.
    async fn wait_until_up(&mut self) -> Result<(), BusError> {
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            if self.connect().await.is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BusError::Exited(status));
            }
            tokio::time::sleep(STARTUP_POLL).await;
        }
        Err(BusError::Timeout(STARTUP_TIMEOUT))
    }

    /// The bus address, `unix:path=...` (for `DBUS_SYSTEM_BUS_ADDRESS` or `--bus`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The directory holding the socket and the config (private to the owner until changed).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `dbus-daemon` process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new connection to the bus.
    pub async fn connect(&self) -> zbus::Result<Connection> {
        zbus::connection::Builder::address(self.address.as_str())
            .build()
            .await
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
