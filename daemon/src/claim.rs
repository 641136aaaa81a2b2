//! Deciding which driver claims a device, for every transport: a tty goes to a driver named by
//! the config or udev, a udev rule, or the answers to the AT identification probe; a BLE
//! peripheral to the best BLE rule its advertisement matches, or the generic driver when the
//! config allows its address.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_at::{ProbeConfig, ProbeOutcome, ProbeStep, Prober};
use m2mhal_plugin_api::ble::Advertisement;
use m2mhal_plugin_api::{AtIdentity, DeviceKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialStream};

use crate::plugin_host::{Plugin, PluginSet};

/// How long one probe write may take.
const PROBE_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Baud rates tried, in order, when probing a port whose rate nobody named: what USB modems and
/// most UARTs use, then the Iridium 9602/9603 default, then the classic default.
const PROBE_BAUDS: [u32; 3] = [115_200, 19_200, 9_600];

/// The driver that takes allowed BLE addresses no rule claims.
pub const GENERIC_BLE_DRIVER: &str = "ble";

/// The outcome of claiming a port.
#[derive(Debug)]
pub enum Claim {
    /// This driver takes the port; `identity` when it was found by probing.
    Driver {
        /// The claiming plugin.
        plugin: Arc<Plugin>,
        /// The probe's answers, if the port was probed.
        identity: Option<AtIdentity>,
        /// The baud rate the port is set to now.
        baud: u32,
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

/// The plugin whose matching rule has the highest priority (`priority` gives a plugin's best
/// matching rule, if any); the first loaded wins a tie.
fn best_match(
    plugins: &PluginSet,
    priority: impl Fn(&Plugin) -> Option<i32>,
) -> Option<Arc<Plugin>> {
    let mut best: Option<(i32, &Arc<Plugin>)> = None;
    for plugin in plugins.iter() {
        if let Some(priority) = priority(plugin)
            && best.is_none_or(|(b, _)| priority > b)
        {
            best = Some((priority, plugin));
        }
    }
    best.map(|(_, plugin)| Arc::clone(plugin))
}

/// The plugin with the highest-priority AT rule matching `identity`; the first loaded wins a tie.
pub fn by_identity(plugins: &PluginSet, identity: &AtIdentity) -> Option<Arc<Plugin>> {
    best_match(plugins, |plugin| {
        let rules = plugin.description.at.iter();
        rules
            .filter(|rule| rule.matches(identity))
            .map(|rule| rule.priority)
            .max()
    })
}

/// Whether `plugin` may serve BLE devices (it has BLE rules, or it is the generic driver).
pub fn serves_ble(plugin: &Plugin) -> bool {
    !plugin.description.ble.is_empty() || plugin.name() == GENERIC_BLE_DRIVER
}

/// The driver that claims the BLE peripheral advertising `adv`: the BLE driver with the
/// highest-priority rule matching it, else, when the config `allowed` its address, the generic
/// driver.
pub fn by_advertisement(
    plugins: &PluginSet,
    adv: &Advertisement,
    allowed: bool,
) -> Option<Arc<Plugin>> {
    let by_rule = best_match(plugins, |plugin| {
        let description = &plugin.description;
        if !description.kinds.contains(&DeviceKind::BleDevice) {
            return None;
        }
        let rules = description.ble.iter();
        rules
            .filter(|rule| rule.matches(adv))
            .map(|rule| rule.priority)
            .max()
    });
    if by_rule.is_some() || !allowed {
        return by_rule;
    }
    let generic = plugins.get(GENERIC_BLE_DRIVER).cloned();
    if generic.is_none() {
        tracing::warn!(address = %adv.address, "allowed device, but no {GENERIC_BLE_DRIVER} driver is loaded");
    }
    generic
}

/// What is known about the port being claimed.
#[derive(Debug, Clone, Copy)]
pub struct PortFacts<'a> {
    /// udev-style properties.
    pub properties: &'a BTreeMap<String, String>,
    /// Driver named by the config or udev.
    pub driver: Option<&'a str>,
    /// Baud rate named by the config.
    pub baud: Option<u32>,
}

/// Claims an open port: `driver` if named, else a udev rule, else the AT probe (at the configured
/// baud rate, or at each of the usual ones). The port is left at the rate the driver should use.
pub async fn claim(plugins: &PluginSet, port: &mut SerialStream, facts: PortFacts<'_>) -> Claim {
    let named = match facts.driver {
        Some(name) => match plugins.get(name) {
            Some(plugin) => Some(Arc::clone(plugin)),
            None => return Claim::Unclaimed(format!("no plugin provides driver {name:?}")),
        },
        None => by_udev(plugins, facts.properties),
    };
    if let Some(plugin) = named {
        let baud = facts
            .baud
            .or(plugin.description.default_baud)
            .unwrap_or(crate::port::DEFAULT_BAUD);
        if let Err(e) = port.set_baud_rate(baud) {
            return Claim::Unclaimed(format!("cannot set {baud} baud: {e}"));
        }
        return Claim::Driver {
            plugin,
            identity: None,
            baud,
        };
    }
    let bauds = match facts.baud {
        Some(baud) => vec![baud],
        None => PROBE_BAUDS.to_vec(),
    };
    for baud in bauds {
        if let Err(e) = port.set_baud_rate(baud) {
            return Claim::Unclaimed(format!("cannot set {baud} baud: {e}"));
        }
        let ProbeOutcome::Identified(identity) = probe(port).await else {
            continue;
        };
        let identity = AtIdentity {
            manufacturer: identity.manufacturer,
            model: identity.model,
        };
        return match by_identity(plugins, &identity) {
            Some(plugin) => Claim::Driver {
                plugin,
                identity: Some(identity),
                baud,
            },
            None => Claim::Unclaimed(format!(
                "no driver matches {:?} {:?}",
                identity.manufacturer, identity.model
            )),
        };
    }
    Claim::Unclaimed("no answer to AT".into())
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

#[cfg(test)]
mod tests {
    use m2mhal_plugin_api::DriverDescription;
    use m2mhal_plugin_api::ble::BleRule;

    use super::*;

    const ADDRESS: &str = "A4:C1:38:00:00:01";

    /// A driver of `kinds` with these BLE rules.
    fn driver(name: &str, kinds: &[DeviceKind], ble: Vec<BleRule>) -> DriverDescription {
        DriverDescription {
            name: name.into(),
            kinds: kinds.to_vec(),
            ble,
            ..DriverDescription::default()
        }
    }

    /// A rule matching service data `uuid` (or the name pattern `name`), at `priority`.
    fn rule(service_data: &[&str], names: &[&str], priority: i32) -> BleRule {
        BleRule {
            service_data_uuids: service_data.iter().map(|u| (*u).to_owned()).collect(),
            name_patterns: names.iter().map(|n| (*n).to_owned()).collect(),
            priority,
            ..BleRule::default()
        }
    }

    /// An advertisement with BTHome service data (`fcd2`) and the name `name`.
    fn bthome(name: &str) -> Advertisement {
        let bthome = normalize("fcd2");
        Advertisement {
            address: ADDRESS.into(),
            name: Some(name.into()),
            service_data: [(bthome, serde_bytes::ByteBuf::new())].into(),
            ..Advertisement::default()
        }
    }

    fn normalize(uuid: &str) -> String {
        m2mhal_plugin_api::ble::normalize_uuid(uuid).unwrap_or_default()
    }

    fn claimer(plugins: &PluginSet, adv: &Advertisement, allowed: bool) -> Option<String> {
        by_advertisement(plugins, adv, allowed).map(|plugin| plugin.name().to_owned())
    }

    /// The generic driver (it claims only allowed addresses), a BTHome driver, a sensor vendor's
    /// driver whose name rule outranks it, and a modem driver with a BLE-looking rule (not a BLE
    /// driver: never claims a peripheral).
    fn plugins() -> PluginSet {
        let ble = [DeviceKind::BleDevice];
        PluginSet::described(vec![
            driver(
                "modem",
                &[DeviceKind::CellularModem],
                vec![rule(&[], &["*"], 100)],
            ),
            driver(GENERIC_BLE_DRIVER, &ble, Vec::new()),
            driver("bthome", &ble, vec![rule(&["fcd2"], &[], 10)]),
            driver(
                "acme",
                &ble,
                vec![rule(&[], &["ACME-*"], 5), rule(&[], &["ACME-TH*"], 20)],
            ),
        ])
    }

    #[test]
    fn the_ble_driver_with_the_best_matching_rule_claims_a_peripheral() {
        let plugins = plugins();
        assert_eq!(
            claimer(&plugins, &bthome("sensor"), false).as_deref(),
            Some("bthome")
        );
        // Both match; acme's best matching rule (20) outranks bthome's (10).
        assert_eq!(
            claimer(&plugins, &bthome("ACME-TH1"), false).as_deref(),
            Some("acme")
        );
        // Acme's weaker rule (5) alone loses to bthome.
        assert_eq!(
            claimer(&plugins, &bthome("ACME-X"), false).as_deref(),
            Some("bthome")
        );
        // A rule matches even when the address is allowed.
        assert_eq!(
            claimer(&plugins, &bthome("sensor"), true).as_deref(),
            Some("bthome")
        );
    }

    #[test]
    fn a_tie_goes_to_the_driver_loaded_first() {
        let ble = [DeviceKind::BleDevice];
        let plugins = PluginSet::described(vec![
            driver("first", &ble, vec![rule(&["fcd2"], &[], 10)]),
            driver("second", &ble, vec![rule(&[], &["sensor"], 10)]),
        ]);
        assert_eq!(
            claimer(&plugins, &bthome("sensor"), false).as_deref(),
            Some("first")
        );
    }

    #[test]
    fn an_unmatched_peripheral_is_claimed_by_the_generic_driver_only_when_allowed() {
        let plugins = plugins();
        let unknown = Advertisement {
            address: ADDRESS.into(),
            name: Some("headphones".into()),
            ..Advertisement::default()
        };
        assert_eq!(claimer(&plugins, &unknown, false), None);
        assert_eq!(
            claimer(&plugins, &unknown, true).as_deref(),
            Some(GENERIC_BLE_DRIVER)
        );
        // Without the generic driver loaded, an allowed address stays unclaimed.
        let without_generic = PluginSet::described(vec![driver(
            "bthome",
            &[DeviceKind::BleDevice],
            vec![rule(&["fcd2"], &[], 10)],
        )]);
        assert_eq!(claimer(&without_generic, &unknown, true), None);
    }
}
