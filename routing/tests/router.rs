//! The router on a fake clock: which uplink a message takes, and when it moves on.

use m2mhal_routing::{
    AttemptOutcome, Budget, Encoding, Priority, RouteError, RouteSpec, RoutedMessage, RoutedState,
    Router, RouterAction, UplinkSpec, UplinkStatus,
};

const LTE: &str = "imei:867698041234567";
const SBD: &str = "imei:300234063904190";

fn uplink(name: &str, budget: Option<Budget>) -> UplinkSpec {
    UplinkSpec {
        uplink: name.into(),
        destination: if name == LTE {
            "+447700900123".into()
        } else {
            String::new()
        },
        budget,
    }
}

fn router(sbd_budget: Option<Budget>) -> Router {
    let mut router = Router::new(vec![RouteSpec {
        name: "home".into(),
        failover_after: 120,
        uplinks: vec![uplink(LTE, None), uplink(SBD, sbd_budget)],
    }]);
    router.set_status(LTE, up(160));
    router.set_status(SBD, up(340));
    router
}

fn up(max_payload: u32) -> UplinkStatus {
    UplinkStatus {
        available: true,
        max_payload,
    }
}

fn down(max_payload: u32) -> UplinkStatus {
    UplinkStatus {
        available: false,
        max_payload,
    }
}

fn message(id: &str, len: usize) -> RoutedMessage {
    RoutedMessage::new(id, "home", vec![b'x'; len], Encoding::Text)
}

/// The actions as short lines: `attempt 1 via LTE`, `1 sending LTE`, `withdraw 1 from LTE`.
fn transcript(actions: &[RouterAction]) -> Vec<String> {
    let short = |uplink: &str| {
        if uplink == LTE {
            "LTE"
        } else if uplink == SBD {
            "SBD"
        } else {
            ""
        }
    };
    actions
        .iter()
        .map(|action| match action {
            RouterAction::Changed(c) => {
                let line = format!("{} {} {}", c.id, c.state.as_str(), short(&c.uplink));
                if c.error.is_empty() {
                    line.trim_end().to_owned()
                } else {
                    format!(
                        "{} ({})",
                        line.trim_end(),
                        c.error.replace(LTE, "LTE").replace(SBD, "SBD")
                    )
                }
            }
            RouterAction::Attempt { id, uplink, .. } => {
                format!("attempt {id} via {}", short(uplink))
            }
            RouterAction::Withdraw { id, uplink } => {
                format!("withdraw {id} from {}", short(uplink))
            }
            RouterAction::Spent { uplink, bytes, .. } => {
                format!("spent {bytes} on {}", short(uplink))
            }
        })
        .collect()
}

#[test]
fn a_message_takes_the_first_available_uplink_and_reports_it() {
    let mut router = router(None);
    router.queue(message("1", 10));
    assert_eq!(
        transcript(&router.poll(1000)),
        ["1 sending LTE", "attempt 1 via LTE"]
    );
    assert!(router.poll(1001).is_empty(), "one attempt at a time");
    let done = router.outcome("1", AttemptOutcome::Sent, 1002);
    assert_eq!(transcript(&done), ["spent 10 on LTE", "1 sent LTE"]);
    assert!(router.messages().is_empty());
}

#[test]
fn an_unavailable_uplink_is_skipped() {
    let mut router = router(None);
    router.set_status(LTE, down(160));
    router.queue(message("1", 10));
    assert_eq!(
        transcript(&router.poll(1000)),
        ["1 sending SBD", "attempt 1 via SBD"]
    );
}

#[test]
fn losing_registration_withdraws_the_attempt_then_fails_over() {
    let mut router = router(None);
    router.queue(message("1", 10));
    router.poll(1000);
    router.set_status(LTE, down(160));
    assert_eq!(transcript(&router.poll(1001)), ["withdraw 1 from LTE"]);
    assert!(
        router.poll(1002).is_empty(),
        "nothing through SBD while LTE may deliver"
    );
    let withdrawn = router.outcome("1", AttemptOutcome::Withdrawn, 1003);
    assert_eq!(
        transcript(&withdrawn),
        ["1 queued (LTE did not deliver in time)"]
    );
    assert_eq!(
        transcript(&router.poll(1003)),
        ["1 sending SBD", "attempt 1 via SBD"]
    );
    assert_eq!(router.messages()[0].attempts, 2);
}

#[test]
fn an_attempt_that_may_still_deliver_is_waited_for() {
    let mut router = router(None);
    router.queue(message("1", 10));
    router.poll(1000);
    assert!(
        router.poll(1119).is_empty(),
        "failover_after not passed yet"
    );
    assert_eq!(transcript(&router.poll(1120)), ["withdraw 1 from LTE"]);
    // The SBD session timed out on the wire: it may have gone.
    assert!(
        router
            .outcome("1", AttemptOutcome::InFlight, 1121)
            .is_empty()
    );
    assert!(router.poll(1200).is_empty(), "waits for the outcome");
    assert_eq!(
        transcript(&router.poll(1241)),
        ["withdraw 1 from LTE"],
        "asks again later"
    );
    let sent = router.outcome("1", AttemptOutcome::Sent, 1242);
    assert_eq!(transcript(&sent), ["spent 10 on LTE", "1 sent LTE"]);
    assert!(router.poll(1243).is_empty());
}

/// Polls every second over `from..=to`, answering each withdraw of message `id` with
/// `InFlight` at once: the times it was asked, and whether anything else was asked.
fn held_withdraws(router: &mut Router, id: &str, from: u64, to: u64) -> Vec<u64> {
    let mut asked = Vec::new();
    for now in from..=to {
        for line in transcript(&router.poll(now)) {
            assert_eq!(line, format!("withdraw {id} from LTE"), "at {now}");
            asked.push(now);
            assert!(router.outcome(id, AttemptOutcome::InFlight, now).is_empty());
        }
    }
    asked
}

#[test]
fn a_held_attempt_is_asked_again_only_when_its_uplink_changes_or_after_a_back_off() {
    let mut router = router(None);
    router.queue(message("1", 10));
    router.poll(1000);
    // LTE lost registration with the message on the wire: the device cannot give it back.
    router.set_status(LTE, down(160));
    assert_eq!(
        held_withdraws(&mut router, "1", 1001, 1600),
        [1001, 1121, 1361],
        "asked after failover_after, then twice as long each time; never through SBD"
    );
    router.set_status(LTE, up(160));
    assert_eq!(
        held_withdraws(&mut router, "1", 1601, 1700),
        [1601],
        "the device came back: asked once more"
    );
    router.set_status(LTE, down(160));
    assert_eq!(held_withdraws(&mut router, "1", 1701, 1800), [1701]);
    let withdrawn = router.outcome("1", AttemptOutcome::Withdrawn, 1801);
    assert_eq!(
        transcript(&withdrawn),
        ["1 queued (LTE did not deliver in time)"]
    );
    assert_eq!(
        transcript(&router.poll(1801)),
        ["1 sending SBD", "attempt 1 via SBD"]
    );
}

#[test]
fn a_held_attempt_is_asked_again_when_its_device_queues_it_again() {
    let mut router = router(None);
    router.queue(message("1", 10));
    router.poll(1000);
    // On the wire when failover_after passed (an SBD session under way).
    assert_eq!(held_withdraws(&mut router, "1", 1001, 1130), [1120]);
    // The session did not carry it: back in the terminal's queue.
    router.attempt_changed("1");
    assert_eq!(transcript(&router.poll(1131)), ["withdraw 1 from LTE"]);
}

#[test]
fn a_held_attempt_on_a_route_without_failover_after_waits_at_least_the_shortest_back_off() {
    let mut router = Router::new(vec![RouteSpec {
        name: "home".into(),
        failover_after: 0,
        uplinks: vec![uplink(LTE, None), uplink(SBD, None)],
    }]);
    router.set_status(LTE, up(160));
    router.set_status(SBD, up(340));
    let mut expiring = message("1", 10);
    expiring.expires = Some(1010);
    router.queue(expiring);
    router.poll(1000);
    assert_eq!(
        held_withdraws(&mut router, "1", 1001, 1100),
        [1010, 1040, 1100],
        "ttl passed: asked, then after 30 s, then 60 s"
    );
}

#[test]
fn a_failed_uplink_is_not_tried_again_and_failing_everywhere_is_final() {
    let mut router = router(None);
    router.queue(message("1", 10));
    router.poll(1000);
    let failed = router.outcome("1", AttemptOutcome::Failed("+CMS ERROR: 500".into()), 1001);
    assert_eq!(transcript(&failed), ["1 queued (LTE: +CMS ERROR: 500)"]);
    assert_eq!(
        transcript(&router.poll(1001)),
        ["1 sending SBD", "attempt 1 via SBD"]
    );
    router.outcome("1", AttemptOutcome::Failed("gateway refused".into()), 1002);
    let last = transcript(&router.poll(1002));
    assert_eq!(last.len(), 1);
    assert!(
        last[0]
            .starts_with("1 failed (every uplink of route \"home\" failed: SBD: gateway refused"),
        "{last:?}"
    );
    assert!(router.messages().is_empty());
}

#[test]
fn an_uplink_passed_over_is_tried_again_after_the_others() {
    let mut router = router(None);
    router.queue(message("1", 10));
    router.poll(1000);
    router.poll(1120);
    router.outcome("1", AttemptOutcome::Withdrawn, 1121);
    router.set_status(SBD, down(340));
    assert_eq!(
        transcript(&router.poll(1122)),
        Vec::<String>::new(),
        "SBD unavailable: wait"
    );
    router.set_status(SBD, up(340));
    assert_eq!(
        transcript(&router.poll(1123)),
        ["1 sending SBD", "attempt 1 via SBD"]
    );
    router.poll(1243);
    router.outcome("1", AttemptOutcome::Withdrawn, 1244);
    assert_eq!(
        transcript(&router.poll(1245)),
        ["1 sending LTE", "attempt 1 via LTE"],
        "a new round"
    );
}

#[test]
fn a_budget_lets_what_fits_go_and_holds_the_rest_until_the_period_rolls() {
    let budget = Budget {
        bytes: 100,
        period: 3600,
    };
    let mut router = router(Some(budget));
    router.set_status(LTE, down(160));
    router.queue(message("1", 60));
    router.queue(message("2", 60));
    assert_eq!(
        transcript(&router.poll(1000)),
        ["1 sending SBD", "attempt 1 via SBD"],
        "2 does not fit next to 1's reserved bytes"
    );
    router.outcome("1", AttemptOutcome::Sent, 1001);
    assert!(router.poll(1002).is_empty());
    assert_eq!(router.view(1002)[0].uplinks[1].budget_left, 40);
    assert_eq!(router.view(1002)[0].uplinks[0].budget_left, -1);
    assert!(
        router.poll(4600).is_empty(),
        "the 60 bytes are still within the period"
    );
    assert_eq!(
        transcript(&router.poll(4601)),
        ["2 sending SBD", "attempt 2 via SBD"]
    );
}

#[test]
fn spending_read_back_after_a_restart_counts() {
    let mut router = router(Some(Budget {
        bytes: 100,
        period: 3600,
    }));
    router.set_status(LTE, down(160));
    router.restore_spent(SBD, 900, 60);
    router.queue(message("1", 60));
    assert!(router.poll(1000).is_empty());
}

#[test]
fn ttl_expires_a_waiting_message_and_withdraws_one_under_way() {
    let mut router = router(None);
    router.set_status(LTE, down(160));
    router.set_status(SBD, down(340));
    let mut waiting = message("1", 10);
    waiting.expires = Some(1060);
    router.queue(waiting);
    assert!(router.poll(1059).is_empty());
    assert_eq!(transcript(&router.poll(1060)), ["1 failed (expired)"]);

    router.set_status(LTE, up(160));
    let mut sending = message("2", 10);
    sending.expires = Some(1100);
    router.queue(sending);
    router.poll(1070);
    assert_eq!(transcript(&router.poll(1100)), ["withdraw 2 from LTE"]);
    router.outcome("2", AttemptOutcome::Withdrawn, 1101);
    assert_eq!(transcript(&router.poll(1101)), ["2 failed (expired)"]);
}

#[test]
fn high_priority_goes_first() {
    let mut router = router(None);
    router.queue(message("1", 10));
    let mut urgent = message("2", 10);
    urgent.priority = Priority::High;
    router.queue(urgent);
    let started = transcript(&router.poll(1000));
    assert_eq!(started[..2], ["2 sending LTE", "attempt 2 via LTE"]);
}

#[test]
fn an_uplink_too_small_is_skipped() {
    let mut router = router(None);
    router.queue(message("1", 200));
    assert_eq!(
        transcript(&router.poll(1000)),
        ["1 sending SBD", "attempt 1 via SBD"]
    );
}

#[test]
fn bad_sends_are_refused_with_the_reason() {
    let router = router(Some(Budget {
        bytes: 300,
        period: 60,
    }));
    assert_eq!(
        router.check("away", 10, None),
        Err(RouteError::UnknownRoute("away".into()))
    );
    assert_eq!(router.check("home", 10, Some(0)), Err(RouteError::ZeroTtl));
    assert!(router.check("home", 300, Some(60)).is_ok());
    let too_large = router.check("home", 301, None).unwrap_err().to_string();
    assert!(too_large.contains("MaxPayload 160"), "{too_large}");
    assert!(too_large.contains("budget 300 bytes"), "{too_large}");
}

#[test]
fn a_message_read_back_with_its_attempt_waits_for_that_attempt() {
    let mut router = router(None);
    let mut restored = message("1", 10);
    restored.state = RoutedState::Sending;
    restored.uplink = LTE.into();
    restored.attempts = 1;
    restored.attempt = Some(m2mhal_routing::Attempt {
        uplink: LTE.into(),
        started: 1000,
        withdrawing: false,
    });
    router.queue(restored);
    assert!(
        router.poll(1001).is_empty(),
        "no second attempt after a restart"
    );
    let sent = router.outcome("1", AttemptOutcome::Sent, 1002);
    assert_eq!(transcript(&sent), ["spent 10 on LTE", "1 sent LTE"]);
}
