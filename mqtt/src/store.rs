//! The bridge's durable state in `state_dir/bridge.sqlite3`: the queue of publishes the broker
//! has not acknowledged yet (oldest first, bounded), the id of the last incoming message
//! forwarded per device, how many publishes the bound dropped, and the messages the daemon's
//! Router handed to the bridge as its uplink (by the Router's id: whether their publish may have
//! reached the broker, and whether the broker acknowledged it).

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
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS uplink (
        id     TEXT    PRIMARY KEY,
        seq    INTEGER NOT NULL,
        handed INTEGER NOT NULL DEFAULT 0,
        state  TEXT    NOT NULL DEFAULT 'queued',
        error  TEXT    NOT NULL DEFAULT '',
        at     INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS uplink_seq ON uplink (seq);
    CREATE TABLE IF NOT EXISTS commands (
        key        TEXT    PRIMARY KEY,
        target     TEXT    NOT NULL,
        request_id TEXT    NOT NULL,
        id         TEXT,
        first      BLOB,
        last       BLOB,
        final      INTEGER NOT NULL DEFAULT 0,
        at         INTEGER NOT NULL
    ) WITHOUT ROWID;";

/// How long a finished command, or a routed message the broker acknowledged or refused, is
/// remembered (seconds): a repeat of it is answered from the store within that time.
const FINISHED_KEPT: i64 = 7 * 24 * 3600;

/// A send command the bridge carried out, or began to, kept by its key (its `request_id` on its
/// topic) so that the broker delivering it again does not send it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCommand {
    /// The key.
    pub key: String,
    /// What it sends through: `device:<node>` or `route:<name>`.
    pub target: String,
    /// Its `request_id`, as JSON.
    pub request_id: String,
    /// The daemon's message id, once the daemon took it.
    pub id: Option<String>,
    /// The first result's payload; `None` while m2mhald has not answered (or never did, when
    /// the bridge stopped during the call).
    pub first: Option<Vec<u8>>,
    /// The latest result's payload.
    pub last: Option<Vec<u8>>,
    /// Whether the latest result is final (`sent` or `failed`).
    pub done: bool,
    /// Unix seconds of its latest change (when it was handed to m2mhald, while it has no
    /// result).
    pub at: u64,
}

/// Where a message the Router handed to the bridge stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UplinkState {
    /// Its publish waits for the broker's PUBACK.
    Queued,
    /// The broker acknowledged it.
    Sent,
    /// The broker refused it (why).
    Failed(String),
}

impl UplinkState {
    fn from_row(state: &str, error: String) -> UplinkState {
        match state {
            "sent" => UplinkState::Sent,
            "failed" => UplinkState::Failed(error),
            _ => UplinkState::Queued,
        }
    }
}

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
        let forgotten = unix_now() - FINISHED_KEPT;
        connection.execute(
            "DELETE FROM commands WHERE final = 1 AND at < ?1",
            params![forgotten],
        )?;
        connection.execute(
            "DELETE FROM uplink WHERE state != 'queued' AND at < ?1",
            params![forgotten],
        )?;
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
        let over = queued.saturating_sub(self.limit).max(0);
        let mut dropped = 0;
        if over > 0 {
            // The Router's messages are never dropped: the daemon counts on them.
            dropped = transaction.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox
                     WHERE seq NOT IN (SELECT seq FROM uplink) ORDER BY seq LIMIT ?1)",
                params![over],
            )?;
            transaction.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                params![i64::try_from(dropped).unwrap_or(i64::MAX)],
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

    /// The broker acknowledged the publish `seq` (`refused`: it took it but refused it). The
    /// Router's message it carried and that message's new state, if it carried one.
    pub fn acknowledged(
        &mut self,
        seq: i64,
        refused: Option<&str>,
    ) -> Result<Option<(String, UplinkState)>, StoreError> {
        let transaction = self.connection.transaction()?;
        transaction
            .prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
            .execute(params![seq])?;
        let state = match refused {
            None => UplinkState::Sent,
            Some(reason) => UplinkState::Failed(format!("the broker refused it: {reason}")),
        };
        let (name, error) = match &state {
            UplinkState::Failed(error) => ("failed", error.as_str()),
            _ => ("sent", ""),
        };
        let id: Option<String> = transaction
            .query_row(
                "UPDATE uplink SET state = ?2, error = ?3, at = ?4
                 WHERE seq = ?1 AND state = 'queued' RETURNING id",
                params![seq, name, error, unix_now()],
                |row| row.get(0),
            )
            .optional()?;
        transaction.commit()?;
        Ok(id.map(|id| (id, state)))
    }

    /// Takes the Router's message `id` with its `publish`, unless it has it already: its state
    /// (a message it has already is not queued again).
    pub fn take_uplink(&mut self, id: &str, publish: &Publish) -> Result<UplinkState, StoreError> {
        let transaction = self.connection.transaction()?;
        let known: Option<(String, String)> = transaction
            .query_row(
                "SELECT state, error FROM uplink WHERE id = ?1",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((state, error)) = known {
            return Ok(UplinkState::from_row(&state, error));
        }
        transaction.execute(
            "INSERT INTO outbox (topic, payload, retain) VALUES (?1, ?2, ?3)",
            params![publish.topic, publish.payload, publish.retain],
        )?;
        transaction.execute(
            "INSERT INTO uplink (id, seq, at) VALUES (?1, ?2, ?3)",
            params![id, transaction.last_insert_rowid(), unix_now()],
        )?;
        transaction.commit()?;
        Ok(UplinkState::Queued)
    }

    /// The queue's publishes `first..=last` are about to be handed to the client: the Router's
    /// messages among them may reach the broker from now on (they cannot be withdrawn). How many
    /// of the Router's messages are handed for the first time.
    pub fn handing(&mut self, first: i64, last: i64) -> Result<usize, StoreError> {
        let handed = self
            .connection
            .prepare_cached(
                "UPDATE uplink SET handed = 1 WHERE seq BETWEEN ?1 AND ?2 AND handed = 0",
            )?
            .execute(params![first, last])?;
        Ok(handed)
    }

    /// Takes the Router's message `id` back if its publish never was handed to the client:
    /// `true` when it is certainly not published (also when it is unknown), `false` when it may
    /// have reached the broker or did.
    pub fn withdraw_uplink(&mut self, id: &str) -> Result<bool, StoreError> {
        let transaction = self.connection.transaction()?;
        let known: Option<(i64, bool, String)> = transaction
            .query_row(
                "SELECT seq, handed, state FROM uplink WHERE id = ?1",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let withdrawn = match known {
            None => true,
            Some((seq, false, state)) if state == "queued" => {
                transaction.execute("DELETE FROM outbox WHERE seq = ?1", params![seq])?;
                transaction.execute("DELETE FROM uplink WHERE id = ?1", params![id])?;
                true
            }
            Some(_) => false,
        };
        transaction.commit()?;
        Ok(withdrawn)
    }

    /// The command kept as `key`, if any.
    pub fn command(&self, key: &str) -> Result<Option<KeptCommand>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT key, target, request_id, id, first, last, final, at FROM commands
                 WHERE key = ?1",
                params![key],
                kept_command,
            )
            .optional()?)
    }

    /// A command is about to be handed to m2mhald.
    pub fn command_calling(
        &mut self,
        key: &str,
        target: &str,
        request_id: &str,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT OR REPLACE INTO commands (key, target, request_id, at) VALUES (?1, ?2, ?3, ?4)",
            params![key, target, request_id, unix_now()],
        )?;
        Ok(())
    }

    /// Results of command `key` (the first of them is its first result when it has none yet;
    /// with the message id once the daemon gave one; `done` when the last is final), queued in
    /// order. Returns how many older publishes the limit dropped.
    pub fn command_results(
        &mut self,
        key: &str,
        id: Option<&str>,
        results: &[Publish],
        done: bool,
    ) -> Result<u64, StoreError> {
        let (Some(first), Some(last)) = (results.first(), results.last()) else {
            return Ok(0);
        };
        self.connection.execute(
            "UPDATE commands SET id = COALESCE(?2, id), first = COALESCE(first, ?3), last = ?4,
                 final = ?5, at = ?6
             WHERE key = ?1",
            params![key, id, first.payload, last.payload, done, unix_now()],
        )?;
        self.enqueue(results, None)
    }

    /// The commands the daemon took whose message is not final yet, oldest first.
    pub fn open_commands(&self) -> Result<Vec<KeptCommand>, StoreError> {
        let mut select = self.connection.prepare_cached(
            "SELECT key, target, request_id, id, first, last, final, at FROM commands
             WHERE final = 0 AND id IS NOT NULL ORDER BY at",
        )?;
        let rows = select
            .query_map([], kept_command)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
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

fn kept_command(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeptCommand> {
    Ok(KeptCommand {
        key: row.get(0)?,
        target: row.get(1)?,
        request_id: row.get(2)?,
        id: row.get(3)?,
        first: row.get(4)?,
        last: row.get(5)?,
        done: row.get(6)?,
        at: u64::try_from(row.get::<_, i64>(7)?).unwrap_or(0),
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
        store.acknowledged(all[1].seq, None).unwrap();
        assert_eq!(topics(&store.after(0, 10).unwrap()), ["t/1", "t/3"]);
        assert_eq!(store.queued().unwrap(), 2);
        // Sequence numbers are never reused.
        store.acknowledged(all[2].seq, None).unwrap();
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
    fn router_messages_are_taken_once_and_withdrawn_only_before_they_are_handed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), 1).unwrap();
        assert_eq!(
            store.take_uplink("r1", &publish(1)).unwrap(),
            UplinkState::Queued
        );
        assert_eq!(
            store.take_uplink("r1", &publish(1)).unwrap(),
            UplinkState::Queued
        );
        assert_eq!(
            store.take_uplink("r2", &publish(2)).unwrap(),
            UplinkState::Queued
        );
        // The limit drops other publishes, never the Router's.
        store.enqueue(&[publish(3)], None).unwrap();
        assert_eq!(topics(&store.after(0, 10).unwrap()), ["t/1", "t/2"]);
        let queued = store.after(0, 10).unwrap();
        assert!(store.withdraw_uplink("r2").unwrap());
        assert!(store.withdraw_uplink("unknown").unwrap());
        store.handing(queued[0].seq, queued[0].seq).unwrap();
        drop(store);
        let mut store = Store::open(dir.path(), 1).unwrap();
        assert!(!store.withdraw_uplink("r1").unwrap(), "handed: may be out");
        assert_eq!(
            store.acknowledged(queued[0].seq, None).unwrap(),
            Some(("r1".to_owned(), UplinkState::Sent))
        );
        assert_eq!(store.acknowledged(queued[0].seq, None).unwrap(), None);
        assert_eq!(
            store.take_uplink("r1", &publish(1)).unwrap(),
            UplinkState::Sent
        );
        assert!(store.after(0, 10).unwrap().is_empty());
    }

    #[test]
    fn finished_routed_messages_and_commands_are_forgotten_after_a_week() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), 10).unwrap();
        store.take_uplink("done", &publish(1)).unwrap();
        store.take_uplink("waiting", &publish(2)).unwrap();
        let seq = store.after(0, 1).unwrap()[0].seq;
        store.acknowledged(seq, None).unwrap();
        store.command_calling("k", "route:home", "1").unwrap();
        store
            .command_results("k", Some("3"), &[publish(3)], true)
            .unwrap();
        let week_ago = unix_now() - FINISHED_KEPT - 1;
        for table in ["uplink", "commands"] {
            let sql = format!("UPDATE {table} SET at = ?1");
            store.connection.execute(&sql, params![week_ago]).unwrap();
        }
        drop(store);
        let mut store = Store::open(dir.path(), 10).unwrap();
        assert_eq!(store.command("k").unwrap(), None);
        // The one still waiting for its PUBACK is kept: withdrawing it takes its publish.
        assert_eq!(topics(&store.after(0, 10).unwrap()), ["t/2", "t/3"]);
        assert!(store.withdraw_uplink("waiting").unwrap());
        assert_eq!(topics(&store.after(0, 10).unwrap()), ["t/3"]);
        // The acknowledged one is forgotten: taken as new.
        assert_eq!(
            store.take_uplink("done", &publish(1)).unwrap(),
            UplinkState::Queued
        );
    }

    #[test]
    fn commands_are_kept_with_their_first_and_latest_result() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), 10).unwrap();
        assert_eq!(store.command("k").unwrap(), None);
        store
            .command_calling("k", "device:imei_1", "\"r1\"")
            .unwrap();
        let calling = store.command("k").unwrap().unwrap();
        assert_eq!((calling.first, calling.id), (None, None));
        store
            .command_results("k", Some("5"), &[publish(1)], false)
            .unwrap();
        assert_eq!(store.open_commands().unwrap().len(), 1);
        store
            .command_results("k", None, &[publish(2)], true)
            .unwrap();
        drop(store);
        let store = Store::open(dir.path(), 10).unwrap();
        let kept = store.command("k").unwrap().unwrap();
        assert_eq!(kept.id.as_deref(), Some("5"));
        assert_eq!(kept.first, Some(publish(1).payload));
        assert_eq!(kept.last, Some(publish(2).payload));
        assert!(kept.done);
        assert!(store.open_commands().unwrap().is_empty());
        assert_eq!(topics(&store.after(0, 10).unwrap()), ["t/1", "t/2"]);
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
