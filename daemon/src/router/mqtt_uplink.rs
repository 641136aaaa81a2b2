//! An MQTT bridge as an uplink of a route (`mqtt:<name>`): when it is available, and how an
//! attempt goes through it.
//!
//! The bridge registers itself (`Manager.RegisterUplink`); whoever keeps the registrations
//! ([`RemoteUplinks`], on the bus) reports what the bridge says as [`RemoteEvent`]s. A message
//! the bridge took is the bridge's until it says `Sent` or `Failed`, or answers a withdraw with
//! "never handed to the broker": while the bridge is away, a withdraw cannot be answered and the
//! attempt waits ([`AttemptOutcome::InFlight`]). When the bridge registers again, the router
//! offers it again every message whose attempt is on it; the bridge answers from its store by id
//! (it takes a message it never had, and says again how one it had went).

use m2mhal_routing::{AttemptOutcome, Encoding, RoutedMessage, UplinkStatus};

/// How uplink names of MQTT bridges begin.
const PREFIX: &str = "mqtt:";

/// Whether `uplink` is an MQTT bridge (`mqtt:<name>`) rather than a device.
pub fn is_remote(uplink: &str) -> bool {
    uplink.starts_with(PREFIX)
}

/// The uplink name of the bridge registered as `name`.
pub fn uplink_name(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// A routed message handed to a bridge.
#[derive(Debug, Clone)]
pub struct RemoteMessage {
    /// The routed message's id (the bridge's key).
    pub id: String,
    /// Its route.
    pub route: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Text or binary.
    pub encoding: Encoding,
}

impl From<&RoutedMessage> for RemoteMessage {
    fn from(message: &RoutedMessage) -> Self {
        RemoteMessage {
            id: message.id.clone(),
            route: message.route.clone(),
            payload: message.payload.clone(),
            encoding: message.encoding,
        }
    }
}

/// How a hand-over to a bridge went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// The bridge has it in its store.
    Taken,
    /// The bridge refused it (why): it will never take it.
    Refused(String),
    /// No bridge is registered under that name: it certainly does not have it.
    Absent,
    /// The call got no answer (why): the bridge may have it.
    Unanswered(String),
}

/// The registered bridges, as the router reaches them.
#[async_trait::async_trait]
pub trait RemoteUplinks: Send + Sync + std::fmt::Debug {
    /// Hands `message` to the bridge serving `uplink`.
    async fn send(&self, uplink: &str, message: &RemoteMessage) -> Handover;
    /// Asks message `id` back from the bridge serving `uplink`: `Some(true)` when it never was
    /// handed to the broker, `Some(false)` when it may have been, `None` without an answer.
    async fn withdraw(&self, uplink: &str, id: &str) -> Option<bool>;
}

/// What the registrations tell the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteEvent {
    /// A bridge registered as `uplink` (again, or anew after a restart).
    Registered {
        /// `mqtt:<name>`.
        uplink: String,
    },
    /// The bridge's availability (registered and connected to its broker) or MaxPayload.
    Status {
        /// `mqtt:<name>`.
        uplink: String,
        /// Its status now.
        status: UplinkStatus,
    },
    /// The bridge says how a message went.
    Outcome {
        /// `mqtt:<name>`.
        uplink: String,
        /// The routed message.
        id: String,
        /// `Sent` or `Failed`.
        outcome: AttemptOutcome,
    },
}

/// The messages whose attempt is on `uplink`: what a bridge that registers (again) is offered.
pub fn held_on(messages: &[RoutedMessage], uplink: &str) -> Vec<RemoteMessage> {
    let held: Vec<RemoteMessage> = messages
        .iter()
        .filter(|m| attempt_on(m, uplink))
        .map(RemoteMessage::from)
        .collect();
    if !held.is_empty() {
        tracing::info!("offering {} message(s) to {uplink} again", held.len());
    }
    held
}

/// Whether message `id`'s attempt is on `uplink` (what the bridge says of it counts).
pub fn is_on(messages: &[RoutedMessage], id: &str, uplink: &str) -> bool {
    messages.iter().any(|m| m.id == id && attempt_on(m, uplink))
}

fn attempt_on(message: &RoutedMessage, uplink: &str) -> bool {
    message.attempt.as_ref().is_some_and(|a| a.uplink == uplink)
}

/// Starts an attempt through the bridge; the outcome when it did not take the message.
pub async fn attempt(
    remote: &dyn RemoteUplinks,
    uplink: &str,
    message: &RemoteMessage,
) -> Result<(), AttemptOutcome> {
    match remote.send(uplink, message).await {
        Handover::Taken => Ok(()),
        Handover::Refused(error) => Err(AttemptOutcome::Failed(error)),
        Handover::Absent => Err(AttemptOutcome::Withdrawn),
        Handover::Unanswered(why) => {
            // It may have it: the attempt stands until the bridge answers a withdraw or says
            // how it went.
            tracing::warn!("{uplink} did not answer a hand-over: {why}");
            Ok(())
        }
    }
}

/// Asks the bridge for message `id` back: withdrawn only when the bridge says it never was
/// handed to the broker.
pub async fn withdraw(remote: &dyn RemoteUplinks, uplink: &str, id: &str) -> AttemptOutcome {
    match remote.withdraw(uplink, id).await {
        Some(true) => AttemptOutcome::Withdrawn,
        Some(false) | None => AttemptOutcome::InFlight,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers every call with what it was given.
    #[derive(Debug)]
    struct Answers(Handover, Option<bool>, Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl RemoteUplinks for Answers {
        async fn send(&self, uplink: &str, message: &RemoteMessage) -> Handover {
            let mut calls = self.2.lock().unwrap();
            calls.push(format!("send {uplink} {}", message.id));
            self.0.clone()
        }
        async fn withdraw(&self, uplink: &str, id: &str) -> Option<bool> {
            self.2
                .lock()
                .unwrap()
                .push(format!("withdraw {uplink} {id}"));
            self.1
        }
    }

    fn message() -> RemoteMessage {
        RemoteMessage {
            id: "4".into(),
            route: "home".into(),
            payload: b"hi".to_vec(),
            encoding: Encoding::Text,
        }
    }

    #[tokio::test]
    async fn a_message_the_bridge_may_have_is_its_until_it_says_otherwise() {
        let cases = [
            (Handover::Taken, Ok(())),
            (Handover::Unanswered("timeout".into()), Ok(())),
            (Handover::Absent, Err(AttemptOutcome::Withdrawn)),
            (
                Handover::Refused("too large".into()),
                Err(AttemptOutcome::Failed("too large".into())),
            ),
        ];
        for (handover, expected) in cases {
            let remote = Answers(handover.clone(), None, Mutex::default());
            let outcome = attempt(&remote, "mqtt:fleet", &message()).await;
            assert_eq!(outcome, expected, "{handover:?}");
            assert_eq!(*remote.2.lock().unwrap(), ["send mqtt:fleet 4"]);
        }
    }

    #[tokio::test]
    async fn only_the_bridge_saying_so_withdraws() {
        for (answer, expected) in [
            (Some(true), AttemptOutcome::Withdrawn),
            (Some(false), AttemptOutcome::InFlight),
            (None, AttemptOutcome::InFlight),
        ] {
            let remote = Answers(Handover::Taken, answer, Mutex::default());
            assert_eq!(withdraw(&remote, "mqtt:fleet", "4").await, expected);
        }
        assert!(is_remote("mqtt:fleet") && !is_remote("imei:1"));
        assert_eq!(uplink_name("fleet"), "mqtt:fleet");
    }

    #[test]
    fn a_registering_bridge_is_offered_what_it_holds() {
        let attempt = |uplink: &str| m2mhal_routing::Attempt {
            uplink: uplink.into(),
            started: 1,
            withdrawing: false,
        };
        let mut held = RoutedMessage::new("1", "home", b"a".to_vec(), Encoding::Text);
        held.attempt = Some(attempt("mqtt:fleet"));
        let mut elsewhere = RoutedMessage::new("2", "home", b"b".to_vec(), Encoding::Text);
        elsewhere.attempt = Some(attempt("imei:1"));
        let waiting = RoutedMessage::new("3", "home", b"c".to_vec(), Encoding::Text);
        let messages = [held, elsewhere, waiting];
        let offered: Vec<String> = held_on(&messages, "mqtt:fleet")
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(offered, ["1"]);
        assert!(is_on(&messages, "1", "mqtt:fleet"));
        assert!(!is_on(&messages, "2", "mqtt:fleet"));
        assert!(!is_on(&messages, "3", "mqtt:fleet"));
    }
}
