//! The bridge's durable state in `state_dir/bridge.sqlite3`: the queue of publishes the broker
//! has not acknowledged yet (oldest first, bounded), the id of the last incoming message
//! forwarded per device, and how many publishes the bound dropped.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::publish::Publish;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory cannot be created.
    #[error("cannot create {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS outbox (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        topic   TEXT    NOT NULL,
        payload BLOB    NOT NULL,
        retain  INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS cursors (
        device_id  TEXT PRIMARY KEY,
        message_id TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;";

/// A queued publish and its place in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Position in the queue; grows with every publish queued, never reused.
    pub seq: i64,
    /// The publish.
    pub publish: Publish,
}

/// The durable state.
pub struct Store {
    connection: Connection,
    limit: i64,
}

impl Store {
    /// Opens (or creates) the store in `dir`, keeping at most `limit` queued publishes.
    pub fn open(dir: &Path, limit: u64) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        let connection = Connection::open(dir.join("bridge.sqlite3"))?;
        // WAL with synchronous=NORMAL: a power cut may take back the last transactions, never
        // half of one. Nothing is lost by that: a message's publish and its device's cursor go
        // back together and the catch-up from Messaging.List queues it again; states and
        // discovery are published anew at every start; a PUBACK taken back means a duplicate.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(SCHEMA)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(Store { connection, limit })
    }

    /// Queues `publishes` in order and, when `forwarded` is `(device, message)`, moves that
    /// device's cursor in the same transaction; then drops the oldest publishes past the limit.
    /// Returns how many it dropped.
    pub fn enqueue(
        &mut self,
        publishes: &[Publish],
        forwarded: Option<(&str, &str)>,
    ) -> Result<u64, StoreError> {
        let transaction = self.connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO outbox (topic, payload, retain) VALUES (?1, ?2, ?3)",
            )?;
            for publish in publishes {
                insert.execute(params![publish.topic, publish.payload, publish.retain])?;
            }
        }
        if let Some((device, message)) = forwarded {
            transaction.execute(
                "INSERT INTO cursors (device_id, message_id) VALUES (?1, ?2)
                 ON CONFLICT (device_id) DO UPDATE SET message_id = excluded.message_id",
                params![device, message],
            )?;
        }
        let queued: i64 =
            transaction.query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))?;
        let dropped = queued.saturating_sub(self.limit).max(0);
        if dropped > 0 {
            transaction.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?1)",
                params![dropped],
            )?;
            transaction.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                params![dropped],
            )?;
        }
        transaction.commit()?;
        Ok(u64::try_from(dropped).unwrap_or_default())
    }

    /// Up to `limit` queued publishes after `seq`, oldest first.
    pub fn after(&self, seq: i64, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let mut select = self.connection.prepare_cached(
            "SELECT seq, topic, payload, retain FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = select
            .query_map(
                params![seq, i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| {
                    Ok(Queued {
                        seq: row.get(0)?,
                        publish: Publish {
                            topic: row.get(1)?,
                            payload: row.get(2)?,
                            retain: row.get(3)?,
                        },
                    })
                },
            )?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The broker acknowledged the publish `seq`.
    pub fn acknowledged(&mut self, seq: i64) -> Result<(), StoreError> {
        self.connection
            .prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
            .execute(params![seq])?;
        Ok(())
    }

    /// How many publishes wait.
    pub fn queued(&self) -> Result<u64, StoreError> {
        let queued: i64 = self
            .connection
            .query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))?;
        Ok(u64::try_from(queued).unwrap_or_default())
    }

    /// How many publishes the limit dropped, ever.
    pub fn dropped(&self) -> Result<u64, StoreError> {
        let dropped: Option<i64> = self
            .connection
            .query_row(
                "SELECT value FROM counters WHERE name = 'dropped'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        Ok(dropped.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }

    /// The id of the last incoming message of `device` that was queued.
    pub fn cursor(&self, device: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT message_id FROM cursors WHERE device_id = ?1",
                params![device],
                |row| row.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(n: u32) -> Publish {
        Publish {
            topic: format!("t/{n}"),
            payload: n.to_string().into_bytes(),
            retain: n.is_multiple_of(2),
        }
    }

    fn topics(queued: &[Queued]) -> Vec<&str> {
        queued.iter().map(|q| q.publish.topic.as_str()).collect()
    }

    #[test]
    fn queue_survives_reopening_in_order_until_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Store::open(dir.path(), 100).unwrap();
            store.enqueue(&[publish(1), publish(2)], None).unwrap();
            store.enqueue(&[publish(3)], None).unwrap();
        }
        let mut store = Store::open(dir.path(), 100).unwrap();
        let all = store.after(0, 10).unwrap();
        assert_eq!(topics(&all), ["t/1", "t/2", "t/3"]);
        assert_eq!(all[1].publish, publish(2));
        assert_eq!(topics(&store.after(all[0].seq, 1).unwrap()), ["t/2"]);
        store.acknowledged(all[1].seq).unwrap();
        assert_eq!(topics(&store.after(0, 10).unwrap()), ["t/1", "t/3"]);
        assert_eq!(store.queued().unwrap(), 2);
        // Sequence numbers are never reused.
        store.acknowledged(all[2].seq).unwrap();
        store.enqueue(&[publish(4)], None).unwrap();
        assert!(store.after(0, 10).unwrap()[1].seq > all[2].seq);
    }

    #[test]
    fn the_limit_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), 3).unwrap();
        assert_eq!(store.enqueue(&[publish(1), publish(2)], None).unwrap(), 0);
        assert_eq!(
            store
                .enqueue(&[publish(3), publish(4), publish(5)], None)
                .unwrap(),
            2
        );
        assert_eq!(topics(&store.after(0, 10).unwrap()), ["t/3", "t/4", "t/5"]);
        store.enqueue(&[publish(6)], None).unwrap();
        assert_eq!(store.dropped().unwrap(), 3);
        drop(store);
        assert_eq!(Store::open(dir.path(), 3).unwrap().dropped().unwrap(), 3);
    }

    #[test]
    fn cursors_move_with_their_publish() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), 10).unwrap();
        assert_eq!(store.cursor("imei:1").unwrap(), None);
        store.enqueue(&[publish(1)], Some(("imei:1", "7"))).unwrap();
        store.enqueue(&[publish(2)], Some(("imei:1", "8"))).unwrap();
        store.enqueue(&[publish(3)], Some(("imei:2", "1"))).unwrap();
        drop(store);
        let store = Store::open(dir.path(), 10).unwrap();
        assert_eq!(store.cursor("imei:1").unwrap().as_deref(), Some("8"));
        assert_eq!(store.cursor("imei:2").unwrap().as_deref(), Some("1"));
    }
}
