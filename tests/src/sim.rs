//! `m2msim`: simulated modems and terminals on ptys, driven through its control stdin.

use std::collections::VecDeque;

use serde_json::Value;
use tokio::process::Command;

use crate::binaries::binary;
use crate::line_child::LineChild;
use crate::wait::{WAIT, poll};

/// The kinds of JSON line `m2msim` prints in answer to a control command (everything else is an
/// event such as `ready` or `sms-sent`).
const SIM_REPLY_KINDS: [&str; 6] = ["ok", "error", "status", "sms-list", "mo-list", "events"];

/// A running `m2msim` with its control stdin and JSON event stdout.
pub struct Sim {
    child: LineChild,
    /// Lines read while looking for something else, oldest first, for later `expect_*` calls.
    pub(crate) backlog: VecDeque<Value>,
    /// The `ready` lines, one per simulated device, in index order.
    pub ready: Vec<Value>,
}

impl Sim {
    /// Starts `m2msim <args>` and waits for `count` ready lines.
    pub async fn start(args: &[&str], count: usize) -> Sim {
        let child = LineChild::spawn(Command::new(binary("m2msim")).args(args), "m2msim")
            .expect("start m2msim");
        let mut sim = Sim {
            child,
            backlog: VecDeque::new(),
            ready: Vec::new(),
        };
        for _ in 0..count {
            let ready = sim.expect_event("ready").await;
            sim.ready.push(ready);
        }
        sim
    }

    /// The pty path of simulated device `index`.
    pub fn path(&self, index: usize) -> String {
        self.ready[index]["path"]
            .as_str()
            .expect("ready line has a path")
            .to_owned()
    }

    /// Sends one control command line and returns the simulator's JSON reply to it. Commands are
    /// answered in order, so the reply is the next `ok`/`error`/`status`/`sms-list` line.
    pub async fn command(&mut self, line: &str) -> Value {
        self.child.send(line).await;
        self.next_line(&format!("the reply to {line:?}"), |value| {
            SIM_REPLY_KINDS.iter().any(|kind| value["event"] == *kind)
        })
        .await
    }

    /// Sends a control command that must succeed; returns the reply.
    pub async fn ok(&mut self, line: &str) -> Value {
        let reply = self.command(line).await;
        assert_ne!(reply["event"], "error", "m2msim refused {line:?}: {reply}");
        reply
    }

    /// The `status` of simulated device `index` (SIM, network, settings, stored messages).
    pub async fn status(&mut self, index: usize) -> Value {
        let reply = self.ok(&format!("@{index} status")).await;
        assert_eq!(reply["event"], "status", "{reply}");
        reply
    }

    /// The messages in the SIM storage of device `index` (the `messages` of `list`).
    pub async fn stored(&mut self, index: usize) -> Vec<Value> {
        let reply = self.ok(&format!("@{index} list")).await;
        assert_eq!(reply["event"], "sms-list", "{reply}");
        reply["messages"].as_array().expect("messages").clone()
    }

    /// Waits until the SIM storage of device `index` holds `count` messages.
    pub async fn wait_stored(&mut self, index: usize, count: usize) {
        let what = format!("the modem's storage to hold {count} messages");
        poll(&what, async || {
            let stored = self.stored(index).await;
            (stored.len() == count)
                .then_some(())
                .ok_or_else(|| Some(format!("storage {stored:?}")))
        })
        .await
    }

    /// Polls the `status` of device `index` until `accept` takes it; returns it.
    pub async fn wait_status(
        &mut self,
        index: usize,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        poll(what, async || {
            let status = self.status(index).await;
            if accept(&status) {
                Ok(status)
            } else {
                Err(Some(format!("status {status}")))
            }
        })
        .await
    }

    /// The mobile-originated messages the gateway of Iridium transceiver `index` received so
    /// far, oldest first (the `messages` of `list-mo`: `momsn`, `data_hex`, `text`).
    pub async fn gateway_mo(&mut self, index: usize) -> Vec<Value> {
        let reply = self.ok(&format!("@{index} list-mo")).await;
        assert_eq!(reply["event"], "mo-list", "{reply}");
        reply["messages"].as_array().expect("messages").clone()
    }

    /// Hangs up device `index` (the host reads end of file); returns the new pty path.
    pub async fn hangup(&mut self, index: usize) -> String {
        self.ok(&format!("@{index} hangup")).await;
        let ready = self
            .next_line("the ready line after hangup", |value| {
                value["event"] == "ready" && value["index"] == index
            })
            .await;
        self.ready[index] = ready;
        self.path(index)
    }

    /// Waits for the next JSON event whose `event` field is `kind`; other lines are kept for
    /// later calls.
    pub async fn expect_event(&mut self, kind: &str) -> Value {
        self.next_line(&format!("a {kind:?} event"), |value| value["event"] == kind)
            .await
    }

    /// The oldest line (kept or new) that `accept` takes; the others stay kept.
    async fn next_line(&mut self, what: &str, accept: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.backlog.iter().position(&accept) {
            return self.backlog.remove(at).expect("position is in range");
        }
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = self.child.lines.recv().await {
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if accept(&value) {
                    return Some(value);
                }
                self.backlog.push_back(value);
            }
            None
        })
        .await;
        match found {
            Ok(Some(value)) => value,
            _ => panic!("m2msim never printed {what}"),
        }
    }
}
