//! SBD sessions: one at a time, each one `AT+SBDIX` (or `AT+SBDIXA` to answer a ring alert)
//! that sends the first outbox message, if any, and checks the mailbox.
//!
//! ```text
//! Idle --work wanted, service, power budget and backoff allow--> Transfer
//! Transfer: [AT+SBDWB=<len>, READY, message+checksum] or [AT+SBDD0 when no message goes]
//!           then [AT+SBDS when a message goes and the MOMSN is unknown, see crate::resume]
//!           then AT+SBDIX --> +SBDIX: <MO status>, <MOMSN>, <MT status>, <MTMSN>, <MT length>, <MT queued>
//!   MT status 1 --> Download (AT+SBDRB) --> AwaitingCommit --MessageCommitted--> ClearingMt (AT+SBDD1) --> Idle
//!   otherwise   --> Idle
//! ```
//!
//! Work is the outbox (FIFO), `Poll` calls, ring alerts and messages still queued at the
//! gateway. A session never starts while the terminal reports no service, nor sooner than
//! `min_session_interval` after the last one; after failures, retries wait a doubling delay up to
//! `max_backoff` (polls and ring alerts skip the backoff, not the minimum interval). Nothing
//! spins: every wait is a host timer.

use std::collections::BTreeMap;

use m2mhal_at::{AtError, Command, Response};
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, Effect, IncomingMessage, LogLevel, MessageState,
    OutgoingMessage,
};

use super::{IridiumDriver, Phase, Purpose};
use crate::options::Options;
use crate::outbox::Outgoing;
use crate::parse::result_code;
use crate::resume::{self, Recorded};
use crate::sbd::{WriteResult, message_key, read_block, write_payload};
use crate::sbdix::{MoClass, MtStatus, SessionResult};
use crate::timers::{REGISTRATION_WAIT_MS, Timer, retry_delay};

/// `AT+SBDWB`: the terminal answers right after the message (it waits up to 60 s for it).
const WRITE_TIMEOUT_MS: u64 = 15_000;
/// MO status 32: "no network service, unable to initiate call".
const NO_NETWORK_SERVICE: u8 = 32;
/// `AT+SBDIX`: a session takes from seconds to about a minute.
const TRANSFER_TIMEOUT_MS: u64 = 90_000;
/// `AT+SBDRB`: up to 1964 bytes at 19200 baud.
const READ_TIMEOUT_MS: u64 = 10_000;
/// `AT+SBDD0` / `AT+SBDD1`.
const CLEAR_TIMEOUT_MS: u64 = 5_000;
/// `AT+SBDS`.
const STATUS_TIMEOUT_MS: u64 = 5_000;
/// Writes of one message before it fails (`AT+SBDWB` results 1 and 2 are retried once), and
/// reads of one MT message before that copy is given up.
const MAX_BUFFER_ATTEMPTS: u8 = 2;

/// Where the SBD machinery is.
#[derive(Debug, Default)]
pub(super) enum Session {
    /// No session; the next one starts when work is wanted and allowed.
    #[default]
    Idle,
    /// Writing the MO buffer (or clearing it) and running the session.
    Transfer(Transfer),
    /// Reading the MT buffer.
    Download(MtMessage),
    /// The MT message went to the host; waiting for `MessageCommitted` with `key`.
    AwaitingCommit {
        /// The key of the message.
        key: String,
        /// The message.
        message: MtMessage,
    },
    /// `AT+SBDD1` after the commit.
    ClearingMt(MtMessage),
}

/// A session in its radio part.
#[derive(Debug)]
pub(super) struct Transfer {
    /// The mailbox demand this session serves.
    demand: MailboxDemand,
    /// Whether the first outbox message goes along.
    carries_mo: bool,
    /// Whether `AT+SBDS` was read for this session (once, even when it gave no MOMSN).
    momsn_read: bool,
}

/// A message in the MT buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MtMessage {
    /// Its sequence number.
    mtmsn: u16,
    /// Messages still queued at the gateway behind it.
    queued: u16,
}

/// Why the mailbox should be checked.
#[derive(Debug, Default)]
pub(super) struct MailboxDemand {
    /// `Poll` calls to answer with the check's outcome.
    polls: Vec<u64>,
    /// A ring alert came: answer it with `AT+SBDIXA`.
    ring: bool,
    /// Messages wait at the gateway (or a check failed and must be done again).
    queued: bool,
}

impl MailboxDemand {
    /// Whether a check is wanted at all.
    fn wanted(&self) -> bool {
        !self.polls.is_empty() || self.ring || self.queued
    }

    /// Whether someone waits for it now (it skips the retry backoff).
    fn urgent(&self) -> bool {
        !self.polls.is_empty() || self.ring
    }

    /// Takes back the demand of a session that did not check the mailbox.
    fn merge(&mut self, other: MailboxDemand) {
        self.polls.extend(other.polls);
        self.ring |= other.ring;
        self.queued |= other.queued;
    }
}

/// When the next session may start.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    /// No session starts before this: the power budget (and the 3 minutes of MO status 36).
    not_before_ms: u64,
    /// Retries after failures wait until this.
    retry_at_ms: u64,
    /// Failed sessions in a row.
    failures: u32,
}

impl Schedule {
    /// When a session may start; `urgent` ones skip the backoff.
    fn due(&self, urgent: bool) -> u64 {
        if urgent {
            self.not_before_ms
        } else {
            self.not_before_ms.max(self.retry_at_ms)
        }
    }

    /// A session ended at `now_ms`; returns how long a retry waits.
    fn ended(
        &mut self,
        now_ms: u64,
        succeeded: bool,
        wait_3_minutes: bool,
        options: &Options,
    ) -> u64 {
        self.not_before_ms = now_ms.saturating_add(options.min_session_interval_ms);
        if wait_3_minutes {
            self.not_before_ms = self
                .not_before_ms
                .max(now_ms.saturating_add(REGISTRATION_WAIT_MS));
        }
        if succeeded {
            self.failures = 0;
            self.retry_at_ms = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
            let delay = retry_delay(
                self.failures,
                options.min_session_interval_ms,
                options.max_backoff_ms,
            );
            self.retry_at_ms = now_ms.saturating_add(delay);
        }
        self.due(false).saturating_sub(now_ms)
    }
}

/// Why the MO buffer is cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClearReason {
    /// A mailbox session without a message: an old message must not go again.
    BeforeMailbox,
    /// The message in it was sent or rejected.
    AfterSession,
}

/// Starting sessions.
impl IridiumDriver {
    pub(super) fn on_poll(&mut self, call: u64) {
        if self.signal.service_unavailable() {
            self.mailbox.queued = true;
            self.arm_signal_poll();
            let error = CallError::new(
                CallErrorKind::NotReady,
                "no satellite service now; the mailbox is checked once service returns",
            );
            self.out.reply(call, Err(error));
            return;
        }
        self.mailbox.polls.push(call);
        self.kick_session();
    }

    pub(super) fn on_ring_alert(&mut self) {
        self.out.log(
            LogLevel::Info,
            "SBD ring alert: the gateway holds a message; answering with AT+SBDIXA",
        );
        self.mailbox.ring = true;
        self.kick_session();
    }

    /// Whether there is work for a session.
    pub(super) fn session_wanted(&self) -> bool {
        self.outbox.head().is_some() || self.mailbox.wanted()
    }

    /// Starts a session if one is wanted and allowed now, or arms the timer for when it is.
    pub(super) fn kick_session(&mut self) {
        if !self.signal.service_unavailable() {
            self.handed_back = false;
        }
        if self.phase != Phase::Ready
            || !matches!(self.session, Session::Idle)
            || !self.session_wanted()
        {
            return;
        }
        if self.signal.service_unavailable() {
            self.wait_for_service();
            return;
        }
        let due = self.schedule.due(self.mailbox.urgent());
        if due > self.now_ms {
            self.out.set_timer(Timer::Session.id(), due - self.now_ms);
        } else {
            self.start_session();
        }
    }

    /// No service: polls are answered now, and so are the messages no session may have
    /// delivered (`NotReady`: they wait host-side, where another uplink may take them); the rest
    /// waits for `+CIEV:1,1` or the signal poll.
    fn wait_for_service(&mut self) {
        let polls = std::mem::take(&mut self.mailbox.polls);
        if !polls.is_empty() {
            self.mailbox.queued = true;
        }
        for call in polls {
            let error = CallError::new(
                CallErrorKind::NotReady,
                "no satellite service now; the mailbox is checked once service returns",
            );
            self.out.reply(call, Err(error));
        }
        self.hand_back_messages();
        self.arm_signal_poll();
    }

    /// Answers `NotReady` to every message no session may have delivered. A message that went
    /// through sessions first gets its `momsn_pending` cleared (write-ahead, before the answer):
    /// none of them reached the gateway, and when it comes back its old MOMSN must not read as
    /// "sent before a restart" (see [`crate::resume`]).
    fn hand_back_messages(&mut self) {
        for message in self.outbox.take_certain() {
            self.handed_back = true;
            if message.attempts > 0 {
                let record = resume::session_record(message.attempts, None);
                self.message_state(message.id.clone(), record);
            }
            self.out.log(
                LogLevel::Info,
                format!(
                    "message {}: no satellite service; the host keeps it until there is",
                    message.id
                ),
            );
            let error = CallError::new(
                CallErrorKind::NotReady,
                "no satellite service now; nothing was sent",
            );
            self.out.reply(message.call, Err(error));
        }
    }

    /// A message handed over by `Send`: queued, or answered at once when a session before a
    /// restart delivered it already (see [`crate::resume`]).
    pub(super) fn accept_message(&mut self, call: u64, message: OutgoingMessage) {
        let recorded = Recorded::from_progress(&message.progress);
        if let Some(momsn) = recorded.sent_as(self.facts.momsn) {
            self.out.log(
                LogLevel::Info,
                format!(
                    "message {} reached the gateway before the restart (MOMSN {momsn}); not sending it again",
                    message.id
                ),
            );
            let info = BTreeMap::from([
                ("momsn".to_owned(), momsn.to_string()),
                ("attempts".to_owned(), recorded.attempts.to_string()),
            ]);
            self.out.reply(call, Ok(CallReply::Sent(info)));
            return;
        }
        self.outbox.push(call, message, recorded.attempts);
        self.kick_session();
    }

    fn start_session(&mut self) {
        let demand = std::mem::take(&mut self.mailbox);
        let carries_mo = self.outbox.head().is_some();
        self.session = Session::Transfer(Transfer {
            demand,
            carries_mo,
            momsn_read: false,
        });
        if carries_mo && !self.outbox.is_written() {
            self.push_write(1);
        } else if !carries_mo && !self.mo_clear {
            self.link.push_front(
                Command::new("AT+SBDD0", CLEAR_TIMEOUT_MS),
                Purpose::ClearMo(ClearReason::BeforeMailbox),
            );
        } else {
            self.push_transfer();
        }
    }

    fn push_write(&mut self, attempt: u8) {
        let Some(message) = self.outbox.head() else {
            return;
        };
        let command = Command::new(
            format!("AT+SBDWB={}", message.payload.len()),
            WRITE_TIMEOUT_MS,
        )
        .with_prompt_payload(write_payload(&message.payload));
        self.outbox.set_written(false);
        self.mo_clear = false;
        self.link.push_front(command, Purpose::Write { attempt });
    }

    /// Starts the session itself. With a message, the MOMSN it uses is read first when unknown,
    /// and the attempt and MOMSN are recorded before `AT+SBDIX` goes out (write-ahead).
    fn push_transfer(&mut self) {
        let Session::Transfer(transfer) = &self.session else {
            return;
        };
        let line = if transfer.demand.ring {
            "AT+SBDIXA"
        } else {
            "AT+SBDIX"
        };
        if transfer.carries_mo {
            if self.next_momsn.is_none() && !transfer.momsn_read {
                self.link.push_front(
                    Command::new("AT+SBDS", STATUS_TIMEOUT_MS),
                    Purpose::ReadMomsn,
                );
                return;
            }
            let momsn = self.next_momsn;
            if let Some(message) = self.outbox.count_attempt() {
                let (id, attempt) = (message.id.clone(), message.attempts);
                self.message_state(id, resume::session_record(attempt, momsn));
            }
        }
        self.link
            .push_front(Command::new(line, TRANSFER_TIMEOUT_MS), Purpose::Transfer);
    }

    pub(super) fn on_momsn_read(&mut self, result: Result<Response, AtError>) {
        let Session::Transfer(transfer) = &mut self.session else {
            return;
        };
        transfer.momsn_read = true;
        self.next_momsn = result
            .ok()
            .and_then(|response| resume::next_momsn(&response.lines));
        self.push_transfer();
    }
}

/// The radio part: write, clear, transfer.
impl IridiumDriver {
    pub(super) fn on_written(&mut self, attempt: u8, result: Result<Response, AtError>) {
        if !matches!(self.session, Session::Transfer(_)) {
            return;
        }
        let written = match &result {
            Err(AtError::Timeout) => return self.push_write(attempt),
            Err(error) => Err(format!("AT+SBDWB failed: {error}")),
            Ok(response) => result_code(&response.lines)
                .and_then(WriteResult::from_code)
                .ok_or_else(|| "AT+SBDWB gave no result code".to_owned()),
        };
        let why = match written {
            Ok(WriteResult::Written) => {
                self.outbox.set_written(true);
                return self.push_transfer();
            }
            Ok(WriteResult::BadSize) => {
                let size = self
                    .outbox
                    .head()
                    .map_or(0, |message| message.payload.len());
                let error = CallError::new(
                    CallErrorKind::PayloadTooLarge,
                    format!(
                        "{}: the terminal refused {size} bytes",
                        WriteResult::BadSize
                    ),
                );
                return self.drop_unsent(error);
            }
            Ok(other) => other.to_string(),
            Err(why) => why,
        };
        if attempt < MAX_BUFFER_ATTEMPTS {
            self.out
                .log(LogLevel::Warn, format!("{why}; writing the message again"));
            self.push_write(attempt + 1);
        } else {
            let error = CallError::new(
                CallErrorKind::Failed,
                format!("{why} (after {MAX_BUFFER_ATTEMPTS} writes)"),
            );
            self.drop_unsent(error);
        }
    }

    /// The first message cannot be written: it fails without a session; the rest goes on.
    fn drop_unsent(&mut self, error: CallError) {
        let Session::Transfer(transfer) = std::mem::take(&mut self.session) else {
            return;
        };
        if let Some(message) = self.outbox.pop() {
            self.out.log(
                LogLevel::Warn,
                format!("message {} not sent: {}", message.id, error.message),
            );
            self.out.reply(message.call, Err(error));
        }
        self.mailbox.merge(transfer.demand);
        self.kick_session();
    }

    pub(super) fn on_mo_cleared(&mut self, reason: ClearReason, result: Result<Response, AtError>) {
        let cleared = matches!(&result, Ok(response) if result_code(&response.lines) == Some(0));
        self.mo_clear = cleared;
        match reason {
            ClearReason::AfterSession if !cleared => self.out.log(
                LogLevel::Warn,
                "AT+SBDD0 did not clear the MO buffer; it is cleared before the next mailbox check",
            ),
            ClearReason::AfterSession => {}
            ClearReason::BeforeMailbox => {
                if !matches!(self.session, Session::Transfer(_)) {
                    return;
                }
                if matches!(result, Err(AtError::Timeout)) {
                    self.link.push_front(
                        Command::new("AT+SBDD0", CLEAR_TIMEOUT_MS),
                        Purpose::ClearMo(reason),
                    );
                } else if cleared {
                    self.push_transfer();
                } else if let Session::Transfer(transfer) = std::mem::take(&mut self.session) {
                    let why = "AT+SBDD0 could not clear the MO buffer".to_owned();
                    self.session_failed(transfer, &why);
                }
            }
        }
    }

    pub(super) fn on_transfer(&mut self, result: Result<Response, AtError>) {
        let Session::Transfer(transfer) = std::mem::take(&mut self.session) else {
            return;
        };
        let parsed = match &result {
            Ok(response) => SessionResult::parse(&response.lines)
                .ok_or_else(|| format!("unreadable session result {:?}", response.lines)),
            Err(AtError::Timeout) => Err(format!(
                "no session result within {} s",
                TRANSFER_TIMEOUT_MS / 1000
            )),
            Err(error) => Err(format!("AT+SBDIX failed: {error}")),
        };
        match parsed {
            Ok(outcome) => self.on_session_result(transfer, outcome),
            Err(why) => self.session_failed(transfer, &why),
        }
    }

    /// A session ended without a result to read (or could not start): everything it served
    /// waits for a retry.
    fn session_failed(&mut self, transfer: Transfer, why: &str) {
        self.next_momsn = None;
        let wait_ms = self
            .schedule
            .ended(self.now_ms, false, false, &self.options);
        self.out
            .log(LogLevel::Warn, format!("SBD session failed: {why}"));
        for call in &transfer.demand.polls {
            let error = CallError::new(
                CallErrorKind::Failed,
                format!("mailbox check failed: {why}"),
            );
            self.out.reply(*call, Err(error));
        }
        self.mailbox.queued |= transfer.demand.wanted();
        if transfer.carries_mo {
            // No result to read: the gateway may have the message.
            self.outbox.head_uncertain();
            self.message_will_retry(why, wait_ms);
        }
        self.kick_session();
    }

    fn on_session_result(&mut self, transfer: Transfer, result: SessionResult) {
        let mo = result.mo_status;
        self.out.log(
            LogLevel::Info,
            format!(
                "SBD session: {mo}; MOMSN {}, MT status {:?}, MTMSN {}, MT length {}, MT queued {}",
                result.momsn, result.mt_status, result.mtmsn, result.mt_length, result.mt_queued
            ),
        );
        if mo.code() == 1 {
            self.out.log(
                LogLevel::Warn,
                "the gateway holds an MT message too big for this terminal; it cannot be downloaded",
            );
        }
        // Only a session that completed with the gateway counts the MOMSN up.
        self.next_momsn = (mo.class() == MoClass::Success).then(|| result.momsn.wrapping_add(1));
        let wait_ms = self.schedule.ended(
            self.now_ms,
            result.succeeded(),
            mo.must_wait_for_registration(),
            &self.options,
        );
        let clear_mo = transfer.carries_mo && self.settle_message(&result, wait_ms);
        let mailbox_checked = result.mt_status != MtStatus::Error;
        for call in &transfer.demand.polls {
            let reply = if mailbox_checked {
                Ok(CallReply::Done)
            } else {
                Err(CallError::new(
                    CallErrorKind::Failed,
                    format!("mailbox check failed: {mo}; MT status 2: mailbox check error"),
                ))
            };
            self.out.reply(*call, reply);
        }
        let terminal_failure = match mo.class() {
            MoClass::TerminalFailed(reason) => Some(reason),
            _ => None,
        };
        self.mailbox.queued |= (!mailbox_checked && transfer.demand.wanted())
            || (result.mt_status != MtStatus::Received && result.mt_queued > 0);
        if result.mt_status == MtStatus::Received && terminal_failure.is_none() {
            self.session = Session::Download(MtMessage {
                mtmsn: result.mtmsn,
                queued: result.mt_queued,
            });
            self.push_download(1);
        }
        if clear_mo {
            // Pushed last to the front: it runs before the download.
            self.link.push_front(
                Command::new("AT+SBDD0", CLEAR_TIMEOUT_MS),
                Purpose::ClearMo(ClearReason::AfterSession),
            );
        }
        if let Some(reason) = terminal_failure {
            return self.fail_terminal(reason, &mo.to_string());
        }
        self.kick_session();
    }

    /// Answers or reschedules the message the session carried; returns whether the MO buffer is
    /// to be cleared (the message left it for good).
    fn settle_message(&mut self, result: &SessionResult, wait_ms: u64) -> bool {
        let mo = result.mo_status;
        match mo.class() {
            MoClass::Success => {
                if let Some(message) = self.outbox.pop() {
                    self.out.log(
                        LogLevel::Info,
                        format!("message {} sent: MOMSN {}", message.id, result.momsn),
                    );
                    let info = BTreeMap::from([
                        ("momsn".to_owned(), result.momsn.to_string()),
                        ("mo_status".to_owned(), mo.code().to_string()),
                        ("attempts".to_owned(), message.attempts.to_string()),
                    ]);
                    self.out.reply(message.call, Ok(CallReply::Sent(info)));
                }
                true
            }
            MoClass::Transient => {
                if mo.code() == NO_NETWORK_SERVICE {
                    self.signal.session_found_no_service();
                    self.arm_signal_poll();
                }
                self.message_will_retry(&mo.to_string(), wait_ms);
                false
            }
            MoClass::MessageRejected | MoClass::TerminalFailed(_) => {
                if let Some(message) = self.outbox.pop() {
                    self.out.log(
                        LogLevel::Error,
                        format!("message {} failed: {mo}", message.id),
                    );
                    let error = CallError::new(CallErrorKind::Failed, mo.to_string());
                    self.out.reply(message.call, Err(error));
                }
                true
            }
        }
    }

    /// The first message stays and goes again in `wait_ms` at the earliest.
    fn message_will_retry(&mut self, why: &str, wait_ms: u64) {
        let Some(message) = self.outbox.head() else {
            return;
        };
        let (id, attempts) = (message.id.clone(), message.attempts);
        let wait_s = wait_ms.div_ceil(1000);
        self.out.log(
            LogLevel::Warn,
            format!("message {id}: attempt {attempts} failed: {why}; next try in {wait_s} s"),
        );
        let info = BTreeMap::from([
            ("attempt".to_owned(), attempts.to_string()),
            ("last_error".to_owned(), why.to_owned()),
            (
                "next_attempt_at".to_owned(),
                self.unix_time.saturating_add(wait_s).to_string(),
            ),
        ]);
        self.message_state(id, info);
    }

    fn message_state(&mut self, id: String, info: BTreeMap<String, String>) {
        self.out.push(Effect::MessageState {
            id,
            state: MessageState::Sending,
            error: String::new(),
            info,
        });
    }
}

/// Mobile-terminated messages.
impl IridiumDriver {
    /// Initialisation found a message in the MT buffer: read it again (the host stores it once).
    pub(super) fn download_left_message(&mut self, mtmsn: u16) {
        self.out.log(
            LogLevel::Info,
            format!("MT message MTMSN {mtmsn} is still in the MT buffer: reading it again"),
        );
        self.session = Session::Download(MtMessage { mtmsn, queued: 0 });
        self.push_download(1);
    }

    fn push_download(&mut self, attempt: u8) {
        self.link.push_front(
            Command::new("AT+SBDRB", READ_TIMEOUT_MS).with_binary_response(),
            Purpose::Download { attempt },
        );
    }

    pub(super) fn on_downloaded(&mut self, attempt: u8, result: Result<Response, AtError>) {
        let Session::Download(message) = self.session else {
            return;
        };
        let block = match result {
            Err(AtError::Timeout) => return self.push_download(attempt),
            Err(error) => Err(format!("AT+SBDRB failed: {error}")),
            Ok(response) => response
                .binary
                .ok_or_else(|| "AT+SBDRB sent no binary block".to_owned()),
        };
        let payload = block.and_then(|block| {
            read_block(&block)
                .map(<[u8]>::to_vec)
                .map_err(|e| e.to_string())
        });
        match payload {
            Ok(payload) => self.deliver(message, payload),
            Err(why) if attempt < MAX_BUFFER_ATTEMPTS => {
                self.out.log(
                    LogLevel::Warn,
                    format!(
                        "MT message MTMSN {}: {why}; reading it again",
                        message.mtmsn
                    ),
                );
                self.push_download(attempt + 1);
            }
            Err(why) => {
                self.out.log(
                    LogLevel::Warn,
                    format!(
                        "MT message MTMSN {}: {why}; giving up on this copy",
                        message.mtmsn
                    ),
                );
                self.mt_done(message);
            }
        }
    }

    fn deliver(&mut self, message: MtMessage, payload: Vec<u8>) {
        let key = message_key(message.mtmsn, &payload);
        let incoming = IncomingMessage {
            key: key.clone(),
            peer: String::new(),
            text: String::from_utf8(payload.clone()).ok(),
            payload,
            timestamp: self.unix_time,
            info: BTreeMap::from([
                ("mtmsn".to_owned(), message.mtmsn.to_string()),
                ("mt_queued".to_owned(), message.queued.to_string()),
            ]),
        };
        self.session = Session::AwaitingCommit { key, message };
        self.out.push(Effect::MessageReceived(incoming));
    }

    /// The host committed the message with key `committed`: clears the MT buffer if it held it.
    pub(super) fn commit_mt(&mut self, committed: &str) {
        let Session::AwaitingCommit { key, message } = &self.session else {
            return;
        };
        if key != committed {
            return;
        }
        self.session = Session::ClearingMt(*message);
        self.push_clear_mt();
    }

    fn push_clear_mt(&mut self) {
        self.link
            .push_front(Command::new("AT+SBDD1", CLEAR_TIMEOUT_MS), Purpose::ClearMt);
    }

    pub(super) fn on_mt_cleared(&mut self, result: Result<Response, AtError>) {
        let Session::ClearingMt(message) = self.session else {
            return;
        };
        match &result {
            Err(AtError::Timeout) => return self.push_clear_mt(),
            Ok(response) if result_code(&response.lines) == Some(0) => {}
            _ => self.out.log(
                LogLevel::Warn,
                format!("AT+SBDD1 did not clear MT message MTMSN {}", message.mtmsn),
            ),
        }
        self.mt_done(message);
    }

    /// The MT message is dealt with: sessions go on, for the messages still queued too.
    fn mt_done(&mut self, message: MtMessage) {
        self.session = Session::Idle;
        self.mailbox.queued |= message.queued > 0;
        self.kick_session();
    }

    /// Ends the session machinery (restart, hangup, silence); answers its polls with `error`
    /// and returns the message a running session carried (it may have reached the gateway).
    pub(super) fn abandon_session(&mut self, error: &CallError) -> Option<Outgoing> {
        let polls = std::mem::take(&mut self.mailbox).polls;
        self.out.fail_all(polls, error);
        let Session::Transfer(transfer) = std::mem::take(&mut self.session) else {
            return None;
        };
        self.out.fail_all(transfer.demand.polls, error);
        if !transfer.carries_mo {
            return None;
        }
        self.outbox.head_uncertain();
        self.outbox.pop()
    }
}
