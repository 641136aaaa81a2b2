//! Outgoing messages for tests.

use m2mhal_plugin_api::{Encoding, OutgoingMessage};

/// The outgoing message `id` to `destination` ("" for a satellite gateway).
pub fn outgoing(
    id: &str,
    destination: &str,
    payload: &[u8],
    encoding: Encoding,
) -> OutgoingMessage {
    OutgoingMessage {
        id: id.into(),
        destination: destination.into(),
        payload: payload.to_vec(),
        encoding,
        progress: Default::default(),
    }
}
