//! Which incoming messages are new: the per-device cursor is the id of the last one forwarded.
//!
//! The daemon's message ids are decimal and grow with every stored message, and `List` gives
//! messages oldest first; an id that is not a number falls back to the list's order.

use crate::payload::Incoming;

/// Whether the message `id` came after the one the cursor names (`None`: nothing forwarded yet).
pub fn is_after(cursor: Option<&str>, id: &str) -> bool {
    match cursor {
        None => true,
        Some(cursor) => match (cursor.parse::<u64>(), id.parse::<u64>()) {
            (Ok(cursor), Ok(id)) => id > cursor,
            _ => id != cursor,
        },
    }
}

/// What of `listed` (a device's incoming messages, in `List` order) came after the cursor: the
/// messages listed after the cursor's own, or, when it is no longer listed, those
/// [`is_after`] it.
pub fn catch_up(listed: Vec<Incoming>, cursor: Option<&str>) -> Vec<Incoming> {
    match cursor.and_then(|cursor| listed.iter().position(|message| message.id == cursor)) {
        Some(at) => listed.into_iter().skip(at + 1).collect(),
        None => listed
            .into_iter()
            .filter(|message| is_after(cursor, &message.id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn message(id: &str) -> Incoming {
        Incoming {
            id: id.to_owned(),
            peer: String::new(),
            payload: Vec::new(),
            text: None,
            timestamp: 0,
            info: Map::new(),
        }
    }

    fn ids(messages: &[Incoming]) -> Vec<&str> {
        messages.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn numeric_ids_compare_as_numbers() {
        assert!(is_after(None, "1"));
        assert!(is_after(Some("9"), "10"));
        assert!(!is_after(Some("10"), "9"));
        assert!(!is_after(Some("10"), "10"));
        assert!(is_after(Some("a"), "b"));
        assert!(!is_after(Some("a"), "a"));
    }

    #[test]
    fn catch_up_forwards_what_came_after_the_cursor() {
        let listed = || vec![message("3"), message("9"), message("10"), message("12")];
        assert_eq!(ids(&catch_up(listed(), None)), ["3", "9", "10", "12"]);
        assert_eq!(ids(&catch_up(listed(), Some("9"))), ["10", "12"]);
        assert_eq!(ids(&catch_up(listed(), Some("12"))), Vec::<&str>::new());
        // The cursor's message was deleted since: the ids still say what is newer.
        assert_eq!(ids(&catch_up(listed(), Some("11"))), ["12"]);
        let named = vec![message("x"), message("y"), message("z")];
        assert_eq!(ids(&catch_up(named, Some("y"))), ["z"]);
    }
}
