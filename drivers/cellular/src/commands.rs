//! The queue of AT commands in front of the modem's one [`AtChannel`].
//!
//! Every command is queued with a [`Purpose`] that says who asked for it, so that its completion
//! goes to the right handler. The queue starts the next command whenever the channel is idle and
//! keeps the host timer [`Timer::CommandDeadline`] armed for the command in flight.

use std::collections::VecDeque;

use m2mhal_at::{AtChannel, AtError, ChannelConfig, ChannelEvent, Command, Response, Urc};
use m2mhal_plugin_api::Effect;

use crate::init::InitStep;
use crate::signal::SignalQuery;
use crate::timers::Timer;

/// Why a command was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A step of the initialisation sequence.
    Init(InitStep),
    /// `AT` sent to a silent modem.
    Probe,
    /// A query of a signal refresh; the last one of a refresh publishes and answers `call`.
    Signal {
        /// Which query.
        query: SignalQuery,
        /// Whether this query ends the refresh.
        last: bool,
        /// The `Refresh` call to answer at the end, if any.
        call: Option<u64>,
    },
    /// `AT+CMGR=<index>` after `+CMTI`.
    ReadMessage(u32),
    /// `AT+CMGL=4`.
    ListMessages(ListReason),
    /// `AT+CMGD=<index>` of a committed message part.
    DeleteMessage(u32),
    /// `AT+CMGD=<index>` of a stored status report.
    DeleteStatusReport(u32),
    /// `AT+CNMA` after a directly delivered `+CMT`/`+CDS`.
    AckDelivery,
    /// `AT+CMGS` of the outbox's current part.
    SendPart,
    /// A raw command from `Request::Command`.
    UserCommand(u64),
}

/// Why the storage is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListReason {
    /// The last step of initialisation: read what arrived while nobody listened.
    Init,
    /// `Request::Poll`; answer the call when done.
    Poll(u64),
    /// Periodic, on modems that refused every `+CNMI` setting.
    Periodic,
}

impl Purpose {
    /// The application call waiting for this command, if any.
    pub fn call(&self) -> Option<u64> {
        match self {
            Purpose::Signal { call, .. } => *call,
            Purpose::ListMessages(ListReason::Poll(call)) | Purpose::UserCommand(call) => {
                Some(*call)
            }
            _ => None,
        }
    }
}

/// What came out of the channel.
#[derive(Debug)]
pub(crate) enum QueueEvent {
    /// The command queued for `Purpose` finished.
    Completed(Purpose, Result<Response, AtError>),
    /// An unsolicited result code.
    Urc(Urc),
}

/// The command queue and the channel it feeds.
pub(crate) struct AtQueue {
    channel: AtChannel,
    waiting: VecDeque<(Command, Purpose)>,
    in_flight: Option<Purpose>,
    armed_deadline: Option<u64>,
}

impl AtQueue {
    /// An empty queue over a fresh GSM channel.
    pub fn new() -> Self {
        AtQueue {
            channel: AtChannel::new(ChannelConfig::gsm()),
            waiting: VecDeque::new(),
            in_flight: None,
            armed_deadline: None,
        }
    }

    /// Queues `command` behind the others.
    pub fn push(&mut self, command: Command, purpose: Purpose) {
        self.waiting.push_back((command, purpose));
    }

    /// Queues `command` before the others (it goes out as soon as the channel is idle).
    pub fn push_front(&mut self, command: Command, purpose: Purpose) {
        self.waiting.push_front((command, purpose));
    }

    /// Whether a queued or running command has a purpose matching `wanted`.
    pub fn contains(&self, wanted: impl Fn(&Purpose) -> bool) -> bool {
        self.in_flight
            .iter()
            .chain(self.waiting.iter().map(|(_, p)| p))
            .any(wanted)
    }

    /// Feeds bytes from the modem. A prompt payload to write goes into `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Effect>) -> Vec<QueueEvent> {
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
    pub fn deadline_fired(&mut self, now_ms: u64) -> Option<QueueEvent> {
        self.armed_deadline = None;
        let event = self.channel.check_timeout(now_ms)?;
        self.route(event)
    }

    fn route(&mut self, event: ChannelEvent) -> Option<QueueEvent> {
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
        if !self.channel.is_busy() {
            if let Some((command, purpose)) = self.waiting.pop_front() {
                match self.channel.start(command.clone(), now_ms) {
                    Ok(bytes) => {
                        out.push(Effect::Tx(bytes));
                        self.in_flight = Some(purpose);
                    }
                    // Not while idle; keep the command for the next try all the same.
                    Err(_) => self.waiting.push_front((command, purpose)),
                }
            }
        }
        self.sync_deadline(now_ms, out);
    }

    fn sync_deadline(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let deadline = self.channel.deadline();
        if deadline == self.armed_deadline {
            return;
        }
        let id = Timer::CommandDeadline.id();
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
    pub fn clear(&mut self, now_ms: u64, out: &mut Vec<Effect>) -> Vec<Purpose> {
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
