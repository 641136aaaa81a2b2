//! `org.m2mhal.Hal1.Router` end to end: a route "home" over a simulated LTE modem and a
//! simulated Iridium terminal; failover when the modem loses registration, budgets, ttl, a
//! kill -9 with routed messages queued, and bad sends.

use m2mhal_tests::router::*;
use m2mhal_tests::*;
use zbus::Variant;

fn no_options() -> RouteOptions<'static> {
    RouteOptions::new()
}

/// The routed message `id` in `Router.List`.
async fn listed(
    rig: &RouterRig,
    id: &str,
) -> std::collections::HashMap<String, zbus::OwnedVariant> {
    routed_list(rig.conn())
        .await
        .into_iter()
        .find(|m| field::<String>(m, "id") == id)
        .unwrap_or_else(|| panic!("routed message {id} is not listed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_takes_lte_and_fails_over_to_iridium_when_lte_loses_registration() {
    let mut rig = RouterRig::start(&home_route(120, "")).await;
    wait_uplink(rig.conn(), "home", LTE, |available, _| available).await;
    let mut states = routed_states(rig.conn()).await;

    let first = route_send(rig.conn(), "home", "over lte", &no_options())
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &first, "sent").await;
    assert_eq!(uplink, LTE);
    let sms = rig.modem.expect_event("sms-sent").await;
    assert_eq!(sms["text"], "over lte", "{sms}");

    rig.deregister_modem().await;
    let second = route_send(rig.conn(), "home", "over iridium", &no_options())
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &second, "sent").await;
    assert_eq!(uplink, SBD);
    assert_eq!(rig.iridium.expect_event("mo").await["text"], "over iridium");
    assert!(
        rig.modem.events_so_far("sms-sent").await.is_empty(),
        "nothing more through the modem"
    );
    let listed = listed(&rig, &second).await;
    assert_eq!(field::<String>(&listed, "state"), "sent");
    assert_eq!(field::<String>(&listed, "uplink"), SBD);
    assert_eq!(field::<u32>(&listed, "attempts"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_lets_one_message_through_and_holds_the_next() {
    let budget = "budget_bytes = 10\nbudget_period = 86400\n";
    let mut rig = RouterRig::start(&home_route(120, budget)).await;
    rig.deregister_modem().await;
    wait_uplink(rig.conn(), "home", SBD, |available, left| {
        available && left == 10
    })
    .await;
    let mut states = routed_states(rig.conn()).await;

    let first = route_send(rig.conn(), "home", "8 bytes!", &no_options())
        .await
        .unwrap();
    wait_routed(&mut states, &first, "sent").await;
    assert_eq!(rig.iridium.expect_event("mo").await["text"], "8 bytes!");
    wait_uplink(rig.conn(), "home", SBD, |_, left| left == 2).await;

    let second = route_send(rig.conn(), "home", "8 more!!", &no_options())
        .await
        .unwrap();
    wait_routed(&mut states, &second, "queued").await;
    // The router answers in order and looks at its outbox after each call: once a later call
    // is answered, it has looked at the second message and held it.
    assert_hal_error(
        route_send(rig.conn(), "away", "x", &no_options()).await,
        "InvalidArgument",
    );
    let held = listed(&rig, &second).await;
    assert_eq!(field::<String>(&held, "state"), "queued");
    assert_eq!(field::<u32>(&held, "attempts"), 0);

    // LTE back: the held message goes there.
    rig.modem.ok("register home").await;
    let (_, _, uplink, _) = wait_routed(&mut states, &second, "sent").await;
    assert_eq!(uplink, LTE);
    assert!(rig.iridium.events_so_far("mo").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_no_uplink_takes_within_its_ttl_expires() {
    let mut rig = RouterRig::start(&home_route(120, "")).await;
    rig.deregister_modem().await;
    rig.silence_iridium().await;
    wait_uplink(rig.conn(), "home", SBD, |available, _| !available).await;
    let mut states = routed_states(rig.conn()).await;
    let options = RouteOptions::from([("ttl", Variant::from(1u32))]);
    let id = route_send(rig.conn(), "home", "too late", &options)
        .await
        .unwrap();
    let (_, _, uplink, error) = wait_routed(&mut states, &id, "failed").await;
    assert_eq!((uplink.as_str(), error.as_str()), ("", "expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_messages_queued_at_a_kill_go_once_after_the_restart() {
    let mut rig = RouterRig::start(&home_route(120, "")).await;
    rig.deregister_modem().await;
    rig.silence_iridium().await;
    wait_uplink(rig.conn(), "home", SBD, |available, _| !available).await;
    let mut ids = Vec::new();
    for text in ["kept one", "kept two"] {
        ids.push(
            route_send(rig.conn(), "home", text, &no_options())
                .await
                .unwrap(),
        );
    }
    let mut rig = rig.kill_and_restart().await;
    for id in &ids {
        assert_eq!(field::<String>(&listed(&rig, id).await, "state"), "queued");
    }

    let mut states = routed_states(rig.conn()).await;
    rig.modem.ok("register home").await;
    for id in &ids {
        let (_, _, uplink, _) = wait_routed(&mut states, id, "sent").await;
        assert_eq!(uplink, LTE);
    }
    let sent: Vec<String> = [
        rig.modem.expect_event("sms-sent").await,
        rig.modem.expect_event("sms-sent").await,
    ]
    .iter()
    .map(|e| e["text"].as_str().unwrap_or_default().to_owned())
    .collect();
    assert_eq!(sent, ["kept one", "kept two"]);
    assert!(
        rig.modem.events_so_far("sms-sent").await.is_empty(),
        "each once"
    );
    assert!(
        rig.iridium.events_so_far("mo").await.is_empty(),
        "never through two uplinks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sends_are_refused_with_named_errors() {
    let rig = RouterRig::start(&home_route(120, "")).await;
    let unknown = route_send(rig.conn(), "away", "x", &no_options()).await;
    let message = assert_hal_error(unknown, "InvalidArgument");
    assert!(message.contains("away"), "{message}");
    let zero = RouteOptions::from([("ttl", Variant::from(0u32))]);
    assert_hal_error(
        route_send(rig.conn(), "home", "x", &zero).await,
        "InvalidArgument",
    );
    let bad = RouteOptions::from([("priority", Variant::from("urgent"))]);
    assert_hal_error(
        route_send(rig.conn(), "home", "x", &bad).await,
        "InvalidArgument",
    );
}
