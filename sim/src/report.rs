//! The JSON lines the simulator prints on stdout.

use std::io::Write;

use serde_json::{Value, json};

/// Prints one JSON line on stdout and flushes it, so a reading test sees it at once.
pub fn print_line(value: &Value) {
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{value}").and_then(|()| stdout.flush());
    if let Err(error) = written {
        eprintln!("m2msim: cannot write to stdout: {error}");
    }
}

/// `{"event":"error","message":...}`.
pub fn error(message: impl std::fmt::Display) -> Value {
    json!({ "event": "error", "message": message.to_string() })
}

/// `{"event":"ok"}`.
pub fn ok() -> Value {
    json!({ "event": "ok" })
}

/// Adds `"index": index` to a JSON object (other values stay as they are).
pub fn with_index(mut value: Value, index: usize) -> Value {
    if let Value::Object(fields) = &mut value {
        fields.insert("index".to_owned(), json!(index));
    }
    value
}
