//! One MQTT publish as the bridge queues it (always QoS 1).

use serde_json::Value as Json;

/// A publish: topic, payload bytes and the retained flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// The topic.
    pub topic: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// Retained by the broker for later subscribers.
    pub retain: bool,
}

impl Publish {
    /// A JSON payload.
    pub fn json(topic: String, payload: &Json, retain: bool) -> Publish {
        Publish {
            topic,
            payload: payload.to_string().into_bytes(),
            retain,
        }
    }

    /// An empty retained payload: the broker forgets what it retained on `topic`.
    pub fn clear(topic: String) -> Publish {
        Publish {
            topic,
            payload: Vec::new(),
            retain: true,
        }
    }

    /// The payload as JSON, for tests and logs; `Null` when it is not JSON.
    pub fn payload_json(&self) -> Json {
        serde_json::from_slice(&self.payload).unwrap_or(Json::Null)
    }
}
