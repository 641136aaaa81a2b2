//! A test MQTT client: subscribes, records every publish the broker delivers, and publishes.

use std::collections::VecDeque;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::wait::WAIT;

/// A publish the broker delivered to the probe.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Whether it came from the broker's retained store.
    pub retain: bool,
}

impl Delivery {
    /// The payload as JSON; fails the test when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {:?}", self.topic, self.text()))
    }

    /// The payload as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// What the probe's event loop reports.
enum Report {
    Subscribed,
    Delivered(Delivery),
}

/// A connected MQTT client of the test; disconnects when dropped.
pub struct Probe {
    client: AsyncClient,
    reports: mpsc::UnboundedReceiver<Report>,
    backlog: VecDeque<Delivery>,
    pump: tokio::task::JoinHandle<()>,
}

impl Probe {
    /// Connects to `127.0.0.1:port` as `client_id` with a clean session and subscribes to
    /// `filters` (QoS 1); returns once the broker acknowledged them.
    pub async fn connect(port: u16, client_id: &str, filters: &[&str]) -> Probe {
        Probe::connect_with(port, client_id, filters, true).await
    }

    /// Like [`Probe::connect`] with a session the broker keeps while the probe is away (and
    /// across a broker restart, the test broker persisting sessions): QoS 1 publishes for it
    /// wait there, and the probe reconnects by itself.
    pub async fn persistent(port: u16, client_id: &str, filters: &[&str]) -> Probe {
        Probe::connect_with(port, client_id, filters, false).await
    }

    async fn connect_with(port: u16, client_id: &str, filters: &[&str], clean: bool) -> Probe {
        let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
        options
            .set_clean_session(clean)
            .set_keep_alive(Duration::from_secs(5))
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let (sender, reports) = mpsc::unbounded_channel();
        let pump = tokio::spawn(async move {
            loop {
                let report = match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => Report::Subscribed,
                    Ok(Event::Incoming(Packet::Publish(publish))) => Report::Delivered(Delivery {
                        topic: publish.topic.clone(),
                        payload: publish.payload.to_vec(),
                        retain: publish.retain,
                    }),
                    Ok(_) => continue,
                    // The broker is away (stopped by the test): poll again connects again.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if sender.send(report).is_err() {
                    return;
                }
            }
        });
        let mut probe = Probe {
            client,
            reports,
            backlog: VecDeque::new(),
            pump,
        };
        for filter in filters {
            probe
                .client
                .subscribe(*filter, QoS::AtLeastOnce)
                .await
                .expect("subscribe");
        }
        let subscribed = tokio::time::timeout(WAIT, async {
            let mut acknowledged = 0;
            while acknowledged < filters.len() {
                match probe.reports.recv().await {
                    Some(Report::Subscribed) => acknowledged += 1,
                    Some(Report::Delivered(delivery)) => probe.backlog.push_back(delivery),
                    None => return false,
                }
            }
            true
        })
        .await;
        assert_eq!(subscribed, Ok(true), "the broker acknowledged {filters:?}");
        probe
    }

    /// Waits for the oldest delivery (kept or new) that `accept` takes; the others stay kept.
    pub async fn expect(&mut self, what: &str, accept: impl Fn(&Delivery) -> bool) -> Delivery {
        if let Some(at) = self.backlog.iter().position(&accept) {
            return self.backlog.remove(at).expect("position is in range");
        }
        let found = tokio::time::timeout(WAIT, async {
            while let Some(report) = self.reports.recv().await {
                if let Report::Delivered(delivery) = report {
                    if accept(&delivery) {
                        return Some(delivery);
                    }
                    self.backlog.push_back(delivery);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(delivery)) => delivery,
            _ => panic!(
                "the broker never delivered {what}; got {:?}",
                self.backlog
                    .iter()
                    .map(|d| (&d.topic, d.text()))
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Waits for the next delivery on `topic`.
    pub async fn expect_on(&mut self, topic: &str) -> Delivery {
        self.expect(topic, |delivery| delivery.topic == topic).await
    }

    /// Waits for a delivery on `topic` whose JSON payload `accept` takes; returns the payload.
    pub async fn expect_json(&mut self, topic: &str, accept: impl Fn(&Value) -> bool) -> Value {
        self.expect(topic, |delivery| {
            delivery.topic == topic
                && serde_json::from_slice(&delivery.payload)
                    .ok()
                    .is_some_and(|value| accept(&value))
        })
        .await
        .json()
    }

    /// Everything delivered on `topic` that no `expect` took yet, oldest first (taken now).
    pub fn take_kept(&mut self, topic: &str) -> Vec<Delivery> {
        let (taken, kept): (VecDeque<_>, VecDeque<_>) =
            self.backlog.drain(..).partition(|d| d.topic == topic);
        self.backlog = kept;
        taken.into()
    }

    /// Publishes `payload` on `topic` at QoS 1.
    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .expect("publish");
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.pump.abort();
    }
}
