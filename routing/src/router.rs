//! Routed messages over a route's uplinks.
//!
//! ```text
//!   queue / restore        poll: first uplink that is available,
//!  ────────────────> queued ── fits and is within budget ─────> sending (attempt on uplink U)
//!                     ^  │                                        │
//!                     │  └─ ttl passed ─> failed "expired"        ├─ Sent ──────────> sent
//!                     │                                           ├─ Failed ─> queued (U is
//!                     │                                           │            out for this
//!                     │                                           │            message)
//!                     │  poll: failover_after passed, U lost      │
//!                     │  availability or ttl passed -> Withdraw   │
//!                     └──────────────────── Withdrawn ────────────┤
//!                                           InFlight: wait for its outcome; ask again only
//!                                           when the uplink's status or the attempt
//!                                           changes, or after a back-off (failover_after,
//!                                           at least 30 s, doubled at each answer, up to
//!                                           15 min)
//! ```
//!
//! One attempt at a time per message: the next uplink is tried only once the attempt on the
//! previous one is over (sent, failed, or withdrawn before it reached the wire). An attempt that
//! may still deliver (in flight, or timed out on the wire) is never withdrawn: the daemon answers
//! [`AttemptOutcome::InFlight`] and the router waits. A message fails for good when every uplink
//! of its route failed it, when it is too large for every uplink, or when its ttl passed.
//! Every change is a [`Change`] the daemon commits before it signals it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::budget::{Budget, Ledger};

/// The shortest wait before a withdraw answered [`AttemptOutcome::InFlight`] is asked again when
/// nothing changed (seconds).
const WITHDRAW_BACKOFF_MIN: u64 = 30;
/// The longest such wait (seconds): the back-off doubles at each such answer up to this.
const WITHDRAW_BACKOFF_MAX: u64 = 15 * 60;

/// One uplink of a route, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkSpec {
    /// A device Id (`imei:...`) or `mqtt:<name>`.
    pub uplink: String,
    /// The destination on that uplink (phone number; "" for a satellite gateway).
    pub destination: String,
    /// Its byte budget, if any.
    pub budget: Option<Budget>,
}

/// A route: a name and its uplinks in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The route's name.
    pub name: String,
    /// Seconds an attempt may take before the next uplink is tried (0: no limit).
    pub failover_after: u64,
    /// The uplinks, first preferred.
    pub uplinks: Vec<UplinkSpec>,
}

/// What the router knows of an uplink now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UplinkStatus {
    /// Ready to carry messages (device ready and registered, or satellite signal, or broker
    /// connected).
    pub available: bool,
    /// Largest payload it takes (0: unknown, any size is tried).
    pub max_payload: u32,
}

/// Text or binary payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 text.
    Text,
    /// 8-bit data.
    Binary,
}

/// Which messages go first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// In order of arrival.
    #[default]
    Normal,
    /// Before every normal message.
    High,
}

impl Priority {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }
}

/// A routed message's state, as `Router.List` and `Router.StateChanged` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutedState {
    /// Waiting for an uplink.
    Queued,
    /// An attempt is under way.
    Sending,
    /// Carried (final).
    Sent,
    /// Given up (final).
    Failed,
}

impl RoutedState {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutedState::Queued => "queued",
            RoutedState::Sending => "sending",
            RoutedState::Sent => "sent",
            RoutedState::Failed => "failed",
        }
    }

    /// Whether nothing more happens to the message.
    pub fn is_final(self) -> bool {
        matches!(self, RoutedState::Sent | RoutedState::Failed)
    }
}

/// The attempt under way on one uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The uplink carrying it.
    pub uplink: String,
    /// When it started (unix seconds).
    pub started: u64,
    /// Whether a withdraw was asked and is not answered yet.
    pub withdrawing: bool,
}

/// A message on a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedMessage {
    /// The store's id.
    pub id: String,
    /// The route's name.
    pub route: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Text or binary.
    pub encoding: Encoding,
    /// Which go first.
    pub priority: Priority,
    /// Unix seconds after which it fails as `expired` (none: never).
    pub expires: Option<u64>,
    /// Its state.
    pub state: RoutedState,
    /// The uplink of the attempt under way or the one that carried it ("" otherwise).
    pub uplink: String,
    /// Attempts started so far.
    pub attempts: u32,
    /// Why the last attempt did not deliver, or why it failed.
    pub error: String,
    /// The attempt under way.
    pub attempt: Option<Attempt>,
    /// Uplinks that failed this message (not tried again).
    pub failed_uplinks: BTreeSet<String>,
    /// Uplinks passed over in this round (did not deliver in time); tried again once every
    /// other uplink was.
    pub passed_uplinks: BTreeSet<String>,
}

impl RoutedMessage {
    /// A new message, `queued`.
    pub fn new(id: &str, route: &str, payload: Vec<u8>, encoding: Encoding) -> Self {
        RoutedMessage {
            id: id.to_owned(),
            route: route.to_owned(),
            payload,
            encoding,
            priority: Priority::Normal,
            expires: None,
            state: RoutedState::Queued,
            uplink: String::new(),
            attempts: 0,
            error: String::new(),
            attempt: None,
            failed_uplinks: BTreeSet::new(),
            passed_uplinks: BTreeSet::new(),
        }
    }

    fn len(&self) -> u64 {
        self.payload.len() as u64
    }
}

/// A routed message's new state, to commit and then signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The message.
    pub id: String,
    /// Its new state.
    pub state: RoutedState,
    /// The uplink trying or that carried it ("" while queued).
    pub uplink: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Why ("" when none).
    pub error: String,
}

/// What the router asks of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterAction {
    /// Commit the message's new state (with the message's facts), then signal it.
    Changed(Change),
    /// Hand the message to `uplink` (to `destination` there): the attempt starts.
    Attempt {
        /// The message.
        id: String,
        /// The uplink.
        uplink: String,
        /// Where to on that uplink.
        destination: String,
        /// The bytes.
        payload: Vec<u8>,
        /// Text or binary.
        encoding: Encoding,
    },
    /// Take the message's attempt back from `uplink` if it has not reached the wire; answer
    /// with [`AttemptOutcome::Withdrawn`] or [`AttemptOutcome::InFlight`].
    Withdraw {
        /// The message.
        id: String,
        /// The uplink.
        uplink: String,
    },
    /// Record that `bytes` went through `uplink` at `at` (its budget ledger).
    Spent {
        /// The uplink.
        uplink: String,
        /// Unix seconds.
        at: u64,
        /// Payload bytes.
        bytes: u64,
    },
}

/// How an attempt ended, or the answer to a withdraw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The uplink reported it sent.
    Sent,
    /// The uplink gave up on it (why).
    Failed(String),
    /// Taken back before it reached the wire.
    Withdrawn,
    /// It may still be delivered (on the wire, or timed out there): not withdrawn.
    InFlight,
}

/// Why a message is not accepted onto a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No route has this name.
    #[error("no route named {0:?}")]
    UnknownRoute(String),
    /// A ttl of 0 would expire at once.
    #[error("option \"ttl\" must be at least 1 second")]
    ZeroTtl,
    /// No uplink of the route can ever carry it.
    #[error("payload is {len} bytes; no uplink of route {route:?} takes it ({reasons})")]
    TooLarge {
        /// The route.
        route: String,
        /// The payload's size.
        len: usize,
        /// Per uplink, why not.
        reasons: String,
    },
}

/// An uplink of a route as `Router.Routes` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkView {
    /// Device Id or `mqtt:<name>`.
    pub uplink: String,
    /// Whether it is available now.
    pub available: bool,
    /// Bytes left in its budget, -1 when unlimited.
    pub budget_left: i64,
}

/// A route as `Router.Routes` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// The route's name.
    pub name: String,
    /// Its uplinks in order.
    pub uplinks: Vec<UplinkView>,
}

/// Every route and the messages on them.
#[derive(Debug, Default)]
pub struct Router {
    routes: BTreeMap<String, RouteSpec>,
    status: HashMap<String, UplinkStatus>,
    ledgers: HashMap<String, Ledger>,
    /// Messages not final yet, in order of arrival.
    messages: Vec<RoutedMessage>,
    /// By message id: the attempts whose uplink answered a withdraw with
    /// [`AttemptOutcome::InFlight`], and when to ask again.
    held: HashMap<String, Held>,
}

/// An attempt that may still deliver: its uplink said so when asked to withdraw it.
#[derive(Debug, Clone, Copy)]
struct Held {
    /// The uplink's status when it answered (a change is worth asking again).
    status: Option<UplinkStatus>,
    /// Seconds waited before asking again with nothing changed.
    backoff: u64,
    /// When to ask again with nothing changed (unix seconds).
    ask_again: u64,
}

impl Held {
    /// The answer at `now`, after the one `before` (if any) for the same attempt.
    fn new(
        before: Option<Held>,
        failover_after: u64,
        status: Option<UplinkStatus>,
        now: u64,
    ) -> Self {
        let backoff = match before {
            Some(before) => before.backoff.saturating_mul(2),
            None => failover_after.max(WITHDRAW_BACKOFF_MIN),
        }
        .min(WITHDRAW_BACKOFF_MAX);
        Held {
            status,
            backoff,
            ask_again: now + backoff,
        }
    }

    /// Whether to ask again at `now`, the uplink's status being `status`.
    fn due(&self, status: Option<UplinkStatus>, now: u64) -> bool {
        status != self.status || now >= self.ask_again
    }
}

impl Router {
    /// A router over `routes` (validated by the config).
    pub fn new(routes: Vec<RouteSpec>) -> Self {
        Router {
            routes: routes.into_iter().map(|r| (r.name.clone(), r)).collect(),
            ..Router::default()
        }
    }

    /// The routes, by name.
    pub fn routes(&self) -> impl Iterator<Item = &RouteSpec> {
        self.routes.values()
    }

    /// An uplink's availability or MaxPayload changed.
    pub fn set_status(&mut self, uplink: &str, status: UplinkStatus) {
        self.status.insert(uplink.to_owned(), status);
    }

    /// A ledger entry read back from the store.
    pub fn restore_spent(&mut self, uplink: &str, at: u64, bytes: u64) {
        self.ledgers
            .entry(uplink.to_owned())
            .or_default()
            .record(at, bytes);
    }

    /// Whether a message of `len` bytes with `ttl` may go onto `route` (checked before it is
    /// committed).
    pub fn check(&self, route: &str, len: usize, ttl: Option<u64>) -> Result<(), RouteError> {
        let spec = self
            .routes
            .get(route)
            .ok_or_else(|| RouteError::UnknownRoute(route.to_owned()))?;
        if ttl == Some(0) {
            return Err(RouteError::ZeroTtl);
        }
        let reasons: Vec<String> = spec
            .uplinks
            .iter()
            .filter_map(|u| {
                self.too_large(u, len as u64)
                    .map(|r| format!("{}: {r}", u.uplink))
            })
            .collect();
        if reasons.len() == spec.uplinks.len() {
            return Err(RouteError::TooLarge {
                route: route.to_owned(),
                len,
                reasons: reasons.join("; "),
            });
        }
        Ok(())
    }

    /// Why `uplink` can never carry `len` bytes, if it cannot.
    fn too_large(&self, uplink: &UplinkSpec, len: u64) -> Option<String> {
        let max = self.status.get(&uplink.uplink).map_or(0, |s| s.max_payload);
        if max > 0 && len > u64::from(max) {
            return Some(format!("MaxPayload {max}"));
        }
        match uplink.budget {
            Some(budget) if len > budget.bytes => Some(format!("budget {} bytes", budget.bytes)),
            _ => None,
        }
    }

    /// A message committed as `queued` (or read back from the store after a restart, with the
    /// attempt it had under way) joins the outbox.
    pub fn queue(&mut self, message: RoutedMessage) {
        if !message.state.is_final() && !self.messages.iter().any(|m| m.id == message.id) {
            self.messages.push(message);
        }
    }

    /// The messages not final yet, in order of arrival.
    pub fn messages(&self) -> &[RoutedMessage] {
        &self.messages
    }

    /// Whether an uplink is available now.
    pub fn is_available(&self, uplink: &str) -> bool {
        self.status.get(uplink).is_some_and(|s| s.available)
    }

    /// The routes with their uplinks' availability and budget left at `now`.
    pub fn view(&mut self, now: u64) -> Vec<RouteView> {
        let routes: Vec<RouteSpec> = self.routes.values().cloned().collect();
        routes
            .into_iter()
            .map(|route| RouteView {
                name: route.name,
                uplinks: route
                    .uplinks
                    .iter()
                    .map(|u| UplinkView {
                        uplink: u.uplink.clone(),
                        available: self.is_available(&u.uplink),
                        budget_left: u.budget.map_or(-1, |b| {
                            i64::try_from(self.ledger(&u.uplink).left(&b, now)).unwrap_or(i64::MAX)
                        }),
                    })
                    .collect(),
            })
            .collect()
    }

    fn ledger(&mut self, uplink: &str) -> &mut Ledger {
        self.ledgers.entry(uplink.to_owned()).or_default()
    }

    /// Bytes of attempts under way on `uplink` (they count against its budget until they end).
    fn reserved(&self, uplink: &str) -> u64 {
        self.messages
            .iter()
            .filter(|m| m.attempt.as_ref().is_some_and(|a| a.uplink == uplink))
            .map(RoutedMessage::len)
            .sum()
    }

    /// What is due at `now`: expiries, overdue or stranded attempts to withdraw, new attempts.
    pub fn poll(&mut self, now: u64) -> Vec<RouterAction> {
        let mut actions = Vec::new();
        let mut order: Vec<usize> = (0..self.messages.len()).collect();
        // High priority first; otherwise in order of arrival (the sort is stable).
        order.sort_by_key(|&i| std::cmp::Reverse(self.messages[i].priority));
        for i in order {
            self.step(i, now, &mut actions);
        }
        self.messages.retain(|m| !m.state.is_final());
        actions
    }

    fn step(&mut self, i: usize, now: u64, actions: &mut Vec<RouterAction>) {
        let Some(route) = self.routes.get(&self.messages[i].route).cloned() else {
            self.held.remove(&self.messages[i].id);
            let message = &mut self.messages[i];
            let error = format!("route {:?} is not configured any more", message.route);
            actions.push(finish(message, RoutedState::Failed, error));
            return;
        };
        let expired = self.messages[i].expires.is_some_and(|e| now >= e);
        if let Some(attempt) = &self.messages[i].attempt {
            let due = match self.held.get(&self.messages[i].id) {
                // It may still deliver: ask again only when its uplink changed or later.
                Some(held) => held.due(self.status.get(&attempt.uplink).copied(), now),
                None => {
                    let overdue =
                        route.failover_after > 0 && now >= attempt.started + route.failover_after;
                    overdue || !self.is_available(&attempt.uplink) || expired
                }
            };
            if !attempt.withdrawing && due {
                let uplink = attempt.uplink.clone();
                let message = &mut self.messages[i];
                if let Some(attempt) = message.attempt.as_mut() {
                    attempt.withdrawing = true;
                }
                actions.push(RouterAction::Withdraw {
                    id: message.id.clone(),
                    uplink,
                });
            }
            return;
        }
        if expired {
            let message = &mut self.messages[i];
            actions.push(finish(message, RoutedState::Failed, "expired".into()));
            return;
        }
        match self.choose(i, &route, now) {
            Choice::Wait => {}
            Choice::Fail(error) => {
                actions.push(finish(&mut self.messages[i], RoutedState::Failed, error));
            }
            Choice::Start(uplink) => {
                let message = &mut self.messages[i];
                message.attempt = Some(Attempt {
                    uplink: uplink.uplink.clone(),
                    started: now,
                    withdrawing: false,
                });
                message.attempts += 1;
                message.state = RoutedState::Sending;
                message.uplink = uplink.uplink.clone();
                message.error.clear();
                actions.push(RouterAction::Changed(change(message)));
                actions.push(RouterAction::Attempt {
                    id: message.id.clone(),
                    uplink: uplink.uplink,
                    destination: uplink.destination,
                    payload: message.payload.clone(),
                    encoding: message.encoding,
                });
            }
        }
    }

    /// Which uplink message `i` goes through now, if any.
    fn choose(&mut self, i: usize, route: &RouteSpec, now: u64) -> Choice {
        let len = self.messages[i].len();
        let left: Vec<&UplinkSpec> = route
            .uplinks
            .iter()
            .filter(|u| !self.messages[i].failed_uplinks.contains(&u.uplink))
            .collect();
        if left.is_empty() {
            let last = &self.messages[i].error;
            return Choice::Fail(format!(
                "every uplink of route {:?} failed: {last}",
                route.name
            ));
        }
        let fitting: Vec<&UplinkSpec> = left
            .into_iter()
            .filter(|u| self.too_large(u, len).is_none())
            .collect();
        if fitting.is_empty() {
            return Choice::Fail(format!(
                "payload of {len} bytes is larger than every uplink of route {:?} takes",
                route.name
            ));
        }
        let passed = &self.messages[i].passed_uplinks;
        let mut fresh: Vec<UplinkSpec> = fitting
            .iter()
            .filter(|u| !passed.contains(&u.uplink))
            .map(|u| (*u).clone())
            .collect();
        if fresh.is_empty() {
            // Every uplink was passed over once: a new round.
            self.messages[i].passed_uplinks.clear();
            fresh = fitting.into_iter().cloned().collect();
        }
        for uplink in fresh {
            if self.is_available(&uplink.uplink) && self.within_budget(&uplink, len, now) {
                return Choice::Start(uplink);
            }
        }
        Choice::Wait
    }

    fn within_budget(&mut self, uplink: &UplinkSpec, len: u64, now: u64) -> bool {
        let Some(budget) = uplink.budget else {
            return true;
        };
        let reserved = self.reserved(&uplink.uplink);
        let left = self.ledger(&uplink.uplink).left(&budget, now);
        len + reserved <= left
    }

    /// The uplink of message `id`'s attempt has news of it short of an outcome (its device
    /// queued it again after a session that did not carry it): a withdraw answered
    /// [`AttemptOutcome::InFlight`] is asked again at the next poll, when one is due.
    pub fn attempt_changed(&mut self, id: &str) {
        self.held.remove(id);
    }

    /// The attempt of message `id` ended (or a withdraw was answered) at `now`.
    pub fn outcome(&mut self, id: &str, outcome: AttemptOutcome, now: u64) -> Vec<RouterAction> {
        let Some(message) = self.messages.iter_mut().find(|m| m.id == id) else {
            return Vec::new();
        };
        let Some(attempt) = message.attempt.take() else {
            return Vec::new();
        };
        let held = self.held.remove(id);
        let actions = match outcome {
            AttemptOutcome::Sent => {
                let bytes = message.len();
                message.uplink = attempt.uplink.clone();
                let sent = finish(message, RoutedState::Sent, String::new());
                self.ledger(&attempt.uplink).record(now, bytes);
                let spent = RouterAction::Spent {
                    uplink: attempt.uplink,
                    at: now,
                    bytes,
                };
                vec![spent, sent]
            }
            AttemptOutcome::Failed(error) => {
                message.failed_uplinks.insert(attempt.uplink.clone());
                vec![requeue(message, format!("{}: {error}", attempt.uplink))]
            }
            AttemptOutcome::Withdrawn => {
                message.passed_uplinks.insert(attempt.uplink.clone());
                let error = format!("{} did not deliver in time", attempt.uplink);
                vec![requeue(message, error)]
            }
            AttemptOutcome::InFlight => {
                // It may still deliver: wait for its outcome; ask again when its uplink
                // changes, or after a back-off.
                let failover_after = self
                    .routes
                    .get(&message.route)
                    .map_or(0, |r| r.failover_after);
                let status = self.status.get(&attempt.uplink).copied();
                message.attempt = Some(Attempt {
                    withdrawing: false,
                    ..attempt
                });
                let held = Held::new(held, failover_after, status, now);
                self.held.insert(id.to_owned(), held);
                return Vec::new();
            }
        };
        self.messages.retain(|m| !m.state.is_final());
        actions
    }
}

/// What to do with a waiting message.
enum Choice {
    Wait,
    Fail(String),
    Start(UplinkSpec),
}

fn change(message: &RoutedMessage) -> Change {
    Change {
        id: message.id.clone(),
        state: message.state,
        uplink: message.uplink.clone(),
        attempts: message.attempts,
        error: message.error.clone(),
    }
}

fn finish(message: &mut RoutedMessage, state: RoutedState, error: String) -> RouterAction {
    message.state = state;
    message.error = error;
    message.attempt = None;
    if state == RoutedState::Failed {
        message.uplink.clear();
    }
    RouterAction::Changed(change(message))
}

fn requeue(message: &mut RoutedMessage, error: String) -> RouterAction {
    message.state = RoutedState::Queued;
    message.uplink.clear();
    message.error = error;
    RouterAction::Changed(change(message))
}
