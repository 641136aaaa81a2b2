//! Serving ModemManager's modems: one [`served`] task per modem MM manages (except those
//! `[modemmanager] own` lists), by `Id`. A task starts when MM first exports the modem, follows
//! it to its new object after an MM restart, waits (`offline`, taking messages) while MM is away,
//! and ends when MM removes the modem while it runs. The device keeps its object throughout.

use std::collections::BTreeMap;

use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::ownership::{ManagedModem, ManagedModems};
use super::served::{self, Control, Settings};
use crate::device::span::device_span;
use crate::device::task::Services;

/// `StateReason` of a served modem ModemManager no longer exports (unplugged, or inhibited).
pub const MODEM_REMOVED: &str = "modem-removed";
/// Depth of a served modem's control queue.
const CONTROL_QUEUE: usize = 8;

/// The modems to serve among those MM manages now, by `Id`: all of them while MM is on the bus,
/// except those `own` lists (m2mhald drives those itself) and those without an IMEI.
fn to_serve<'a>(modems: &'a ManagedModems, own: &[String]) -> BTreeMap<String, &'a ManagedModem> {
    if !modems.present {
        return BTreeMap::new();
    }
    modems
        .iter()
        .filter_map(|modem| Some((modem.id()?, modem)))
        .filter(|(id, _)| !own.contains(id))
        .collect()
}

/// One served modem's task, as the supervisor knows it.
struct Served {
    /// MM's object path it follows; `None` while MM is away.
    path: Option<String>,
    /// [`ManagedModem::interface_changes`] as the task last heard of it.
    interface_changes: u64,
    control: mpsc::Sender<Control>,
}

/// Serves the modems `managed` reports until it closes.
pub async fn serve(
    conn: zbus::Connection,
    own: Vec<String>,
    settings: Settings,
    services: Services,
    mut managed: watch::Receiver<Option<ManagedModems>>,
) {
    let mut served: BTreeMap<String, Served> = BTreeMap::new();
    loop {
        let known = managed.borrow_and_update().clone();
        if let Some(modems) = known {
            let wanted = to_serve(&modems, &own);
            // A task that could not follow its modem has ended: serve the modem afresh.
            served.retain(|_, task| !task.control.is_closed());
            served.retain(|id, task| {
                let control = match (&task.path, wanted.get(id)) {
                    (Some(_), None) if !modems.present => Control::Away,
                    (Some(_), None) => Control::Stop(MODEM_REMOVED),
                    (Some(path), Some(modem)) if *path == modem.path => {
                        if task.interface_changes != modem.interface_changes {
                            task.interface_changes = modem.interface_changes;
                            let _ = task.control.try_send(Control::Reread);
                        }
                        return true;
                    }
                    (_, Some(modem)) => Control::Follow(modem.path.clone()),
                    // Away: MM, back, may still be probing it.
                    (None, None) => return true,
                };
                task.path = match &control {
                    Control::Follow(path) => Some(path.clone()),
                    _ => None,
                };
                if let Some(modem) = wanted.get(id) {
                    task.interface_changes = modem.interface_changes;
                }
                let stop = matches!(control, Control::Stop(_));
                let _ = task.control.try_send(control);
                !stop
            });
            for (id, modem) in wanted {
                if served.contains_key(&id) {
                    continue;
                }
                let (control, controlled) = mpsc::channel(CONTROL_QUEUE);
                let span = device_span(&modem.path);
                span.record("id", id.as_str());
                let task = served::run(
                    conn.clone(),
                    modem.path.clone(),
                    settings,
                    services.clone(),
                    controlled,
                );
                tokio::spawn(task.instrument(span));
                let served_modem = Served {
                    path: Some(modem.path.clone()),
                    interface_changes: modem.interface_changes,
                    control,
                };
                served.insert(id, served_modem);
            }
        }
        if managed.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modem(path: &str, imei: &str) -> ManagedModem {
        ManagedModem {
            path: path.to_owned(),
            device: format!("/sys/devices/usb1/{path}"),
            ports: Vec::new(),
            equipment_id: imei.to_owned(),
            interface_changes: 0,
        }
    }

    #[test]
    fn every_modem_with_an_imei_is_served_unless_owned_or_modemmanager_is_away() {
        let mut modems = ManagedModems::default();
        modems.present = true;
        modems.insert(modem("/Modem/0", "356938035643809"));
        modems.insert(modem("/Modem/1", "490154203237518"));
        modems.insert(modem("/Modem/2", "8088AB12"));
        let paths = |own: &[String], modems: &ManagedModems| -> Vec<String> {
            to_serve(modems, own)
                .into_values()
                .map(|modem| modem.path.clone())
                .collect()
        };
        assert_eq!(paths(&[], &modems), ["/Modem/0", "/Modem/1"]);
        let own = ["imei:490154203237518".to_owned()];
        assert_eq!(paths(&own, &modems), ["/Modem/0"]);
        modems.present = false;
        assert!(paths(&[], &modems).is_empty());
    }
}
