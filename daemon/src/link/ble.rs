//! The link to one BLE peripheral: GATT operations through btleplug, results as driver events.
//!
//! Every operation runs in its own task so a slow peripheral never stalls the device task; its
//! outcome comes back through the same channel as advertisements and link changes from the
//! scanner.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use btleplug::api::{Central, CharPropFlags, Characteristic, Peripheral as _, WriteType};
use btleplug::platform::{Adapter, Peripheral};
use futures_util::StreamExt;
use m2mhal_plugin_api::ble::{GattAction, GattCharacteristic, GattOp, GattService};
use m2mhal_plugin_api::{Effect, Event};
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};

use super::{Link, unsupported};

/// How long connecting (service discovery included) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one GATT operation may take.
const OP_TIMEOUT: Duration = Duration::from_secs(20);

/// The current adapter, replaced when BlueZ restarts; `None` while there is none.
pub type AdapterWatch = watch::Receiver<Option<Adapter>>;

/// The peripheral object of the link that is up: it holds the discovered services, which a fresh
/// lookup through the adapter would not.
type Connected = Arc<Mutex<Option<Peripheral>>>;

fn set_connected(slot: &Connected, peripheral: Option<Peripheral>) {
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = peripheral;
}

/// One peripheral's link.
pub struct BleLink {
    address: String,
    adapter: AdapterWatch,
    events: mpsc::UnboundedReceiver<Event>,
    sender: mpsc::UnboundedSender<Event>,
    operations: JoinSet<()>,
    notifications: Option<AbortHandle>,
    connected: Connected,
}

impl BleLink {
    /// A link to `address`; the returned sender is how the scanner delivers advertisements and
    /// link changes to it.
    pub fn new(address: String, adapter: AdapterWatch) -> (BleLink, mpsc::UnboundedSender<Event>) {
        let (sender, events) = mpsc::unbounded_channel();
        let link = BleLink {
            address,
            adapter,
            events,
            sender: sender.clone(),
            operations: JoinSet::new(),
            notifications: None,
            connected: Connected::default(),
        };
        (link, sender)
    }

    /// The next advertisement, link change or operation result. Cancel-safe.
    async fn receive(&mut self) -> Event {
        // Reap finished operation tasks so the set does not grow.
        while self.operations.try_join_next().is_some() {}
        match self.events.recv().await {
            Some(event) => {
                if matches!(event, Event::LinkDown { .. }) {
                    set_connected(&self.connected, None);
                    if let Some(notifications) = self.notifications.take() {
                        notifications.abort();
                    }
                }
                event
            }
            // The link itself holds a sender, so the channel never closes.
            None => std::future::pending().await,
        }
    }

    /// Starts a Connect, Disconnect or GATT operation; its outcome arrives through
    /// [`Link::next`].
    fn start(&mut self, effect: Effect) {
        let address = self.address.clone();
        let adapter = self.adapter.borrow().clone();
        let sender = self.sender.clone();
        match effect {
            Effect::Connect => {
                let connected = Arc::clone(&self.connected);
                // This task lives as long as the link: after LinkUp it forwards notifications.
                let handle = self.operations.spawn(async move {
                    match connect(adapter, &address).await {
                        Ok((peripheral, services)) => {
                            set_connected(&connected, Some(peripheral.clone()));
                            let stream = peripheral.notifications().await;
                            let _ = sender.send(Event::LinkUp { services });
                            match stream {
                                Ok(stream) => forward_notifications(stream, &sender).await,
                                Err(e) => tracing::warn!("cannot receive notifications: {e}"),
                            }
                        }
                        Err(reason) => {
                            let _ = sender.send(Event::LinkDown { reason });
                        }
                    }
                });
                if let Some(old) = self.notifications.replace(handle) {
                    old.abort();
                }
            }
            Effect::Disconnect => {
                if let Some(notifications) = self.notifications.take() {
                    notifications.abort();
                }
                self.operations.spawn(async move {
                    let reason = match disconnect(adapter, &address).await {
                        Ok(()) => "disconnected on request".to_owned(),
                        Err(e) => format!("disconnect failed: {e}"),
                    };
                    let _ = sender.send(Event::LinkDown { reason });
                });
            }
            Effect::Gatt(op) => {
                let connected = self
                    .connected
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                self.operations.spawn(async move {
                    let id = op.op;
                    let result = gatt(connected, adapter, &address, op).await;
                    let _ = sender.send(Event::GattDone {
                        op: id,
                        result: result.map(ByteBuf::from),
                    });
                });
            }
            other => unsupported(&other),
        }
    }
}

#[async_trait::async_trait]
impl Link for BleLink {
    async fn next(&mut self) -> Event {
        self.receive().await
    }

    async fn perform(&mut self, effect: Effect) -> Option<Event> {
        self.start(effect);
        None
    }

    /// Stops every operation in flight.
    fn close(&mut self) {
        self.operations.abort_all();
        self.notifications = None;
        set_connected(&self.connected, None);
    }
}

/// The peripheral with `address` on the current adapter.
async fn find(adapter: Option<Adapter>, address: &str) -> Result<Peripheral, String> {
    let adapter = adapter.ok_or("no Bluetooth adapter (is bluetoothd running?)")?;
    let peripherals = adapter.peripherals().await.map_err(|e| e.to_string())?;
    peripherals
        .into_iter()
        .find(|p| p.address().to_string().eq_ignore_ascii_case(address))
        .ok_or_else(|| format!("{address} is not known to the adapter (out of range?)"))
}

async fn connect(
    adapter: Option<Adapter>,
    address: &str,
) -> Result<(Peripheral, Vec<GattService>), String> {
    let peripheral = find(adapter, address).await?;
    let attempt = async {
        if !peripheral.is_connected().await.map_err(|e| e.to_string())? {
            peripheral.connect().await.map_err(|e| e.to_string())?;
        }
        peripheral
            .discover_services()
            .await
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| format!("connecting took longer than {CONNECT_TIMEOUT:?}"))??;
    let services = peripheral
        .services()
        .into_iter()
        .map(|service| GattService {
            uuid: service.uuid.to_string(),
            characteristics: service
                .characteristics
                .iter()
                .map(|c| GattCharacteristic {
                    uuid: c.uuid.to_string(),
                    flags: flags(c.properties),
                })
                .collect(),
        })
        .collect();
    Ok((peripheral, services))
}

async fn disconnect(adapter: Option<Adapter>, address: &str) -> Result<(), String> {
    let peripheral = find(adapter, address).await?;
    peripheral.disconnect().await.map_err(|e| e.to_string())
}

/// Forwards notifications until the stream ends or the device task goes away.
async fn forward_notifications(
    mut stream: impl futures_util::Stream<Item = btleplug::api::ValueNotification> + Unpin,
    sender: &mpsc::UnboundedSender<Event>,
) {
    while let Some(notification) = stream.next().await {
        let event = Event::Notification {
            characteristic: notification.uuid.to_string(),
            value: notification.value,
        };
        if sender.send(event).is_err() {
            break;
        }
    }
}

/// BlueZ-style flag names.
fn flags(properties: CharPropFlags) -> Vec<String> {
    [
        (CharPropFlags::BROADCAST, "broadcast"),
        (CharPropFlags::READ, "read"),
        (
            CharPropFlags::WRITE_WITHOUT_RESPONSE,
            "write-without-response",
        ),
        (CharPropFlags::WRITE, "write"),
        (CharPropFlags::NOTIFY, "notify"),
        (CharPropFlags::INDICATE, "indicate"),
        (
            CharPropFlags::AUTHENTICATED_SIGNED_WRITES,
            "authenticated-signed-writes",
        ),
        (CharPropFlags::EXTENDED_PROPERTIES, "extended-properties"),
    ]
    .into_iter()
    .filter(|(flag, _)| properties.contains(*flag))
    .map(|(_, name)| name.to_owned())
    .collect()
}

/// Runs one GATT operation on the connected peripheral (or, without one, on a fresh lookup whose
/// services are discovered first).
async fn gatt(
    connected: Option<Peripheral>,
    adapter: Option<Adapter>,
    address: &str,
    op: GattOp,
) -> Result<Vec<u8>, String> {
    let peripheral = match connected {
        Some(peripheral) => peripheral,
        None => {
            let peripheral = find(adapter, address).await?;
            if peripheral.characteristics().is_empty() {
                peripheral
                    .discover_services()
                    .await
                    .map_err(|e| e.to_string())?;
            }
            peripheral
        }
    };
    let characteristic: Characteristic = peripheral
        .characteristics()
        .into_iter()
        .find(|c| c.uuid.to_string() == op.characteristic)
        .ok_or_else(|| format!("characteristic {} is not on this device", op.characteristic))?;
    let run = async {
        match op.action {
            GattAction::Read => peripheral.read(&characteristic).await,
            GattAction::Write {
                value,
                with_response,
            } => {
                let kind = if with_response {
                    WriteType::WithResponse
                } else {
                    WriteType::WithoutResponse
                };
                peripheral
                    .write(&characteristic, &value, kind)
                    .await
                    .map(|()| Vec::new())
            }
            GattAction::Subscribe => peripheral
                .subscribe(&characteristic)
                .await
                .map(|()| Vec::new()),
            GattAction::Unsubscribe => peripheral
                .unsubscribe(&characteristic)
                .await
                .map(|()| Vec::new()),
        }
    };
    tokio::time::timeout(OP_TIMEOUT, run)
        .await
        .map_err(|_| format!("the operation took longer than {OP_TIMEOUT:?}"))?
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_use_bluez_names() {
        let properties = CharPropFlags::READ | CharPropFlags::NOTIFY;
        assert_eq!(flags(properties), vec!["read", "notify"]);
    }
}
