//! [`IridiumDriver`]: the `Driver` implementation. The routing shared by AT drivers
//! (`m2mhal_at::driver::AtDriver`) hands each host event to the part here that handles it; the
//! driver keeps the device's lifecycle:
//!
//! ```text
//! (closed) --Opened--> initializing --init done--> ready
//!                          |  no IMEI -> failed "imei-unavailable"
//! ready --permanent MO status (15, 16, 33, 34, 64, 65)--> failed "access-denied", ... --Reset--> initializing
//! any open state --3 timeouts in a row--> failed "no-response" --AT answered--> initializing
//! any open state --Hangup--> offline "hangup" --Opened--> initializing
//! ```
//!
//! Calls: `Send` waits in the outbox until a session carries it; it fails with `NotReady` while
//! the terminal failed for good or the port is closed, and while there is no satellite service
//! (then only a message no session may have delivered: nothing went on the air, and the host
//! keeps it, where the router may hand it to another uplink); `Command` runs through the same
//! command queue as everything else; `Refresh` (`AT+CSQ`) and `Poll` (a mailbox session) need a
//! ready terminal; `Reset` restarts the initialisation; `CheckMessage` does no I/O. The SBD
//! sessions themselves are in [`session`].

mod session;

use m2mhal_at::driver::AtDriver;
use m2mhal_at::link::{AtLink, LinkPurpose};
use m2mhal_at::{AtError, ChannelConfig, Command, Response, Urc};
use m2mhal_plugin_api::sdk::{Driver, Effects};
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DriverDescription, Effect, Input, LogLevel, OpenConfig,
    Request,
};

use crate::describe::description;
use crate::init::{self, FIRST_STEP, InitStep, Outcome, TerminalFacts};
use crate::options::Options;
use crate::outbox::{self, Outbox};
use crate::signal::{Indication, SignalTracker, parse_bars, parse_indication};
use crate::timers::Timer;

use self::session::{ClearReason, MailboxDemand, Schedule, Session};

/// `AT+CSQ` waits for a fresh reading: "usually within two seconds", up to 50 s while the
/// terminal acquires the network.
const SIGNAL_TIMEOUT_MS: u64 = 60_000;
/// The ring alert of the SBD ring alert service (`AT+SBDMTA=1`).
const RING_ALERT: &str = "SBDRING";
/// Indicator events (`AT+CIER`).
const INDICATION: &str = "+CIEV:";

/// Where the device is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The port is not open (before `Opened`, after `Hangup`).
    Closed,
    /// Running the initialisation sequence.
    Initializing,
    /// Initialised.
    Ready,
    /// The terminal stopped answering; probing it.
    NoResponse,
    /// The terminal cannot work until someone acts; waits for `Reset` or a new `Opened`.
    Failed(&'static str),
}

impl Phase {
    /// Whether `Send` is refused right away rather than queued.
    fn refuses_messages(self) -> bool {
        matches!(self, Phase::Closed | Phase::Failed(_))
    }
}

/// Why a command was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    /// A step of the initialisation sequence.
    Init(InitStep),
    /// `AT+CSQ`.
    Signal(SignalReason),
    /// `AT+SBDWB` of the first outbox message; the second attempt is the last.
    Write {
        /// 1 or 2.
        attempt: u8,
    },
    /// `AT+SBDD0`.
    ClearMo(ClearReason),
    /// `AT+SBDS` before a session that carries a message, when the MOMSN is not known.
    ReadMomsn,
    /// `AT+SBDIX` or `AT+SBDIXA`: the SBD session itself.
    Transfer,
    /// `AT+SBDRB`; the second attempt is the last.
    Download {
        /// 1 or 2.
        attempt: u8,
    },
    /// `AT+SBDD1` after the host committed the MT message.
    ClearMt,
}

/// Why the signal is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignalReason {
    /// The last step of initialisation.
    Init,
    /// `Request::Refresh`; answer the call when done.
    Refresh(u64),
    /// The periodic poll while indications cannot be relied on.
    Poll,
}

impl LinkPurpose for Purpose {
    fn call(&self) -> Option<u64> {
        match self {
            Purpose::Signal(SignalReason::Refresh(call)) => Some(*call),
            _ => None,
        }
    }
}

/// The Iridium SBD terminal driver: one instance per terminal port.
pub struct IridiumDriver {
    options: Options,
    phase: Phase,
    /// The command queue, the silence watch and the published state.
    link: AtLink<Purpose>,
    facts: TerminalFacts,
    signal: SignalTracker,
    outbox: Outbox,
    session: Session,
    mailbox: MailboxDemand,
    schedule: Schedule,
    /// Whether the MO buffer is known to be empty.
    mo_clear: bool,
    /// The MOMSN the next session uses, when known: read at initialisation, counted on by each
    /// successful session, unknown after any other until `AT+SBDS` is read again (see
    /// [`crate::resume`]).
    next_momsn: Option<u16>,
    /// Whether [`Timer::SignalPoll`] is armed.
    signal_poll_armed: bool,
    /// Messages were answered `NotReady` for want of service: the signal is polled until
    /// service is back (the host sends them again then).
    handed_back: bool,
    /// Clocks of the input being handled.
    now_ms: u64,
    unix_time: u64,
    /// Effects of the input being handled.
    out: Effects,
}

impl Driver for IridiumDriver {
    fn describe() -> DriverDescription {
        description()
    }

    /// Options, in seconds: `signal_interval` (period of the `AT+CSQ` poll that runs only while
    /// needed, default 60, 0 = never), `min_session_interval` (default 15) and `max_backoff`
    /// (default 600).
    fn open(config: OpenConfig) -> Result<Self, String> {
        let options = Options::parse(&config.options)?;
        Ok(IridiumDriver {
            options,
            phase: Phase::Closed,
            link: AtLink::new(
                "terminal",
                channel_config(),
                Timer::CommandDeadline.id(),
                Timer::Probe.id(),
            ),
            facts: TerminalFacts::default(),
            signal: SignalTracker::default(),
            outbox: Outbox::default(),
            session: Session::Idle,
            mailbox: MailboxDemand::default(),
            schedule: Schedule::default(),
            mo_clear: false,
            next_momsn: None,
            signal_poll_armed: false,
            handed_back: false,
            now_ms: 0,
            unix_time: 0,
            out: Effects::new(),
        })
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        self.handle_input(input)
    }
}

/// The unsolicited result codes of an Iridium terminal.
fn channel_config() -> ChannelConfig {
    ChannelConfig {
        urc_prefixes: vec![RING_ALERT.to_owned(), INDICATION.to_owned()],
        two_line_urcs: Vec::new(),
    }
}

/// Lifecycle: (re)initialisation, silence, hangup.
impl IridiumDriver {
    /// Stops all work in progress: the queued and running commands (their calls are answered
    /// with `error`), the session (the message it carries fails; every waiting message too when
    /// `whole_outbox`) and the background timers.
    fn abandon_work(&mut self, error: &CallError, whole_outbox: bool) {
        self.link.abandon(self.now_ms, error, &mut self.out);
        let mut messages: Vec<outbox::Outgoing> = self.abandon_session(error).into_iter().collect();
        if whole_outbox {
            messages.extend(self.outbox.abandon_all());
        }
        self.fail_messages(messages, error);
        self.outbox.set_written(false);
        self.mo_clear = false;
        self.next_momsn = None;
        self.signal_poll_armed = false;
        for timer in [Timer::Session, Timer::SignalPoll, Timer::Probe] {
            self.out.cancel_timer(timer.id());
        }
    }

    fn become_ready(&mut self) {
        self.phase = Phase::Ready;
        self.link.publish("ready", "", &mut self.out);
        self.mo_clear = self.facts.mo_cleared;
        self.next_momsn = self.facts.momsn;
        if let Some(mtmsn) = self.facts.mt_left.take() {
            self.download_left_message(mtmsn);
        }
        self.arm_signal_poll();
        self.kick_session();
    }

    /// The terminal cannot make SBD calls until someone acts (MO status 15, 16, 33, ...).
    fn fail_terminal(&mut self, reason: &'static str, why: &str) {
        self.out.log(
            LogLevel::Error,
            format!("the terminal cannot send: {why}; it needs attention and a Reset"),
        );
        self.phase = Phase::Failed(reason);
        self.link.publish("failed", reason, &mut self.out);
        let error = CallError::new(
            CallErrorKind::NotReady,
            format!("the terminal is not ready: {reason} ({why})"),
        );
        let messages = self.outbox.abandon_all();
        self.fail_messages(messages, &error);
    }

    /// Answers abandoned messages with `error`; one that may have reached the gateway (a
    /// session carried it, or one gave no result) gets `Timeout` instead of `NotReady`, so that
    /// the host never hands it to another uplink (it stays uncertain there).
    fn fail_messages(&mut self, messages: Vec<outbox::Outgoing>, error: &CallError) {
        for message in messages {
            let error = if message.uncertain && error.kind == CallErrorKind::NotReady {
                CallError::new(
                    CallErrorKind::Timeout,
                    format!(
                        "{}; message {} may have reached the gateway",
                        error.message, message.id
                    ),
                )
            } else {
                error.clone()
            };
            self.out.reply(message.call, Err(error));
        }
    }
}

/// Host events, as the shared routing of `m2mhal_at` hands them over.
impl AtDriver<Purpose> for IridiumDriver {
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
        self.facts = TerminalFacts::default();
        self.signal.forget();
        self.link.start_initializing(&mut self.out);
        self.push_init(FIRST_STEP);
    }

    fn close(&mut self, error: &CallError) {
        self.abandon_work(error, true);
        self.phase = Phase::Closed;
    }

    fn go_silent(&mut self, error: &CallError) {
        self.abandon_work(error, true);
        self.phase = Phase::NoResponse;
    }

    fn on_timer(&mut self, id: u32) {
        match Timer::from_id(id) {
            Some(Timer::Session) => self.kick_session(),
            Some(Timer::SignalPoll) => {
                self.signal_poll_armed = false;
                if self.signal_poll_needed() {
                    self.read_signal_once();
                }
            }
            // A timer that fired after the state it was armed for ended.
            _ => {}
        }
    }

    fn on_call(&mut self, call: u64, request: Request) {
        match request {
            Request::Refresh if self.phase == Phase::Ready => self.link.push(
                signal_command(),
                Purpose::Signal(SignalReason::Refresh(call)),
            ),
            Request::Poll if self.phase == Phase::Ready => self.on_poll(call),
            Request::Refresh | Request::Poll => self.link.reply_not_ready(call, &mut self.out),
            Request::CheckMessage(message) => {
                let checked = outbox::check(&message).map(|()| CallReply::Done);
                self.out.reply(call, checked);
            }
            Request::Send(_) if self.phase.refuses_messages() => {
                self.link.reply_not_ready(call, &mut self.out)
            }
            Request::Send(message) => match outbox::check(&message) {
                Ok(()) => self.accept_message(call, message),
                Err(error) => self.out.reply(call, Err(error)),
            },
            other => {
                let error = format!("a satellite terminal does not support {other:?}");
                self.out.reply(
                    call,
                    Err(CallError::new(CallErrorKind::NotSupported, error)),
                );
            }
        }
    }

    fn on_committed(&mut self, key: &str) {
        self.commit_mt(key);
    }

    fn on_completed(&mut self, purpose: Purpose, result: Result<Response, AtError>) {
        match purpose {
            Purpose::Init(step) => self.on_init_step(step, result),
            Purpose::Signal(reason) => self.on_signal(reason, result),
            Purpose::Write { attempt } => self.on_written(attempt, result),
            Purpose::ClearMo(reason) => self.on_mo_cleared(reason, result),
            Purpose::ReadMomsn => self.on_momsn_read(result),
            Purpose::Transfer => self.on_transfer(result),
            Purpose::Download { attempt } => self.on_downloaded(attempt, result),
            Purpose::ClearMt => self.on_mt_cleared(result),
        }
    }

    fn on_urc(&mut self, urc: Urc) {
        if matches!(self.phase, Phase::NoResponse | Phase::Closed) {
            // Nothing is sent to a terminal counted as silent but the probe; once it answers,
            // the initialisation reads the signal and the buffers again.
            return;
        }
        let line = urc.line.as_str();
        if line.starts_with(RING_ALERT) {
            self.on_ring_alert();
        } else if let Some(indication) = parse_indication(line) {
            self.on_indication(indication);
        }
    }
}

/// Initialisation.
impl IridiumDriver {
    fn push_init(&mut self, step: InitStep) {
        self.link.push(step.command(), Purpose::Init(step));
    }

    fn on_init_step(&mut self, step: InitStep, result: Result<Response, AtError>) {
        if matches!(result, Err(AtError::Timeout)) {
            // Retried until three timeouts in a row declare the terminal silent.
            self.link.push_front(step.command(), Purpose::Init(step));
            return;
        }
        match init::advance(step, result, &mut self.facts) {
            Outcome::Next(next) => self.push_init(next),
            Outcome::Publish(update, next) => {
                self.out.push(self.link.with_state(*update));
                self.push_init(next);
            }
            Outcome::Warn(warning, next) => {
                self.out.log(LogLevel::Warn, warning);
                self.push_init(next);
            }
            Outcome::Failed(reason) => {
                self.out
                    .log(LogLevel::Error, format!("initialisation failed: {reason}"));
                self.phase = Phase::Failed(reason);
                self.link.publish("failed", reason, &mut self.out);
                let error = CallError::new(
                    CallErrorKind::NotReady,
                    format!("the terminal is not ready: {reason}"),
                );
                let messages = self.outbox.abandon_all();
                self.fail_messages(messages, &error);
            }
            Outcome::Configured => {
                self.link
                    .push(signal_command(), Purpose::Signal(SignalReason::Init));
            }
        }
    }
}

/// Signal and service.
impl IridiumDriver {
    fn on_signal(&mut self, reason: SignalReason, result: Result<Response, AtError>) {
        let timed_out = matches!(result, Err(AtError::Timeout));
        match result.as_ref().ok().and_then(|r| parse_bars(&r.lines)) {
            Some(bars) => {
                let update = self.signal.set_bars(bars, self.unix_time);
                self.out.signal(update);
            }
            None if timed_out => {}
            None => self
                .out
                .log(LogLevel::Warn, "AT+CSQ gave no signal reading"),
        }
        match reason {
            SignalReason::Init if self.phase == Phase::Initializing => self.become_ready(),
            SignalReason::Init => {}
            SignalReason::Refresh(call) => {
                let reply = if timed_out {
                    Err(CallError::new(
                        CallErrorKind::Timeout,
                        "the terminal did not read the signal in time",
                    ))
                } else {
                    Ok(CallReply::Done)
                };
                self.out.reply(call, reply);
                self.kick_session();
            }
            SignalReason::Poll => {
                self.arm_signal_poll();
                self.kick_session();
            }
        }
    }

    fn on_indication(&mut self, indication: Indication) {
        match indication {
            Indication::Signal(bars) => {
                let update = self.signal.set_bars(bars, self.unix_time);
                self.out.signal(update);
            }
            Indication::Service(available) => {
                self.signal.set_service(available);
                let text = if available {
                    "network service is available"
                } else {
                    "network service is unavailable"
                };
                self.out.log(LogLevel::Info, text);
                if available && self.handed_back {
                    // The host holds the messages handed back until it hears news of the
                    // device: the bars are.
                    self.read_signal_once();
                }
            }
        }
        self.kick_session();
    }

    /// Whether the `AT+CSQ` poll has to run: the terminal gives no indications, or work waits
    /// for service to return.
    fn signal_poll_needed(&self) -> bool {
        self.phase == Phase::Ready
            && self.options.signal_interval_ms > 0
            && (!self.facts.indications
                || (self.signal.service_unavailable()
                    && (self.session_wanted() || self.handed_back)))
    }

    /// Reads the signal (`AT+CSQ`) unless a reading is on its way already.
    fn read_signal_once(&mut self) {
        if !self.link.contains(|p| matches!(p, Purpose::Signal(_))) {
            self.link
                .push(signal_command(), Purpose::Signal(SignalReason::Poll));
        }
    }

    /// Arms the signal poll if it is needed and not armed yet.
    fn arm_signal_poll(&mut self) {
        if self.signal_poll_needed() && !self.signal_poll_armed {
            self.signal_poll_armed = true;
            self.out
                .set_timer(Timer::SignalPoll.id(), self.options.signal_interval_ms);
        }
    }
}

fn signal_command() -> Command {
    Command::new("AT+CSQ", SIGNAL_TIMEOUT_MS)
}
