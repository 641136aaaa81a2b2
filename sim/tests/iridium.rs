//! Starts the real `m2msim iridium` and talks to its ports like the daemon would.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(5);

/// Kills the simulator when a test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `m2msim iridium <arguments>`; its JSON lines arrive on the receiver.
fn start(arguments: &[&str]) -> (Running, Receiver<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_m2msim"))
        .arg("iridium")
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
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
    (Running(child), lines)
}

/// Opens a port without blocking reads.
fn open(ready: &Value) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;

    assert_eq!(ready["event"], "ready");
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(ready["path"].as_str().unwrap())
        .unwrap()
}

/// Writes `input` and reads until the answer ends with `end`.
fn exchange(port: &mut std::fs::File, input: &str, end: &str) -> String {
    port.write_all(input.as_bytes()).unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut answer = Vec::new();
    let mut buffer = [0; 256];
    while !answer.ends_with(end.as_bytes()) {
        assert!(
            Instant::now() < deadline,
            "no {end:?} after {input:?}: {answer:?}"
        );
        match port.read(&mut buffer) {
            Ok(count) => answer.extend(&buffer[..count]),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("read failed: {error}"),
        }
    }
    String::from_utf8(answer).unwrap()
}

#[test]
fn iridium_answers_at_and_runs_sessions_without_stalling_other_ports() {
    let (mut simulator, lines) = start(&["--count", "2", "--session-delay", "500"]);
    let first = lines.recv_timeout(PATIENCE).unwrap();
    let second = lines.recv_timeout(PATIENCE).unwrap();
    assert_eq!(first["imei"], "300234063904190");
    assert_eq!(second["imei"], "300234063904191");
    let mut port = open(&first);
    let mut other = open(&second);

    assert_eq!(exchange(&mut port, "AT\r", "OK\r\n"), "AT\r\r\nOK\r\n");
    exchange(&mut port, "ATE0\rAT+SBDWT=hi\r", "OK\r\n\r\nOK\r\n");
    port.write_all(b"AT+SBDIX\r").unwrap();
    // The session takes 500 ms; the other transceiver answers meanwhile.
    let started = Instant::now();
    assert_eq!(exchange(&mut other, "AT\r", "OK\r\n"), "AT\r\r\nOK\r\n");
    assert!(started.elapsed() < Duration::from_millis(400));
    assert_eq!(
        exchange(&mut port, "", "OK\r\n"),
        "\r\n+SBDIX: 0, 0, 0, 0, 0, 0\r\n\r\nOK\r\n"
    );
    let mo = lines.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        (
            mo["event"].as_str(),
            mo["index"].as_u64(),
            mo["text"].as_str()
        ),
        (Some("mo"), Some(0), Some("hi"))
    );
    assert_eq!(lines.recv_timeout(PATIENCE).unwrap()["event"], "session");

    let stdin = simulator.0.stdin.as_mut().unwrap();
    stdin.write_all(b"quit\n").unwrap();
    assert_eq!(lines.recv_timeout(PATIENCE).unwrap()["event"], "ok");
    assert!(simulator.0.wait().unwrap().success());
}
