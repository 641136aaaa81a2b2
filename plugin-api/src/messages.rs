//! Events the host hands to a driver instance and effects the instance returns.
//!
//! Every struct tolerates missing optional fields and ignores unknown ones, so a host and a plugin
//! of different minor versions still understand each other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::ble::{Advertisement, GattOp, GattService};
use crate::describe::AtIdentity;
use crate::location::LocationUpdate;

/// Everything a driver needs to start an instance for one device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenConfig {
    /// Device node (`/dev/ttyUSB2`) or Bluetooth address the instance talks to.
    pub port: String,
    /// udev-style properties of the port, as discovered or reported.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// The host's AT probe answers, when the port was probed.
    #[serde(default)]
    pub identity: Option<AtIdentity>,
    /// Driver-specific options from the daemon configuration.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The ABI minor version the host speaks ([`crate::ABI_MINOR`] of the daemon; ABI v1.1). A
    /// host before v1.1 does not send it: 0, v1.0. A driver that needs to know before it acts
    /// whether the host understands an addition (a v1.1 kind, the Location effect) checks it.
    #[serde(default)]
    pub host_abi_minor: u32,
}

/// One event for a driver instance, stamped with the host's clocks (drivers never read a clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// Monotonic milliseconds since an arbitrary start; use it for timeouts and backoff.
    pub now_ms: u64,
    /// Wall clock, unix seconds; use it for timestamps shown to users.
    pub unix_time: u64,
    /// What happened.
    pub event: Event,
}

/// What happened, from the driver's point of view.
///
/// Non-exhaustive: later ABI minor versions add events (a driver ignores those it does not know).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The port is open (again): the device must be (re)initialised from scratch.
    Opened,
    /// Bytes arrived from the device.
    Rx(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The port hung up (read returned end of file). The host reopens it later.
    Hangup,
    /// A timer armed with [`Effect::SetTimer`] fired.
    Timer(u32),
    /// An application call; answer with exactly one [`Effect::Reply`] carrying the same `call`.
    Call {
        /// Correlates the reply.
        call: u64,
        /// What is asked.
        request: Request,
    },
    /// The host committed the message reported by [`Effect::MessageReceived`] with this key to its
    /// durable store; the driver may now delete it from the device.
    ///
    /// After every `Opened`, once the device's `id` is known, the host repeats this for the
    /// device's most recent committed messages (newest first), also those reported before a
    /// restart: a driver that was stopped while it deleted one (a kill during `AT+CMGD`) can
    /// finish the deletion. A key the driver does not know (any more) is no error.
    MessageCommitted {
        /// The key of the committed message.
        key: String,
    },
    /// BLE: the peripheral advertised (every advertisement, including the one that got it claimed).
    Advertisement(Advertisement),
    /// BLE: the link is up and the GATT services are resolved.
    LinkUp {
        /// The peripheral's services.
        services: Vec<GattService>,
    },
    /// BLE: the link went down (or a connect attempt failed).
    LinkDown {
        /// Why, for logs.
        reason: String,
    },
    /// BLE: the result of an [`Effect::Gatt`] operation.
    GattDone {
        /// The `op` of the operation.
        op: u64,
        /// The value read (empty for other operations), or what went wrong.
        result: Result<ByteBuf, String>,
    },
    /// BLE: a subscribed characteristic notified a value.
    Notification {
        /// Canonical characteristic UUID.
        characteristic: String,
        /// The value.
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
    },
}

/// An application request routed to the driver.
///
/// Non-exhaustive: a driver answers requests it does not know with `NotSupported`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// Read signal (and whatever else is cheap) now.
    Refresh,
    /// Re-initialise the device.
    Reset,
    /// Raw command pass-through for diagnostics; reply with [`CallReply::Text`].
    Command {
        /// The command line without line terminator (`AT+CSQ`).
        line: String,
        /// How long to wait for the final result.
        timeout_ms: u32,
    },
    /// Check that a message could be sent (destination syntax, size after encoding) without doing
    /// any I/O. The host asks this before it commits the message to its outbox.
    CheckMessage(OutgoingMessage),
    /// Transmit a message that the host has committed to its outbox. Reply once it is sent or has
    /// failed for good; retries are the driver's business. A message handed over again after a
    /// restart carries in [`OutgoingMessage::progress`] what the driver recorded about it.
    ///
    /// A driver that cannot send now (no network) may reply [`CallErrorKind::NotReady`] instead
    /// of holding the message, but only when nothing of it can have reached the air: the host
    /// keeps it and hands it over again once the driver reports news about the device (signal,
    /// state) or after a while, and meanwhile the router may send it through another uplink.
    /// [`CallErrorKind::Timeout`] says it may have gone out: it is never sent elsewhere.
    Send(OutgoingMessage),
    /// Look for incoming messages now.
    Poll,
    /// `Gatt.Connect`: bring the link up.
    Connect,
    /// `Gatt.Disconnect`: take the link down and keep it down until `Connect`.
    Disconnect,
    /// `Gatt.Read`: reply [`CallReply::Bytes`].
    GattRead {
        /// Canonical characteristic UUID.
        characteristic: String,
    },
    /// `Gatt.Write`.
    GattWrite {
        /// Canonical characteristic UUID.
        characteristic: String,
        /// The bytes to write.
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
        /// Write request (true) or command (false).
        with_response: bool,
    },
    /// `Gatt.Subscribe`: notifications go out as `Gatt.Notification` (via [`Effect::Notify`]) and
    /// are re-armed after every reconnect.
    GattSubscribe {
        /// Canonical characteristic UUID.
        characteristic: String,
    },
    /// `Gatt.Unsubscribe`.
    GattUnsubscribe {
        /// Canonical characteristic UUID.
        characteristic: String,
    },
    /// `Location.SetEnabled` (API 1.1): power the GNSS on (true) or off; idempotent. Reply
    /// [`CallReply::Done`] once it is done and report `enabled` through [`Effect::Location`].
    /// The host asks only drivers of devices that list `location` in their capabilities.
    SetLocationEnabled(bool),
}

/// A message to transmit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The host's message id.
    pub id: String,
    /// Phone number for SMS, "" for a satellite gateway.
    pub destination: String,
    /// The payload bytes (UTF-8 when `encoding` is text).
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// How to interpret the payload.
    pub encoding: Encoding,
    /// Every fact recorded with the message so far: the `info` of the driver's earlier
    /// [`Effect::MessageState`] effects, as committed to the host's store. Empty for a new message.
    ///
    /// This is the way back for a driver that resumes a message after a restart (of the daemon,
    /// the driver or the device): the facts it recorded before the kill tell it what already
    /// happened (an SBD session's MOMSN, an SMS's concatenation reference and acknowledged parts),
    /// so it sends again only what did not go out. The host commits each `MessageState` to its
    /// store before it performs the effects that follow it in the same batch, so a driver that
    /// reports a fact before the [`Effect::Tx`] that makes it true always finds it here
    /// (write-ahead). A host without it
    /// sends none (the field defaults to empty) and a plugin without it ignores it.
    #[serde(default)]
    pub progress: BTreeMap<String, String>,
}

/// Payload interpretation requested by the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// UTF-8 text; the driver picks the best on-air encoding.
    Text,
    /// Opaque 8-bit data.
    Binary,
}

/// What a driver asks the host to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Write these bytes to the device.
    Tx(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Arm (or re-arm) timer `id` to fire once after `after_ms`.
    SetTimer {
        /// Driver-chosen timer id.
        id: u32,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// Disarm timer `id` if it is armed.
    CancelTimer(u32),
    /// Answer an [`Event::Call`].
    Reply {
        /// The `call` of the event being answered.
        call: u64,
        /// Success value or error.
        result: Result<CallReply, CallError>,
    },
    /// Device properties changed; `None` fields are unchanged.
    Device(DeviceUpdate),
    /// Signal properties changed; `None` fields are unchanged.
    Signal(SignalUpdate),
    /// A complete incoming message. The host commits it, signals it, then answers with
    /// [`Event::MessageCommitted`].
    MessageReceived(IncomingMessage),
    /// An outgoing message changed state (for intermediate states; the final one is the reply to
    /// [`Request::Send`]).
    MessageState {
        /// The host's message id.
        id: String,
        /// The new state.
        state: MessageState,
        /// Why, when failed ("" otherwise).
        error: String,
        /// Extra facts to record with the message (for example `momsn`).
        info: BTreeMap<String, String>,
    },
    /// BLE: bring the link up; the host answers with [`Event::LinkUp`] or [`Event::LinkDown`].
    Connect,
    /// BLE: take the link down.
    Disconnect,
    /// BLE: perform a GATT operation; the host answers with [`Event::GattDone`].
    Gatt(GattOp),
    /// BLE: emit `Gatt.Notification` for a value an application subscribed to.
    Notify {
        /// Canonical characteristic UUID.
        characteristic: String,
        /// The value.
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
    },
    /// Sensor readings changed (`Sensor.Readings`, merged by key).
    Sensor(SensorUpdate),
    /// The GNSS was switched on or off, or the fix changed (`org.m2mhal.Hal1.Location`, API 1.1).
    /// A host of API 1.0 sets it aside as an effect it does not know.
    Location(LocationUpdate),
    /// A log line, written by the host in the device's span.
    Log {
        /// Severity.
        level: LogLevel,
        /// The text.
        message: String,
    },
}

/// Success values of calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallReply {
    /// Nothing to return.
    Done,
    /// Text (the response of [`Request::Command`]).
    Text(String),
    /// Facts about a sent message to record (reply to [`Request::Send`]).
    Sent(BTreeMap<String, String>),
    /// Bytes (the reply to [`Request::GattRead`]).
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// A call's failure, mapped onto the D-Bus error of the same name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallError {
    /// Which error.
    pub kind: CallErrorKind,
    /// Human-readable explanation naming what was wrong.
    pub message: String,
}

impl CallError {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: CallErrorKind, message: impl Into<String>) -> Self {
        CallError {
            kind,
            message: message.into(),
        }
    }
}

/// Error kinds a driver may return; each is an `org.m2mhal.Hal1.Error.*` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallErrorKind {
    /// The device or driver cannot do this.
    NotSupported,
    /// An argument is malformed.
    InvalidArgument,
    /// The device is not ready for this now.
    NotReady,
    /// The device did not answer in time.
    Timeout,
    /// The payload does not fit.
    PayloadTooLarge,
    /// Anything else.
    Failed,
}

impl CallErrorKind {
    /// The last component of the D-Bus error name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallErrorKind::NotSupported => "NotSupported",
            CallErrorKind::InvalidArgument => "InvalidArgument",
            CallErrorKind::NotReady => "NotReady",
            CallErrorKind::Timeout => "Timeout",
            CallErrorKind::PayloadTooLarge => "PayloadTooLarge",
            CallErrorKind::Failed => "Failed",
        }
    }
}

/// Changes to `org.m2mhal.Hal1.Device` (and `Messaging.MaxPayload`); `None` = unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceUpdate {
    /// Stable identity (`imei:...`). The host publishes the device once it is known.
    pub id: Option<String>,
    /// Device kind, when the driver handles several.
    pub kind: Option<crate::DeviceKind>,
    /// Manufacturer as reported.
    pub manufacturer: Option<String>,
    /// Model as reported.
    pub model: Option<String>,
    /// Firmware revision as reported.
    pub revision: Option<String>,
    /// Serial number (the IMEI for modems).
    pub serial_number: Option<String>,
    /// `initializing`, `ready`, `offline` or `failed`.
    pub state: Option<String>,
    /// Machine-readable reason when not ready, or "".
    pub state_reason: Option<String>,
    /// Interfaces implemented: `signal`, `messaging`, ...
    pub capabilities: Option<Vec<String>>,
    /// Largest payload one `Send` accepts.
    pub max_payload: Option<u32>,
    /// Free-form extra facts (IMSI, ICCID, ...), exposed by the host where it can.
    pub extra: Option<BTreeMap<String, String>>,
    /// BLE: `Gatt.Connected`.
    pub connected: Option<bool>,
    /// BLE: `Gatt.Services`, canonical UUIDs.
    pub services: Option<Vec<String>>,
    /// BLE: the services with their characteristics and flags (`Gatt.Characteristics`, API
    /// 1.1). A plugin built before it never sets it: the host shows no characteristics.
    pub gatt_services: Option<Vec<GattService>>,
}

/// Changes to `org.m2mhal.Hal1.Sensor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SensorUpdate {
    /// Readings by key (`temperature` in degrees C, `humidity` %, `battery` %, `pressure` hPa, ...),
    /// merged into the current ones.
    pub readings: BTreeMap<String, f64>,
    /// Unix seconds of the reading.
    pub updated_at: Option<u64>,
}

/// Changes to `org.m2mhal.Hal1.Signal`; `None` = unchanged.
///
/// `rsrp`, `rsrq` and `sinr` came with API 1.1; a plugin built before them never sets them and the
/// host keeps them unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalUpdate {
    /// 0..100 percent.
    pub quality: Option<u32>,
    /// RSSI in dBm (`+CSQ` for a modem), 0 when unknown; never the LTE RSRP.
    pub rssi: Option<i32>,
    /// LTE/NR reference signal received power in dBm, 0 when unknown.
    pub rsrp: Option<i32>,
    /// LTE/NR reference signal received quality in dB, NaN when unknown.
    pub rsrq: Option<f64>,
    /// Signal to interference plus noise ratio in dB, NaN when unknown.
    pub sinr: Option<f64>,
    /// Access technology (`lte`, `gsm`, `iridium`, ...).
    pub technology: Option<String>,
    /// `home`, `roaming`, `searching`, `denied`, `idle`, `unknown` or "".
    pub registration: Option<String>,
    /// Operator name.
    pub operator: Option<String>,
    /// Unix seconds of the reading.
    pub updated_at: Option<u64>,
}

/// A complete incoming message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingMessage {
    /// Driver-chosen key, unique for this message on this device (for example a hash of its PDUs),
    /// so a message seen twice (after a crash before deletion) is stored once.
    pub key: String,
    /// Sender (phone number) or "" for a satellite gateway.
    pub peer: String,
    /// The payload bytes (UTF-8 when `text` is set).
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// The decoded text, when the payload is text.
    #[serde(default)]
    pub text: Option<String>,
    /// Unix seconds: when the message was sent (SMS service centre time stamp) or received.
    pub timestamp: u64,
    /// Extra facts (`mtmsn`, `smsc`, ...).
    #[serde(default)]
    pub info: BTreeMap<String, String>,
}

/// Lifecycle of an outgoing message, as shown by `Messaging.StateChanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// In the outbox, waiting for its turn.
    Queued,
    /// Being transmitted.
    Sending,
    /// Delivered to the network.
    Sent,
    /// Given up.
    Failed,
}

impl MessageState {
    /// The D-Bus string for this state.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Queued => "queued",
            MessageState::Sending => "sending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
        }
    }
}

/// Severity of a driver log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Protocol detail.
    Trace,
    /// Diagnostic detail.
    Debug,
    /// Noteworthy and rare.
    Info,
    /// Something is wrong but handled.
    Warn,
    /// Something failed.
    Error,
}
