//! The host core on a fake clock, with a scripted driver and an in-memory store: what it asks
//! the runner to do, in which order.

use std::collections::BTreeMap;

use m2mhal_host_core::{
    Action, Answer, Deadline, DeviceHost, IncomingOutcome, NOT_READY_RETRY_MS, Now, Outgoing,
    Publication, Update, states,
};
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DeviceUpdate, Effect, Encoding, Event, IncomingMessage,
    Request,
};

/// A driver's answer to one event.
type Script = Box<dyn FnMut(&Event) -> Result<Vec<Effect>, String>>;

/// The core with a scripted driver; every action it asks for is written down as a line.
struct Rig {
    core: DeviceHost<&'static str>,
    now_ms: u64,
    driver: Script,
    /// What the fake store holds as waiting outgoing messages.
    stored: Vec<Outgoing>,
    /// Keys the fake store holds as committed.
    committed: Vec<String>,
    /// Whether the store takes incoming messages.
    store_works: bool,
    /// Whether a restarted driver opens.
    reopens: bool,
    /// How the runner answers `Publish`.
    publication: Publication,
    trace: Vec<String>,
}

impl Rig {
    fn new(driver: impl FnMut(&Event) -> Result<Vec<Effect>, String> + 'static) -> Self {
        Rig {
            core: DeviceHost::new(Now {
                ms: 0,
                unix_time: 0,
            }),
            now_ms: 0,
            driver: Box::new(driver),
            stored: Vec::new(),
            committed: Vec::new(),
            store_works: true,
            reopens: true,
            publication: Publication::New,
            trace: Vec::new(),
        }
    }

    fn now(&self) -> Now {
        Now {
            ms: self.now_ms,
            unix_time: 1_700_000_000 + self.now_ms / 1000,
        }
    }

    /// Carries out actions until the core is idle; returns their lines.
    fn run(&mut self) -> Vec<String> {
        while let Some(action) = self.core.poll(self.now()) {
            let (line, answer) = self.carry_out(action);
            self.trace.push(line);
            if let Some(answer) = answer {
                self.core.answer(answer);
            }
        }
        std::mem::take(&mut self.trace)
    }

    fn carry_out(&mut self, action: Action<&'static str>) -> (String, Option<Answer>) {
        match action {
            Action::Drive(input) => (
                format!("drive {:?} at {}", input.event, input.now_ms),
                Some(Answer::Driven((self.driver)(&input.event))),
            ),
            Action::Link(Effect::Tx(bytes)) => (format!("tx {}", bytes.escape_ascii()), None),
            Action::Link(effect) => (format!("link {effect:?}"), None),
            Action::Update(Update::State { state, reason }) => {
                (format!("state {state} {reason}"), None)
            }
            Action::Update(Update::Pending(pending)) => (format!("pending {pending}"), None),
            Action::Update(update) => (format!("update {update:?}"), None),
            Action::Log { message, .. } => (format!("log {message}"), None),
            Action::Reply { caller, result, .. } => (format!("reply {caller} {result:?}"), None),
            Action::StrayReply { call } => (format!("stray reply {call}"), None),
            Action::Withdraw => ("withdraw".into(), None),
            Action::Publish => ("publish".into(), Some(Answer::Published(self.publication))),
            Action::LoadOutbox { device_id } => (
                format!("load outbox {device_id}"),
                Some(Answer::OutboxLoaded(Some(self.stored.clone()))),
            ),
            Action::ReadRecentCommits { device_id, limit } => (
                format!("read {limit} commits {device_id}"),
                Some(Answer::RecentCommits(self.committed.clone())),
            ),
            Action::StoreIncoming { message, .. } => {
                let outcome = if !self.store_works {
                    IncomingOutcome::NotCommitted
                } else if self.committed.contains(&message.key) {
                    IncomingOutcome::AlreadyCommitted
                } else {
                    self.committed.push(message.key.clone());
                    IncomingOutcome::Committed {
                        id: format!("in{}", self.committed.len()),
                    }
                };
                (
                    format!("store {}", message.key),
                    Some(Answer::IncomingStored(outcome)),
                )
            }
            Action::EmitReceived { id, .. } => (format!("signal received {id}"), None),
            Action::ReadProgress { id } => (
                format!("read progress {id}"),
                Some(Answer::Progress(Some(BTreeMap::from([(
                    "attempts".to_owned(),
                    "2".to_owned(),
                )])))),
            ),
            Action::CommitState(change) => (
                format!("commit {} {}", change.id, change.state.as_str()),
                None,
            ),
            Action::EmitState { id, state, .. } => {
                (format!("signal {id} {}", state.as_str()), None)
            }
            Action::EmitNotification { characteristic, .. } => {
                (format!("notify {characteristic}"), None)
            }
            Action::RestartDriver => {
                let result = if self.reopens {
                    Ok(())
                } else {
                    Err("cannot load".to_owned())
                };
                (
                    "restart driver".into(),
                    Some(Answer::DriverRestarted(result)),
                )
            }
        }
    }

    fn deliver(&mut self, event: Event) -> Vec<String> {
        self.core.deliver(event);
        self.run()
    }

    /// Lets time pass up to `ms`, waking the core at every deadline on the way.
    fn advance_to(&mut self, ms: u64) -> Vec<String> {
        let mut trace = Vec::new();
        while let Some(due) = self.core.deadline().filter(|due| *due <= ms) {
            self.now_ms = due;
            self.core.wake(self.now());
            trace.extend(self.run());
        }
        self.now_ms = ms;
        trace
    }
}

fn ready(id: &str) -> Effect {
    Effect::Device(DeviceUpdate {
        id: Some(id.into()),
        state: Some(states::READY.into()),
        ..Default::default()
    })
}

fn message(id: &str) -> Outgoing {
    Outgoing {
        id: id.into(),
        destination: "+15550100".into(),
        payload: b"hi".to_vec(),
        encoding: Encoding::Text,
        info: BTreeMap::new(),
    }
}

/// A modem: ready with an Id when opened; answers sends `Sent` (or as `answer` says).
fn modem(mut answer: impl FnMut(&str) -> Result<CallReply, CallError> + 'static) -> Rig {
    Rig::new(move |event| {
        Ok(match event {
            Event::Opened => vec![ready("imei:1")],
            Event::Call {
                call,
                request: Request::Send(message),
            } => vec![Effect::Reply {
                call: *call,
                result: answer(&message.id),
            }],
            _ => Vec::new(),
        })
    })
}

#[test]
fn timers_fire_in_deadline_order_at_their_time() {
    let mut rig = Rig::new(|event| {
        Ok(match event {
            Event::Opened => vec![
                Effect::SetTimer {
                    id: 2,
                    after_ms: 500,
                },
                Effect::SetTimer {
                    id: 1,
                    after_ms: 100,
                },
                Effect::SetTimer {
                    id: 3,
                    after_ms: 50,
                },
                Effect::CancelTimer(3),
            ],
            Event::Timer(1) => vec![Effect::SetTimer {
                id: 1,
                after_ms: 300,
            }],
            _ => Vec::new(),
        })
    });
    rig.deliver(Event::Opened);
    assert_eq!(rig.core.deadline(), Some(100));
    assert!(rig.advance_to(99).is_empty());
    assert_eq!(
        rig.advance_to(600),
        [
            "drive Timer(1) at 100",
            "drive Timer(1) at 400",
            "drive Timer(2) at 500"
        ]
    );
    assert_eq!(rig.core.timer_due(1), Some(700));
    assert_eq!(rig.core.timer_due(3), None);
}

#[test]
fn a_device_with_an_id_is_published_then_its_outbox_loaded_then_commits_replayed() {
    let mut rig = modem(|_| Ok(CallReply::Done));
    rig.committed = vec!["sm:3".into()];
    rig.stored = vec![message("7")];
    let trace = rig.deliver(Event::Opened);
    assert_eq!(
        trace[..7],
        [
            "drive Opened at 0",
            &format!(
                "update {:?}",
                Update::Device(DeviceUpdate {
                    id: Some("imei:1".into()),
                    state: Some(states::READY.into()),
                    ..Default::default()
                })
            ),
            "publish",
            "load outbox imei:1",
            "pending 1",
            "read 32 commits imei:1",
            "read progress 7",
        ]
    );
    assert_eq!(
        trace[7..],
        [
            "commit 7 sending",
            "signal 7 sending",
            "drive MessageCommitted { key: \"sm:3\" } at 0",
            "drive Call { call: 1, request: Send(OutgoingMessage { id: \"7\", destination: \"+15550100\", payload: [104, 105], encoding: Text, progress: {\"attempts\": \"2\"} }) } at 0",
            "commit 7 sent",
            "signal 7 sent",
            "pending 0",
        ]
    );
    // A second Opened (a port reopened after a hangup) replays the commits again, once the Id
    // is reported again; the outbox is not loaded twice.
    let trace = rig.deliver(Event::Opened);
    assert!(trace.contains(&"read 32 commits imei:1".to_owned()));
    assert!(!trace.iter().any(|line| line.starts_with("load outbox")));
}

#[test]
fn messages_go_one_at_a_time_in_order_each_committed_before_it_is_signalled() {
    let mut rig = Rig::new(|event| {
        Ok(match event {
            Event::Opened => vec![ready("imei:1")],
            // Sends are answered later, by the test.
            _ => Vec::new(),
        })
    });
    rig.deliver(Event::Opened);
    rig.core.enqueue(message("1"));
    let mut trace = rig.run();
    rig.core.enqueue(message("2"));
    trace.extend(rig.run());
    assert_eq!(
        trace[..4],
        [
            "pending 1",
            "read progress 1",
            "commit 1 sending",
            "signal 1 sending",
        ]
    );
    assert!(
        trace[4].starts_with("drive Call { call: 1, request: Send(OutgoingMessage { id: \"1\"")
    );
    assert_eq!(trace[5], "pending 2");
    assert_eq!(trace.len(), 6, "message 2 waits: {trace:?}");
    // The driver reports progress of the message in flight: committed; `sending` not signalled
    // twice, a fact is.
    let progress = |state| Effect::MessageState {
        id: "1".into(),
        state,
        error: String::new(),
        info: BTreeMap::from([("attempt".to_owned(), "1".to_owned())]),
    };
    rig.driver = Box::new(move |event| {
        Ok(match event {
            Event::Rx(_) => vec![
                progress(m2mhal_plugin_api::MessageState::Sending),
                Effect::Reply {
                    call: 1,
                    result: Ok(CallReply::Sent(BTreeMap::new())),
                },
            ],
            _ => Vec::new(),
        })
    });
    let trace = rig.deliver(Event::Rx(b"+CMGS: 4".to_vec()));
    assert_eq!(
        trace[..8],
        [
            "drive Rx([43, 67, 77, 71, 83, 58, 32, 52]) at 0",
            "commit 1 sending",
            "commit 1 sent",
            "signal 1 sent",
            "pending 1",
            "read progress 2",
            "commit 2 sending",
            "signal 2 sending",
        ]
    );
    assert!(trace[8].contains("Send(OutgoingMessage { id: \"2\""));
}

#[test]
fn a_busy_or_slow_device_keeps_the_message_at_the_head_and_a_refusal_fails_it() {
    let mut answers = vec![
        Err(CallError::new(CallErrorKind::Timeout, "no answer")),
        Err(CallError::new(CallErrorKind::NotReady, "no network")),
        Err(CallError::new(CallErrorKind::Failed, "+CMS ERROR: 500")),
    ]
    .into_iter();
    let mut rig = Rig::new(move |event| {
        Ok(match event {
            Event::Opened => vec![ready("imei:1")],
            Event::Call { call, .. } => match answers.next() {
                Some(result) => vec![Effect::Reply {
                    call: *call,
                    result,
                }],
                None => Vec::new(),
            },
            _ => Vec::new(),
        })
    });
    rig.deliver(Event::Opened);
    rig.core.enqueue(message("1"));
    rig.core.enqueue(message("2"));
    let states: Vec<String> = rig
        .run()
        .into_iter()
        .filter(|line| line.starts_with("signal"))
        .collect();
    assert_eq!(
        states,
        [
            "signal 1 sending",
            "signal 1 queued",
            "signal 1 sending",
            "signal 1 queued",
        ],
        "a slow device gets the message again at once; one that is not ready does not"
    );
    let states: Vec<String> = rig
        .advance_to(NOT_READY_RETRY_MS)
        .into_iter()
        .filter(|line| line.starts_with("signal"))
        .collect();
    assert_eq!(
        states,
        ["signal 1 sending", "signal 1 failed", "signal 2 sending"]
    );
}

/// An Iridium terminal that lost service: it answers every send `NotReady` (it keeps nothing)
/// until its signal is back.
fn terminal_without_service() -> Rig {
    Rig::new(move |event| {
        Ok(match event {
            Event::Opened => vec![ready("imei:3")],
            Event::Call {
                call,
                request: Request::Send(_),
            } => vec![Effect::Reply {
                call: *call,
                result: Err(CallError::new(CallErrorKind::NotReady, "no service")),
            }],
            _ => Vec::new(),
        })
    })
}

#[test]
fn a_message_the_driver_cannot_send_now_waits_host_side_without_spinning_and_can_be_withdrawn() {
    let mut rig = terminal_without_service();
    rig.deliver(Event::Opened);
    rig.core.enqueue(message("1"));
    rig.core.enqueue(message("2"));
    let sends = |trace: &[String]| {
        trace
            .iter()
            .filter(|line| line.contains("request: Send"))
            .count()
    };
    let trace = rig.run();
    assert_eq!(sends(&trace), 1, "one refused send, then a hold: {trace:?}");
    assert!(trace.contains(&"signal 1 queued".to_owned()), "{trace:?}");
    // Held: time short of the hold hands nothing over.
    let trace = rig.advance_to(NOT_READY_RETRY_MS - 1);
    assert_eq!(sends(&trace), 0, "{trace:?}");
    // The router takes the message back while it waits host-side: never on the wire.
    assert!(rig.core.withdraw("1"));
    assert_eq!(rig.run(), ["pending 1"]);
    // The hold is over: the next message is tried once, and held again.
    let trace = rig.advance_to(NOT_READY_RETRY_MS + 1);
    assert_eq!(sends(&trace), 1, "{trace:?}");
    assert!(trace.contains(&"signal 2 queued".to_owned()), "{trace:?}");
    // News about the device (its signal) ends the hold at once.
    let signal = Effect::Signal(m2mhal_plugin_api::SignalUpdate {
        quality: Some(40),
        ..Default::default()
    });
    rig.driver = Box::new(move |event| {
        Ok(match event {
            Event::Timer(_) => vec![signal.clone()],
            Event::Call { call, .. } => vec![Effect::Reply {
                call: *call,
                result: Ok(CallReply::Done),
            }],
            _ => Vec::new(),
        })
    });
    rig.core.deliver(Event::Timer(1));
    let trace = rig.run();
    assert!(trace.contains(&"signal 2 sent".to_owned()), "{trace:?}");
    assert!(rig.core.deadline().is_none(), "no hold left: {trace:?}");
}

#[test]
fn a_received_message_is_committed_then_signalled_then_acknowledged_to_the_driver() {
    let incoming = IncomingMessage {
        key: "sm:1".into(),
        peer: "+15550100".into(),
        payload: b"hello".to_vec(),
        text: Some("hello".into()),
        timestamp: 1_700_000_000,
        info: BTreeMap::new(),
    };
    let received = incoming.clone();
    let mut rig = Rig::new(move |event| {
        Ok(match event {
            Event::Opened => vec![
                Effect::MessageReceived(received.clone()),
                ready("imei:1"),
                Effect::MessageReceived(received.clone()),
            ],
            _ => Vec::new(),
        })
    });
    let trace = rig.deliver(Event::Opened);
    let from_store: Vec<&String> = trace
        .iter()
        .filter(|line| line.contains("sm:1") || line.contains("received"))
        .collect();
    assert_eq!(
        from_store,
        [
            // The first report came before the Id: dropped, not acknowledged.
            "store sm:1",
            "signal received in1",
            "drive MessageCommitted { key: \"sm:1\" } at 0",
        ]
    );
    // Reported again (the driver did not get to delete it): acknowledged without a signal.
    rig.driver = Box::new(move |event| {
        Ok(match event {
            Event::Rx(_) => vec![Effect::MessageReceived(incoming.clone())],
            _ => Vec::new(),
        })
    });
    let trace = rig.deliver(Event::Rx(Vec::new()));
    assert_eq!(
        trace[1..],
        [
            "store sm:1",
            "drive MessageCommitted { key: \"sm:1\" } at 0"
        ]
    );
    // A store that fails leaves the message on the device: the driver is not told.
    rig.store_works = false;
    rig.committed.clear();
    let trace = rig.deliver(Event::Rx(Vec::new()));
    assert_eq!(trace[1..], ["store sm:1"]);
}

#[test]
fn a_failed_driver_answers_its_callers_and_restarts_with_backoff() {
    let mut rig = Rig::new(|event| match event {
        Event::Call {
            request: Request::Poll,
            ..
        } => Err("worker died".into()),
        Event::Opened => Ok(vec![Effect::SetTimer {
            id: 1,
            after_ms: 60_000,
        }]),
        _ => Ok(Vec::new()),
    });
    rig.deliver(Event::Opened);
    rig.core.call(Request::Refresh, "refresh");
    rig.core.call(Request::Poll, "poll");
    let trace = rig.run();
    assert_eq!(
        trace[2..],
        [
            "reply refresh Err(CallError { kind: Failed, message: \"the driver failed\" })",
            "reply poll Err(CallError { kind: Failed, message: \"the driver failed\" })",
            "state failed driver-error",
        ]
    );
    assert_eq!(rig.core.state(), states::FAILED);
    // Timers died with the driver; the restart is due after 5 s. Calls meanwhile: not ready.
    assert_eq!(rig.core.deadline(), Some(5_000));
    rig.core.call(Request::Refresh, "early");
    assert_eq!(
        rig.run(),
        [
            "reply early Err(CallError { kind: NotReady, message: \"the driver is restarting after a failure\" })"
        ]
    );
    assert!(rig.advance_to(4_999).is_empty());
    assert_eq!(
        rig.advance_to(5_000),
        ["restart driver", "drive Opened at 5000"]
    );
    // It fails again soon: twice the delay. Its restart fails: twice again.
    rig.core.call(Request::Poll, "poll");
    rig.run();
    assert_eq!(rig.core.deadline(), Some(15_000));
    rig.reopens = false;
    assert_eq!(rig.advance_to(15_000), ["restart driver"]);
    assert_eq!(rig.core.deadline(), Some(35_000));
}

#[test]
fn a_message_in_flight_when_the_driver_fails_goes_first_after_the_restart() {
    let mut rig = Rig::new(|event| match event {
        Event::Opened => Ok(vec![ready("imei:1")]),
        Event::Call { .. } => Err("crashed".into()),
        _ => Ok(Vec::new()),
    });
    rig.deliver(Event::Opened);
    rig.core.enqueue(message("1"));
    rig.core.enqueue(message("2"));
    rig.run();
    rig.driver = Box::new(|event| {
        Ok(match event {
            Event::Opened => vec![ready("imei:1")],
            _ => Vec::new(),
        })
    });
    let trace = rig.advance_to(5_000);
    assert!(trace.contains(&"read progress 1".to_owned()), "{trace:?}");
}

#[test]
fn detaching_drops_callers_and_leaves_the_device_offline() {
    let mut rig = Rig::new(|_| Ok(Vec::new()));
    rig.deliver(Event::Opened);
    rig.core.call(Request::Refresh, "refresh");
    rig.run();
    rig.core.detach();
    assert_eq!(rig.run(), ["state offline unplugged"]);
    assert_eq!(rig.core.state(), states::OFFLINE);
}

#[test]
fn a_device_published_before_its_id_moves_to_its_ids_object() {
    let mut rig = Rig::new(|event| {
        Ok(match event {
            Event::Opened => vec![Effect::Device(DeviceUpdate {
                state: Some(states::FAILED.into()),
                ..Default::default()
            })],
            _ => vec![ready("imei:1")],
        })
    });
    let trace = rig.deliver(Event::Opened);
    assert_eq!(trace.last().map(String::as_str), Some("publish"));
    let trace = rig.deliver(Event::Rx(Vec::new()));
    assert_eq!(trace[1], "withdraw");
    assert_eq!(trace[3], "publish");
}

#[test]
fn a_reply_nobody_waits_for_is_reported() {
    let mut rig = Rig::new(|_| {
        Ok(vec![Effect::Reply {
            call: 9,
            result: Ok(CallReply::Done),
        }])
    });
    assert_eq!(rig.deliver(Event::Hangup)[1], "stray reply 9");
}

/// A port whose device another port already serves (two AT ports of one modem) stops at its
/// `Publish`: it loads no outbox, replays no commits, sends nothing and writes nothing more,
/// even when its driver reports the `Id` and `ready` at once. (The other port is sending the
/// same stored messages: a second sender would send one twice, and commit `sending` over the
/// other's `sent`.)
#[test]
fn a_port_whose_device_is_served_elsewhere_leaves_the_outbox_alone() {
    let mut rig = Rig::new(|event| {
        Ok(match event {
            Event::Opened => vec![ready("imei:1"), Effect::Tx(b"AT+CPMS?\r".to_vec())],
            Event::Call { call, .. } => vec![Effect::Reply {
                call: *call,
                result: Ok(CallReply::Done),
            }],
            _ => Vec::new(),
        })
    });
    rig.publication = Publication::Taken;
    rig.stored = vec![message("7")];
    rig.committed = vec!["sm:3".into()];
    let trace = rig.deliver(Event::Opened);
    assert!(rig.core.is_abandoned());
    assert_eq!(trace.len(), 3, "{trace:#?}");
    assert_eq!([&trace[0], &trace[2]], ["drive Opened at 0", "publish"]);
    // Whatever the runner hands in before it stops is not acted on either.
    rig.core.enqueue(message("8"));
    rig.core.deliver(Event::Rx(b"OK".to_vec()));
    assert!(rig.run().is_empty());
}

/// A caller with a deadline the driver does not meet is answered `Timeout` by the core, at the
/// deadline and not before; the driver's late answer is dropped without a stray-reply report.
/// A call answered in time is not answered again at its deadline.
#[test]
fn a_call_the_driver_does_not_answer_by_its_deadline_is_answered_timeout() {
    let mut rig = Rig::new(|event| {
        Ok(match event {
            // Refresh is answered at once; Reset only when the device says so (an Rx).
            Event::Call {
                call,
                request: Request::Refresh,
            } => vec![Effect::Reply {
                call: *call,
                result: Ok(CallReply::Done),
            }],
            Event::Rx(_) => vec![Effect::Reply {
                call: 1,
                result: Ok(CallReply::Done),
            }],
            _ => Vec::new(),
        })
    });
    rig.now_ms = 1_000;
    let deadline = |timeout_ms| Deadline {
        at_ms: 1_000 + timeout_ms,
        timeout_ms,
    };
    rig.core.call_by(Request::Reset, "reset", deadline(60_000));
    rig.core
        .call_by(Request::Refresh, "refresh", deadline(30_000));
    let trace = rig.run();
    assert_eq!(
        trace.last().map(String::as_str),
        Some("reply refresh Ok(Done)")
    );
    assert_eq!(rig.core.deadline(), Some(61_000));
    assert!(rig.advance_to(60_999).is_empty());
    assert_eq!(
        rig.advance_to(61_000),
        [
            "reply reset Err(CallError { kind: Timeout, message: \"the device did not answer within 60000 ms\" })"
        ]
    );
    assert_eq!(rig.core.deadline(), None);
    // The driver answers after all: too late, dropped.
    assert_eq!(
        rig.deliver(Event::Rx(b"OK".to_vec())),
        ["drive Rx([79, 75]) at 61000"]
    );
}
