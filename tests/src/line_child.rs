//! Child processes of the harness whose output lines the test reads.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// Echoes a child's output lines to the test's stderr and hands them to the test.
pub(crate) fn forward_lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    who: &'static str,
) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{who}] {line}");
            let _ = tx.send(line);
        }
    });
    rx
}

/// A child process driven by command lines on its stdin, printing lines on its stdout (echoed to
/// the test's stderr); killed when dropped.
pub(crate) struct LineChild {
    _child: Child,
    stdin: ChildStdin,
    pub(crate) lines: mpsc::UnboundedReceiver<String>,
    who: &'static str,
}

impl LineChild {
    /// Spawns `command` with its stdin and stdout piped; `who` names it in the log.
    pub(crate) fn spawn(command: &mut Command, who: &'static str) -> std::io::Result<LineChild> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let lines = forward_lines(child.stdout.take().expect("stdout is piped"), who);
        Ok(LineChild {
            _child: child,
            stdin,
            lines,
            who,
        })
    }

    /// Writes `line` and a newline.
    pub(crate) async fn send(&mut self, line: &str) {
        let who = self.who;
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap_or_else(|e| panic!("write to {who}: {e}"));
        self.stdin
            .flush()
            .await
            .unwrap_or_else(|e| panic!("flush {who} stdin: {e}"));
    }
}
