//! Send commands in flight: which command a message id belongs to, so that each `StateChanged`
//! of it is published as a result of that command. One [`Sends`] per id space: device messages
//! (`Messaging.StateChanged`) and routed messages (`Router.StateChanged`).

use std::collections::{HashMap, VecDeque};

use serde_json::Value as Json;

/// How many state changes of unknown ids are kept: `StateChanged(queued)` may arrive before
/// `Send`'s reply has told the bridge the id.
const EARLY_CHANGES: usize = 64;

/// What a command sends through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A device, by its topic node: `<p>/devices/<node>/send` -> `Messaging.Send`.
    Device(String),
    /// A route, by name: `<p>/routes/<route>/send` -> `Router.Send`.
    Route(String),
}

/// The command a message was sent for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// What it sends through (results go to `.../send/result` beside its topic).
    pub target: Target,
    /// The command's `request_id`.
    pub request_id: Json,
}

/// A state change to publish as a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `queued`, `sending`, `sent`, `failed`.
    pub state: String,
    /// The error, "" when none.
    pub error: String,
    /// A routed message's uplink (device Id or `mqtt:<name>`); "" for a device message.
    pub uplink: String,
}

impl Change {
    /// The daemon took the command's message (the first result).
    pub fn accepted() -> Change {
        Change {
            state: "accepted".to_owned(),
            error: String::new(),
            uplink: String::new(),
        }
    }

    /// The command cannot be carried out (why).
    pub fn failed(error: String) -> Change {
        Change {
            state: "failed".to_owned(),
            error,
            uplink: String::new(),
        }
    }
}

/// The commands whose messages are not `sent` or `failed` yet.
#[derive(Debug, Default)]
pub struct Sends {
    requests: HashMap<String, Request>,
    early: VecDeque<(String, Change)>,
}

/// Whether nothing follows `state` (`sent`, `failed`).
pub fn is_final(state: &str) -> bool {
    matches!(state, "sent" | "failed")
}

impl Sends {
    /// No command in flight.
    pub fn new() -> Sends {
        Sends::default()
    }

    /// The daemon accepted a command's message as `id`: the state changes of `id` that came
    /// before, in order, to publish now.
    pub fn accepted(&mut self, id: &str, request: Request) -> Vec<Change> {
        let mut early = Vec::new();
        self.early.retain(|(changed, change)| {
            if changed == id {
                early.push(change.clone());
                false
            } else {
                true
            }
        });
        if !early.iter().any(|change| is_final(&change.state)) {
            self.requests.insert(id.to_owned(), request);
        }
        early
    }

    /// A `StateChanged` of `id`: the command it belongs to, if known (forgotten after the
    /// final state); an unknown id is kept a while in case its `Send` reply is still coming.
    pub fn state_changed(&mut self, id: &str, change: Change) -> Option<Request> {
        let Some(request) = self.requests.get(id) else {
            if self.early.len() == EARLY_CHANGES {
                self.early.pop_front();
            }
            self.early.push_back((id.to_owned(), change));
            return None;
        };
        if is_final(&change.state) {
            self.requests.remove(id)
        } else {
            Some(request.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change(state: &str) -> Change {
        Change {
            state: state.to_owned(),
            error: String::new(),
            uplink: String::new(),
        }
    }

    fn request() -> Request {
        Request {
            target: Target::Device("imei_1".to_owned()),
            request_id: json!("r1"),
        }
    }

    #[test]
    fn changes_before_the_reply_are_replayed() {
        let mut sends = Sends::new();
        assert_eq!(sends.state_changed("5", change("queued")), None);
        assert_eq!(sends.state_changed("6", change("queued")), None);
        assert_eq!(sends.accepted("5", request()), [change("queued")]);
        assert_eq!(sends.state_changed("5", change("sending")), Some(request()));
        assert_eq!(sends.state_changed("5", change("sent")), Some(request()));
        // Final: forgotten.
        assert_eq!(sends.state_changed("5", change("sent")), None);
    }

    #[test]
    fn a_final_state_before_the_reply_ends_the_request() {
        let mut sends = Sends::new();
        sends.state_changed("5", change("queued"));
        sends.state_changed("5", change("failed"));
        assert_eq!(
            sends.accepted("5", request()),
            [change("queued"), change("failed")]
        );
        assert_eq!(sends.state_changed("5", change("sent")), None);
    }

    #[test]
    fn early_changes_are_bounded() {
        let mut sends = Sends::new();
        for n in 0..=EARLY_CHANGES {
            sends.state_changed(&n.to_string(), change("queued"));
        }
        assert!(sends.accepted("0", request()).is_empty());
        assert_eq!(sends.accepted("1", request()), [change("queued")]);
    }
}
