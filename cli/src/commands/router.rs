//! `route send`, `routes`, `rules`: the Router interface on `/org/m2mhal/Hal1`.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use serde_json::{Value as Json, json};
use zbus::{Message, OwnedVariant, Variant};

use super::{print, print_json};
use crate::bus::{Hal, MANAGER_PATH, iface};
use crate::cli::RouteSendArgs;
use crate::device::Properties;
use crate::error::CliError;
use crate::format::table::Table;
use crate::format::time::format_unix_time;
use crate::format::value::{parse_hex, properties_to_json, render, string_entry, unsigned};

/// `m2mctl route send ROUTE TEXT`: prints the id, then with `--wait` the uplink that carried it.
pub async fn send(hal: &Hal, json: bool, args: &RouteSendArgs) -> Result<(), CliError> {
    let (payload, encoding) = if args.binary {
        (parse_hex(&args.text).map_err(CliError::Usage)?, "binary")
    } else {
        (args.text.as_bytes().to_vec(), "text")
    };
    let mut options = HashMap::from([("encoding", Variant::from(encoding))]);
    if let Some(ttl) = args.ttl {
        options.insert("ttl", Variant::from(ttl));
    }
    if let Some(priority) = &args.priority {
        options.insert("priority", Variant::from(priority.as_str()));
    }
    // Subscribe before sending, so that no state change can slip by.
    let events = if args.wait {
        Some(hal.signals().await?)
    } else {
        None
    };
    let started = Instant::now();
    let body = (args.route.as_str(), payload, options);
    let id: String = hal.call(MANAGER_PATH, iface::ROUTER, "Send", &body).await?;
    let Some(events) = events else {
        return if json {
            print_json(&json!({"id": id}))
        } else {
            print(&id)
        };
    };
    if !json {
        print(&id)?;
    }
    let (state, uplink, error) = tokio::time::timeout(hal.timeout(), outcome(events, &id))
        .await
        .map_err(|_| CliError::Timeout {
            what: format!("routed message {id} to be sent"),
            after: hal.timeout(),
        })??;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        print_json(&json!({
            "id": id, "state": state, "uplink": uplink, "error": error, "seconds": seconds,
        }))?;
    }
    match state.as_str() {
        "sent" if json => Ok(()),
        "sent" => print(&format!("sent via {uplink} in {seconds:.1} s")),
        _ => Err(CliError::Failed(format!(
            "routed message {id} failed in {seconds:.1} s: {error}"
        ))),
    }
}

/// Waits for `Router.StateChanged(id, sent|failed, uplink, error)`.
async fn outcome(
    mut events: impl Stream<Item = Message> + Unpin,
    id: &str,
) -> Result<(String, String, String), CliError> {
    while let Some(message) = events.next().await {
        let header = message.header();
        let is_router_state = header
            .interface()
            .is_some_and(|i| i.as_str() == iface::ROUTER)
            && header
                .member()
                .is_some_and(|m| m.as_str() == "StateChanged");
        if !is_router_state {
            continue;
        }
        let Ok((changed, state, uplink, error)) = message
            .body()
            .deserialize::<(String, String, String, String)>()
        else {
            continue;
        };
        if changed == id && (state == "sent" || state == "failed") {
            return Ok((state, uplink, error));
        }
    }
    Err(CliError::Failed("the bus connection closed".to_owned()))
}

/// The `aa{sv}` property `name` of the Router, one map per entry.
async fn router_list(hal: &Hal, name: &str) -> Result<Vec<Properties>, CliError> {
    let properties = hal.properties(MANAGER_PATH, iface::ROUTER).await?;
    let entries = properties
        .get(name)
        .and_then(|value| value.try_clone().ok())
        .and_then(|value| Vec::<HashMap<String, OwnedVariant>>::try_from(value).ok())
        .unwrap_or_default();
    Ok(entries
        .into_iter()
        .map(|e| e.into_iter().collect())
        .collect())
}

/// `m2mctl routes`: every uplink of every route, its availability and budget left.
pub async fn routes(hal: &Hal, json: bool) -> Result<(), CliError> {
    let routes = router_list(hal, "Routes").await?;
    if json {
        return print_json(&Json::Array(
            routes.iter().map(properties_to_json).collect(),
        ));
    }
    if routes.is_empty() {
        return print("no routes");
    }
    let mut table = Table::new(&["ROUTE", "UPLINK", "AVAILABLE", "BUDGET LEFT"]);
    for route in &routes {
        let uplinks = route
            .get("uplinks")
            .and_then(|value| value.try_clone().ok())
            .and_then(|value| Vec::<HashMap<String, OwnedVariant>>::try_from(value).ok())
            .unwrap_or_default();
        for uplink in uplinks {
            let uplink: Properties = uplink.into_iter().collect();
            let budget = match uplink.get("budget_left").map(|v| render(v)) {
                Some(left) if left == "-1" => "unlimited".to_owned(),
                Some(left) => format!("{left} bytes"),
                None => String::new(),
            };
            table.push(vec![
                string_entry(route, "name").to_owned(),
                string_entry(&uplink, "uplink").to_owned(),
                uplink
                    .get("available")
                    .map(|v| render(v))
                    .unwrap_or_default(),
                budget,
            ]);
        }
    }
    print(&table.render())
}

/// `m2mctl rules`: every rule, where it stands and when it last fired.
pub async fn rules(hal: &Hal, json: bool) -> Result<(), CliError> {
    let rules = router_list(hal, "Rules").await?;
    if json {
        return print_json(&Json::Array(rules.iter().map(properties_to_json).collect()));
    }
    if rules.is_empty() {
        return print("no rules");
    }
    let mut table = Table::new(&["RULE", "STATE", "FIRED", "LAST FIRED"]);
    for rule in &rules {
        let last = rule
            .get("last_fired")
            .and_then(|value| unsigned(value))
            .filter(|seconds| *seconds != 0)
            .map(format_unix_time)
            .unwrap_or_default();
        table.push(vec![
            string_entry(rule, "name").to_owned(),
            string_entry(rule, "state").to_owned(),
            rule.get("fired").map(|v| render(v)).unwrap_or_default(),
            last,
        ]);
    }
    print(&table.render())
}
