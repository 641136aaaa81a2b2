//! Why each AT command is sent: the [`Purpose`] the driver queues with it, so that its completion
//! goes to the right handler.

use m2mhal_at::link::LinkPurpose;

use crate::init::InitStep;
use crate::signal::SignalQuery;

/// Why a command was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A step of the initialisation sequence.
    Init(InitStep),
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
    /// `AT+CMGD=<index>` of something stored that is no message for the host: a status report,
    /// or a copy of a part already held.
    DeleteUnwanted(u32),
    /// `AT+CNMA` after a directly delivered `+CMT`/`+CDS`.
    AckDelivery,
    /// `AT+CMGS` of the outbox's current part.
    SendPart,
    /// Switching the GNSS on or off; answers `call` (a `SetEnabled`) when done.
    GnssPower {
        /// On or off.
        on: bool,
        /// The call to answer, if any.
        call: Option<u64>,
    },
    /// What the running GNSS needs before its first poll ([`crate::gnss::GnssFamily::setup`]).
    GnssSetup,
    /// Reading the GNSS position.
    GnssPoll,
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

impl LinkPurpose for Purpose {
    fn call(&self) -> Option<u64> {
        match self {
            Purpose::Signal { call, .. } => *call,
            Purpose::ListMessages(ListReason::Poll(call)) => Some(*call),
            Purpose::GnssPower { call, .. } => *call,
            _ => None,
        }
    }
}
