//! The bridge as the daemon's Router uplink: the daemon's calls on the uplink object, and the
//! signals back.

use tracing::debug;

use super::{Bridge, BridgeError};
use crate::publish::Publish;
use crate::store::UplinkState;
use crate::uplink::{UplinkCall, UplinkSignal};

impl Bridge {
    /// A call of the daemon's Router on the uplink object; only m2mhald may make it.
    pub(super) fn on_uplink_call(&mut self, call: UplinkCall) -> Result<(), BridgeError> {
        let refusal = |caller: &str| {
            (self.daemon.as_deref() != Some(caller))
                .then(|| format!("only m2mhald may call the uplink, not {caller}"))
        };
        match call {
            UplinkCall::Send {
                caller,
                message,
                reply,
            } => {
                if let Some(refusal) = refusal(&caller) {
                    let _ = reply.send(Err(refusal));
                    return Ok(());
                }
                let publish = Publish::json(
                    self.topics.route_out(&message.route),
                    &message.to_json(),
                    false,
                );
                let state = self.store.take_uplink(&message.id, &publish)?;
                debug!(id = %message.id, ?state, "routed message taken");
                // The caller goes on once it is stored; a known one is reported again.
                let _ = reply.send(Ok(()));
                match state {
                    UplinkState::Queued => self.pump()?,
                    UplinkState::Sent => self.tell_daemon(UplinkSignal::Sent(message.id)),
                    UplinkState::Failed(error) => {
                        self.tell_daemon(UplinkSignal::Failed(message.id, error));
                    }
                }
            }
            UplinkCall::Withdraw { caller, id, reply } => {
                if let Some(refusal) = refusal(&caller) {
                    let _ = reply.send(Err(refusal));
                    return Ok(());
                }
                let withdrawn = self.store.withdraw_uplink(&id)?;
                debug!(id = %id, withdrawn, "routed message asked back");
                let _ = reply.send(Ok(withdrawn));
            }
        }
        Ok(())
    }

    /// Signals the daemon (when the bridge is its uplink).
    pub(super) fn tell_daemon(&self, signal: UplinkSignal) {
        if !self.uplink.is_empty() {
            // The signalling task ends only with the bridge.
            let _ = self.uplink_signals.send(signal);
        }
    }
}
