//! Starts the real `m2msim` binary (`modem`, `iridium`, `gnss`) and talks to it like a daemon and a test
//! harness would.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use m2mhal_sms::{Body, PhoneNumber, SubmitOptions, encode_submit, to_hex};
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(5);

/// The simulator process with its JSON lines arriving on a channel.
struct Simulator {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Value>,
}

impl Simulator {
    fn start(arguments: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_m2msim"))
            .args(arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(serde_json::from_str(&line).unwrap()).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn next_line(&self) -> Value {
        self.lines.recv_timeout(PATIENCE).unwrap()
    }

    fn command(&mut self, line: &str) -> Value {
        writeln!(self.stdin, "{line}").unwrap();
        self.next_line()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        // A failed test must not leave the simulator running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A serial port opened like the daemon opens it, read without blocking.
struct Port {
    file: std::fs::File,
}

/// What one read from a port gave.
enum Received {
    Bytes(Vec<u8>),
    Nothing,
    Ended,
}

impl Port {
    fn open(path: &Path) -> Self {
        use std::os::unix::fs::OpenOptionsExt;

        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(path)
            .unwrap();
        Self { file }
    }

    fn read(&mut self) -> Received {
        let mut buffer = [0; 1024];
        match self.file.read(&mut buffer) {
            Ok(0) => Received::Ended,
            Ok(count) => Received::Bytes(buffer[..count].to_vec()),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                Received::Nothing
            }
            // A pty slave reads EIO once the master is gone.
            Err(_) => Received::Ended,
        }
    }

    /// Writes `input` without waiting for an answer.
    fn write(&mut self, input: &str) {
        self.file.write_all(input.as_bytes()).unwrap();
    }

    /// Writes `input` and returns what arrives until the answer ends with `end`.
    fn exchange(&mut self, input: &str, end: &str) -> String {
        self.write(input);
        let deadline = Instant::now() + PATIENCE;
        let mut answer = Vec::new();
        while !answer.ends_with(end.as_bytes()) {
            assert!(
                Instant::now() < deadline,
                "no {end:?} after {input:?}: {:?}",
                String::from_utf8_lossy(&answer)
            );
            match self.read() {
                Received::Bytes(bytes) => answer.extend(bytes),
                Received::Nothing => {}
                Received::Ended => {
                    panic!("port closed after {:?}", String::from_utf8_lossy(&answer))
                }
            }
        }
        String::from_utf8(answer).unwrap()
    }

    /// Waits until reading the port ends (hangup).
    fn expect_hangup(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Received::Ended = self.read() {
                return;
            }
        }
        panic!("the port did not hang up");
    }
}

fn ready_path(ready: &Value, index: u64) -> PathBuf {
    assert_eq!(ready["event"], "ready");
    assert_eq!(ready["index"], index);
    PathBuf::from(ready["path"].as_str().unwrap())
}

#[test]
fn modem_answers_at_on_its_pty() {
    let directory = std::env::temp_dir().join(format!("m2msim-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let link = directory.join("modem");
    let socket = directory.join("control.sock");
    let mut simulator = Simulator::start(&[
        "modem",
        "--count",
        "2",
        "--link",
        link.to_str().unwrap(),
        "--control",
        socket.to_str().unwrap(),
    ]);
    let first = simulator.next_line();
    let path = ready_path(&first, 0);
    assert_eq!(first["imei"], "356938035643809");
    let second = simulator.next_line();
    assert_ne!(ready_path(&second, 1), path);
    assert_eq!(std::fs::read_link(&link).unwrap(), path);
    assert_eq!(
        std::fs::read_link(directory.join("modem-1")).unwrap(),
        ready_path(&second, 1)
    );

    let mut port = Port::open(&path);
    assert_eq!(port.exchange("AT\r", "OK\r\n"), "AT\r\r\nOK\r\n");
    assert_eq!(port.exchange("ATE0\r", "OK\r\n"), "ATE0\r\r\nOK\r\n");

    // The daemon closes and reopens the port: the modem keeps its state.
    drop(port);
    let mut port = Port::open(&link);
    assert_eq!(
        port.exchange("AT+CGSN\r", "OK\r\n"),
        "\r\n356938035643809\r\n\r\nOK\r\n"
    );

    // An SMS arrives: the reply names its slot and the port gets +CMTI.
    let reply = simulator.command("sms +4915123456789 Hello");
    assert_eq!(
        (reply["event"].as_str(), reply["index"].as_u64()),
        (Some("ok"), Some(0))
    );
    assert_eq!(reply["slots"], serde_json::json!([0]));
    assert_eq!(port.exchange("", "\r\n"), "\r\n+CMTI: \"SM\",0\r\n");

    // The daemon sends an SMS: the simulator reports it.
    let destination = PhoneNumber::parse("+4917612345678").unwrap();
    let part = encode_submit(
        &destination,
        Body::Text("Hi there"),
        &SubmitOptions::default(),
    )
    .unwrap()
    .remove(0);
    assert_eq!(
        port.exchange(&format!("AT+CMGS={}\r", part.tpdu_len), "> "),
        "\r\n> "
    );
    assert_eq!(
        port.exchange(&format!("{}\x1a", to_hex(&part.pdu)), "OK\r\n"),
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    let sent = simulator.next_line();
    assert_eq!(sent["event"], "sms-sent");
    assert_eq!(
        (sent["to"].as_str(), sent["text"].as_str()),
        (Some("+4917612345678"), Some("Hi there"))
    );

    // Errors never stop the simulator.
    assert_eq!(simulator.command("@7 status")["event"], "error");
    assert_eq!(simulator.command("signal 77")["event"], "error");

    // The control socket answers too.
    let mut control = UnixStream::connect(&socket).unwrap();
    control.write_all(b"@1 status\n").unwrap();
    let mut status = String::new();
    BufReader::new(&control).read_line(&mut status).unwrap();
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        (status["event"].as_str(), status["index"].as_u64()),
        (Some("status"), Some(1))
    );
    assert_eq!(status["imei"], "356938035643817");
    assert_eq!(status["path"], second["path"]);

    // Hangup: the open port ends, a new pty appears behind the same link.
    let ready = simulator.command("hangup");
    assert_eq!(simulator.next_line()["event"], "ok");
    port.expect_hangup();
    let new_path = ready_path(&ready, 0);
    assert_ne!(new_path, path);
    assert_eq!(std::fs::read_link(&link).unwrap(), new_path);
    let mut port = Port::open(&new_path);
    assert_eq!(port.exchange("AT\r", "OK\r\n"), "\r\nOK\r\n");

    assert_eq!(simulator.command("quit")["event"], "ok");
    assert!(simulator.child.wait().unwrap().success());
    assert!(std::fs::symlink_metadata(&link).is_err());
    assert!(!socket.exists());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn iridium_answers_at_and_runs_sessions_without_stalling_other_ports() {
    let mut simulator = Simulator::start(&["iridium", "--count", "2", "--session-delay", "2000"]);
    let first = simulator.next_line();
    let second = simulator.next_line();
    assert_eq!(first["imei"], "300234063904190");
    assert_eq!(second["imei"], "300234063904191");
    let mut port = Port::open(&ready_path(&first, 0));
    let mut other = Port::open(&ready_path(&second, 1));

    assert_eq!(port.exchange("AT\r", "OK\r\n"), "AT\r\r\nOK\r\n");
    port.exchange("ATE0\rAT+SBDWT=hi\r", "OK\r\n\r\nOK\r\n");
    port.write("AT+SBDIX\r");
    // The start is reported at once (kill points of the restart tests hang on it).
    let start = simulator.next_line();
    assert_eq!(
        (start["event"].as_str(), start["momsn"].as_u64()),
        (Some("session-start"), Some(0))
    );
    // The session takes 2 s; the other transceiver answers meanwhile, before the session's
    // answer comes.
    assert_eq!(other.exchange("AT\r", "OK\r\n"), "AT\r\r\nOK\r\n");
    assert!(
        matches!(port.read(), Received::Nothing),
        "the session ended before the other transceiver answered"
    );
    assert_eq!(
        port.exchange("", "OK\r\n"),
        "\r\n+SBDIX: 0, 0, 0, 0, 0, 0\r\n\r\nOK\r\n"
    );
    let mo = simulator.next_line();
    assert_eq!(
        (
            mo["event"].as_str(),
            mo["index"].as_u64(),
            mo["text"].as_str()
        ),
        (Some("mo"), Some(0), Some("hi"))
    );
    assert_eq!(simulator.next_line()["event"], "session");

    assert_eq!(simulator.command("quit")["event"], "ok");
    assert!(simulator.child.wait().unwrap().success());
}

/// Sends a control command to a receiver and returns its reply, passing over `epoch` events.
fn receiver_command(simulator: &mut Simulator, line: &str) -> Value {
    writeln!(simulator.stdin, "{line}").unwrap();
    loop {
        let next = simulator.next_line();
        if next["event"] != "epoch" {
            return next;
        }
    }
}

/// Reads the port until `count` bursts (each ends with a GLL line) are complete; returns the
/// last one.
fn bursts(port: &mut Port, count: usize) -> String {
    let deadline = Instant::now() + PATIENCE;
    let mut text = String::new();
    loop {
        let complete: Vec<&str> = text.split_inclusive('\n').collect();
        let ends: Vec<usize> = complete
            .iter()
            .enumerate()
            .filter(|(_, line)| line.starts_with("$GPGLL") && line.ends_with('\n'))
            .map(|(index, _)| index)
            .collect();
        if ends.len() >= count {
            let start = if count == 1 { 0 } else { ends[count - 2] + 1 };
            return complete[start..=ends[count - 1]].concat();
        }
        assert!(Instant::now() < deadline, "no {count} bursts: {text:?}");
        match port.read() {
            Received::Bytes(bytes) => text.push_str(&String::from_utf8_lossy(&bytes)),
            Received::Nothing => {}
            Received::Ended => panic!("the port closed"),
        }
    }
}

#[test]
fn gnss_receiver_sends_bursts_by_itself_and_follows_its_control_commands() {
    let mut simulator = Simulator::start(&["gnss", "--interval", "100", "--talker", "GP"]);
    let path = ready_path(&simulator.next_line(), 0);
    let mut port = Port::open(&path);
    let first = bursts(&mut port, 1);
    assert!(first.contains("$GPGGA,"), "{first}");
    assert!(first.contains("$GPRMC,"), "{first}");

    let reply = receiver_command(&mut simulator, "position -33.8568 151.2153 58");
    assert_eq!(reply["event"], "ok");
    // A burst under way may still have the old position; the one after it has the new one.
    let burst = bursts(&mut port, 2);
    assert!(
        burst.contains(",3351.40800,S,15112.91800,E,1,08,"),
        "{burst}"
    );

    assert_eq!(receiver_command(&mut simulator, "fix none")["event"], "ok");
    let lost = bursts(&mut port, 2);
    assert!(lost.contains("$GPGLL,,,,,"), "{lost}");
    let status = receiver_command(&mut simulator, "status");
    assert_eq!(status["fix"], "none");
    assert_eq!(status["index"], 0);
}
