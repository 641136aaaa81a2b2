//! The publishes handed to the MQTT client on the current connection and not acknowledged yet.
//!
//! Every connection starts the bridge's publishes anew (the broker keeps the session for what it
//! sends the bridge, not for what the bridge sends it): after a reconnect, everything still in
//! the durable queue is handed again, oldest first, so the broker sees the queue in order (at
//! least once). The client reports a publish's packet id when it writes it (in the order handed) and the
//! broker's PUBACK names that packet id.

use std::collections::{HashMap, VecDeque};

/// How many publishes are handed to the client at a time.
pub const WINDOW: usize = 64;

/// Publishes in flight on one connection.
#[derive(Debug, Default)]
pub struct Flight {
    /// Handed, packet id not known yet: the queue `seq`, or `None` for one not from the queue.
    written: VecDeque<Option<i64>>,
    /// Written, waiting for the PUBACK: packet id -> queue `seq`.
    unacknowledged: HashMap<u16, i64>,
    /// The newest queue `seq` handed on this connection (0: none).
    last_handed: i64,
}

impl Flight {
    /// Nothing in flight (a new connection).
    pub fn new() -> Flight {
        Flight::default()
    }

    /// The queue's publishes after this `seq` are still to be handed.
    pub fn last_handed(&self) -> i64 {
        self.last_handed
    }

    /// How many more publishes of the queue may be handed now.
    pub fn room(&self) -> usize {
        WINDOW.saturating_sub(self.written.len() + self.unacknowledged.len())
    }

    /// The queue's publish `seq` was handed to the client.
    pub fn handed(&mut self, seq: i64) {
        self.written.push_back(Some(seq));
        self.last_handed = self.last_handed.max(seq);
    }

    /// A publish not from the queue (status, stats) was handed to the client.
    pub fn handed_unqueued(&mut self) {
        self.written.push_back(None);
    }

    /// The client wrote the oldest handed publish as packet `pkid`.
    pub fn written(&mut self, pkid: u16) {
        if let Some(Some(seq)) = self.written.pop_front() {
            self.unacknowledged.insert(pkid, seq);
        }
    }

    /// The broker acknowledged packet `pkid`: the queue `seq` to forget, if it was one.
    pub fn acknowledged(&mut self, pkid: u16) -> Option<i64> {
        self.unacknowledged.remove(&pkid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_ids_map_back_to_queue_entries() {
        let mut flight = Flight::new();
        flight.handed_unqueued();
        flight.handed(5);
        flight.handed(6);
        assert_eq!(flight.last_handed(), 6);
        assert_eq!(flight.room(), WINDOW - 3);
        flight.written(1);
        flight.written(2);
        flight.written(3);
        assert_eq!(flight.acknowledged(1), None);
        assert_eq!(flight.acknowledged(3), Some(6));
        assert_eq!(flight.acknowledged(2), Some(5));
        assert_eq!(flight.acknowledged(2), None);
        assert_eq!(flight.room(), WINDOW);
    }

    #[test]
    fn the_window_bounds_what_is_handed() {
        let mut flight = Flight::new();
        for seq in 1..=WINDOW as i64 {
            flight.handed(seq);
        }
        assert_eq!(flight.room(), 0);
        flight.written(1);
        assert_eq!(flight.room(), 0);
        flight.acknowledged(1);
        assert_eq!(flight.room(), 1);
    }
}
