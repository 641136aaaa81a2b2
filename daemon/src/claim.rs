//! Deciding which driver claims a port: a driver named by the config or udev, a udev rule, or the
//! answers to the AT identification probe.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_at::{ProbeConfig, ProbeOutcome, ProbeStep, Prober};
use m2mhal_plugin_api::AtIdentity;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::SerialStream;

use crate::plugin_host::{Plugin, PluginSet};

/// How long one probe write may take.
const PROBE_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The outcome of claiming a port.
#[derive(Debug)]
pub enum Claim {
    /// This driver takes the port; `identity` when it was found by probing.
    Driver {
        /// The claiming plugin.
        plugin: Arc<Plugin>,
        /// The probe's answers, if the port was probed.
        identity: Option<AtIdentity>,
    },
    /// Nobody takes it, and why.
    Unclaimed(String),
}

/// The plugin whose udev rule matches `properties`, if any.
pub fn by_udev(plugins: &PluginSet, properties: &BTreeMap<String, String>) -> Option<Arc<Plugin>> {
    plugins
        .iter()
        .find(|p| {
            p.description
                .udev
                .iter()
                .any(|rule| rule.matches(properties))
        })
        .cloned()
}

/// The plugin with the highest-priority AT rule matching `identity`; the first loaded wins a tie.
pub fn by_identity(plugins: &PluginSet, identity: &AtIdentity) -> Option<Arc<Plugin>> {
    let mut best: Option<(i32, &Arc<Plugin>)> = None;
    for plugin in plugins.iter() {
        let priority = plugin
            .description
            .at
            .iter()
            .filter(|rule| rule.matches(identity))
            .map(|rule| rule.priority)
            .max();
        if let Some(priority) = priority
            && best.is_none_or(|(b, _)| priority > b)
        {
            best = Some((priority, plugin));
        }
    }
    best.map(|(_, plugin)| Arc::clone(plugin))
}

/// Claims an open port: `driver` if named, else a udev rule, else the AT probe.
pub async fn claim(
    plugins: &PluginSet,
    port: &mut SerialStream,
    properties: &BTreeMap<String, String>,
    driver: Option<&str>,
) -> Claim {
    if let Some(name) = driver {
        return match plugins.get(name) {
            Some(plugin) => Claim::Driver {
                plugin: Arc::clone(plugin),
                identity: None,
            },
            None => Claim::Unclaimed(format!("no plugin provides driver {name:?}")),
        };
    }
    if let Some(plugin) = by_udev(plugins, properties) {
        return Claim::Driver {
            plugin,
            identity: None,
        };
    }
    match probe(port).await {
        ProbeOutcome::Identified(identity) => {
            let identity = AtIdentity {
                manufacturer: identity.manufacturer,
                model: identity.model,
            };
            match by_identity(plugins, &identity) {
                Some(plugin) => Claim::Driver {
                    plugin,
                    identity: Some(identity),
                },
                None => Claim::Unclaimed(format!(
                    "no driver matches {:?} {:?}",
                    identity.manufacturer, identity.model
                )),
            }
        }
        ProbeOutcome::NoResponse => Claim::Unclaimed("no answer to AT".into()),
    }
}

/// Runs the AT identification probe on `port`.
pub async fn probe(port: &mut SerialStream) -> ProbeOutcome {
    let epoch = Instant::now();
    let now_ms = || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut prober = Prober::new(ProbeConfig::default());
    let mut step: ProbeStep = prober.start(now_ms());
    let mut buf = [0u8; 512];
    loop {
        if !step.tx.is_empty() {
            let written = tokio::time::timeout(PROBE_WRITE_TIMEOUT, port.write_all(&step.tx)).await;
            if !matches!(written, Ok(Ok(()))) {
                return ProbeOutcome::NoResponse;
            }
        }
        if let Some(outcome) = step.outcome.take() {
            return outcome;
        }
        let Some(deadline) = step.deadline else {
            return ProbeOutcome::NoResponse;
        };
        let deadline = epoch + Duration::from_millis(deadline);
        step = tokio::select! {
            read = port.read(&mut buf) => match read {
                Ok(n) if n > 0 => prober.feed(&buf[..n], now_ms()),
                _ => return ProbeOutcome::NoResponse,
            },
            () = tokio::time::sleep_until(deadline) => prober.on_timer(now_ms()),
        };
    }
}
