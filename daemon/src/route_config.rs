//! The `[[route]]` and `[[rule]]` tables of the config file, checked at start: every error
//! names the route or rule and the key. They become the routing layer's specs
//! (`m2mhal_routing`).

use std::collections::BTreeSet;

use m2mhal_routing::{Budget, Condition, RouteSpec, RuleSpec, Template, UplinkSpec};
use serde::Deserialize;
use thiserror::Error;

/// `failover_after` when a route does not say.
const DEFAULT_FAILOVER_AFTER: u64 = 120;
/// `budget_period` when an uplink with a budget does not say (a day).
const DEFAULT_BUDGET_PERIOD: u64 = 86_400;

/// What is wrong with a `[[route]]` or `[[rule]]`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RouteConfigError {
    /// A route or rule without a name.
    #[error("[[{0}]] name must not be empty")]
    EmptyName(&'static str),
    /// Two routes or two rules with one name.
    #[error("[[{table}]] name {name:?} is used more than once")]
    Duplicate {
        /// `route` or `rule`.
        table: &'static str,
        /// The name.
        name: String,
    },
    /// A route with no uplink.
    #[error("[[route]] {0:?}: needs at least one [[route.uplink]]")]
    EmptyRoute(String),
    /// An uplink that names neither a device nor an MQTT bridge, or both.
    #[error("[[route]] {0:?}: each [[route.uplink]] needs exactly one of device or mqtt")]
    UplinkTarget(String),
    /// `budget_bytes = 0` or `budget_period = 0`.
    #[error("[[route]] {route:?}: uplink {uplink:?}: {key} must be greater than 0")]
    ZeroBudget {
        /// The route.
        route: String,
        /// The uplink.
        uplink: String,
        /// `budget_bytes` or `budget_period`.
        key: &'static str,
    },
    /// `budget_period` without `budget_bytes`.
    #[error("[[route]] {route:?}: uplink {uplink:?}: budget_period needs budget_bytes")]
    PeriodWithoutBudget {
        /// The route.
        route: String,
        /// The uplink.
        uplink: String,
    },
    /// A rule naming a route that is not configured.
    #[error("[[rule]] {rule:?}: route {route:?} is not a configured [[route]]")]
    UnknownRoute {
        /// The rule.
        rule: String,
        /// The route it names.
        route: String,
    },
    /// A rule with none or several of `above`, `below`, `equals`.
    #[error("[[rule]] {0:?}: needs exactly one of above, below or equals")]
    Condition(String),
    /// `equals` on a number reading, or `above`/`below` on `state`.
    #[error(
        "[[rule]] {0:?}: reading \"state\" takes equals; a number reading takes above or below"
    )]
    ConditionKind(String),
    /// A rule with an empty `device` or `reading`.
    #[error("[[rule]] {rule:?}: {key} must not be empty")]
    EmptyKey {
        /// The rule.
        rule: String,
        /// The key.
        key: &'static str,
    },
    /// A negative or non-finite hysteresis or threshold.
    #[error("[[rule]] {rule:?}: {key} must be a finite number{}", if *.key == "hysteresis" { " >= 0" } else { "" })]
    BadNumber {
        /// The rule.
        rule: String,
        /// The key.
        key: &'static str,
    },
    /// A `text` template that does not parse.
    #[error("[[rule]] {rule:?}: text: {error}")]
    Text {
        /// The rule.
        rule: String,
        /// Why.
        error: m2mhal_routing::TemplateError,
    },
}

/// One `[[route]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The route's name (`Router.Send`'s first argument).
    pub name: String,
    /// Seconds an available uplink may take before the next one is tried. Default 120.
    pub failover_after: Option<u64>,
    /// The uplinks in order of preference (`[[route.uplink]]`).
    #[serde(default, rename = "uplink")]
    pub uplinks: Vec<UplinkConfig>,
}

/// One `[[route.uplink]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkConfig {
    /// A device with Messaging, by Id.
    pub device: Option<String>,
    /// The MQTT bridge of this name.
    pub mqtt: Option<String>,
    /// SMS: the phone number; satellite: "" or absent.
    #[serde(default)]
    pub destination: String,
    /// Payload bytes per `budget_period` through this uplink.
    pub budget_bytes: Option<u64>,
    /// Seconds of the budget's rolling period. Default 86400.
    pub budget_period: Option<u64>,
}

/// One `[[rule]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The rule's name.
    pub name: String,
    /// The device Id it watches.
    pub device: String,
    /// A `Sensor.Readings` key, or `state` (`Device.State`).
    pub reading: String,
    /// Fires above this.
    pub above: Option<f64>,
    /// Fires below this.
    pub below: Option<f64>,
    /// Fires when the state equals this.
    pub equals: Option<String>,
    /// How far back past the threshold re-arms the rule. Default 0.
    #[serde(default)]
    pub hysteresis: f64,
    /// Seconds the condition must hold. Default 0.
    #[serde(default, rename = "for")]
    pub hold: u64,
    /// Seconds after firing before it may fire again. Default 0.
    #[serde(default)]
    pub cooldown: u64,
    /// The route its messages go to.
    pub route: String,
    /// The message text, with `{rule} {device} {reading} {value} {time}`.
    pub text: String,
}

impl UplinkConfig {
    /// The uplink's name: the device Id, or `mqtt:<name>`.
    fn name(&self) -> Option<String> {
        match (&self.device, &self.mqtt) {
            (Some(device), None) if !device.is_empty() => Some(device.clone()),
            (None, Some(mqtt)) if !mqtt.is_empty() => Some(format!("mqtt:{mqtt}")),
            _ => None,
        }
    }

    fn budget(&self, route: &str, uplink: &str) -> Result<Option<Budget>, RouteConfigError> {
        let zero = |key| RouteConfigError::ZeroBudget {
            route: route.to_owned(),
            uplink: uplink.to_owned(),
            key,
        };
        match (self.budget_bytes, self.budget_period) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(RouteConfigError::PeriodWithoutBudget {
                route: route.to_owned(),
                uplink: uplink.to_owned(),
            }),
            (Some(0), _) => Err(zero("budget_bytes")),
            (Some(_), Some(0)) => Err(zero("budget_period")),
            (Some(bytes), period) => Ok(Some(Budget {
                bytes,
                period: period.unwrap_or(DEFAULT_BUDGET_PERIOD),
            })),
        }
    }
}

/// Checks the routes and turns them into the router's specs.
pub fn routes(routes: &[RouteConfig]) -> Result<Vec<RouteSpec>, RouteConfigError> {
    let mut names = BTreeSet::new();
    routes
        .iter()
        .map(|route| {
            let name = &route.name;
            if name.is_empty() {
                return Err(RouteConfigError::EmptyName("route"));
            }
            if !names.insert(name) {
                return Err(RouteConfigError::Duplicate {
                    table: "route",
                    name: name.clone(),
                });
            }
            if route.uplinks.is_empty() {
                return Err(RouteConfigError::EmptyRoute(name.clone()));
            }
            let uplinks = route
                .uplinks
                .iter()
                .map(|uplink| {
                    let id = uplink
                        .name()
                        .ok_or_else(|| RouteConfigError::UplinkTarget(name.clone()))?;
                    Ok(UplinkSpec {
                        budget: uplink.budget(name, &id)?,
                        uplink: id,
                        destination: uplink.destination.clone(),
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(RouteSpec {
                name: name.clone(),
                failover_after: route.failover_after.unwrap_or(DEFAULT_FAILOVER_AFTER),
                uplinks,
            })
        })
        .collect()
}

/// Checks the rules against the `routes` and turns them into the rules' specs.
pub fn rules(
    rules: &[RuleConfig],
    routes: &[RouteSpec],
) -> Result<Vec<RuleSpec>, RouteConfigError> {
    let mut names = BTreeSet::new();
    rules
        .iter()
        .map(|rule| {
            let name = &rule.name;
            if name.is_empty() {
                return Err(RouteConfigError::EmptyName("rule"));
            }
            if !names.insert(name) {
                return Err(RouteConfigError::Duplicate {
                    table: "rule",
                    name: name.clone(),
                });
            }
            for (key, value) in [("device", &rule.device), ("reading", &rule.reading)] {
                if value.is_empty() {
                    return Err(RouteConfigError::EmptyKey {
                        rule: name.clone(),
                        key,
                    });
                }
            }
            if !routes.iter().any(|r| r.name == rule.route) {
                return Err(RouteConfigError::UnknownRoute {
                    rule: name.clone(),
                    route: rule.route.clone(),
                });
            }
            let bad_number = |key| RouteConfigError::BadNumber {
                rule: name.clone(),
                key,
            };
            if !rule.hysteresis.is_finite() || rule.hysteresis < 0.0 {
                return Err(bad_number("hysteresis"));
            }
            let condition = match (rule.above, rule.below, &rule.equals) {
                (Some(above), None, None) if above.is_finite() => Condition::Above(above),
                (Some(_), None, None) => return Err(bad_number("above")),
                (None, Some(below), None) if below.is_finite() => Condition::Below(below),
                (None, Some(_), None) => return Err(bad_number("below")),
                (None, None, Some(equals)) => Condition::Equals(equals.clone()),
                _ => return Err(RouteConfigError::Condition(name.clone())),
            };
            let is_state = rule.reading == "state";
            if is_state != matches!(condition, Condition::Equals(_)) {
                return Err(RouteConfigError::ConditionKind(name.clone()));
            }
            let text = Template::parse(&rule.text).map_err(|error| RouteConfigError::Text {
                rule: name.clone(),
                error,
            })?;
            Ok(RuleSpec {
                name: name.clone(),
                device: rule.device.clone(),
                reading: rule.reading.clone(),
                condition,
                hysteresis: rule.hysteresis,
                hold: rule.hold,
                cooldown: rule.cooldown,
                route: rule.route.clone(),
                text,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    /// The example of "API 1.1 additions", `[[route]]` and `[[rule]]`.
    const API_EXAMPLE: &str = r#"
[[route]]
name = "home"
failover_after = 120
  [[route.uplink]]
  device = "imei:867698041234567"
  destination = "+447700900123"
  [[route.uplink]]
  device = "imei:300234063904190"
  budget_bytes = 2000
  budget_period = 86400
  [[route.uplink]]
  mqtt = "fleet"

[[rule]]
name = "tank-hot"
device = "ble:AA:BB:CC:DD:EE:01"
reading = "temperature"
above = 30.0
hysteresis = 1.0
for = 10
cooldown = 600
route = "home"
text = "{rule}: {device} {reading} = {value}"
"#;

    fn error(text: &str) -> String {
        Config::parse(text).unwrap_err().to_string()
    }

    fn with_rule(rule: &str) -> String {
        let route = "[[route]]\nname = \"home\"\n[[route.uplink]]\ndevice = \"imei:1\"\n";
        format!(
            "{route}[[rule]]\nname = \"r\"\ndevice = \"ble:1\"\nroute = \"home\"\ntext = \"t\"\n{rule}"
        )
    }

    #[test]
    fn the_api_example_parses() {
        let config = Config::parse(API_EXAMPLE).unwrap();
        let routes = super::routes(&config.routes).unwrap();
        assert_eq!(routes[0].failover_after, 120);
        let names: Vec<&str> = routes[0]
            .uplinks
            .iter()
            .map(|u| u.uplink.as_str())
            .collect();
        assert_eq!(
            names,
            ["imei:867698041234567", "imei:300234063904190", "mqtt:fleet"]
        );
        assert_eq!(routes[0].uplinks[1].budget.map(|b| b.bytes), Some(2000));
        let rules = super::rules(&config.rules, &routes).unwrap();
        assert_eq!((rules[0].hold, rules[0].cooldown), (10, 600));
    }

    #[test]
    fn bad_routes_name_the_route_and_key() {
        assert!(error("[[route]]\nname = \"home\"\n").contains("\"home\": needs at least one"));
        let zero =
            "[[route]]\nname = \"home\"\n[[route.uplink]]\ndevice = \"imei:1\"\nbudget_bytes = 0\n";
        assert!(
            error(zero).contains("budget_bytes must be greater than 0"),
            "{}",
            error(zero)
        );
        let both =
            "[[route]]\nname = \"home\"\n[[route.uplink]]\ndevice = \"imei:1\"\nmqtt = \"x\"\n";
        assert!(error(both).contains("exactly one of device or mqtt"));
        let typo =
            "[[route]]\nname = \"home\"\n[[route.uplink]]\ndevice = \"imei:1\"\nbudget = 1\n";
        assert!(error(typo).contains("budget"), "{}", error(typo));
        let twice = "[[route]]\nname = \"a\"\n[[route.uplink]]\ndevice = \"imei:1\"\n".repeat(2);
        assert!(error(&twice).contains("\"a\" is used more than once"));
    }

    #[test]
    fn bad_rules_name_the_rule_and_key() {
        assert!(
            error(&with_rule(
                "reading = \"temperature\"\nabove = 1.0\nroute = \"away\"\n"
            ))
            .contains("duplicate key")
        );
        let unknown = with_rule("reading = \"temperature\"\nabove = 1.0\n")
            .replace("route = \"home\"\ntext", "route = \"away\"\ntext");
        assert!(error(&unknown).contains("route \"away\" is not a configured [[route]]"));
        let placeholder = with_rule("reading = \"temperature\"\nabove = 1.0\n")
            .replace("text = \"t\"", "text = \"{temp}\"");
        assert!(error(&placeholder).contains("unknown placeholder {temp}"));
        assert!(
            error(&with_rule("reading = \"temperature\"\n"))
                .contains("exactly one of above, below or equals")
        );
        assert!(
            error(&with_rule("reading = \"state\"\nabove = 1.0\n"))
                .contains("reading \"state\" takes equals")
        );
        assert!(
            error(&with_rule("reading = \"\"\nabove = 1.0\n"))
                .contains("reading must not be empty")
        );
        assert!(
            error(&with_rule(
                "reading = \"t\"\nabove = 1.0\nhysteresis = -1.0\n"
            ))
            .contains("hysteresis must be")
        );
        assert!(
            Config::parse(&with_rule(
                "reading = \"state\"\nequals = \"offline\"\nfor = 30\n"
            ))
            .is_ok()
        );
    }
}
