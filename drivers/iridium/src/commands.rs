//! The queue of AT commands in front of the terminal's one [`AtChannel`].
//!
//! Every command is queued with a purpose `P` that says who asked for it, so that its completion
//! goes to the right handler. The queue starts the next command whenever the channel is idle and
//! keeps one host timer armed for the deadline of the command in flight.
//!
//! Nothing here is Iridium-specific: it is the same queue as the cellular driver's, made generic
//! over the purpose and the timer id so that it can move into `m2mhal-at` and serve both.

use std::collections::VecDeque;

use m2mhal_at::{AtChannel, AtError, ChannelConfig, ChannelEvent, Command, Response, Urc};
use m2mhal_plugin_api::Effect;

/// What came out of the channel.
#[derive(Debug)]
pub(crate) enum QueueEvent<P> {
    /// The command queued for `P` finished.
    Completed(P, Result<Response, AtError>),
    /// An unsolicited result code.
    Urc(Urc),
}

/// The command queue and the channel it feeds.
#[derive(Debug)]
pub(crate) struct CommandQueue<P> {
    channel: AtChannel,
    waiting: VecDeque<(Command, P)>,
    in_flight: Option<P>,
    deadline_timer: u32,
    armed_deadline: Option<u64>,
}

impl<P> CommandQueue<P> {
    /// An empty queue over a fresh channel; `deadline_timer` is the host timer id it uses.
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
            .chain(self.waiting.iter().map(|(_, p)| p))
            .any(wanted)
    }

    /// Feeds bytes from the terminal. A prompt payload to write goes into `out`.
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

    /// Starts the next command if the channel is idle and keeps the deadline timer in step.
    pub fn pump(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let next = if self.channel.is_busy() {
            None
        } else {
            self.waiting.pop_front()
        };
        if let Some((command, purpose)) = next {
            let line = command.clone();
            match self.channel.start(command, now_ms) {
                Ok(bytes) => {
                    out.push(Effect::Tx(bytes));
                    self.in_flight = Some(purpose);
                }
                // Not while idle; keep the command for the next try all the same.
                Err(_) => self.waiting.push_front((line, purpose)),
            }
        }
        self.sync_deadline(now_ms, out);
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

    /// Abandons the command in flight and everything queued; returns their purposes (so their
    /// calls can be answered), the one in flight first.
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
}
