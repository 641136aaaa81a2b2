//! `org.m2mhal.Hal1.Router` on `/org/m2mhal/Hal1`: one outbox over every uplink, and the
//! rules. The router's task (`crate::router`) does the work; this is its face on the bus.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use m2mhal_contract::MANAGER_PATH;
use m2mhal_routing::{Change, Encoding, Priority, RouteView};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, OwnedVariant, Variant, interface};

use super::authorize::{Action, authorize};
use super::error::HalError;
use super::messaging_iface::{parse_encoding, string_option};
use super::strict::Strict;
use crate::device::outgoing::check_payload;
use crate::router::service::{RouterHandle, RouterSignals, RuleView, SendError, SendRequest};
use crate::store::{RoutedRecord, StoreHandle};

/// The routes and rules as the router last published them.
#[derive(Debug, Default)]
pub struct Published {
    routes: Vec<RouteView>,
    rules: Vec<RuleView>,
}

/// The Router interface.
pub struct RouterInterface {
    router: RouterHandle,
    store: StoreHandle,
    published: Arc<Mutex<Published>>,
}

impl RouterInterface {
    /// The interface of `router`, listing routed messages from `store`; `published` is shared
    /// with the [`BusRouterSignals`] that keeps it.
    pub fn new(router: RouterHandle, store: StoreHandle, published: Arc<Mutex<Published>>) -> Self {
        RouterInterface {
            router,
            store,
            published,
        }
    }

    fn published(&self) -> std::sync::MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl From<SendError> for HalError {
    fn from(error: SendError) -> Self {
        use m2mhal_routing::RouteError;
        match error {
            SendError::Route(RouteError::TooLarge { .. }) => {
                HalError::PayloadTooLarge(error.to_string())
            }
            SendError::Route(_) => HalError::InvalidArgument(error.to_string()),
            SendError::Store(_) | SendError::Stopped => HalError::Failed(error.to_string()),
        }
    }
}

/// Reads `Router.Send`'s options: `encoding`, `ttl` (u), `priority` (`normal`/`high`).
fn parse_route_options(
    options: &HashMap<String, OwnedVariant>,
) -> Result<(Encoding, Option<u64>, Priority), HalError> {
    let mut parsed = (Encoding::Text, None, Priority::Normal);
    for (key, value) in options {
        match key.as_str() {
            "encoding" => {
                parsed.0 = match parse_encoding(value)? {
                    m2mhal_plugin_api::Encoding::Text => Encoding::Text,
                    m2mhal_plugin_api::Encoding::Binary => Encoding::Binary,
                }
            }
            "ttl" => {
                let ttl = value
                    .try_clone()
                    .ok()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| {
                        HalError::InvalidArgument(format!(
                            "option \"ttl\" must be a u (seconds), got {}",
                            value.value_signature()
                        ))
                    })?;
                parsed.1 = Some(u64::from(ttl));
            }
            "priority" => {
                parsed.2 = match string_option("priority", value)?.as_str() {
                    "normal" => Priority::Normal,
                    "high" => Priority::High,
                    other => {
                        return Err(HalError::InvalidArgument(format!(
                            "option \"priority\" must be \"normal\" or \"high\", got {other:?}"
                        )));
                    }
                }
            }
            other => {
                return Err(HalError::InvalidArgument(format!(
                    "unknown option {other:?}; Router.Send accepts \"encoding\", \"ttl\", \"priority\""
                )));
            }
        }
    }
    Ok(parsed)
}

/// Builds an `a{sv}` from `(key, value)` pairs.
pub(super) fn dict<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Variant<'a>)>,
) -> HashMap<String, OwnedVariant> {
    pairs
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), OwnedVariant::try_from(value).ok()?)))
        .collect()
}

/// The `List()` dictionary of one routed message.
fn routed_to_dict(record: RoutedRecord) -> HashMap<String, OwnedVariant> {
    let message = record.message;
    dict([
        ("id", Variant::from(message.id)),
        ("route", Variant::from(message.route)),
        ("state", Variant::from(message.state.as_str())),
        ("uplink", Variant::from(message.uplink)),
        ("attempts", Variant::from(message.attempts)),
        ("error", Variant::from(message.error)),
        ("timestamp", Variant::from(record.timestamp)),
        ("payload", Variant::from(message.payload)),
        ("priority", Variant::from(message.priority.as_str())),
    ])
}

fn route_to_dict(route: &RouteView) -> HashMap<String, OwnedVariant> {
    let uplinks: Vec<HashMap<String, OwnedVariant>> = route
        .uplinks
        .iter()
        .map(|uplink| {
            dict([
                ("uplink", Variant::from(uplink.uplink.as_str())),
                ("available", Variant::from(uplink.available)),
                ("budget_left", Variant::from(uplink.budget_left)),
            ])
        })
        .collect();
    dict([
        ("name", Variant::from(route.name.as_str())),
        ("uplinks", Variant::from(uplinks)),
    ])
}

fn rule_to_dict(rule: &RuleView) -> HashMap<String, OwnedVariant> {
    dict([
        ("name", Variant::from(rule.name.as_str())),
        ("state", Variant::from(rule.state.as_str())),
        ("fired", Variant::from(rule.fired)),
        ("last_fired", Variant::from(rule.last_fired)),
    ])
}

#[interface(name = "org.m2mhal.Hal1.Router")]
impl RouterInterface {
    /// Accepts a message onto a route; returns its id once it is committed.
    async fn send(
        &self,
        route: String,
        payload: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<String, HalError> {
        authorize(conn, &header, Action::Messaging).await?;
        let (encoding, ttl, priority) = parse_route_options(&options)?;
        let plugin_encoding = match encoding {
            Encoding::Text => m2mhal_plugin_api::Encoding::Text,
            Encoding::Binary => m2mhal_plugin_api::Encoding::Binary,
        };
        check_payload(&payload, plugin_encoding, 0)?;
        let request = SendRequest {
            route,
            payload,
            encoding,
            ttl,
            priority,
        };
        Ok(self.router.send(request).await?)
    }

    /// Every routed message (private: root or `org.m2mhal.Hal1.MessagingRead`).
    async fn list(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<Vec<HashMap<String, OwnedVariant>>, HalError> {
        authorize(conn, &header, Action::MessagingRead).await?;
        let records = self
            .store
            .run(|store| store.list_routed())
            .await
            .map_err(|e| HalError::Failed(format!("cannot read the store: {e}")))?;
        Ok(records.into_iter().map(routed_to_dict).collect())
    }

    /// Per route: `name`, `uplinks` (`uplink`, `available`, `budget_left`).
    #[zbus(property)]
    fn routes(&self) -> Vec<HashMap<String, OwnedVariant>> {
        self.published().routes.iter().map(route_to_dict).collect()
    }

    /// Per rule: `name`, `state`, `fired`, `last_fired`.
    #[zbus(property)]
    fn rules(&self) -> Vec<HashMap<String, OwnedVariant>> {
        self.published().rules.iter().map(rule_to_dict).collect()
    }

    /// A routed message moved to `queued`, `sending`, `sent` or `failed`.
    #[zbus(signal)]
    pub async fn state_changed(
        emitter: &SignalEmitter<'_>,
        id: &str,
        state: &str,
        uplink: &str,
        error: &str,
    ) -> zbus::Result<()>;
}

/// The router's reports, on the bus.
#[derive(Debug)]
pub struct BusRouterSignals {
    conn: Connection,
    published: Arc<Mutex<Published>>,
}

impl BusRouterSignals {
    /// Reports on `conn`, keeping `published` for the interface's properties.
    pub fn new(conn: Connection, published: Arc<Mutex<Published>>) -> Self {
        BusRouterSignals { conn, published }
    }

    fn keep(&self, f: impl FnOnce(&mut Published)) {
        f(&mut self.published.lock().unwrap_or_else(|p| p.into_inner()));
    }

    async fn announce(&self, property: &str) {
        let server = self.conn.object_server();
        let result = async {
            let iface = server
                .interface::<_, Strict<RouterInterface>>(MANAGER_PATH)
                .await?;
            let guard = iface.get().await;
            match property {
                "Routes" => guard.routes_changed(iface.signal_emitter()).await,
                _ => guard.rules_changed(iface.signal_emitter()).await,
            }
        }
        .await;
        if let Err(e) = result {
            tracing::warn!("cannot announce Router.{property}: {e}");
        }
    }
}

#[async_trait::async_trait]
impl RouterSignals for BusRouterSignals {
    async fn state_changed(&self, change: &Change) {
        let emitted = match SignalEmitter::new(&self.conn, MANAGER_PATH) {
            Ok(emitter) => {
                let state = change.state.as_str();
                RouterInterface::state_changed(
                    &emitter,
                    &change.id,
                    state,
                    &change.uplink,
                    &change.error,
                )
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = emitted {
            tracing::warn!("cannot emit Router.StateChanged: {e}");
        }
    }

    async fn routes_changed(&self, routes: Vec<RouteView>) {
        self.keep(|p| p.routes = routes);
        self.announce("Routes").await;
    }

    async fn rules_changed(&self, rules: Vec<RuleView>) {
        self.keep(|p| p.rules = rules);
        self.announce("Rules").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, Variant<'static>)]) -> HashMap<String, OwnedVariant> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OwnedVariant::try_from(v).unwrap()))
            .collect()
    }

    #[test]
    fn route_options_are_strict() {
        let parsed = parse_route_options(&options(&[
            ("ttl", Variant::from(60u32)),
            ("priority", Variant::from("high")),
            ("encoding", Variant::from("binary")),
        ]))
        .unwrap();
        assert_eq!(parsed, (Encoding::Binary, Some(60), Priority::High));
        let err = parse_route_options(&options(&[("ttl", Variant::from("60"))])).unwrap_err();
        assert!(matches!(err, HalError::InvalidArgument(m) if m.contains("ttl")));
        let err =
            parse_route_options(&options(&[("priority", Variant::from("urgent"))])).unwrap_err();
        assert!(matches!(err, HalError::InvalidArgument(m) if m.contains("urgent")));
        let err = parse_route_options(&options(&[("via", Variant::from("x"))])).unwrap_err();
        assert!(matches!(err, HalError::InvalidArgument(m) if m.contains("via")));
    }
}
