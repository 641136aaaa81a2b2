//! The JSON payloads of incoming messages and of send commands and their results.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value as Json, json};
use zbus::OwnedVariant;

use crate::json::to_json;

/// An incoming message, from `Messaging.Received` or `Messaging.List`.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The message id in the daemon's store.
    pub id: String,
    /// The sender (phone number, or "" for a satellite gateway).
    pub peer: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// The payload as text, when the daemon decoded it.
    pub text: Option<String>,
    /// Unix seconds.
    pub timestamp: u64,
    /// The `info` of `Received` as JSON (empty for a message from `List`).
    pub info: Map<String, Json>,
}

impl Incoming {
    /// From the arguments of `Messaging.Received`.
    pub fn received(
        id: String,
        peer: String,
        payload: Vec<u8>,
        info: &HashMap<String, OwnedVariant>,
    ) -> Incoming {
        let info: Map<String, Json> = info
            .iter()
            .map(|(key, value)| (key.clone(), to_json(value)))
            .collect();
        Incoming {
            id,
            peer,
            payload,
            text: info.get("text").and_then(Json::as_str).map(str::to_owned),
            timestamp: info.get("timestamp").and_then(Json::as_u64).unwrap_or(0),
            info,
        }
    }

    /// From one entry of `Messaging.List`; `None` for an outgoing message or one without an id.
    pub fn listed(entry: &HashMap<String, OwnedVariant>) -> Option<Incoming> {
        let get = |key: &str| entry.get(key).map(|value| to_json(value));
        if get("direction")? != "in" {
            return None;
        }
        let payload = match get("payload") {
            Some(Json::Array(bytes)) => bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect(),
            _ => Vec::new(),
        };
        Some(Incoming {
            id: get("id")?.as_str()?.to_owned(),
            peer: get("peer")
                .and_then(|p| p.as_str().map(str::to_owned))
                .unwrap_or_default(),
            payload,
            text: get("text").and_then(|t| t.as_str().map(str::to_owned)),
            timestamp: get("timestamp").and_then(|t| t.as_u64()).unwrap_or(0),
            info: Map::new(),
        })
    }

    /// The `messages/in` payload: `id`, `peer`, `text` or `payload_b64`, `timestamp`, `info`.
    pub fn to_json(&self) -> Json {
        let mut body = json!({
            "id": self.id,
            "peer": self.peer,
            "timestamp": self.timestamp,
            "info": self.info,
        });
        match &self.text {
            Some(text) => body["text"] = json!(text),
            None => body["payload_b64"] = json!(BASE64.encode(&self.payload)),
        }
        body
    }
}

/// What a send command asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Echoed in every result (any JSON value; `null` when absent).
    pub request_id: Json,
    /// Phone number, or "" for a satellite gateway.
    pub destination: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// `text` (UTF-8) or `binary`: the `encoding` option of `Messaging.Send`.
    pub encoding: &'static str,
}

/// A command that cannot be carried out as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The command's `request_id`, `null` when it could not be read.
    pub request_id: Json,
    /// What was wrong.
    pub error: String,
}

/// Parses a send command: `{"request_id", "destination", "text" or "payload_b64"}`.
pub fn parse_command(bytes: &[u8]) -> Result<Command, Rejected> {
    let reject = |request_id: &Json, error: String| Rejected {
        request_id: request_id.clone(),
        error,
    };
    let body: Json = serde_json::from_slice(bytes)
        .map_err(|e| reject(&Json::Null, format!("malformed: not JSON: {e}")))?;
    let Json::Object(fields) = body else {
        return Err(reject(
            &Json::Null,
            "malformed: not a JSON object".to_owned(),
        ));
    };
    let request_id = fields.get("request_id").cloned().unwrap_or(Json::Null);
    let destination = match fields.get("destination") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(destination)) => destination.clone(),
        Some(_) => {
            return Err(reject(
                &request_id,
                "malformed: destination is not a string".to_owned(),
            ));
        }
    };
    let (payload, encoding) = match (fields.get("text"), fields.get("payload_b64")) {
        (Some(Json::String(text)), None) => (text.clone().into_bytes(), "text"),
        (None, Some(Json::String(data))) => {
            let payload = BASE64
                .decode(data)
                .map_err(|e| reject(&request_id, format!("malformed: payload_b64: {e}")))?;
            (payload, "binary")
        }
        _ => {
            return Err(reject(
                &request_id,
                "malformed: give either text or payload_b64, as a string".to_owned(),
            ));
        }
    };
    Ok(Command {
        request_id,
        destination,
        payload,
        encoding,
    })
}

/// Refuses a command the broker retained: it would be carried out again at every reconnect.
pub fn refuse_retained(command: Command, retained: bool) -> Result<Command, Rejected> {
    if retained {
        return Err(Rejected {
            request_id: command.request_id,
            error: "refused: a retained command would be sent again at every reconnect; \
                    publish commands without the retain flag"
                .to_owned(),
        });
    }
    Ok(command)
}

/// A `send/result` payload: `request_id`, `id` (null until the daemon gave one), `state`,
/// `error` ("" when none), and for a routed message once it has one, the `uplink`.
pub fn send_result(
    request_id: &Json,
    id: Option<&str>,
    state: &str,
    error: &str,
    uplink: &str,
) -> Json {
    let mut result = json!({"request_id": request_id, "id": id, "state": state, "error": error});
    if !uplink.is_empty() {
        result["uplink"] = json!(uplink);
    }
    result
}

#[cfg(test)]
mod tests {
    use zbus::Variant;

    use super::*;

    fn owned(value: Variant<'_>) -> OwnedVariant {
        OwnedVariant::try_from(value).unwrap()
    }

    #[test]
    fn received_text_and_binary() {
        let info = HashMap::from([
            ("text".to_owned(), owned(Variant::from("hello"))),
            (
                "timestamp".to_owned(),
                owned(Variant::from(1_700_000_000u64)),
            ),
        ]);
        let text = Incoming::received("7".into(), "+491".into(), b"hello".to_vec(), &info);
        assert_eq!(
            text.to_json(),
            json!({"id": "7", "peer": "+491", "text": "hello", "timestamp": 1_700_000_000u64,
                   "info": {"text": "hello", "timestamp": 1_700_000_000u64}})
        );
        let binary = Incoming::received("8".into(), "".into(), vec![0, 255], &HashMap::new());
        let body = binary.to_json();
        assert_eq!(body["payload_b64"], "AP8=");
        assert!(body.get("text").is_none());
        assert_eq!(body["timestamp"], 0);
    }

    #[test]
    fn listed_incoming_only() {
        let entry = |direction: &str| {
            HashMap::from([
                ("id".to_owned(), owned(Variant::from("3"))),
                ("direction".to_owned(), owned(Variant::from(direction))),
                ("peer".to_owned(), owned(Variant::from("+44"))),
                ("payload".to_owned(), owned(Variant::from(b"hi".to_vec()))),
                ("text".to_owned(), owned(Variant::from("hi"))),
                ("timestamp".to_owned(), owned(Variant::from(5u64))),
            ])
        };
        let message = Incoming::listed(&entry("in")).unwrap();
        assert_eq!(message.id, "3");
        assert_eq!(message.payload, b"hi");
        assert_eq!(message.text.as_deref(), Some("hi"));
        assert_eq!(message.timestamp, 5);
        assert_eq!(Incoming::listed(&entry("out")), None);
    }

    #[test]
    fn commands() {
        let text = parse_command(br#"{"request_id":"r1","destination":"+49","text":"hi"}"#);
        assert_eq!(
            text,
            Ok(Command {
                request_id: json!("r1"),
                destination: "+49".into(),
                payload: b"hi".to_vec(),
                encoding: "text",
            })
        );
        let binary = parse_command(br#"{"request_id":2,"payload_b64":"AP8="}"#).unwrap();
        assert_eq!(binary.request_id, json!(2));
        assert_eq!(binary.destination, "");
        assert_eq!(binary.payload, [0, 255]);
        assert_eq!(binary.encoding, "binary");
    }

    #[test]
    fn malformed_commands_keep_the_request_id_they_have() {
        let not_json = parse_command(b"{not json").unwrap_err();
        assert_eq!(not_json.request_id, Json::Null);
        assert!(
            not_json.error.starts_with("malformed"),
            "{}",
            not_json.error
        );
        assert_eq!(parse_command(b"[1]").unwrap_err().request_id, Json::Null);
        for body in [
            r#"{"request_id":"r","text":"a","payload_b64":"AA=="}"#,
            r#"{"request_id":"r"}"#,
            r#"{"request_id":"r","text":5}"#,
            r#"{"request_id":"r","payload_b64":"***"}"#,
            r#"{"request_id":"r","destination":1,"text":"a"}"#,
        ] {
            let rejected = parse_command(body.as_bytes()).unwrap_err();
            assert_eq!(rejected.request_id, json!("r"), "{body}");
            assert!(rejected.error.starts_with("malformed"), "{body}");
        }
    }

    #[test]
    fn retained_commands_are_refused() {
        let command = parse_command(br#"{"request_id":"r","text":"a"}"#).unwrap();
        assert_eq!(refuse_retained(command.clone(), false), Ok(command.clone()));
        let refused = refuse_retained(command, true).unwrap_err();
        assert_eq!(refused.request_id, json!("r"));
        assert!(refused.error.contains("retained"), "{}", refused.error);
    }

    #[test]
    fn results() {
        assert_eq!(
            send_result(&json!("r"), Some("4"), "sent", "", ""),
            json!({"request_id": "r", "id": "4", "state": "sent", "error": ""})
        );
        assert_eq!(
            send_result(&Json::Null, None, "failed", "malformed", "")["id"],
            Json::Null
        );
        assert_eq!(
            send_result(&json!(1), Some("2"), "sent", "", "mqtt:fleet")["uplink"],
            "mqtt:fleet"
        );
    }
}
