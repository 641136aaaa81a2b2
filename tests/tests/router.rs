//! `org.m2mhal.Hal1.Router` end to end: a route "home" over a simulated LTE modem and a
//! simulated Iridium terminal; failover when the modem loses registration or the terminal its
//! service after it took a message, budgets, ttl, a kill -9 with routed messages queued, and
//! bad sends.

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

/// A BTHome thermometer on the fake BlueZ.
const TANK: &str = "A4:C1:38:00:00:01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_fires_once_re_arms_past_its_hysteresis_and_honours_its_cooldown() {
    let bus = TestBus::start_with_bluez().await;
    let mut ble = Sim::start(&["ble", "--bus", &bus.address, "--adv-interval", "200"], 1).await;
    ble.ok(&format!("add-bthome {TANK} Tank")).await;
    ble.ok(&format!("measure {TANK} temperature=25")).await;
    let mut modem = Sim::start(&["modem"], 1).await;
    let route = format!(
        "[[route]]\nname = \"home\"\n[[route.uplink]]\ndevice = \"{LTE}\"\ndestination = \"{PHONE}\"\n"
    );
    let rule = format!(
        "[[rule]]\nname = \"tank-hot\"\ndevice = \"ble:{TANK}\"\nreading = \"temperature\"\n\
         above = 30.0\nhysteresis = 1.0\ncooldown = 600\nroute = \"home\"\n\
         text = \"{{rule}}: {{device}} {{reading}} = {{value}}\"\n"
    );
    let config = format!(
        "{}{}{route}{rule}",
        ble_config(""),
        port_config(&modem.path(0))
    );
    let daemon = Daemon::start(&bus, &config).await;
    let conn = &daemon.conn;
    wait_for_device(conn, &modem.path(0), "ready").await;
    let tank = wait_for_device_id(conn, &format!("ble:{TANK}"), "ready").await;
    wait_for_readings(conn, &tank, |r| r.get("temperature") == Some(&25.0)).await;
    wait_rule(conn, "tank-hot", "armed", 0).await;
    let mut states = routed_states(conn).await;

    ble.ok(&format!("measure {TANK} temperature=31")).await;
    let (id, _, _, _) = next_signal(&mut states, |(_, state, _, _): &RoutedState| {
        state == "sent"
    })
    .await;
    let sms = modem.expect_event("sms-sent").await;
    assert_eq!(
        sms["text"],
        format!("tank-hot: ble:{TANK} temperature = 31"),
        "{sms}"
    );
    wait_rule(conn, "tank-hot", "fired", 1).await;

    // Below 30 but not past 29, then hot again: still fired, no second message.
    for value in ["29.5", "32"] {
        ble.ok(&format!("measure {TANK} temperature={value}")).await;
        let expected: f64 = value.parse().unwrap_or_default();
        wait_for_readings(conn, &tank, |r| r.get("temperature") == Some(&expected)).await;
    }
    // The router takes its inputs in order: once it answered a later call, it saw 32.
    assert_hal_error(
        route_send(conn, "away", "x", &no_options()).await,
        "InvalidArgument",
    );
    wait_rule(conn, "tank-hot", "fired", 1).await;

    // Past the hysteresis: armed again; hot again within the cooldown: pending, no message.
    ble.ok(&format!("measure {TANK} temperature=28.9")).await;
    wait_rule(conn, "tank-hot", "armed", 1).await;
    ble.ok(&format!("measure {TANK} temperature=31")).await;
    wait_rule(conn, "tank-hot", "pending", 1).await;
    assert!(
        modem.events_so_far("sms-sent").await.is_empty(),
        "one message only"
    );
    let listed = routed_list(conn).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(field::<String>(&listed[0], "id"), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2mctl_sends_through_a_route_and_shows_routes_and_rules() {
    let budget = "budget_bytes = 2000\n";
    let mut rig = RouterRig::start(&home_route(120, budget)).await;
    rig.deregister_modem().await;
    wait_uplink(rig.conn(), "home", SBD, |available, _| available).await;
    let address = rig.bus.address.clone();

    let sent = m2mctl(
        &address,
        &["route", "send", "home", "from m2mctl", "--wait"],
    )
    .await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    assert!(sent.stdout.contains(&format!("sent via {SBD}")), "{sent:?}");
    assert_eq!(rig.iridium.expect_event("mo").await["text"], "from m2mctl");

    wait_uplink(rig.conn(), "home", SBD, |_, left| left == 2000 - 11).await;
    let routes = m2mctl(&address, &["routes"]).await;
    assert_eq!(routes.code, Some(0), "{routes:?}");
    let lines: Vec<&str> = routes.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(LTE) && l.contains("false") && l.contains("unlimited")),
        "{routes:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(SBD) && l.contains("true") && l.contains("1989 bytes")),
        "{routes:?}"
    );

    let rules = m2mctl(&address, &["rules"]).await;
    assert_eq!(
        (rules.code, rules.stdout.trim()),
        (Some(0), "no rules"),
        "{rules:?}"
    );
    let unknown = m2mctl(&address, &["route", "send", "away", "x"]).await;
    assert_eq!(unknown.code, Some(1), "{unknown:?}");
    assert!(unknown.stderr.contains("InvalidArgument"), "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uplink_that_refuses_the_message_hands_it_to_the_next() {
    // The modem's driver refuses a destination that is no phone number: that attempt fails.
    let route = home_route(120, "").replace(PHONE, "pump-station");
    let mut rig = RouterRig::start(&route).await;
    wait_uplink(rig.conn(), "home", LTE, |available, _| available).await;
    let mut states = routed_states(rig.conn()).await;
    let id = route_send(rig.conn(), "home", "refused by lte", &no_options())
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &id, "sending").await;
    assert_eq!(uplink, LTE);
    // Back to queued, not failed: the reason names the uplink.
    let (_, state, uplink, error) =
        next_signal(&mut states, |(i, _, _, _): &RoutedState| *i == id).await;
    assert_eq!((state.as_str(), uplink.as_str()), ("queued", ""));
    assert!(error.starts_with(LTE), "{error}");
    let (_, _, uplink, _) = wait_routed(&mut states, &id, "sent").await;
    assert_eq!(uplink, SBD);
    assert_eq!(
        rig.iridium.expect_event("mo").await["text"],
        "refused by lte"
    );
    assert_eq!(field::<u32>(&listed(&rig, &id).await, "attempts"), 2);
    assert!(rig.modem.events_so_far("sms-sent").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_terminal_took_before_it_lost_service_fails_over_once_never_via_the_sky() {
    let mut rig = RouterRig::start(&satellite_first_route(2)).await;
    wait_uplink(rig.conn(), "home", SBD, |available, _| available).await;
    wait_uplink(rig.conn(), "home", LTE, |available, _| available).await;
    // Sessions of 3 s: longer than failover_after, so the router first finds the attempt on
    // the wire (it waits), then handed back. The session that carries the message finds no
    // service (MO status 32: the terminal lost it after it took the message), and service
    // stays away.
    rig.iridium.ok("session-delay 3000").await;
    rig.iridium.ok("mo-status 32").await;
    let mut states = routed_states(rig.conn()).await;
    let id = route_send(rig.conn(), "home", "sky or ground", &no_options())
        .await
        .unwrap();
    let (_, _, uplink, _) = wait_routed(&mut states, &id, "sending").await;
    assert_eq!(uplink, SBD);
    let session = rig.iridium.expect_event("session").await;
    assert_eq!(session["mo_status"], 32, "{session}");
    rig.iridium.ok("service off").await;

    let (_, _, uplink, _) = wait_routed(&mut states, &id, "sent").await;
    assert_eq!(uplink, LTE);
    let sms = rig.modem.expect_event("sms-sent").await;
    assert_eq!(sms["text"], "sky or ground", "{sms}");
    assert!(
        rig.modem.events_so_far("sms-sent").await.is_empty(),
        "once through the modem"
    );
    assert!(
        rig.iridium.events_so_far("mo").await.is_empty(),
        "never through the satellite"
    );
    assert!(rig.iridium.gateway_mo(0).await.is_empty());
    let listed = listed(&rig, &id).await;
    assert_eq!(field::<u32>(&listed, "attempts"), 2);
    assert_eq!(field::<String>(&listed, "uplink"), LTE);
}
