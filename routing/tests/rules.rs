//! Rules on a fake clock: hysteresis, `for`, `cooldown`, state rules, restarts.

use m2mhal_routing::{Condition, Reading, Rule, RuleSpec, RuleState, Template};

fn tank_hot(hold: u64, cooldown: u64) -> Rule {
    Rule::new(RuleSpec {
        name: "tank-hot".into(),
        device: "ble:AA:BB:CC:DD:EE:01".into(),
        reading: "temperature".into(),
        condition: Condition::Above(30.0),
        hysteresis: 1.0,
        hold,
        cooldown,
        route: "home".into(),
        text: Template::parse("{rule}: {device} {reading} = {value}").unwrap(),
    })
}

fn temp(rule: &mut Rule, value: f64, now: u64) -> Option<String> {
    rule.observe(Reading::Number(value), now).map(|fire| {
        assert_eq!(fire.route, "home");
        fire.text
    })
}

#[test]
fn fires_once_and_re_arms_only_past_the_hysteresis() {
    let mut rule = tank_hot(0, 0);
    assert_eq!(temp(&mut rule, 29.0, 100), None);
    assert_eq!(
        temp(&mut rule, 30.5, 101).as_deref(),
        Some("tank-hot: ble:AA:BB:CC:DD:EE:01 temperature = 30.5")
    );
    assert_eq!(rule.state(), RuleState::Fired);
    assert_eq!(temp(&mut rule, 31.0, 102), None, "fired: no second message");
    assert_eq!(
        temp(&mut rule, 29.5, 103),
        None,
        "below 30 but not past 29: still fired"
    );
    assert_eq!(temp(&mut rule, 30.5, 104), None);
    assert_eq!(rule.state(), RuleState::Fired);
    assert_eq!(temp(&mut rule, 29.0, 105), None);
    assert_eq!(rule.state(), RuleState::Armed);
    assert!(temp(&mut rule, 31.0, 106).is_some());
    assert_eq!((rule.fired(), rule.last_fired()), (2, 106));
}

#[test]
fn the_condition_must_hold_for_its_duration() {
    let mut rule = tank_hot(10, 0);
    assert_eq!(temp(&mut rule, 31.0, 100), None);
    assert_eq!(rule.state(), RuleState::Pending);
    assert_eq!(rule.deadline(), Some(110));
    assert_eq!(rule.tick(109), None);
    assert_eq!(
        temp(&mut rule, 29.9, 109),
        None,
        "dropped below: armed again"
    );
    assert_eq!(rule.state(), RuleState::Armed);
    assert_eq!(temp(&mut rule, 31.0, 120), None);
    assert_eq!(rule.tick(129), None);
    assert!(
        rule.tick(130).is_some(),
        "held for 10 s without a new reading"
    );
}

#[test]
fn cooldown_holds_a_re_armed_rule_back() {
    let mut rule = tank_hot(0, 600);
    assert!(temp(&mut rule, 31.0, 1000).is_some());
    assert_eq!(temp(&mut rule, 28.0, 1010), None);
    assert_eq!(
        temp(&mut rule, 31.0, 1020),
        None,
        "re-armed but cooling down"
    );
    assert_eq!(rule.state(), RuleState::Pending);
    assert_eq!(rule.deadline(), Some(1600));
    assert_eq!(rule.tick(1599), None);
    assert!(rule.tick(1600).is_some());
}

#[test]
fn a_state_rule_fires_when_a_device_stays_offline() {
    let mut rule = Rule::new(RuleSpec {
        name: "modem-offline".into(),
        device: "imei:867698041234567".into(),
        reading: "state".into(),
        condition: Condition::Equals("offline".into()),
        hysteresis: 0.0,
        hold: 30,
        cooldown: 0,
        route: "home".into(),
        text: Template::parse("{device} is {value}").unwrap(),
    });
    let state = |s: &str| Reading::Text(s.into());
    assert_eq!(rule.observe(state("ready"), 0), None);
    assert_eq!(rule.observe(state("offline"), 10), None);
    assert_eq!(rule.tick(39), None);
    let fire = rule.tick(40).map(|f| f.text);
    assert_eq!(fire.as_deref(), Some("imei:867698041234567 is offline"));
    assert_eq!(rule.observe(state("ready"), 50), None);
    assert_eq!(rule.state(), RuleState::Armed);
    assert_eq!(
        rule.observe(Reading::Number(1.0), 51),
        None,
        "a number never matches a state"
    );
}

#[test]
fn a_fired_rule_stays_fired_across_a_restart() {
    let mut rule = tank_hot(0, 0);
    assert!(temp(&mut rule, 31.0, 100).is_some());
    let kept = rule.snapshot();
    let mut restarted = tank_hot(0, 0);
    restarted.restore(kept);
    assert_eq!(
        temp(&mut restarted, 31.0, 200),
        None,
        "no second message after a restart"
    );
    assert_eq!(restarted.fired(), 1);
    assert_eq!(temp(&mut restarted, 28.0, 201), None);
    assert!(temp(&mut restarted, 31.0, 202).is_some());
}

#[test]
fn a_below_rule_re_arms_above_the_threshold_plus_hysteresis() {
    let mut rule = Rule::new(RuleSpec {
        condition: Condition::Below(10.0),
        hysteresis: 2.0,
        ..tank_hot(0, 0).spec().clone()
    });
    assert!(rule.observe(Reading::Number(9.0), 1).is_some());
    assert_eq!(rule.observe(Reading::Number(11.9), 2), None);
    assert_eq!(rule.state(), RuleState::Fired);
    assert_eq!(rule.observe(Reading::Number(12.0), 3), None);
    assert_eq!(rule.state(), RuleState::Armed);
}
