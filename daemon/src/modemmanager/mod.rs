//! Living with ModemManager (design: modemmanager.md): m2mhald follows ModemManager on the bus
//! and never opens a port of a modem it manages; `[modemmanager] mode = "off"` never talks to it.
//!
//! [`gate`] sits between the kernel events (udev, `ReportKernelEvent`, `[[port]]`s) and
//! discovery: an added port that belongs to a modem ModemManager manages goes no further.
//! [`watch`] follows ModemManager, [`ownership`] decides, [`proxies`] and [`mapping`] are what a
//! device served through ModemManager is built from.

pub mod config;
pub mod mapping;
pub mod ownership;
pub mod proxies;
pub mod watch;

use std::time::Duration;

use tokio::sync::mpsc;

use crate::kernel_event::{Action, KernelEvent};
use config::{Mode, ModemManagerConfig};
use ownership::ManagedModems;

/// Depth of the queue from the gate to discovery.
const GATE_QUEUE: usize = 256;
/// How long ModemManager may take to let go of a modem.
const INHIBIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long ports wait for the first word about ModemManager (there, with these modems, or
/// absent) before they pass anyway.
const FIRST_ANSWER: Duration = Duration::from_secs(15);

/// The kernel events of `events` that discovery may act on: with `mode = "auto"`, the ports of
/// modems ModemManager manages are held back (and logged), except those of modems listed in
/// `own`, which are taken from ModemManager first (`InhibitDevice`; ModemManager gives them back
/// when m2mhald leaves the bus); with `mode = "off"`, all of them, and ModemManager is never
/// asked.
pub fn gate(
    config: &ModemManagerConfig,
    conn: &zbus::Connection,
    events: mpsc::Receiver<KernelEvent>,
) -> mpsc::Receiver<KernelEvent> {
    if config.mode == Mode::Off {
        return events;
    }
    let gate = Gate {
        conn: conn.clone(),
        own: config.own.clone(),
        managed: watch::spawn(conn.clone()),
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

/// The gate between the kernel events and discovery.
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
        while let Some(event) = events.recv().await {
            let port = event.devnode.display().to_string();
            match self.verdict(&event) {
                Verdict::Pass => {}
                Verdict::Hold(modem) => {
                    tracing::info!(
                        port,
                        "ModemManager manages this modem ({modem}): not opening its port"
                    );
                    continue;
                }
                Verdict::Take { id, device } => {
                    if let Err(e) = self.take(&device).await {
                        tracing::warn!(port, "cannot take {id} from ModemManager: {e}");
                        continue;
                    }
                    tracing::info!(port, "took {id} from ModemManager ([modemmanager] own)");
                }
            }
            if tx.send(event).await.is_err() {
                return;
            }
        }
    }

    /// What to do with `event`'s port under what ModemManager manages now.
    fn verdict(&self, event: &KernelEvent) -> Verdict {
        if !matches!(event.action, Action::Add | Action::Change) {
            return Verdict::Pass;
        }
        let managed = self.managed.borrow();
        let Some(modem) = managed
            .as_ref()
            .and_then(|modems| modems.owner_of(&event.name, &event.properties))
        else {
            return Verdict::Pass;
        };
        match modem.id() {
            Some(id) if self.own.contains(&id) => Verdict::Take {
                id,
                device: modem.device.clone(),
            },
            _ => Verdict::Hold(modem.path.clone()),
        }
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
