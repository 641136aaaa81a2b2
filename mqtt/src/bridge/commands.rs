//! The bridge's send commands (`<p>/devices/<node>/send`, `<p>/routes/<route>/send`): carried
//! out once per `request_id` (kept in the store), acknowledged to the broker only once m2mhald
//! answered and the result is stored, and followed after a restart.

use tracing::{debug, info};

use super::{Bridge, BridgeError};
use crate::dbus;
use crate::payload::{self, Command, send_result};
use crate::publish::Publish;
use crate::sends::{Change, Request, Sends, Target, is_final};
use crate::store::KeptCommand;

/// An incoming publish of a connection, to acknowledge once it is dealt with.
#[derive(Debug, Clone, Copy)]
pub(super) struct InboundAck {
    /// Which connection it came on ([`Bridge::link_generation`]).
    pub(super) link: u64,
    /// Its packet id there.
    pub(super) pkid: u16,
}

/// How a send command ended at the daemon.
pub(super) struct Outcome {
    request: Request,
    result: Result<String, String>,
    /// Its key in the store (`None`: no `request_id`, not de-duplicated).
    key: Option<String>,
    /// Its publish, acknowledged once the outcome is stored.
    ack: Option<InboundAck>,
    /// The state of a message found stored for a call the bridge did not see answered.
    found: Option<Change>,
}

/// The request of a kept command, if its target and `request_id` read back.
fn kept_request(kept: &KeptCommand) -> Option<Request> {
    let target = match kept.target.split_once(':')? {
        ("device", node) => Target::Device(node.to_owned()),
        ("route", route) => Target::Route(route.to_owned()),
        _ => return None,
    };
    let request_id = serde_json::from_str(&kept.request_id).ok()?;
    Some(Request { target, request_id })
}

/// Seconds a stored message's timestamp may be before the bridge's record of its call.
const CLOCK_SLACK: u64 = 2;

/// A send command to carry out.
struct Call {
    request: Request,
    command: Command,
    /// Its key in the store (`None`: no `request_id`).
    key: Option<String>,
    /// Its publish, acknowledged once the outcome is stored.
    ack: Option<InboundAck>,
    /// Unix seconds since which a message it may have left is looked for, when a bridge that
    /// stopped handed it to m2mhald without seeing the answer.
    unanswered: Option<u64>,
}

/// The daemon call that carries out a send command.
enum DaemonCall {
    /// `Messaging.Send` on the device object at this path.
    Messaging(String),
    /// `Router.Send` on this route.
    Router(String),
}

impl Bridge {
    /// Commands whose messages were not final when the bridge last knew: their state now is
    /// published when it changed meanwhile (the bridge was away), and they are followed again.
    pub(super) async fn follow_open_commands(&mut self) -> Result<(), BridgeError> {
        for kept in self.store.open_commands()? {
            let Some(request) = kept_request(&kept) else {
                continue;
            };
            let Some(id) = kept.id else { continue };
            let now = match &request.target {
                Target::Device(node) => match self.mirror.messaging_path(node) {
                    Some(path) => dbus::message_state(&self.bus, path, &id).await,
                    None => None,
                },
                Target::Route(_) => dbus::routed_state(&self.bus, &id).await,
            };
            let last = kept
                .last
                .and_then(|last| serde_json::from_slice::<serde_json::Value>(&last).ok())
                .and_then(|last| last["state"].as_str().map(str::to_owned));
            let done = now.as_ref().is_some_and(|now| is_final(&now.state));
            let mut changes: Vec<Change> = now
                .filter(|now| last.as_deref() != Some(now.state.as_str()))
                .into_iter()
                .collect();
            if !changes.is_empty() {
                debug!(id = %id, "a command's message changed while the bridge was away");
            }
            if !done {
                changes.extend(
                    self.sends_of(&request.target)
                        .accepted(&id, request.clone()),
                );
            }
            if !changes.is_empty() {
                self.record(&request, Some(&id), &changes)?;
            }
        }
        Ok(())
    }

    /// The store's key of `request`'s command: its result topic and `request_id`; `None`
    /// without a `request_id` (such a command cannot be told from another).
    fn command_key(&self, request: &Request) -> Option<String> {
        if request.request_id.is_null() {
            return None;
        }
        let topic = self.result_topic(&request.target);
        Some(format!("{topic}\n{}", request.request_id))
    }

    /// Publishes results of `request`'s command for message `id` (`None`: the daemon gave
    /// none), and keeps the first and the latest with the command.
    pub(super) fn record(
        &mut self,
        request: &Request,
        id: Option<&str>,
        changes: &[Change],
    ) -> Result<(), BridgeError> {
        let publishes: Vec<Publish> = changes
            .iter()
            .map(|change| self.result(request, id, change))
            .collect();
        let done = changes.last().is_some_and(|change| is_final(&change.state));
        let dropped = match self.command_key(request) {
            Some(key) => self.store.command_results(&key, id, &publishes, done)?,
            None => self.store.enqueue(&publishes, None)?,
        };
        self.queued(dropped)
    }

    fn sends_of(&mut self, target: &Target) -> &mut Sends {
        match target {
            Target::Device(_) => &mut self.sends,
            Target::Route(_) => &mut self.route_sends,
        }
    }

    /// Acknowledges an incoming publish, if it came on the current connection (otherwise the
    /// broker delivers it again, and the store tells it is known).
    pub(super) fn ack(&self, ack: Option<InboundAck>) {
        let (Some(ack), Some(link)) = (ack, &self.link) else {
            return;
        };
        if ack.link == self.link_generation && !link.ack(ack.pkid) {
            debug!(
                pkid = ack.pkid,
                "cannot acknowledge a publish now; it comes again"
            );
        }
    }

    /// The `send/result` topic beside the command topic of `target`.
    fn result_topic(&self, target: &Target) -> String {
        match target {
            Target::Device(node) => self.topics.send_result(node),
            Target::Route(route) => self.topics.route_send_result(route),
        }
    }

    /// A result of `request`'s command on the `send/result` topic beside its own.
    fn result(&self, request: &Request, id: Option<&str>, change: &Change) -> Publish {
        let topic = self.result_topic(&request.target);
        let result = send_result(
            &request.request_id,
            id,
            &change.state,
            &change.error,
            &change.uplink,
        );
        Publish::json(topic, &result, false)
    }

    /// A send command for `target`: carried out once (a `request_id` seen before gets its
    /// results again), or answered with why it cannot be.
    pub(super) fn on_command(
        &mut self,
        target: Target,
        payload: &[u8],
        retained: bool,
        ack: Option<InboundAck>,
    ) -> Result<(), BridgeError> {
        // A retained command would be sent again at every reconnect.
        let parsed = payload::parse_command(payload)
            .and_then(|command| payload::refuse_retained(command, retained));
        let command = match parsed {
            Ok(command) => command,
            Err(rejected) => {
                let request = Request {
                    target,
                    request_id: rejected.request_id,
                };
                let result = self.result(&request, None, &Change::failed(rejected.error));
                self.enqueue(&[result], None)?;
                self.ack(ack);
                return Ok(());
            }
        };
        let request = Request {
            target,
            request_id: command.request_id.clone(),
        };
        let key = self.command_key(&request);
        let mut unanswered = None;
        if let Some(key) = &key {
            if self.calling.contains(key) {
                debug!("a command again while m2mhald takes it: its results come once");
                self.ack(ack);
                return Ok(());
            }
            match self.store.command(key)? {
                Some(kept) if kept.first.is_some() => {
                    info!("a command seen before: its results again, not sent again");
                    self.repeat(&request, kept)?;
                    self.ack(ack);
                    return Ok(());
                }
                // Handed to m2mhald by a bridge that stopped before the answer.
                Some(kept) => unanswered = Some(kept.at.saturating_sub(CLOCK_SLACK)),
                None => {
                    let target = match &request.target {
                        Target::Device(node) => format!("device:{node}"),
                        Target::Route(route) => format!("route:{route}"),
                    };
                    self.store
                        .command_calling(key, &target, &request.request_id.to_string())?;
                }
            }
            self.calling.insert(key.clone());
        }
        debug!("carrying out a command");
        let call = Call {
            request,
            command,
            key,
            ack,
            unanswered,
        };
        self.command(call);
        Ok(())
    }

    /// A command seen before: its first result and its latest again.
    fn repeat(&mut self, request: &Request, kept: KeptCommand) -> Result<(), BridgeError> {
        let topic = self.result_topic(&request.target);
        let first = kept.first.unwrap_or_default();
        let mut publishes = vec![Publish {
            topic: topic.clone(),
            payload: first.clone(),
            retain: false,
        }];
        if let Some(last) = kept.last.filter(|last| *last != first) {
            publishes.push(Publish {
                topic,
                payload: last,
                retain: false,
            });
        }
        self.enqueue(&publishes, None)
    }

    /// Carries out a send command: `Messaging.Send` on the device or `Router.Send` on the
    /// route, in a task of its own; the outcome comes back as an [`Outcome`]. One a stopped
    /// bridge handed over without seeing the answer is looked for first: the daemon took it if
    /// it stored such a message since (a call whose caller died before the daemon read it is
    /// refused: the caller cannot be authorized any more), and then it is not sent again.
    fn command(&mut self, call: Call) {
        let Call {
            request,
            command,
            key,
            ack,
            unanswered,
        } = call;
        let target = match &request.target {
            Target::Device(node) => match self.mirror.messaging_path(node) {
                Some(path) => Ok(DaemonCall::Messaging(path.to_owned())),
                None => Err(format!(
                    "unknown device: no device with messaging is {node:?}"
                )),
            },
            Target::Route(route) => Ok(DaemonCall::Router(route.clone())),
        };
        let bus = self.bus.clone();
        let outcomes = self.outcomes.clone();
        tokio::spawn(async move {
            let taken = match (&target, unanswered) {
                (Ok(DaemonCall::Messaging(path)), Some(since)) => {
                    dbus::find_sent(&bus, path, &command, since).await
                }
                (Ok(DaemonCall::Router(route)), Some(since)) => {
                    dbus::find_routed(&bus, route, &command, since).await
                }
                _ => None,
            };
            let found = match (&taken, &target) {
                (Some(id), Ok(DaemonCall::Messaging(path))) => {
                    dbus::message_state(&bus, path, id).await
                }
                (Some(id), Ok(DaemonCall::Router(_))) => dbus::routed_state(&bus, id).await,
                _ => None,
            };
            let result = match (taken, target) {
                (Some(id), _) => Ok(id),
                (None, Ok(DaemonCall::Messaging(path))) => dbus::send(&bus, &path, &command).await,
                (None, Ok(DaemonCall::Router(route))) => {
                    dbus::route_send(&bus, &route, &command).await
                }
                (None, Err(error)) => Err(error),
            };
            // The bridge is stopping when nobody listens any more.
            let _ = outcomes.send(Outcome {
                request,
                result,
                key,
                ack,
                found,
            });
        });
    }

    /// m2mhald answered a command: its results are stored and published, then the command's
    /// publish is acknowledged.
    pub(super) fn on_outcome(&mut self, outcome: Outcome) -> Result<(), BridgeError> {
        let Outcome {
            request,
            result,
            key,
            ack,
            found,
        } = outcome;
        if let Some(key) = &key {
            self.calling.remove(key);
        }
        match result {
            Ok(id) => {
                let mut changes = vec![Change::accepted()];
                if let Some(found) = found {
                    info!(id = %id, "m2mhald had taken the command before the bridge stopped");
                    changes.push(found);
                }
                changes.extend(
                    self.sends_of(&request.target)
                        .accepted(&id, request.clone()),
                );
                self.record(&request, Some(&id), &changes)?;
            }
            Err(error) => self.record(&request, None, &[Change::failed(error)])?,
        }
        self.ack(ack);
        Ok(())
    }
}
