//! What the host core asks its runner to do ([`Action`]), and the answers it waits for
//! ([`Answer`]).

use std::collections::BTreeMap;

use m2mhal_plugin_api::{
    CallError, CallReply, DeviceUpdate, Effect, IncomingMessage, Input, LocationUpdate, LogLevel,
    SensorUpdate, SignalUpdate,
};

use crate::outbox::{Outgoing, StateChange};

/// The runner's clocks, passed into the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic milliseconds since the runner's start; every deadline is on this clock.
    pub ms: u64,
    /// Wall clock, unix seconds.
    pub unix_time: u64,
}

/// A change to the device's properties.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The driver's `Effect::Device`.
    Device(DeviceUpdate),
    /// The driver's `Effect::Signal`.
    Signal(SignalUpdate),
    /// The driver's `Effect::Sensor`.
    Sensor(SensorUpdate),
    /// The driver's `Effect::Location`.
    Location(LocationUpdate),
    /// A host-side transition (driver failed, unplugged): new state and reason.
    State {
        /// The new state (see [`crate::states`]).
        state: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The number of outgoing messages waiting or being sent.
    Pending(u32),
}

/// One thing for the runner to do. Actions come in order; the runner carries out each one before
/// it polls for the next. Those that say "answer with" block the core until the runner hands the
/// [`Answer`] in with [`crate::DeviceHost::answer`].
#[derive(Debug)]
pub enum Action<C> {
    /// Hand this input to the driver; answer with [`Answer::Driven`].
    Drive(Input),
    /// Carry out an I/O effect on the link (`Tx`, `Connect`, `Disconnect`, `Gatt`). If that
    /// changes the link (a failed write is a hangup), hand the event in with
    /// [`crate::DeviceHost::deliver`].
    Link(Effect),
    /// Change the device's properties, and tell whoever watches it what changed.
    Update(Update),
    /// Give the driver's log line to the log, in the device's span.
    Log {
        /// Severity.
        level: LogLevel,
        /// The text.
        message: String,
    },
    /// Answer a caller.
    Reply {
        /// The call's id.
        call: u64,
        /// Who waits.
        caller: C,
        /// The driver's answer (or the host's, when the driver cannot answer).
        result: Result<CallReply, CallError>,
    },
    /// The driver answered a call nobody waits for (unknown, or answered before).
    StrayReply {
        /// The call's id.
        call: u64,
    },
    /// Take the device off the bus: it was published before it had an `Id`, and is published
    /// again under the number of its `Id`.
    Withdraw,
    /// Publish the device (or give it back the object it had under its `Id`); answer with
    /// [`Answer::Published`].
    Publish,
    /// Read the outgoing messages the store holds as waiting for the device `device_id`; answer
    /// with [`Answer::OutboxLoaded`].
    LoadOutbox {
        /// The device's `Id`.
        device_id: String,
    },
    /// Read the keys of the device's most recent committed incoming messages; answer with
    /// [`Answer::RecentCommits`].
    ReadRecentCommits {
        /// The device's `Id`.
        device_id: String,
        /// At most this many, newest first.
        limit: u32,
    },
    /// Commit an incoming message to the store; answer with [`Answer::IncomingStored`].
    StoreIncoming {
        /// The device's `Id`.
        device_id: String,
        /// The message.
        message: IncomingMessage,
    },
    /// Signal an incoming message that was just committed (`Messaging.Received`).
    EmitReceived {
        /// The store's id for it.
        id: String,
        /// The message.
        message: IncomingMessage,
    },
    /// Read what the driver recorded about outgoing message `id` so far; answer with
    /// [`Answer::Progress`].
    ReadProgress {
        /// The message id.
        id: String,
    },
    /// Commit an outgoing message's new state to the store.
    CommitState(StateChange),
    /// Signal an outgoing message's new state (`Messaging.StateChanged`); always after its
    /// [`Action::CommitState`].
    EmitState {
        /// The message id.
        id: String,
        /// The new state.
        state: m2mhal_plugin_api::MessageState,
        /// Why, or "".
        error: String,
    },
    /// Forward a GATT notification (`Gatt.Notification`).
    EmitNotification {
        /// Canonical characteristic UUID.
        characteristic: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Open a fresh driver instance (the last one failed); answer with
    /// [`Answer::DriverRestarted`].
    RestartDriver,
}

/// How publishing went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publication {
    /// In a new object.
    New,
    /// Back in the object its `Id` had.
    Back,
    /// Not at all: another port serves the device with this `Id`; this host is done.
    Taken,
    /// Not at all: publishing failed (logged by the runner).
    Failed,
}

/// What became of an incoming message the store was asked to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncomingOutcome {
    /// Committed now under this id.
    Committed {
        /// The store's id for it.
        id: String,
    },
    /// Committed before (the driver reported it again).
    AlreadyCommitted,
    /// Not committed (the store failed; or, in a test host, the test commits it itself): the
    /// driver is not told, so it leaves the message on the device.
    NotCommitted,
}

/// The answer to an action that asks for one.
#[derive(Debug)]
pub enum Answer {
    /// To [`Action::Drive`]: the driver's effects, or why the driver failed.
    Driven(Result<Vec<Effect>, String>),
    /// To [`Action::Publish`].
    Published(Publication),
    /// To [`Action::LoadOutbox`]: the waiting messages (`None`: the store could not say).
    OutboxLoaded(Option<Vec<Outgoing>>),
    /// To [`Action::ReadRecentCommits`]: the keys (none if the store could not say).
    RecentCommits(Vec<String>),
    /// To [`Action::StoreIncoming`].
    IncomingStored(IncomingOutcome),
    /// To [`Action::ReadProgress`]: the recorded facts (`None`: not found or not readable).
    Progress(Option<BTreeMap<String, String>>),
    /// To [`Action::RestartDriver`]: whether the new instance opened, and why not.
    DriverRestarted(Result<(), String>),
}
