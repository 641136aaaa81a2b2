//! [`CellularDriver`]: the `Driver` implementation. The routing shared by AT drivers
//! (`m2mhal_at::driver::AtDriver`) hands each host event to the part here that handles it; the
//! driver keeps the device's lifecycle:
//!
//! ```text
//! (closed) --Opened--> initializing --init done--> ready
//!                          |  SIM missing/locked -> failed "sim-missing" / initializing "sim-pin-required"
//!                          |  AT+CMGF=0 refused  -> failed "pdu-mode-unsupported"
//! any open state --3 timeouts in a row--> failed "no-response" --AT answered--> initializing
//! any open state --Hangup--> offline "hangup" --Opened--> initializing
//! ```
//!
//! Calls: `Send` waits in the outbox until the modem is ready (it fails with `NotReady` only while
//! the SIM is missing or locked, the modem failed for good, or the port is closed); `Command`
//! runs through the same command queue as everything else; `Refresh` and `Poll` need a ready
//! modem; `Reset` restarts the initialisation; `CheckMessage` does no I/O; `SetLocationEnabled`
//! switches the GNSS of a ready modem that has one (see `location`).

use m2mhal_at::driver::AtDriver;
use m2mhal_at::link::AtLink;
use m2mhal_at::{AtError, ChannelConfig, Command, Response, Urc};
use m2mhal_plugin_api::sdk::{Driver, Effects};
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DriverDescription, Effect, Input, LogLevel, MessageState,
    OpenConfig, OutgoingMessage, Request,
};

use crate::describe::description;
use crate::gnss::GnssOptions;
use crate::inbox::{Inbox, Received, parse_indication, parse_list, parse_read};
use crate::init::{self, FIRST_STEP, InitStep, ModemFacts, Outcome, SimProblem};
use crate::outbox::{self, Outbox, PartOutcome};
use crate::progress::PartProgress;
use crate::purpose::{ListReason, Purpose};
use crate::signal::{Domain, SignalQuery, SignalTracker, parse_registration};
use crate::timers::{self, Timer};

mod location;

use location::GnssState;

/// Timeout of message storage commands (`AT+CMGR`, `AT+CMGD`, `AT+CNMA`).
const STORAGE_TIMEOUT_MS: u64 = 10_000;
/// Timeout of `AT+CMGL`, which may list a full storage.
const LIST_TIMEOUT_MS: u64 = 30_000;

/// Where the device is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The port is not open (before `Opened`, after `Hangup`).
    Closed,
    /// Running the initialisation sequence.
    Initializing,
    /// Initialising, waiting for a busy SIM.
    SimBusy,
    /// The SIM keeps the modem from working.
    SimBlocked(SimProblem),
    /// Initialised.
    Ready,
    /// The modem stopped answering; probing it.
    NoResponse,
    /// A required command failed; waits for `Reset` or a new `Opened`.
    Failed(&'static str),
}

impl Phase {
    /// Whether `Send` is refused right away rather than queued.
    fn refuses_messages(self) -> bool {
        matches!(
            self,
            Phase::Closed | Phase::SimBlocked(_) | Phase::Failed(_)
        )
    }
}

/// The cellular modem driver: one instance per modem port.
pub struct CellularDriver {
    /// Period of the signal refresh; 0 disables it.
    signal_interval_ms: u64,
    /// How long the parts of a concatenated message wait for the missing ones before they are
    /// reported as an incomplete message; 0 = forever.
    multipart_timeout_ms: u64,
    phase: Phase,
    /// The command queue, the silence watch and the published state.
    link: AtLink<Purpose>,
    facts: ModemFacts,
    signal: SignalTracker,
    inbox: Inbox,
    outbox: Outbox,
    /// Concatenation reference of the next message sent.
    next_reference: u8,
    /// `gnss` and `gnss_interval`.
    gnss_options: GnssOptions,
    /// The GNSS, when the modem has one.
    gnss: GnssState,
    /// Clocks of the input being handled.
    now_ms: u64,
    unix_time: u64,
    /// Effects of the input being handled.
    out: Effects,
}

impl Driver for CellularDriver {
    fn describe() -> DriverDescription {
        description()
    }

    /// Options: `signal_interval` (seconds between signal refreshes, default 30, 0 = never) and
    /// `multipart_timeout` (seconds the parts of a concatenated message wait for the missing ones,
    /// from the first part read, before they are reported as one incomplete message; default
    /// 86400, 0 = forever; parts read again after a restart wait anew), `gnss` (true: switch the
    /// modem's GNSS on at start; default false) and `gnss_interval` (seconds between position
    /// polls while it is on, default 5).
    fn open(config: OpenConfig) -> Result<Self, String> {
        let gnss_options = GnssOptions::parse(&config.options)?;
        let milliseconds = |name: &str, default_s: u64| {
            let seconds = match config.options.get(name) {
                None => default_s,
                Some(text) => text
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("option {name}: {text:?} is not a number of seconds"))?,
            };
            Ok::<u64, String>(seconds.saturating_mul(1000))
        };
        Ok(CellularDriver {
            signal_interval_ms: milliseconds("signal_interval", timers::DEFAULT_SIGNAL_INTERVAL_S)?,
            multipart_timeout_ms: milliseconds(
                "multipart_timeout",
                timers::DEFAULT_MULTIPART_TIMEOUT_S,
            )?,
            phase: Phase::Closed,
            link: AtLink::new(
                "modem",
                ChannelConfig::gsm(),
                Timer::CommandDeadline.id(),
                Timer::Probe.id(),
            ),
            facts: ModemFacts::default(),
            signal: SignalTracker::default(),
            inbox: Inbox::default(),
            outbox: Outbox::default(),
            next_reference: 0,
            gnss_options,
            gnss: GnssState::new(gnss_options.enabled),
            now_ms: 0,
            unix_time: 0,
            out: Effects::new(),
        })
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        self.handle_input(input)
    }
}

/// Lifecycle: (re)initialisation, silence, hangup.
impl CellularDriver {
    /// Stops all work in progress: the queued and running commands (their calls are answered
    /// with `error`), the message being sent (every waiting message too when `whole_outbox`) and
    /// the background timers.
    fn abandon_work(&mut self, error: &CallError, whole_outbox: bool) {
        self.link.abandon(self.now_ms, error, &mut self.out);
        let abandoned = if whole_outbox {
            self.outbox.abandon_all()
        } else {
            self.outbox.abandon_current().into_iter().collect()
        };
        self.out.fail_all(abandoned, error);
        for timer in [
            Timer::SignalRefresh,
            Timer::SimRecheck,
            Timer::Probe,
            Timer::MultipartExpiry,
            Timer::GnssPoll,
        ] {
            self.out.cancel_timer(timer.id());
        }
    }

    fn become_ready(&mut self) {
        self.phase = Phase::Ready;
        self.link.publish("ready", "", &mut self.out);
        if !self.facts.indications {
            self.out.log(
                LogLevel::Warn,
                "the modem refused every AT+CNMI setting: new messages are found by polling",
            );
        }
        if self.signal_interval_ms > 0 {
            self.out
                .set_timer(Timer::SignalRefresh.id(), self.signal_interval_ms);
        }
        self.gnss_ready();
        self.kick_outbox();
    }
}

/// Host events, as the shared routing of `m2mhal_at` hands them over.
impl AtDriver<Purpose> for CellularDriver {
    fn link_and_effects(&mut self) -> (&mut AtLink<Purpose>, &mut Effects) {
        (&mut self.link, &mut self.out)
    }

    fn set_clocks(&mut self, now_ms: u64, unix_time: u64) {
        self.now_ms = now_ms;
        self.unix_time = unix_time;
    }

    fn is_open(&self) -> bool {
        self.phase != Phase::Closed
    }

    fn is_silent(&self) -> bool {
        self.phase == Phase::NoResponse
    }

    /// Initialises from scratch. Messages waiting in the outbox stay; the one being sent and the
    /// running commands fail with `interrupted`.
    fn restart(&mut self, interrupted: CallError) {
        self.abandon_work(&interrupted, false);
        self.phase = Phase::Initializing;
        self.facts = ModemFacts::default();
        self.signal.forget_readings();
        self.inbox.reset();
        self.link.start_initializing(&mut self.out);
        self.push_init(FIRST_STEP);
    }

    fn close(&mut self, error: &CallError) {
        self.abandon_work(error, true);
        self.inbox.reset();
        self.gnss_gone();
        self.phase = Phase::Closed;
    }

    fn go_silent(&mut self, error: &CallError) {
        self.abandon_work(error, true);
        self.gnss_gone();
        self.phase = Phase::NoResponse;
    }

    fn on_timer(&mut self, id: u32) {
        match Timer::from_id(id) {
            Some(Timer::SignalRefresh) if self.phase == Phase::Ready => {
                if !self.link.contains(|p| matches!(p, Purpose::Signal { .. })) {
                    self.queue_refresh(None);
                }
                if !self.facts.indications
                    && !self
                        .link
                        .contains(|p| matches!(p, Purpose::ListMessages(_)))
                {
                    self.link
                        .push(list_command(), Purpose::ListMessages(ListReason::Periodic));
                }
                self.out
                    .set_timer(Timer::SignalRefresh.id(), self.signal_interval_ms);
            }
            Some(Timer::SimRecheck)
                if matches!(self.phase, Phase::SimBusy | Phase::SimBlocked(_)) =>
            {
                self.recheck_sim();
            }
            Some(Timer::MultipartExpiry) if self.multipart_timeout_ms > 0 => {
                self.expire_incomplete();
            }
            Some(Timer::GnssPoll) => self.on_gnss_timer(),
            // A timer that fired after the state it was armed for ended.
            _ => {}
        }
    }

    fn on_call(&mut self, call: u64, request: Request) {
        match request {
            Request::Refresh if self.phase == Phase::Ready => self.queue_refresh(Some(call)),
            Request::Poll if self.phase == Phase::Ready => {
                self.link.push(
                    list_command(),
                    Purpose::ListMessages(ListReason::Poll(call)),
                );
            }
            Request::Refresh | Request::Poll => self.link.reply_not_ready(call, &mut self.out),
            Request::CheckMessage(message) => {
                let checked = outbox::encode(&message, 0).map(|_| CallReply::Done);
                self.out.reply(call, checked);
            }
            Request::Send(_) if self.phase.refuses_messages() => {
                self.link.reply_not_ready(call, &mut self.out)
            }
            Request::Send(message) => self.accept_message(call, message),
            Request::SetLocationEnabled(on) => self.set_gnss(call, on),
            other => {
                let error = format!("a cellular modem does not support {other:?}");
                self.out.reply(
                    call,
                    Err(CallError::new(CallErrorKind::NotSupported, error)),
                );
            }
        }
    }

    fn on_committed(&mut self, key: &str) {
        if matches!(self.phase, Phase::Closed | Phase::NoResponse) {
            // The message stays on the modem; after the next initialisation it is read again
            // under the same key, and the host's next commit deletes it.
            return;
        }
        for index in self.inbox.commit(key) {
            self.link
                .push(delete_command(index), Purpose::DeleteMessage(index));
        }
    }

    fn on_completed(&mut self, purpose: Purpose, result: Result<Response, AtError>) {
        match purpose {
            Purpose::Init(step) => self.on_init_step(step, result),
            Purpose::Signal { query, last, call } => self.on_signal(query, last, call, result),
            Purpose::ReadMessage(index) => self.on_read(index, result),
            Purpose::ListMessages(reason) => self.on_list(reason, result),
            Purpose::DeleteMessage(index) | Purpose::DeleteUnwanted(index) => {
                self.on_deleted(index, result)
            }
            Purpose::AckDelivery => {
                if let Err(error) = result {
                    self.out
                        .log(LogLevel::Warn, format!("AT+CNMA failed: {error}"));
                }
            }
            Purpose::SendPart => self.on_part_sent(result),
            Purpose::GnssPower { on, call } => self.on_gnss_power(on, call, result),
            Purpose::GnssSetup => self.on_gnss_setup(result),
            Purpose::GnssPoll => self.on_gnss_poll(result),
        }
    }

    fn on_urc(&mut self, urc: Urc) {
        if self.phase == Phase::NoResponse {
            // Nothing is sent to a modem counted as silent but the probe; once it answers, the
            // initialisation reads whatever these URCs announced.
            return;
        }
        let line = urc.line.as_str();
        if let Some((storage, index)) = parse_indication(line, "+CMTI:") {
            self.on_new_message(&storage, index);
        } else if let Some((_, index)) = parse_indication(line, "+CDSI:") {
            self.out.log(
                LogLevel::Info,
                format!("status report stored at index {index}: deleting it"),
            );
            self.link
                .push(delete_command(index), Purpose::DeleteUnwanted(index));
        } else if line.starts_with("+CMT:") || line.starts_with("+CDS:") {
            self.on_direct_delivery(urc.extra.as_deref());
        } else if let Some(domain) = Domain::of_urc(line) {
            self.on_registration_urc(line, domain);
        } else if line.starts_with("+CPIN:")
            && matches!(self.phase, Phase::SimBusy | Phase::SimBlocked(_))
        {
            self.recheck_sim();
        }
    }
}

/// Initialisation and SIM.
impl CellularDriver {
    fn push_init(&mut self, step: InitStep) {
        self.link
            .push(step.command(&self.facts), Purpose::Init(step));
    }

    fn on_init_step(&mut self, step: InitStep, result: Result<Response, AtError>) {
        if matches!(result, Err(AtError::Timeout)) {
            // Retried until three timeouts in a row declare the modem silent.
            self.link
                .push_front(step.command(&self.facts), Purpose::Init(step));
            return;
        }
        match init::advance(step, result, &mut self.facts) {
            Outcome::Next(next) => self.push_init(next),
            Outcome::Publish(update, next) => {
                self.out.push(self.link.with_state(*update));
                self.push_init(next);
            }
            Outcome::SimReady(next) => {
                if self.phase != Phase::Initializing {
                    self.out.cancel_timer(Timer::SimRecheck.id());
                    self.phase = Phase::Initializing;
                    self.link.publish("initializing", "", &mut self.out);
                }
                self.push_init(next);
            }
            Outcome::SimBusy => {
                self.phase = Phase::SimBusy;
                self.out
                    .set_timer(Timer::SimRecheck.id(), timers::SIM_BUSY_RETRY_MS);
            }
            Outcome::SimBlocked(problem) => self.on_sim_blocked(problem),
            Outcome::Failed(reason) => {
                self.out
                    .log(LogLevel::Error, format!("initialisation failed: {reason}"));
                self.phase = Phase::Failed(reason);
                self.link.publish("failed", reason, &mut self.out);
                self.fail_outbox(CallErrorKind::NotReady, reason);
            }
            Outcome::Configured => {
                self.queue_refresh(None);
                self.link
                    .push(list_command(), Purpose::ListMessages(ListReason::Init));
            }
        }
    }

    fn on_sim_blocked(&mut self, problem: SimProblem) {
        if self.phase != Phase::SimBlocked(problem) {
            self.out.log(
                LogLevel::Warn,
                format!("SIM not usable: {}", problem.reason()),
            );
            self.phase = Phase::SimBlocked(problem);
            self.link
                .publish(problem.state(), problem.reason(), &mut self.out);
            self.fail_outbox(CallErrorKind::NotReady, problem.reason());
        }
        self.out
            .set_timer(Timer::SimRecheck.id(), timers::SIM_BLOCKED_RECHECK_MS);
    }

    fn recheck_sim(&mut self) {
        if !self
            .link
            .contains(|p| *p == Purpose::Init(InitStep::SimStatus))
        {
            self.push_init(InitStep::SimStatus);
        }
    }
}

/// Signal.
impl CellularDriver {
    /// Queues the queries of a refresh; the last one publishes and answers `call`.
    fn queue_refresh(&mut self, call: Option<u64>) {
        let queries = self.signal.queries();
        let count = queries.len();
        for (at, query) in queries.into_iter().enumerate() {
            let last = at + 1 == count;
            let call = call.filter(|_| last);
            self.link
                .push(query.command(), Purpose::Signal { query, last, call });
        }
    }

    fn on_signal(
        &mut self,
        query: SignalQuery,
        last: bool,
        call: Option<u64>,
        result: Result<Response, AtError>,
    ) {
        match &result {
            Ok(response) => self.signal.apply(query, response),
            Err(AtError::Timeout) => {}
            Err(_) => self.signal.query_failed(query),
        }
        if !last {
            return;
        }
        if let Some(update) = self.signal.changes(self.unix_time, true) {
            self.out.signal(update);
        }
        if let Some(call) = call {
            let reply = match result {
                Err(AtError::Timeout) => Err(CallError::new(
                    CallErrorKind::Timeout,
                    "the modem does not answer",
                )),
                _ => Ok(CallReply::Done),
            };
            self.out.reply(call, reply);
        }
    }

    fn on_registration_urc(&mut self, line: &str, domain: Domain) {
        let Some(registration) = parse_registration(line, domain) else {
            return;
        };
        let was_registered = self.signal.is_registered();
        self.signal.set_registration(domain, registration);
        if let Some(update) = self.signal.changes(self.unix_time, false) {
            self.out.signal(update);
        }
        let operator_query = |p: &Purpose| {
            matches!(
                p,
                Purpose::Signal {
                    query: SignalQuery::Cops,
                    ..
                }
            )
        };
        if self.phase == Phase::Ready
            && was_registered != self.signal.is_registered()
            && !self.link.contains(operator_query)
        {
            let query = SignalQuery::Cops;
            self.link.push(
                query.command(),
                Purpose::Signal {
                    query,
                    last: true,
                    call: None,
                },
            );
        }
    }
}

/// Receiving messages.
impl CellularDriver {
    fn on_new_message(&mut self, storage: &str, index: u32) {
        // Before the storage is configured the initialisation's listing will find the message.
        let configured = self.phase == Phase::Ready
            || self
                .link
                .contains(|p| *p == Purpose::ListMessages(ListReason::Init));
        if !configured
            || self.inbox.has_seen(index)
            || self.link.contains(|p| *p == Purpose::ReadMessage(index))
        {
            return;
        }
        if !init::storage_matches(&self.facts, storage) {
            self.out.log(
                LogLevel::Warn,
                format!("new message in storage {storage:?}, which is not the one in use; it waits for a reset"),
            );
            return;
        }
        self.link
            .push(read_command(index), Purpose::ReadMessage(index));
    }

    fn on_read(&mut self, index: u32, result: Result<Response, AtError>) {
        match result {
            Ok(response) => {
                if let Some(pdu) = parse_read(&response.lines) {
                    self.take_in(Some(index), &pdu);
                }
            }
            Err(AtError::Timeout) => self
                .link
                .push(read_command(index), Purpose::ReadMessage(index)),
            Err(error) => self
                .out
                .log(LogLevel::Warn, format!("AT+CMGR={index} failed: {error}")),
        }
    }

    fn on_list(&mut self, reason: ListReason, result: Result<Response, AtError>) {
        let timed_out = matches!(result, Err(AtError::Timeout));
        match result {
            Ok(response) => {
                for (index, pdu) in parse_list(&response.lines) {
                    self.take_in(Some(index), &pdu);
                }
            }
            Err(AtError::Timeout) if reason == ListReason::Init => {
                self.link
                    .push_front(list_command(), Purpose::ListMessages(reason));
                return;
            }
            Err(error) => self
                .out
                .log(LogLevel::Warn, format!("AT+CMGL=4 failed: {error}")),
        }
        match reason {
            ListReason::Init => self.become_ready(),
            ListReason::Poll(call) if timed_out => {
                let error = CallError::new(
                    CallErrorKind::Timeout,
                    "the modem did not list its messages in time",
                );
                self.out.reply(call, Err(error));
            }
            ListReason::Poll(call) => self.out.reply(call, Ok(CallReply::Done)),
            ListReason::Periodic => {}
        }
    }

    fn on_direct_delivery(&mut self, pdu: Option<&str>) {
        if self.facts.ack_required {
            self.link.push_front(
                Command::new("AT+CNMA", STORAGE_TIMEOUT_MS),
                Purpose::AckDelivery,
            );
        }
        match pdu {
            Some(pdu) => self.take_in(None, pdu),
            None => self
                .out
                .log(LogLevel::Warn, "direct delivery without its PDU line"),
        }
    }

    /// Logs `why` and deletes the part at `index` (if it is stored) without reporting it.
    fn delete_unwanted(&mut self, index: Option<u32>, why: String) {
        self.out.log(LogLevel::Info, why);
        if let Some(index) = index {
            self.link
                .push(delete_command(index), Purpose::DeleteUnwanted(index));
        }
    }

    /// Hands a PDU to the inbox and acts on what it says.
    fn take_in(&mut self, index: Option<u32>, pdu: &str) {
        let place = index.map_or_else(
            || "direct delivery".to_owned(),
            |index| format!("index {index}"),
        );
        match self.inbox.accept(index, pdu, self.now_ms, self.unix_time) {
            Received::Message(message) => self.out.push(Effect::MessageReceived(message)),
            Received::StatusReport { index, summary } => {
                self.out.log(LogLevel::Info, format!("{summary} ({place})"));
                if let Some(index) = index {
                    self.link
                        .push(delete_command(index), Purpose::DeleteUnwanted(index));
                }
            }
            Received::Undecodable(why) => {
                self.out.log(
                    LogLevel::Warn,
                    format!("message at {place} cannot be decoded, left on the modem: {why}"),
                );
            }
            Received::PartHeld => self.arm_expiry(),
            Received::RepeatedPart { index } => self.delete_unwanted(
                index,
                format!("a part already held came again ({place}): deleting the copy"),
            ),
            Received::CommittedPart { index } => self.delete_unwanted(
                index,
                format!(
                    "a part of a message committed before is still on the modem ({place}): deleting it"
                ),
            ),
            Received::ConflictingPart => self.out.log(
                LogLevel::Warn,
                format!(
                    "a part at {place} has the sequence number of a different part already held; left on the modem"
                ),
            ),
            Received::AlreadySeen | Received::Outgoing => {}
        }
    }

    /// Arms the expiry timer for when the oldest incomplete message times out (if any does).
    fn arm_expiry(&mut self) {
        if self.multipart_timeout_ms == 0 {
            return;
        }
        if let Some(first_read) = self.inbox.oldest_incomplete() {
            let due = first_read.saturating_add(self.multipart_timeout_ms);
            self.out
                .set_timer(Timer::MultipartExpiry.id(), due.saturating_sub(self.now_ms));
        }
    }

    /// Reports the concatenated messages that waited too long for their missing parts, each as
    /// one incomplete message (its stored parts are deleted after the host commits it).
    fn expire_incomplete(&mut self) {
        if let Some(first_read_by) = self.now_ms.checked_sub(self.multipart_timeout_ms) {
            for message in self.inbox.expire(first_read_by, self.unix_time) {
                self.out.log(
                    LogLevel::Warn,
                    format!(
                        "message {} from {} is incomplete: its missing parts did not arrive in time",
                        message.key, message.peer
                    ),
                );
                self.out.push(Effect::MessageReceived(message));
            }
        }
        self.arm_expiry();
    }

    fn on_deleted(&mut self, index: u32, result: Result<Response, AtError>) {
        match result {
            Ok(_) => self.inbox.deleted(index),
            Err(error) => self
                .out
                .log(LogLevel::Warn, format!("AT+CMGD={index} failed: {error}")),
        }
    }
}

/// Sending messages.
impl CellularDriver {
    /// A message handed over by `Send`: encoded and queued; one handed over again after a
    /// restart keeps its concatenation reference and skips the parts the modem acknowledged
    /// (see [`crate::progress`]).
    fn accept_message(&mut self, call: u64, message: OutgoingMessage) {
        let resumed = PartProgress::from_progress(&message.progress).and_then(|progress| {
            let parts = outbox::encode(&message, progress.concat_reference).ok()?;
            (parts.len() == progress.parts).then_some((parts, progress))
        });
        let (parts, progress) = match resumed {
            Some((parts, progress)) => {
                self.out.log(
                    LogLevel::Info,
                    format!(
                        "message {}: resuming after part {} of {}",
                        message.id,
                        progress.references.len(),
                        progress.parts
                    ),
                );
                (parts, progress)
            }
            None => match outbox::encode(&message, self.next_reference) {
                Ok(parts) => {
                    let progress = PartProgress {
                        concat_reference: self.next_reference,
                        parts: parts.len(),
                        references: Vec::new(),
                    };
                    (parts, progress)
                }
                Err(error) => return self.out.reply(call, Err(error)),
            },
        };
        self.next_reference = progress.concat_reference.wrapping_add(1);
        self.outbox.push(call, message.id, parts, progress);
        self.kick_outbox();
    }

    fn kick_outbox(&mut self) {
        if self.phase != Phase::Ready {
            return;
        }
        while let Some(step) = self.outbox.start() {
            if self.take_step(step, false) {
                return;
            }
        }
    }

    /// Records and sends the next part (`urgent`: ahead of queued commands, as the rest of a
    /// message), or answers the finished message; returns whether a part went out.
    fn take_step(&mut self, step: PartOutcome, urgent: bool) -> bool {
        match step {
            PartOutcome::Next {
                id,
                record,
                command,
            } => {
                self.out.push(Effect::MessageState {
                    id,
                    state: MessageState::Sending,
                    error: String::new(),
                    info: record,
                });
                if urgent {
                    self.link.push_front(command, Purpose::SendPart);
                } else {
                    self.link.push(command, Purpose::SendPart);
                }
                true
            }
            PartOutcome::Finished { call, result } => {
                self.out.reply(call, result);
                false
            }
        }
    }

    fn on_part_sent(&mut self, result: Result<Response, AtError>) {
        if let Some(step) = self.outbox.part_done(result)
            && !self.take_step(step, true)
        {
            self.kick_outbox();
        }
    }

    fn fail_outbox(&mut self, kind: CallErrorKind, reason: &str) {
        let error = CallError::new(kind, format!("the modem is not ready: {reason}"));
        self.out.fail_all(self.outbox.abandon_all(), &error);
    }
}

fn list_command() -> Command {
    Command::new("AT+CMGL=4", LIST_TIMEOUT_MS)
}

fn read_command(index: u32) -> Command {
    Command::new(format!("AT+CMGR={index}"), STORAGE_TIMEOUT_MS)
}

fn delete_command(index: u32) -> Command {
    Command::new(format!("AT+CMGD={index}"), STORAGE_TIMEOUT_MS)
}
