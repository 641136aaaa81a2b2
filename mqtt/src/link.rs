//! The bridge as an MQTT client: options from the config (MQTT 3.1.1 or 5, TLS, credentials,
//! Last Will) and one connection at a time, its event loop polled in a task of its own. The
//! bridge sees the connection's events as [`LinkEvent`]s, the same for both protocol versions.

use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::PubAckReason;
use rumqttc::{Outgoing, QoS, TlsConfiguration, Transport};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError, Protocol};
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

/// What happened on the connection.
#[derive(Debug)]
pub enum LinkEvent {
    /// The broker accepted the connection (the bridge's own publishes start anew on it).
    Connected,
    /// The oldest publish handed to the client was written as packet `pkid`.
    Written(u16),
    /// The broker acknowledged packet `pkid`; `refused` says why when it took it but refused it
    /// (MQTT 5 reason codes): it will never take it, so it is done with all the same.
    Acknowledged {
        /// The packet id.
        pkid: u16,
        /// The broker's reason for refusing it, if it did.
        refused: Option<String>,
    },
    /// A publish on a topic the bridge subscribed to; acknowledged only by [`Link::ack`].
    Message {
        /// Its topic.
        topic: String,
        /// Its payload.
        payload: Vec<u8>,
        /// The broker kept it retained (it comes from a new subscription).
        retain: bool,
        /// Its packet id when it wants a PUBACK (QoS 1), for [`Link::ack`].
        pkid: Option<u16>,
    },
    /// The client sent its DISCONNECT.
    Disconnected,
    /// The connection failed or ended; the last event of it.
    Closed(String),
}

/// Client options of either protocol version.
#[derive(Clone)]
pub enum Options {
    /// MQTT 3.1.1.
    V311(Box<rumqttc::MqttOptions>),
    /// MQTT 5.
    V5(Box<rumqttc::v5::MqttOptions>),
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// TLS with the configured trust anchors and client certificate, when the URL is `mqtts://`.
fn transport(config: &Config) -> Result<Option<Transport>, ConfigError> {
    if !config.endpoint()?.tls {
        return Ok(None);
    }
    let client_auth = if config.client_cert.as_os_str().is_empty() {
        None
    } else {
        Some((read(&config.client_cert)?, read(&config.client_key)?))
    };
    Ok(Some(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&config.ca_file)?,
        alpn: None,
        client_auth,
    })))
}

/// How long the broker keeps the bridge's session while it is away (MQTT 5; MQTT 3.1.1 brokers
/// keep it as they are configured to).
const SESSION_EXPIRY: u32 = 24 * 3600;

/// The client options of `config`: a session the broker keeps while the bridge is away, so that
/// a command the bridge did not acknowledge yet (it acknowledges one once m2mhald answered it) or
/// that came meanwhile is delivered again; the durable queue, not the session, carries the
/// bridge's own publishes. The Last Will `offline` on `<p>/status`; acknowledgements by hand.
pub fn options(config: &Config, topics: &Topics) -> Result<Options, ConfigError> {
    let endpoint = config.endpoint()?;
    let keep_alive = Duration::from_secs(config.keepalive.max(5));
    let password = config.password()?;
    let credentials = (!config.username.is_empty() || password.is_some())
        .then(|| (config.username.clone(), password.unwrap_or_default()));
    let transport = transport(config)?;
    let window = u16::try_from(crate::flight::WINDOW).unwrap_or(u16::MAX);
    Ok(match config.protocol {
        Protocol::V311 => {
            let mut options =
                rumqttc::MqttOptions::new(&config.client_id, &endpoint.host, endpoint.port);
            options
                .set_keep_alive(keep_alive)
                .set_clean_session(false)
                .set_manual_acks(true)
                .set_max_packet_size(MAX_PACKET, MAX_PACKET)
                .set_inflight(window)
                .set_last_will(rumqttc::LastWill::new(
                    topics.status(),
                    OFFLINE,
                    QoS::AtLeastOnce,
                    true,
                ));
            if let Some((username, password)) = credentials {
                options.set_credentials(username, password);
            }
            if let Some(transport) = transport {
                options.set_transport(transport);
            }
            Options::V311(Box::new(options))
        }
        Protocol::V5 => {
            use rumqttc::v5::mqttbytes::v5::LastWill;
            let mut options =
                rumqttc::v5::MqttOptions::new(&config.client_id, &endpoint.host, endpoint.port);
            options
                .set_keep_alive(keep_alive)
                .set_clean_start(false)
                .set_session_expiry_interval(Some(SESSION_EXPIRY))
                .set_manual_acks(true)
                .set_max_packet_size(u32::try_from(MAX_PACKET).ok())
                .set_outgoing_inflight_upper_limit(window)
                .set_last_will(LastWill::new(
                    topics.status(),
                    OFFLINE,
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                    true,
                    None,
                ));
            if let Some((username, password)) = credentials {
                options.set_credentials(username, password);
            }
            if let Some(transport) = transport {
                options.set_transport(transport);
            }
            Options::V5(Box::new(options))
        }
    })
}

/// The client half of a connection, of either version.
enum Client {
    V311(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

/// One connection to the broker: the client to hand requests to and the events of its loop.
pub struct Link {
    client: Client,
    events: mpsc::UnboundedReceiver<LinkEvent>,
    pump: JoinHandle<()>,
}

impl Link {
    /// Starts connecting with `options`; the events ([`LinkEvent::Connected`] first) come from
    /// [`Link::next`]. The loop ends at its first error ([`LinkEvent::Closed`]), after the
    /// packets read with it (a broker may answer a publish with a refusal and close the
    /// connection at once: that refusal still counts).
    pub fn open(options: &Options) -> Link {
        let (sender, events) = mpsc::unbounded_channel();
        let (client, pump) = match options.clone() {
            Options::V311(options) => {
                let (client, mut eventloop) = rumqttc::AsyncClient::new(*options, REQUESTS);
                let pump = tokio::spawn(async move {
                    loop {
                        let event = match eventloop.poll().await {
                            Ok(event) => v311_event(event),
                            Err(e) => {
                                let read = eventloop.state.events.drain(..).map(v311_event);
                                if !forward_all(&sender, read) {
                                    return;
                                }
                                Some(LinkEvent::Closed(e.to_string()))
                            }
                        };
                        if !forward(&sender, event) {
                            return;
                        }
                    }
                });
                (Client::V311(client), pump)
            }
            Options::V5(options) => {
                let (client, mut eventloop) = rumqttc::v5::AsyncClient::new(*options, REQUESTS);
                let pump = tokio::spawn(async move {
                    loop {
                        let event = match eventloop.poll().await {
                            Ok(event) => v5_event(event),
                            Err(e) => {
                                let read = eventloop.state.events.drain(..).map(v5_event);
                                if !forward_all(&sender, read) {
                                    return;
                                }
                                Some(LinkEvent::Closed(e.to_string()))
                            }
                        };
                        if !forward(&sender, event) {
                            return;
                        }
                    }
                });
                (Client::V5(client), pump)
            }
        };
        Link {
            client,
            events,
            pump,
        }
    }

    /// The next event of the connection; `None` once it ended.
    pub async fn next(&mut self) -> Option<LinkEvent> {
        self.events.recv().await
    }

    /// Hands `publish` to the client at QoS 1; `false` when its buffer is full or it is closed.
    pub fn publish(&self, publish: &Publish) -> bool {
        let (topic, payload) = (publish.topic.as_str(), publish.payload.clone());
        match &self.client {
            Client::V311(client) => client
                .try_publish(topic, QoS::AtLeastOnce, publish.retain, payload)
                .is_ok(),
            Client::V5(client) => client
                .try_publish(
                    topic,
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                    publish.retain,
                    payload,
                )
                .is_ok(),
        }
    }

    /// Acknowledges the incoming publish `pkid` of this connection (PUBACK): the broker will not
    /// deliver it again. `false` when the client's buffer is full or it is closed.
    pub fn ack(&self, pkid: u16) -> bool {
        match &self.client {
            Client::V311(client) => {
                let mut publish = rumqttc::Publish::new("", QoS::AtLeastOnce, Vec::new());
                publish.pkid = pkid;
                client.try_ack(&publish).is_ok()
            }
            Client::V5(client) => {
                use rumqttc::v5::mqttbytes::{QoS as QoS5, v5::Publish as Publish5};
                let mut publish = Publish5::new("", QoS5::AtLeastOnce, Vec::new(), None);
                publish.pkid = pkid;
                client.try_ack(&publish).is_ok()
            }
        }
    }

    /// Subscribes to `filter` at QoS 1; `false` when the client's buffer is full or closed.
    pub fn subscribe(&self, filter: &str) -> bool {
        match &self.client {
            Client::V311(client) => client.try_subscribe(filter, QoS::AtLeastOnce).is_ok(),
            Client::V5(client) => client
                .try_subscribe(filter, rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
                .is_ok(),
        }
    }

    /// Asks the client to send DISCONNECT (a clean end: the broker keeps the Last Will).
    pub fn disconnect(&self) {
        // A client that is closed already has nothing to end.
        let _ = match &self.client {
            Client::V311(client) => client.try_disconnect().is_ok(),
            Client::V5(client) => client.try_disconnect().is_ok(),
        };
    }
}

/// Hands `event` to the bridge; `false` when the pump should stop (the connection closed, or
/// nobody listens any more).
/// Forwards `events` in order; `false` once one could not be (or ended the connection).
fn forward_all(
    sender: &mpsc::UnboundedSender<LinkEvent>,
    mut events: impl Iterator<Item = Option<LinkEvent>>,
) -> bool {
    events.all(|event| forward(sender, event))
}

fn forward(sender: &mpsc::UnboundedSender<LinkEvent>, event: Option<LinkEvent>) -> bool {
    let Some(event) = event else {
        return true;
    };
    let closed = matches!(event, LinkEvent::Closed(_));
    sender.send(event).is_ok() && !closed
}

fn outgoing(outgoing: Outgoing) -> Option<LinkEvent> {
    match outgoing {
        Outgoing::Publish(pkid) => Some(LinkEvent::Written(pkid)),
        Outgoing::Disconnect => Some(LinkEvent::Disconnected),
        _ => None,
    }
}

fn v311_event(event: rumqttc::Event) -> Option<LinkEvent> {
    use rumqttc::{Event, Packet};
    match event {
        Event::Incoming(Packet::ConnAck(_)) => Some(LinkEvent::Connected),
        Event::Incoming(Packet::PubAck(ack)) => Some(LinkEvent::Acknowledged {
            pkid: ack.pkid,
            refused: None,
        }),
        Event::Incoming(Packet::Publish(publish)) => Some(LinkEvent::Message {
            pkid: (publish.qos != QoS::AtMostOnce).then_some(publish.pkid),
            topic: publish.topic,
            payload: publish.payload.to_vec(),
            retain: publish.retain,
        }),
        Event::Incoming(_) => None,
        Event::Outgoing(event) => outgoing(event),
    }
}

fn v5_event(event: rumqttc::v5::Event) -> Option<LinkEvent> {
    use rumqttc::v5::Event;
    use rumqttc::v5::mqttbytes::v5::Packet;
    match event {
        Event::Incoming(Packet::ConnAck(_)) => Some(LinkEvent::Connected),
        Event::Incoming(Packet::PubAck(ack)) => Some(LinkEvent::Acknowledged {
            pkid: ack.pkid,
            refused: match ack.reason {
                PubAckReason::Success | PubAckReason::NoMatchingSubscribers => None,
                other => Some(format!("{other:?}")),
            },
        }),
        Event::Incoming(Packet::Publish(publish)) => Some(LinkEvent::Message {
            pkid: (publish.qos != rumqttc::v5::mqttbytes::QoS::AtMostOnce).then_some(publish.pkid),
            topic: String::from_utf8_lossy(&publish.topic).into_owned(),
            payload: publish.payload.to_vec(),
            retain: publish.retain,
        }),
        Event::Incoming(_) => None,
        Event::Outgoing(event) => outgoing(event),
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

#[cfg(test)]
mod tests {
    use rumqttc::v5::mqttbytes::v5::{Packet as Packet5, PubAck as PubAck5};

    use super::*;

    #[test]
    fn mqtt_3_events() {
        use rumqttc::{Event, Packet, PubAck};
        let ack = v311_event(Event::Incoming(Packet::PubAck(PubAck::new(7))));
        assert!(matches!(
            ack,
            Some(LinkEvent::Acknowledged {
                pkid: 7,
                refused: None
            })
        ));
        let mut publish = rumqttc::Publish::new("p/devices/x/send", QoS::AtLeastOnce, "{}");
        publish.retain = true;
        publish.pkid = 9;
        let Some(LinkEvent::Message {
            topic,
            payload,
            retain,
            pkid,
        }) = v311_event(Event::Incoming(Packet::Publish(publish)))
        else {
            panic!("not a message");
        };
        assert_eq!(
            (topic.as_str(), payload.as_slice(), retain, pkid),
            ("p/devices/x/send", &b"{}"[..], true, Some(9))
        );
        assert!(matches!(
            v311_event(Event::Outgoing(Outgoing::Publish(3))),
            Some(LinkEvent::Written(3))
        ));
        assert!(v311_event(Event::Outgoing(Outgoing::PingReq)).is_none());
    }

    #[test]
    fn mqtt_5_refusals_end_a_publish_with_a_reason() {
        use rumqttc::v5::Event;
        let ack = |reason| {
            v5_event(Event::Incoming(Packet5::PubAck(PubAck5 {
                pkid: 4,
                reason,
                properties: None,
            })))
        };
        assert!(matches!(
            ack(PubAckReason::Success),
            Some(LinkEvent::Acknowledged {
                pkid: 4,
                refused: None
            })
        ));
        assert!(matches!(
            ack(PubAckReason::NoMatchingSubscribers),
            Some(LinkEvent::Acknowledged { refused: None, .. })
        ));
        let Some(LinkEvent::Acknowledged {
            refused: Some(reason),
            ..
        }) = ack(PubAckReason::NotAuthorized)
        else {
            panic!("a refusal");
        };
        assert!(reason.contains("NotAuthorized"), "{reason}");
    }

    /// Reads one MQTT packet: its first byte and the rest after the length.
    async fn read_packet(socket: &mut tokio::net::TcpStream) -> (u8, Vec<u8>) {
        use tokio::io::AsyncReadExt;
        let kind = socket.read_u8().await.unwrap();
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let byte = socket.read_u8().await.unwrap();
            len |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0; len];
        socket.read_exact(&mut body).await.unwrap();
        (kind, body)
    }

    /// A broker that accepts the connection, answers the first publish with PUBACK 0x87 (not
    /// authorized) and, in the same write, bytes that are no packet, then closes.
    async fn refusing_broker() -> u16 {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            assert_eq!(read_packet(&mut socket).await.0, 0x10, "CONNECT");
            socket.write_all(&[0x20, 3, 0, 0, 0]).await.unwrap();
            let (kind, body) = loop {
                let (kind, body) = read_packet(&mut socket).await;
                if kind & 0xf0 == 0x30 {
                    break (kind, body);
                }
            };
            assert_eq!(kind & 0x06, 0x02, "QoS 1");
            let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
            let pkid = &body[2 + topic_len..4 + topic_len];
            let answer = [0x40, 3, pkid[0], pkid[1], 0x87, 0, 0];
            socket.write_all(&answer).await.unwrap();
        });
        port
    }

    #[tokio::test]
    async fn a_refusal_read_with_the_end_of_the_connection_still_counts() {
        let port = refusing_broker().await;
        let options = rumqttc::v5::MqttOptions::new("refused", "127.0.0.1", port);
        let mut link = Link::open(&Options::V5(Box::new(options)));
        assert!(matches!(link.next().await, Some(LinkEvent::Connected)));
        let publish = Publish {
            topic: "p/routes/home/out".into(),
            payload: b"{}".to_vec(),
            retain: false,
        };
        assert!(link.publish(&publish));
        let mut events = Vec::new();
        while let Some(event) = link.next().await {
            events.push(format!("{event:?}"));
        }
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(events[0].starts_with("Written("), "{events:?}");
        assert!(events[1].contains("NotAuthorized"), "{events:?}");
        assert!(events[2].starts_with("Closed("), "{events:?}");
    }
}
