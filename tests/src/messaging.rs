//! `org.m2mhal.Hal1.Messaging`: sending, listing, and the bodies of its signals.

use std::collections::HashMap;

use m2mhal_contract::iface::MESSAGING;
use zbus::{Connection, OwnedVariant, Variant};

use crate::client::{call, next_signal};

/// Options of `Messaging.Send`.
pub type SendOptions<'a> = HashMap<&'a str, Variant<'a>>;

/// `{"encoding": encoding}`.
pub fn encoding(encoding: &str) -> SendOptions<'_> {
    HashMap::from([("encoding", Variant::from(encoding))])
}

/// Calls `Messaging.Send`; the message id.
pub async fn send(
    conn: &Connection,
    path: &str,
    destination: &str,
    payload: &[u8],
    options: &SendOptions<'_>,
) -> Result<String, (String, String)> {
    call(
        conn,
        path,
        MESSAGING,
        "Send",
        &(destination, payload, options),
    )
    .await
}

/// Calls `Messaging.Send` with a text payload; the message id.
pub async fn send_text(
    conn: &Connection,
    path: &str,
    destination: &str,
    text: &str,
) -> Result<String, (String, String)> {
    send(conn, path, destination, text.as_bytes(), &encoding("text")).await
}

/// One message of `Messaging.List`.
pub type StoredMessage = HashMap<String, OwnedVariant>;

/// `Messaging.List`.
pub async fn list_messages(conn: &Connection, path: &str) -> Vec<StoredMessage> {
    call(conn, path, MESSAGING, "List", &())
        .await
        .expect("Messaging.List")
}

/// The body of `Messaging.Received`: id, peer, payload, info.
pub type ReceivedBody = (String, String, Vec<u8>, HashMap<String, OwnedVariant>);

/// The body of `Messaging.StateChanged`: id, state, error.
pub type StateChangedBody = (String, String, String);

/// Waits until the outgoing message `id` reaches `state` on a `StateChanged` stream; returns the
/// states seen for it, in order, including `state`.
pub async fn wait_message_state(
    stream: &mut zbus::MessageStream,
    id: &str,
    state: &str,
) -> Vec<StateChangedBody> {
    let mut seen = Vec::new();
    loop {
        let change: StateChangedBody =
            next_signal(stream, |(changed, _, _): &StateChangedBody| changed == id).await;
        let done = change.1 == state;
        seen.push(change);
        if done {
            return seen;
        }
    }
}
