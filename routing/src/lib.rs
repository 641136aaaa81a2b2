//! m2mhal's routing layer, sans I/O: one outbox above every uplink, and local rules that turn a
//! reading into a message.
//!
//! - [`router`]: routed messages over a route's uplinks (availability, failover, budgets, ttl,
//!   priority, MaxPayload fit); never two uplinks for one message at once.
//! - [`budget`]: bytes sent through an uplink over a rolling period.
//! - [`rule`]: threshold and state rules with hysteresis, `for` and `cooldown`.
//! - [`template`]: a rule's message text with `{rule} {device} {reading} {value} {time}`.
//!
//! No clock, no channel, no bus, no database inside: time (unix seconds) is passed in, actions
//! come out; the daemon carries them out (store, devices, signals) and hands in the outcomes.

#![warn(missing_docs)]

pub mod budget;
pub mod router;
pub mod rule;
pub mod template;

pub use budget::{Budget, Ledger};
pub use router::{
    Attempt, AttemptOutcome, Change, Encoding, Priority, RouteError, RouteSpec, RouteView,
    RoutedMessage, RoutedState, Router, RouterAction, UplinkSpec, UplinkStatus, UplinkView,
};
pub use rule::{Condition, Fire, Reading, Rule, RuleSnapshot, RuleSpec, RuleState};
pub use template::{Template, TemplateError};
