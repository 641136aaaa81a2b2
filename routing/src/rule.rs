//! A local rule: a device's reading crossing a threshold (or its state equalling a value) for a
//! while turns into a message on a route.
//!
//! ```text
//!            condition holds              held for `for` and cooldown over
//!   armed ─────────────────────> pending ──────────────────────────────────> fired (message)
//!     ^  <─── condition stops ─────┘                                          │
//!     └──────────── value back past the threshold by the hysteresis ──────────┘
//! ```
//!
//! A fired rule sends nothing more (even after its cooldown) until it is re-armed. The
//! `armed`/`fired` state, the count and the last firing survive a restart ([`RuleSnapshot`]):
//! a fired rule does not fire again because the daemon restarted. Time is unix seconds.

use crate::template::{Template, Values};

/// When a rule's condition holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The reading is above this.
    Above(f64),
    /// The reading is below this.
    Below(f64),
    /// The reading (a state) equals this.
    Equals(String),
}

/// A value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A `Sensor.Readings` number.
    Number(f64),
    /// A text value (`Device.State`).
    Text(String),
}

impl Reading {
    /// The value as read, for `{value}`.
    pub fn render(&self) -> String {
        match self {
            Reading::Number(number) => number.to_string(),
            Reading::Text(text) => text.clone(),
        }
    }
}

/// A rule as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Its name.
    pub name: String,
    /// The device Id it watches.
    pub device: String,
    /// The reading's key, or `state`.
    pub reading: String,
    /// When it holds.
    pub condition: Condition,
    /// How far back past a threshold the value must go to re-arm the rule.
    pub hysteresis: f64,
    /// Seconds the condition must hold before the rule fires (`for`).
    pub hold: u64,
    /// Seconds after firing before it may fire again.
    pub cooldown: u64,
    /// The route its messages go to.
    pub route: String,
    /// The message text.
    pub text: Template,
}

/// Where a rule stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleState {
    /// Waiting for the condition.
    Armed,
    /// The condition holds, not yet for `for` seconds (or the cooldown is not over).
    Pending,
    /// Fired; waits to be re-armed.
    Fired,
}

impl RuleState {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Armed => "armed",
            RuleState::Pending => "pending",
            RuleState::Fired => "fired",
        }
    }

    /// Reads the API's spelling.
    pub fn parse(text: &str) -> Option<RuleState> {
        match text {
            "armed" => Some(RuleState::Armed),
            "pending" => Some(RuleState::Pending),
            "fired" => Some(RuleState::Fired),
            _ => None,
        }
    }
}

/// What of a rule is kept across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSnapshot {
    /// `armed` or `fired` (a pending rule is kept as armed: its `for` starts again).
    pub state: RuleState,
    /// Times fired.
    pub fired: u32,
    /// Unix seconds of the last firing (0: never).
    pub last_fired: u64,
}

/// A rule fired: send `text` to `route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    /// The route.
    pub route: String,
    /// The rendered text.
    pub text: String,
}

/// A rule and where it stands.
#[derive(Debug, Clone)]
pub struct Rule {
    spec: RuleSpec,
    state: RuleState,
    pending_since: u64,
    fired: u32,
    last_fired: u64,
    last: Option<Reading>,
}

impl Rule {
    /// A new rule, armed.
    pub fn new(spec: RuleSpec) -> Self {
        Rule {
            spec,
            state: RuleState::Armed,
            pending_since: 0,
            fired: 0,
            last_fired: 0,
            last: None,
        }
    }

    /// The rule as configured.
    pub fn spec(&self) -> &RuleSpec {
        &self.spec
    }

    /// Where it stands.
    pub fn state(&self) -> RuleState {
        self.state
    }

    /// What to keep across a restart.
    pub fn snapshot(&self) -> RuleSnapshot {
        let state = match self.state {
            RuleState::Fired => RuleState::Fired,
            RuleState::Armed | RuleState::Pending => RuleState::Armed,
        };
        RuleSnapshot {
            state,
            fired: self.fired,
            last_fired: self.last_fired,
        }
    }

    /// Takes back what was kept before a restart.
    pub fn restore(&mut self, snapshot: RuleSnapshot) {
        self.state = match snapshot.state {
            RuleState::Fired => RuleState::Fired,
            RuleState::Armed | RuleState::Pending => RuleState::Armed,
        };
        self.fired = snapshot.fired;
        self.last_fired = snapshot.last_fired;
    }

    /// The watched value was read at `now` (the reading of `spec().reading` on `spec().device`).
    pub fn observe(&mut self, reading: Reading, now: u64) -> Option<Fire> {
        self.last = Some(reading);
        self.evaluate(now)
    }

    /// Time passed: a pending rule may fire now.
    pub fn tick(&mut self, now: u64) -> Option<Fire> {
        self.evaluate(now)
    }

    /// When [`Rule::tick`] may fire next (none: only a new reading changes anything).
    pub fn deadline(&self) -> Option<u64> {
        (self.state == RuleState::Pending).then(|| {
            let held = self.pending_since.saturating_add(self.spec.hold);
            held.max(self.cooled_down_at())
        })
    }

    fn cooled_down_at(&self) -> u64 {
        if self.fired == 0 {
            0
        } else {
            self.last_fired.saturating_add(self.spec.cooldown)
        }
    }

    fn evaluate(&mut self, now: u64) -> Option<Fire> {
        let value = self.last.as_ref()?;
        let (holds, rearms) = self.test(value)?;
        match self.state {
            RuleState::Fired => {
                if rearms {
                    self.state = RuleState::Armed;
                }
                return None;
            }
            RuleState::Armed if holds => {
                self.state = RuleState::Pending;
                self.pending_since = now;
            }
            RuleState::Armed => return None,
            RuleState::Pending if !holds => {
                self.state = RuleState::Armed;
                return None;
            }
            RuleState::Pending => {}
        }
        let held = now.saturating_sub(self.pending_since) >= self.spec.hold;
        if !held || now < self.cooled_down_at() {
            return None;
        }
        self.state = RuleState::Fired;
        self.fired = self.fired.saturating_add(1);
        self.last_fired = now;
        let value = value.render();
        let text = self.spec.text.render(&Values {
            rule: &self.spec.name,
            device: &self.spec.device,
            reading: &self.spec.reading,
            value: &value,
            time: now,
        });
        Some(Fire {
            route: self.spec.route.clone(),
            text,
        })
    }

    /// Whether the condition holds for `value`, and whether `value` re-arms a fired rule;
    /// `None` when the value is of the wrong kind for the condition.
    fn test(&self, value: &Reading) -> Option<(bool, bool)> {
        let h = self.spec.hysteresis;
        match (&self.spec.condition, value) {
            (Condition::Above(t), Reading::Number(v)) => Some((v > t, *v <= t - h)),
            (Condition::Below(t), Reading::Number(v)) => Some((v < t, *v >= t + h)),
            (Condition::Equals(s), Reading::Text(v)) => Some((v == s, v != s)),
            _ => None,
        }
    }

    /// Times fired.
    pub fn fired(&self) -> u32 {
        self.fired
    }

    /// Unix seconds of the last firing (0: never).
    pub fn last_fired(&self) -> u64 {
        self.last_fired
    }
}
