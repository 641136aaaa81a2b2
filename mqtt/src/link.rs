//! The bridge as an MQTT client: options from the config (TLS, credentials, Last Will) and one
//! connection at a time, its event loop polled in a task of its own.

use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, LastWill, MqttOptions, QoS, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError};
use crate::publish::Publish;
use crate::topics::Topics;

/// The largest packet the bridge reads or writes (a command, a discovery config).
const MAX_PACKET: usize = 256 * 1024;
/// Requests the client buffers for its event loop.
const REQUESTS: usize = 2 * crate::flight::WINDOW + 16;

/// The payload of `<p>/status` while the bridge is connected.
pub const ONLINE: &str = "online";
/// The payload of `<p>/status` otherwise (the Last Will).
pub const OFFLINE: &str = "offline";

fn read(path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The client options of `config`: a clean session every time (the durable queue, not the
/// broker's session, carries what is unacknowledged), the Last Will `offline` on `<p>/status`.
pub fn options(config: &Config, topics: &Topics) -> Result<MqttOptions, ConfigError> {
    let endpoint = config.endpoint()?;
    let mut options = MqttOptions::new(&config.client_id, &endpoint.host, endpoint.port);
    options
        .set_keep_alive(Duration::from_secs(config.keepalive.max(5)))
        .set_clean_session(true)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_inflight(u16::try_from(crate::flight::WINDOW).unwrap_or(u16::MAX))
        .set_last_will(LastWill::new(
            topics.status(),
            OFFLINE,
            QoS::AtLeastOnce,
            true,
        ));
    if let Some(password) = config.password()? {
        options.set_credentials(&config.username, password);
    } else if !config.username.is_empty() {
        options.set_credentials(&config.username, "");
    }
    if endpoint.tls {
        let client_auth = if config.client_cert.as_os_str().is_empty() {
            None
        } else {
            Some((read(&config.client_cert)?, read(&config.client_key)?))
        };
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
            ca: read(&config.ca_file)?,
            alpn: None,
            client_auth,
        }));
    }
    Ok(options)
}

/// One connection to the broker: the client to hand requests to and the events of its loop.
pub struct Link {
    /// Hands publishes and subscriptions to the event loop.
    pub client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<Event, ConnectionError>>,
    pump: JoinHandle<()>,
}

impl Link {
    /// Starts connecting with `options`; the events (the `ConnAck` first) come from
    /// [`Link::next`]. The loop ends at its first error, the last event it gives.
    pub fn open(options: MqttOptions) -> Link {
        let (client, mut eventloop) = AsyncClient::new(options, REQUESTS);
        let (sender, events) = mpsc::unbounded_channel();
        let pump = tokio::spawn(async move {
            loop {
                let event = eventloop.poll().await;
                let failed = event.is_err();
                if sender.send(event).is_err() || failed {
                    return;
                }
            }
        });
        Link {
            client,
            events,
            pump,
        }
    }

    /// The next event of the connection; `None` once it ended.
    pub async fn next(&mut self) -> Option<Result<Event, ConnectionError>> {
        self.events.recv().await
    }

    /// Hands `publish` to the client at QoS 1; `false` when its buffer is full or it is closed.
    pub fn publish(&self, publish: &Publish) -> bool {
        self.client
            .try_publish(
                publish.topic.as_str(),
                QoS::AtLeastOnce,
                publish.retain,
                publish.payload.clone(),
            )
            .is_ok()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.pump.abort();
    }
}
