//! Living with ModemManager (design: modemmanager.md): m2mhald follows ModemManager on the bus
//! and never opens a port of a modem it manages; `[modemmanager] mode = "off"` never talks to it.
//!
//! The gate ([`start`]) sits between the kernel events (udev, `ReportKernelEvent`, `[[port]]`s) and
//! discovery: an added port that belongs to a modem ModemManager manages goes no further, and
//! while ModemManager is on the bus a port it may still take (its udev rules made it a
//! candidate) waits for its word, so that a modem plugged in while both run is probed by one.
//! [`watch`] follows ModemManager, [`ownership`] decides. [`serve`] gives every modem it manages
//! (but those `own` lists) an m2mhal device, run by a [`served`] task built from [`proxies`],
//! [`call`], [`mapping`], [`properties`], [`sms`], [`handover`] and [`location`].

pub mod call;
pub mod config;
pub mod handover;
pub mod location;
pub mod mapping;
pub mod ownership;
pub mod properties;
pub mod proxies;
pub mod serve;
pub mod served;
pub mod sms;
pub mod watch;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::device::task::Services;
use crate::kernel_event::{Action, KernelEvent};
use config::{Mode, ModemManagerConfig};
use ownership::{ManagedModems, modemmanager_candidate};

/// Depth of the queue from the gate to discovery.
const GATE_QUEUE: usize = 256;
/// How long a port ModemManager may still take waits for its word while ModemManager is on the
/// bus: its probing of a new modem takes seconds before the modem is exported.
const SETTLE: Duration = Duration::from_secs(15);
/// How long ModemManager may take to let go of a modem.
const INHIBIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long ports wait for the first word about ModemManager (there, with these modems, or
/// absent) before they pass anyway.
const FIRST_ANSWER: Duration = Duration::from_secs(15);

/// Starts living with ModemManager: with `mode = "auto"`, m2mhald follows ModemManager, serves
/// each modem it manages as a device ([`serve`]), and returns the kernel events of `events`
/// that discovery may act on: the ports of modems ModemManager manages are held back (and
/// logged), except those of modems listed in `own`, which are taken from ModemManager first
/// (`InhibitDevice`; ModemManager gives them back when m2mhald leaves the bus). With
/// `mode = "off"`, all events pass and ModemManager is never asked.
pub fn start(
    config: &ModemManagerConfig,
    conn: &zbus::Connection,
    services: &Services,
    events: mpsc::Receiver<KernelEvent>,
) -> mpsc::Receiver<KernelEvent> {
    if config.mode == Mode::Off {
        return events;
    }
    let managed = watch::spawn(conn.clone());
    let settings = served::Settings {
        enable: config.enable,
        delete_received: config.delete_received,
        gnss: config.gnss,
    };
    tokio::spawn(serve::serve(
        conn.clone(),
        config.own.clone(),
        settings,
        services.clone(),
        managed.clone(),
    ));
    let gate = Gate {
        conn: conn.clone(),
        own: config.own.clone(),
        managed,
    };
    let (tx, rx) = mpsc::channel(GATE_QUEUE);
    tokio::spawn(gate.pass(events, tx));
    rx
}

/// What the gate does with an added port.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Not ModemManager's: on to discovery.
    Pass,
    /// ModemManager is on the bus and may still take it (it probes a new modem for seconds
    /// before it exports it): wait for its word, at most [`SETTLE`].
    Settle,
    /// A port of the ModemManager modem at this object path: held back.
    Hold(String),
    /// A port of a modem `own` lists: take the device (MM's `Device`) from ModemManager, then on.
    Take {
        /// The modem's m2mhal Id.
        id: String,
        /// ModemManager's uid of the device.
        device: String,
    },
}

/// What to do with `event`'s port when ModemManager manages `modems` (`None`: not known yet)
/// and `own` lists the Ids of modems m2mhal takes from it.
fn verdict(modems: Option<&ManagedModems>, own: &[String], event: &KernelEvent) -> Verdict {
    if !matches!(event.action, Action::Add | Action::Change) {
        return Verdict::Pass;
    }
    let Some(modems) = modems else {
        return Verdict::Pass;
    };
    match modems.owner_of(&event.name, &event.properties) {
        Some(modem) => match modem.id() {
            Some(id) if own.contains(&id) => Verdict::Take {
                id,
                device: modem.device.clone(),
            },
            _ => Verdict::Hold(modem.path.clone()),
        },
        None if modems.present && modemmanager_candidate(&event.properties) => Verdict::Settle,
        None => Verdict::Pass,
    }
}

/// The gate between the kernel events and discovery.
#[derive(Clone)]
struct Gate {
    conn: zbus::Connection,
    own: Vec<String>,
    managed: tokio::sync::watch::Receiver<Option<ManagedModems>>,
}

impl Gate {
    /// Forwards `events` to `tx`, holding back or first taking the ports of ModemManager's modems.
    async fn pass(
        mut self,
        mut events: mpsc::Receiver<KernelEvent>,
        tx: mpsc::Sender<KernelEvent>,
    ) {
        let answered = tokio::time::timeout(FIRST_ANSWER, self.managed.wait_for(Option::is_some))
            .await
            .is_ok_and(|answer| answer.is_ok());
        if !answered {
            tracing::warn!("no word from ModemManager in {FIRST_ANSWER:?}; ports pass");
        }
        let mut settling: HashMap<PathBuf, AbortHandle> = HashMap::new();
        while let Some(event) = events.recv().await {
            if let Some(waiting) = settling.remove(&event.devnode) {
                waiting.abort();
            }
            if self.verdict(&event) == Verdict::Settle {
                settling.retain(|_, waiting| !waiting.is_finished());
                let devnode = event.devnode.clone();
                let task = tokio::spawn(self.clone().settle(event, tx.clone()));
                settling.insert(devnode, task.abort_handle());
                continue;
            }
            if !self.admit(event, &tx).await {
                return;
            }
        }
    }

    /// Waits until ModemManager manages `event`'s port, leaves the bus, or [`SETTLE`] passed;
    /// then admits it.
    async fn settle(mut self, event: KernelEvent, tx: mpsc::Sender<KernelEvent>) {
        tracing::debug!(
            port = %event.devnode.display(),
            "waiting up to {SETTLE:?} for ModemManager to take or leave this port"
        );
        let decided = |known: &Option<ManagedModems>| {
            known.as_ref().is_none_or(|modems| {
                !modems.present || modems.owner_of(&event.name, &event.properties).is_some()
            })
        };
        let _ = tokio::time::timeout(SETTLE, self.managed.wait_for(decided)).await;
        self.admit(event, &tx).await;
    }

    /// Applies the verdict on `event`: on to `tx`, held back, or taken first. False once
    /// discovery is gone.
    async fn admit(&self, event: KernelEvent, tx: &mpsc::Sender<KernelEvent>) -> bool {
        let port = event.devnode.display().to_string();
        match self.verdict(&event) {
            Verdict::Pass | Verdict::Settle => {}
            Verdict::Hold(modem) => {
                tracing::info!(
                    port,
                    "ModemManager manages this modem ({modem}): not opening its port"
                );
                return true;
            }
            Verdict::Take { id, device } => {
                if let Err(e) = self.take(&device).await {
                    tracing::warn!(port, "cannot take {id} from ModemManager: {e}");
                    return true;
                }
                tracing::info!(port, "took {id} from ModemManager ([modemmanager] own)");
            }
        }
        tx.send(event).await.is_ok()
    }

    /// What to do with `event`'s port under what ModemManager manages now.
    fn verdict(&self, event: &KernelEvent) -> Verdict {
        verdict(self.managed.borrow().as_ref(), &self.own, event)
    }

    /// Has ModemManager let go of `device` (`InhibitDevice`), for as long as this connection
    /// stays on the bus.
    async fn take(&self, device: &str) -> zbus::Result<()> {
        let manager = proxies::ManagerProxy::new(&self.conn).await?;
        tokio::time::timeout(INHIBIT_TIMEOUT, manager.inhibit_device(device, true))
            .await
            .map_err(|_| zbus::Error::Failure("ModemManager did not answer in time".into()))?
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::ownership::ManagedModem;
    use super::*;

    const DEVICE: &str = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1";
    const MODEM: &str = "/org/freedesktop/ModemManager1/Modem/0";

    fn event(action: Action, candidate: bool) -> KernelEvent {
        let mut properties = BTreeMap::from([(
            "DEVPATH".to_owned(),
            "/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.2/ttyUSB2/tty/ttyUSB2".to_owned(),
        )]);
        if candidate {
            properties.insert("ID_MM_CANDIDATE".to_owned(), "1".to_owned());
        }
        KernelEvent {
            action,
            subsystem: "tty".to_owned(),
            name: "ttyUSB2".to_owned(),
            devnode: PathBuf::from("/dev/ttyUSB2"),
            properties,
        }
    }

    fn modems(present: bool, managing: bool) -> ManagedModems {
        let mut modems = ManagedModems::default();
        modems.present = present;
        if managing {
            modems.insert(ManagedModem {
                path: MODEM.to_owned(),
                device: DEVICE.to_owned(),
                ports: vec!["ttyUSB2".to_owned()],
                equipment_id: "356938035643809".to_owned(),
                interface_changes: 0,
            });
        }
        modems
    }

    #[test]
    fn ports_of_managed_modems_are_held_unless_owned() {
        let managed = modems(true, true);
        let added = event(Action::Add, true);
        assert_eq!(
            verdict(Some(&managed), &[], &added),
            Verdict::Hold(MODEM.to_owned())
        );
        let own = ["imei:356938035643809".to_owned()];
        assert_eq!(
            verdict(Some(&managed), &own, &added),
            Verdict::Take {
                id: own[0].clone(),
                device: DEVICE.to_owned()
            }
        );
        // While ModemManager is away its modems stay its own.
        assert_eq!(
            verdict(Some(&modems(false, true)), &[], &added),
            Verdict::Hold(MODEM.to_owned())
        );
        // Removal always passes.
        let removed = event(Action::Remove, true);
        assert_eq!(verdict(Some(&managed), &[], &removed), Verdict::Pass);
    }

    #[test]
    fn candidates_wait_only_while_modemmanager_runs() {
        let candidate = event(Action::Add, true);
        assert_eq!(
            verdict(Some(&modems(true, false)), &[], &candidate),
            Verdict::Settle
        );
        assert_eq!(
            verdict(Some(&modems(false, false)), &[], &candidate),
            Verdict::Pass
        );
        let other = event(Action::Add, false);
        assert_eq!(
            verdict(Some(&modems(true, false)), &[], &other),
            Verdict::Pass
        );
        assert_eq!(verdict(None, &[], &candidate), Verdict::Pass);
    }
}
