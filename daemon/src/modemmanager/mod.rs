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
/// How long ports wait for the first word about ModemManager (there, with these modems, or
/// absent) before they pass anyway.
const FIRST_ANSWER: Duration = Duration::from_secs(15);

/// The kernel events of `events` that discovery may act on: with `mode = "auto"`, the ports of
/// modems ModemManager manages are held back (and logged); with `mode = "off"`, all of them,
/// and ModemManager is never asked.
pub fn gate(
    config: &ModemManagerConfig,
    conn: &zbus::Connection,
    events: mpsc::Receiver<KernelEvent>,
) -> mpsc::Receiver<KernelEvent> {
    if config.mode == Mode::Off {
        return events;
    }
    let managed = watch::spawn(conn.clone());
    let (tx, rx) = mpsc::channel(GATE_QUEUE);
    tokio::spawn(pass(events, tx, managed));
    rx
}

/// Forwards `events` to `tx`, except added ports of modems ModemManager manages.
async fn pass(
    mut events: mpsc::Receiver<KernelEvent>,
    tx: mpsc::Sender<KernelEvent>,
    mut managed: tokio::sync::watch::Receiver<Option<ManagedModems>>,
) {
    let answered = tokio::time::timeout(FIRST_ANSWER, managed.wait_for(Option::is_some))
        .await
        .is_ok_and(|answer| answer.is_ok());
    if !answered {
        tracing::warn!("no word from ModemManager in {FIRST_ANSWER:?}; ports pass");
    }
    while let Some(event) = events.recv().await {
        if matches!(event.action, Action::Add | Action::Change)
            && let Some(modem) = managed
                .borrow()
                .as_ref()
                .and_then(|modems| modems.owner_of(&event.name, &event.properties))
                .map(|modem| modem.path.clone())
        {
            tracing::info!(
                port = %event.devnode.display(),
                "ModemManager manages this modem ({modem}): not opening its port"
            );
            continue;
        }
        if tx.send(event).await.is_err() {
            return;
        }
    }
}
