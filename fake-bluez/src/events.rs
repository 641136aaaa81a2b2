//! The event log: what clients did to the fake (and what the fake did on its own), for tests to
//! assert on and for the binary to print as JSON lines.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::error::Error;
use crate::filter::DiscoveryFilter;
use crate::gatt::WriteType;
use crate::spec::{Address, hex};

/// Something that happened on the fake. `client` is the caller's unique bus name.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The adapter was powered on or off.
    Powered {
        /// New state.
        powered: bool,
    },
    /// A client set (or, with `None`, cleared) its discovery filter.
    DiscoveryFilter {
        /// Caller.
        client: String,
        /// The filter.
        filter: Option<DiscoveryFilter>,
    },
    /// A client started a discovery session.
    DiscoveryStarted {
        /// Caller.
        client: String,
    },
    /// A client's discovery session ended (StopDiscovery, or the client left the bus).
    DiscoveryStopped {
        /// Caller.
        client: String,
    },
    /// A device object was created (InterfacesAdded).
    DeviceFound {
        /// The device.
        address: Address,
    },
    /// A device object was removed (InterfacesRemoved).
    DeviceRemoved {
        /// The device.
        address: Address,
    },
    /// A connection came up (services resolved).
    Connected {
        /// The device.
        address: Address,
    },
    /// A connection attempt failed.
    ConnectFailed {
        /// The device.
        address: Address,
        /// The error message returned.
        reason: String,
    },
    /// A connection went down.
    Disconnected {
        /// The device.
        address: Address,
        /// BlueZ's reason name, e.g. `org.bluez.Reason.Local`.
        reason: String,
    },
    /// A characteristic was read.
    Read {
        /// The device.
        address: Address,
        /// Characteristic UUID.
        characteristic: String,
        /// Requested offset.
        offset: u16,
    },
    /// A characteristic was written.
    Write {
        /// The device.
        address: Address,
        /// Characteristic UUID.
        characteristic: String,
        /// The bytes written.
        #[serde(with = "hex")]
        value: Vec<u8>,
        /// Procedure used.
        write_type: WriteType,
        /// Offset.
        offset: u16,
        /// False if the peripheral dropped it (a command it doesn't support).
        accepted: bool,
    },
    /// A descriptor was read.
    DescriptorRead {
        /// The device.
        address: Address,
        /// Descriptor UUID.
        descriptor: String,
        /// Its characteristic's UUID.
        characteristic: String,
    },
    /// A descriptor was written.
    DescriptorWrite {
        /// The device.
        address: Address,
        /// Descriptor UUID.
        descriptor: String,
        /// Its characteristic's UUID.
        characteristic: String,
        /// The bytes written.
        #[serde(with = "hex")]
        value: Vec<u8>,
    },
    /// A client started notifications.
    NotifyStarted {
        /// The device.
        address: Address,
        /// Characteristic UUID.
        characteristic: String,
        /// Caller.
        client: String,
    },
    /// A client's notify session ended.
    NotifyStopped {
        /// The device.
        address: Address,
        /// Characteristic UUID.
        characteristic: String,
        /// Caller.
        client: String,
    },
    /// The peripheral notified a value (sent as PropertiesChanged on Value).
    Notified {
        /// The device.
        address: Address,
        /// Characteristic UUID.
        characteristic: String,
        /// The value.
        #[serde(with = "hex")]
        value: Vec<u8>,
    },
    /// bluetoothd "restarted": every object was dropped and the adapter re-added.
    Restarted,
}

/// An append-only log with a change counter to wait on.
pub struct EventLog {
    history: Mutex<Vec<Event>>,
    count: watch::Sender<usize>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            history: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        }
    }
}

impl EventLog {
    /// Appends an event.
    pub fn push(&self, event: Event) {
        tracing::debug!(?event, "fake bluez");
        let len = {
            let mut history = lock(&self.history);
            history.push(event);
            history.len()
        };
        self.count.send_replace(len);
    }

    /// Every event so far.
    pub fn snapshot(&self) -> Vec<Event> {
        lock(&self.history).clone()
    }

    /// Events from index `from` on.
    pub fn since(&self, from: usize) -> Vec<Event> {
        lock(&self.history).get(from..).unwrap_or_default().to_vec()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        lock(&self.history).clear();
        self.count.send_replace(0);
    }

    /// A receiver that changes whenever an event is logged (its value is the log length).
    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// The first logged event (past or future) that matches, waiting up to `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Event) -> bool,
    ) -> Result<Event, Error> {
        let mut changes = self.subscribe();
        let search = async {
            loop {
                if let Some(event) = lock(&self.history).iter().find(|e| predicate(e)) {
                    return event.clone();
                }
                if changes.changed().await.is_err() {
                    // The sender lives in `self`, so this can't happen while we borrow it.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, search)
            .await
            .map_err(|_| Error::Timeout(timeout))
    }
}

/// Locks a mutex, carrying on if a panicking holder poisoned it (the data stays consistent:
/// every critical section here is a single push or read).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_for_sees_past_and_future_events() {
        let log = std::sync::Arc::new(EventLog::default());
        log.push(Event::Powered { powered: true });
        let past = log
            .wait_for(Duration::from_secs(1), |e| {
                matches!(e, Event::Powered { .. })
            })
            .await
            .unwrap();
        assert_eq!(past, Event::Powered { powered: true });

        let writer = log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            writer.push(Event::Restarted);
        });
        let future = log
            .wait_for(Duration::from_secs(1), |e| *e == Event::Restarted)
            .await
            .unwrap();
        assert_eq!(future, Event::Restarted);
        assert!(
            log.wait_for(Duration::from_millis(20), |e| matches!(
                e,
                Event::Connected { .. }
            ))
            .await
            .is_err()
        );
    }

    #[test]
    fn writes_print_as_json_with_hex_values() {
        let event = Event::Write {
            address: "AA:BB:CC:DD:EE:FF".parse().unwrap(),
            characteristic: "0000fff1-0000-1000-8000-00805f9b34fb".into(),
            value: vec![0x01, 0xab],
            write_type: WriteType::Command,
            offset: 0,
            accepted: true,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"event":"write","address":"AA:BB:CC:DD:EE:FF","characteristic":"0000fff1-0000-1000-8000-00805f9b34fb","value":"01ab","write_type":"command","offset":0,"accepted":true}"#
        );
    }
}
