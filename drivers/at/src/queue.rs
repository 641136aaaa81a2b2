//! The queue of AT commands in front of a device's one [`AtChannel`], for drivers that speak the
//! plugin ABI.
//!
//! Every command is queued with a purpose `P` that says who asked for it, so that its completion
//! goes to the right handler. The queue starts the next command whenever the channel is idle and
//! keeps one host timer (its id chosen by the driver) armed for the deadline of the command in
//! flight: `Effect::SetTimer` when a deadline starts or moves, `Effect::CancelTimer` when there is
//! none any more.
//!
//! ```
//! use m2mhal_at::queue::{CommandQueue, QueueEvent};
//! use m2mhal_at::{ChannelConfig, Command};
//! use m2mhal_plugin_api::Effect;
//!
//! let mut queue = CommandQueue::new(ChannelConfig::gsm(), 1);
//! let mut out = Vec::new();
//! queue.push(Command::new("AT+CSQ", 1000), "signal");
//! queue.pump(0, &mut out);
//! assert_eq!(out, [Effect::Tx(b"AT+CSQ\r".to_vec()), Effect::SetTimer { id: 1, after_ms: 1000 }]);
//! let events = queue.feed(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n", &mut out);
//! assert!(matches!(&events[..], [QueueEvent::Completed("signal", Ok(_))]));
//! ```

use std::collections::VecDeque;

use m2mhal_plugin_api::Effect;

use crate::channel::{AtChannel, AtError, ChannelConfig, ChannelEvent, Command, Response, Urc};

/// What came out of the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEvent<P> {
    /// The command queued with this purpose finished.
    Completed(P, Result<Response, AtError>),
    /// An unsolicited result code.
    Urc(Urc),
}

/// The command queue and the channel it feeds; `P` says why each command was sent.
#[derive(Debug)]
pub struct CommandQueue<P> {
    channel: AtChannel,
    waiting: VecDeque<(Command, P)>,
    in_flight: Option<P>,
    deadline_timer: u32,
    armed_deadline: Option<u64>,
}

impl<P> CommandQueue<P> {
    /// An empty queue over a fresh channel; `deadline_timer` is the id of the host timer it arms
    /// for the command in flight.
    pub fn new(config: ChannelConfig, deadline_timer: u32) -> Self {
        CommandQueue {
            channel: AtChannel::new(config),
            waiting: VecDeque::new(),
            in_flight: None,
            deadline_timer,
            armed_deadline: None,
        }
    }

    /// Queues `command` behind the others.
    pub fn push(&mut self, command: Command, purpose: P) {
        self.waiting.push_back((command, purpose));
    }

    /// Queues `command` before the others (it goes out as soon as the channel is idle).
    pub fn push_front(&mut self, command: Command, purpose: P) {
        self.waiting.push_front((command, purpose));
    }

    /// Whether a queued or running command has a purpose matching `wanted`.
    pub fn contains(&self, wanted: impl Fn(&P) -> bool) -> bool {
        self.in_flight
            .iter()
            .chain(self.waiting.iter().map(|(_, purpose)| purpose))
            .any(wanted)
    }

    /// Feeds bytes from the device. A prompt payload to write goes into `out` as `Effect::Tx`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Effect>) -> Vec<QueueEvent<P>> {
        let output = self.channel.feed(bytes);
        if !output.tx.is_empty() {
            out.push(Effect::Tx(output.tx));
        }
        output
            .events
            .into_iter()
            .filter_map(|event| self.route(event))
            .collect()
    }

    /// The deadline timer fired: completes the command in flight with a timeout if it is due.
    pub fn deadline_fired(&mut self, now_ms: u64) -> Option<QueueEvent<P>> {
        self.armed_deadline = None;
        let event = self.channel.check_timeout(now_ms)?;
        self.route(event)
    }

    /// Starts the next command if the channel is idle and keeps the deadline timer in step.
    /// Call it after every input the driver handled.
    pub fn pump(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let next = if self.channel.is_busy() {
            None
        } else {
            self.waiting.pop_front()
        };
        if let Some((command, purpose)) = next {
            match self.channel.start(command.clone(), now_ms) {
                Ok(bytes) => {
                    out.push(Effect::Tx(bytes));
                    self.in_flight = Some(purpose);
                }
                // Not while idle; keep the command for the next try all the same.
                Err(_) => self.waiting.push_front((command, purpose)),
            }
        }
        self.sync_deadline(now_ms, out);
    }

    /// Abandons the command in flight and everything queued, and forgets every buffered byte;
    /// returns their purposes (so that their calls can be answered), the one in flight first.
    pub fn clear(&mut self, now_ms: u64, out: &mut Vec<Effect>) -> Vec<P> {
        self.channel.reset();
        let dropped = self
            .in_flight
            .take()
            .into_iter()
            .chain(self.waiting.drain(..).map(|(_, purpose)| purpose))
            .collect();
        self.sync_deadline(now_ms, out);
        dropped
    }

    fn route(&mut self, event: ChannelEvent) -> Option<QueueEvent<P>> {
        match event {
            ChannelEvent::Completed(result) => {
                // A completion without a command of ours (after a reset) is dropped.
                let purpose = self.in_flight.take()?;
                Some(QueueEvent::Completed(purpose, result))
            }
            ChannelEvent::Urc(urc) => Some(QueueEvent::Urc(urc)),
        }
    }

    fn sync_deadline(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let deadline = self.channel.deadline();
        if deadline == self.armed_deadline {
            return;
        }
        let id = self.deadline_timer;
        out.push(match deadline {
            Some(at) => Effect::SetTimer {
                id,
                after_ms: at.saturating_sub(now_ms),
            },
            None => Effect::CancelTimer(id),
        });
        self.armed_deadline = deadline;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINE: u32 = 7;

    fn queue() -> CommandQueue<&'static str> {
        CommandQueue::new(ChannelConfig::gsm(), DEADLINE)
    }

    fn tx(line: &str) -> Effect {
        Effect::Tx(format!("{line}\r").into_bytes())
    }

    fn ok(lines: &[&str]) -> Result<Response, AtError> {
        Ok(Response {
            lines: lines.iter().map(|line| (*line).to_owned()).collect(),
            binary: None,
        })
    }

    #[test]
    fn one_command_at_a_time_in_queue_order_with_its_deadline() {
        let mut queue = queue();
        let mut out = Vec::new();
        queue.push(Command::new("AT+CSQ", 1000), "signal");
        queue.push(Command::new("AT+COPS?", 5000), "operator");
        queue.push_front(Command::new("AT+CMGR=3", 2000), "read");
        queue.pump(100, &mut out);
        assert_eq!(
            out,
            [
                tx("AT+CMGR=3"),
                Effect::SetTimer {
                    id: DEADLINE,
                    after_ms: 2000
                }
            ]
        );

        out.clear();
        queue.pump(150, &mut out);
        assert_eq!(out, [], "busy: nothing more starts, the deadline stands");

        let events = queue.feed(b"\r\n+CMTI: \"SM\",4\r\n\r\nOK\r\n", &mut out);
        let urc = Urc {
            line: "+CMTI: \"SM\",4".into(),
            extra: None,
        };
        assert_eq!(
            events,
            [QueueEvent::Urc(urc), QueueEvent::Completed("read", ok(&[]))]
        );
        queue.pump(200, &mut out);
        assert_eq!(
            out,
            [
                tx("AT+CSQ"),
                Effect::SetTimer {
                    id: DEADLINE,
                    after_ms: 1000
                }
            ]
        );
    }

    #[test]
    fn an_idle_queue_cancels_its_deadline_once() {
        let mut queue = queue();
        let mut out = Vec::new();
        queue.push(Command::new("ATE0", 1000), "echo");
        queue.pump(0, &mut out);
        out.clear();
        let events = queue.feed(b"ATE0\r\r\nOK\r\n", &mut out);
        assert_eq!(events, [QueueEvent::Completed("echo", ok(&[]))]);
        queue.pump(10, &mut out);
        assert_eq!(out, [Effect::CancelTimer(DEADLINE)]);
        queue.pump(20, &mut out);
        assert_eq!(out, [Effect::CancelTimer(DEADLINE)], "cancelled once");
    }

    #[test]
    fn deadline_completes_the_command_with_a_timeout() {
        let mut queue = queue();
        let mut out = Vec::new();
        queue.push(Command::new("AT+COPS=?", 3000), "scan");
        queue.pump(0, &mut out);
        assert_eq!(queue.deadline_fired(2999), None, "not due yet");
        assert_eq!(
            queue.deadline_fired(3000),
            Some(QueueEvent::Completed("scan", Err(AtError::Timeout)))
        );
        assert_eq!(queue.deadline_fired(4000), None);
    }

    #[test]
    fn prompt_payload_is_written_when_asked_for() {
        let mut queue = queue();
        let mut out = Vec::new();
        let command = Command::new("AT+CMGS=2", 1000).with_prompt_payload(b"00\x1a".to_vec());
        queue.push(command, "send");
        queue.pump(0, &mut out);
        out.clear();
        assert_eq!(queue.feed(b"\r\n> ", &mut out), []);
        assert_eq!(out, [Effect::Tx(b"00\x1a".to_vec())]);
    }

    #[test]
    fn contains_sees_the_command_in_flight_and_the_waiting_ones() {
        let mut queue = queue();
        let mut out = Vec::new();
        queue.push(Command::new("AT+CSQ", 1000), "signal");
        queue.push(Command::new("AT+CMGL=4", 1000), "list");
        queue.pump(0, &mut out);
        assert!(queue.contains(|purpose| *purpose == "signal"));
        assert!(queue.contains(|purpose| *purpose == "list"));
        assert!(!queue.contains(|purpose| *purpose == "read"));
    }

    #[test]
    fn clear_returns_every_purpose_in_flight_first() {
        let mut queue = queue();
        let mut out = Vec::new();
        queue.push(Command::new("AT+CSQ", 1000), "signal");
        queue.push(Command::new("AT+CMGL=4", 1000), "list");
        queue.pump(0, &mut out);
        out.clear();
        assert_eq!(queue.clear(10, &mut out), ["signal", "list"]);
        assert_eq!(out, [Effect::CancelTimer(DEADLINE)]);
        assert_eq!(
            queue.feed(b"\r\nOK\r\n", &mut out),
            [],
            "a late OK completes nothing"
        );
        assert!(!queue.contains(|_| true));
    }
}
