//! Debian's `mosquitto`, started on 127.0.0.1 with free ports and a config of its own, killed on
//! drop. Its sessions persist in its directory across [`Broker::stop`] and [`Broker::start`].

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::line_child::forward_lines;
use crate::wait::poll;

const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// Whether the broker is installed (scripts/debian-packages.txt installs it). CI has it, so there
/// its absence fails the test instead of skipping it.
pub fn mosquitto_available() -> bool {
    if Path::new(MOSQUITTO).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the broker tests: {MOSQUITTO} is missing (package mosquitto)"
    );
    eprintln!("note: mosquitto is not installed; the broker test was skipped");
    false
}

/// A listener of the broker.
#[derive(Debug, Clone)]
pub enum Listener {
    /// Plain MQTT, anonymous.
    Plain,
    /// MQTT over TLS with these PEM files; clients must present a certificate of `ca`.
    Tls {
        /// Trust anchor for client certificates.
        ca: PathBuf,
        /// The broker's certificate.
        cert: PathBuf,
        /// Its key.
        key: PathBuf,
    },
}

/// A running (or stopped) Mosquitto.
pub struct Broker {
    dir: tempfile::TempDir,
    listeners: Vec<(Listener, u16)>,
    /// The rules of its `acl_file`, if it has one.
    acl: Option<String>,
    child: Option<Child>,
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

impl Broker {
    /// Starts a broker with these listeners, each on a free port.
    pub async fn start_with(listeners: &[Listener]) -> Broker {
        Broker::start_with_acl(listeners, None).await
    }

    /// Starts a broker with one plain listener and `acl` as its `acl_file` (Mosquitto's
    /// `topic read|write|readwrite|deny <filter>` lines; anonymous clients get those before any
    /// `user` line).
    pub async fn plain_with_acl(acl: &str) -> Broker {
        Broker::start_with_acl(&[Listener::Plain], Some(acl.to_owned())).await
    }

    async fn start_with_acl(listeners: &[Listener], acl: Option<String>) -> Broker {
        let dir = tempfile::tempdir().expect("broker dir");
        let listeners = listeners
            .iter()
            .map(|listener| (listener.clone(), free_port()))
            .collect();
        let mut broker = Broker {
            dir,
            listeners,
            acl,
            child: None,
        };
        broker.start().await;
        broker
    }

    /// Starts a broker with one plain listener.
    pub async fn plain() -> Broker {
        Broker::start_with(&[Listener::Plain]).await
    }

    /// The port of listener `index`.
    pub fn port(&self, index: usize) -> u16 {
        self.listeners[index].1
    }

    /// `mqtt://127.0.0.1:<port>` (`mqtts://` for TLS) of listener `index`.
    pub fn url(&self, index: usize) -> String {
        let scheme = match self.listeners[index].0 {
            Listener::Plain => "mqtt",
            Listener::Tls { .. } => "mqtts",
        };
        format!("{scheme}://127.0.0.1:{}", self.port(index))
    }

    fn config(&self) -> String {
        let mut config = format!(
            "user root\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
             max_queued_messages 0\nlog_dest stderr\nlog_type error\nlog_type warning\n\
             log_type notice\n",
            self.dir.path().display()
        );
        if let Some(acl) = &self.acl {
            let path = self.dir.path().join("acl");
            std::fs::write(&path, acl).expect("write the broker's acl file");
            config.push_str(&format!("acl_file {}\n", path.display()));
        }
        for (listener, port) in &self.listeners {
            config.push_str(&format!("listener {port} 127.0.0.1\n"));
            if let Listener::Tls { ca, cert, key } = listener {
                config.push_str(&format!(
                    "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
                    ca.display(),
                    cert.display(),
                    key.display()
                ));
            }
        }
        config
    }

    /// Starts the broker (again) on its ports and waits until every listener accepts.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "the broker runs already");
        let config = self.dir.path().join("mosquitto.conf");
        std::fs::write(&config, self.config()).expect("write mosquitto.conf");
        let mut child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start mosquitto");
        forward_lines(child.stderr.take().expect("stderr is piped"), "mosquitto");
        let ports: Vec<u16> = self.listeners.iter().map(|(_, port)| *port).collect();
        poll("mosquitto to listen", async || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("mosquitto exited: {status}");
            }
            let listening = ports
                .iter()
                .all(|port| TcpStream::connect(("127.0.0.1", *port)).is_ok());
            if listening { Ok(()) } else { Err(None) }
        })
        .await;
        self.child = Some(child);
    }

    /// Freezes the broker (SIGSTOP): its connections stay open and nothing is acknowledged,
    /// as with a broker that hangs or a network that drops packets.
    pub fn pause(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// Lets a paused broker go on (SIGCONT).
    pub fn resume(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let child = self.child.as_ref().expect("the broker runs");
        let pid = child.id().expect("the broker has a pid");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
        nix::sys::signal::kill(pid, signal).expect("signal mosquitto");
    }

    /// Stops the broker with SIGTERM (it saves its sessions) and waits for it to exit.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("the broker runs");
        if let Some(pid) = child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        tokio::time::timeout(crate::wait::WAIT, child.wait())
            .await
            .expect("mosquitto exits after SIGTERM")
            .expect("wait for mosquitto");
    }
}
