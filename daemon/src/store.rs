//! The durable message store: every device's outbox and inbox in one SQLite database,
//! `<state_dir>/messages.db`.
//!
//! Every write is a committed transaction (WAL, `synchronous=FULL`) before the call returns, so
//! an outgoing message is on disk before `Send` answers and an incoming one before it is
//! signalled or deleted from the device. A damaged database is moved aside, never deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};
use thiserror::Error;

mod routed;

pub use routed::{ROUTED_ID, RoutedRecord, Spent};

/// File name of the database inside the state directory.
const DB_FILE: &str = "messages.db";

/// The first bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations; after applying `MIGRATIONS[n]` the database's `user_version` is `n + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1. `incoming_key` is set for incoming messages only (NULLs never collide in a
    // UNIQUE constraint) and lets a message re-read from a device after a crash be recognized.
    "CREATE TABLE messages (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id    TEXT    NOT NULL,
        direction    TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
        peer         TEXT    NOT NULL,
        payload      BLOB    NOT NULL,
        encoding     TEXT    NOT NULL,
        text         TEXT,
        state        TEXT    NOT NULL,
        timestamp    INTEGER NOT NULL CHECK (timestamp >= 0),
        error        TEXT    NOT NULL DEFAULT '',
        incoming_key TEXT,
        UNIQUE (device_id, incoming_key)
    );
    CREATE INDEX messages_by_device ON messages (device_id, id);
    CREATE TABLE message_info (
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        key        TEXT    NOT NULL,
        value      TEXT    NOT NULL,
        PRIMARY KEY (message_id, key)
    ) WITHOUT ROWID;",
    // Version 2. The object number of every device Id ever published (`Devices/<number>`): kept
    // after the device is forgotten, so that it gets its old number back if it returns.
    "CREATE TABLE device_numbers (
        device_id TEXT    PRIMARY KEY,
        number    INTEGER NOT NULL UNIQUE CHECK (number >= 0)
    ) WITHOUT ROWID;",
    // Version 3. The router (`Router.Send`): routed messages with the attempt under way and the
    // device message carrying it, the bytes each uplink carried (budgets), the rules' state.
    "CREATE TABLE routed_messages (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        route           TEXT    NOT NULL,
        payload         BLOB    NOT NULL,
        encoding        TEXT    NOT NULL,
        priority        TEXT    NOT NULL,
        expires         INTEGER,
        state           TEXT    NOT NULL,
        uplink          TEXT    NOT NULL DEFAULT '',
        attempts        INTEGER NOT NULL DEFAULT 0,
        error           TEXT    NOT NULL DEFAULT '',
        attempt_uplink  TEXT,
        attempt_started INTEGER,
        attempt_message TEXT,
        failed_uplinks  TEXT    NOT NULL DEFAULT '',
        passed_uplinks  TEXT    NOT NULL DEFAULT '',
        timestamp       INTEGER NOT NULL CHECK (timestamp >= 0)
    );
    CREATE TABLE uplink_spent (
        uplink TEXT    NOT NULL,
        at     INTEGER NOT NULL,
        bytes  INTEGER NOT NULL
    );
    CREATE INDEX uplink_spent_by_time ON uplink_spent (at);
    CREATE TABLE rule_state (
        name       TEXT    PRIMARY KEY,
        state      TEXT    NOT NULL,
        fired      INTEGER NOT NULL,
        last_fired INTEGER NOT NULL
    ) WITHOUT ROWID;",
];

/// The columns [`message_from_row`] reads, in its order.
const SELECT_MESSAGES: &str = "SELECT id, device_id, direction, peer, payload, encoding, text, \
                               state, timestamp, error FROM messages";

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the device's network.
    In,
    /// Sent by an application through the device.
    Out,
}

impl Direction {
    /// The D-Bus and database spelling: `in` or `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl FromSql for Direction {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "in" => Ok(Direction::In),
            "out" => Ok(Direction::Out),
            other => Err(FromSqlError::Other(
                format!("unknown direction {other:?}").into(),
            )),
        }
    }
}

/// An outgoing message to queue ([`Store::insert_outgoing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutgoing {
    /// `Id` of the device that sends it.
    pub device_id: String,
    /// A phone number; "" for a satellite gateway.
    pub destination: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// `text` or `binary`.
    pub encoding: &'static str,
    /// The payload as text, when it is text.
    pub text: Option<String>,
    /// Unix seconds when it was queued.
    pub timestamp: u64,
    /// Facts recorded with it (the router's `routed_id`).
    pub info: BTreeMap<String, String>,
}

/// One stored message, as `Messaging.List` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Decimal id, unique in this database and never reused.
    pub id: String,
    /// `Id` of the device the message belongs to (`imei:...`).
    pub device_id: String,
    /// In or out.
    pub direction: Direction,
    /// Destination of an outgoing message, sender of an incoming one ("" for a satellite gateway).
    pub peer: String,
    /// The message bytes.
    pub payload: Vec<u8>,
    /// `text` or `binary`.
    pub encoding: String,
    /// The payload as text, when it is text.
    pub text: Option<String>,
    /// Outgoing: `queued`, `sending`, `sent`, `failed`. Incoming: `received`.
    pub state: String,
    /// Unix seconds: when it was queued (out) or sent by the peer (in).
    pub timestamp: u64,
    /// Why an outgoing message failed, or "".
    pub error: String,
    /// Extra details from the driver (message reference, part count, ...).
    pub info: BTreeMap<String, String>,
}

/// What went wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The state directory does not exist and cannot be created.
    #[error("cannot create state directory {}: {error}", path.display())]
    StateDir {
        /// The state directory.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The database cannot be opened or set up.
    #[error("cannot open message store {}: {error}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        error: rusqlite::Error,
    },
    /// The database file exists but cannot be read.
    #[error("cannot read message store {}: {error}", path.display())]
    Read {
        /// The database file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// A damaged database could not be moved aside.
    #[error("cannot move corrupt message store {} to {}: {error}", from.display(), to.display())]
    MoveAside {
        /// The damaged file.
        from: PathBuf,
        /// Where it should have gone.
        to: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The database was written by a newer daemon; it is left untouched.
    #[error(
        "message store {} has schema version {version}, newer than the {known} this daemon knows",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        version: i64,
        /// The newest version this build knows.
        known: usize,
    },
    /// No stored message has this id.
    #[error("no stored message with id {0:?}")]
    NotFound(String),
    /// A timestamp SQLite cannot hold (above `i64::MAX`).
    #[error("timestamp {0} is out of range")]
    TimestampOutOfRange(u64),
    /// A query failed.
    #[error("message store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task running a [`StoreHandle::run`] closure panicked or was cancelled.
    #[error("message store task failed: {0}")]
    TaskFailed(String),
}

/// The message database. Use it directly from blocking code, or through a [`StoreHandle`].
#[derive(Debug)]
pub struct Store {
    connection: Connection,
}

impl Store {
    /// Opens (creating) `<state_dir>/messages.db`, in WAL mode with `synchronous=FULL`, foreign
    /// keys on and a busy timeout, and brings its schema up to date in one transaction.
    ///
    /// A file that is not SQLite or fails `PRAGMA quick_check` is renamed (with its `-wal` and
    /// `-shm` files) to `messages.db.corrupt-<unix time>`, logged with `tracing::error!`, and a
    /// fresh database is created in its place. A database from a newer daemon is an error and
    /// left untouched.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(state_dir).map_err(|error| StoreError::StateDir {
            path: state_dir.to_owned(),
            error,
        })?;
        let path = state_dir.join(DB_FILE);
        let open_error = |error| StoreError::Open {
            path: path.clone(),
            error,
        };
        if let Some(damage) = find_damage(&path)? {
            let aside = move_aside(&path)?;
            tracing::error!(
                "message store {} is damaged ({damage}); moved it to {} and started an empty one",
                path.display(),
                aside.display()
            );
        }
        let mut connection = Connection::open(&path).map_err(open_error)?;
        configure(&connection).map_err(open_error)?;
        migrate(&mut connection, &path)?;
        Ok(Store { connection })
    }

    /// Queues an outgoing message (state `queued`) with its `info`, in one transaction, and
    /// returns it with its new id.
    pub fn insert_outgoing(&mut self, message: NewOutgoing) -> Result<MessageRecord, StoreError> {
        let transaction = self.connection.transaction()?;
        let record = insert_outgoing_in(&transaction, message)?;
        transaction.commit()?;
        Ok(record)
    }

    /// Sets a message's state and error, and merges `info` into its info (same keys replaced).
    pub fn set_state(
        &mut self,
        id: &str,
        state: &str,
        error: &str,
        info: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        let not_found = || StoreError::NotFound(id.to_owned());
        let rowid = parse_id(id).ok_or_else(not_found)?;
        let transaction = self.connection.transaction()?;
        let updated = transaction.execute(
            "UPDATE messages SET state = ?1, error = ?2 WHERE id = ?3",
            params![state, error, rowid],
        )?;
        if updated == 0 {
            return Err(not_found());
        }
        merge_info(&transaction, rowid, info)?;
        transaction.commit()?;
        Ok(())
    }

    /// Commits an incoming message (state `received`, encoding `text` when `text` is given,
    /// else `binary`). `key` identifies the message on its device (for example its storage
    /// slot and content); `None` means a message with the same `(device_id, key)` is stored
    /// already: the device delivered it again after a crash, and it must not be signalled twice.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per column of the message"
    )]
    pub fn insert_incoming(
        &mut self,
        device_id: &str,
        key: &str,
        peer: &str,
        payload: &[u8],
        text: Option<&str>,
        timestamp: u64,
        info: &BTreeMap<String, String>,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let record = MessageRecord {
            id: String::new(),
            device_id: device_id.to_owned(),
            direction: Direction::In,
            peer: peer.to_owned(),
            payload: payload.to_vec(),
            encoding: if text.is_some() { "text" } else { "binary" }.to_owned(),
            text: text.map(str::to_owned),
            state: "received".to_owned(),
            timestamp,
            error: String::new(),
            info: info.clone(),
        };
        let transaction = self.connection.transaction()?;
        let already_stored = transaction
            .query_row(
                "SELECT 1 FROM messages WHERE device_id = ?1 AND incoming_key = ?2",
                params![device_id, key],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if already_stored {
            return Ok(None);
        }
        let rowid = insert_message(&transaction, &record, Some(key))?;
        merge_info(&transaction, rowid, info)?;
        transaction.commit()?;
        Ok(Some(MessageRecord {
            id: rowid.to_string(),
            ..record
        }))
    }

    /// Every stored message of a device, oldest first.
    pub fn list(&self, device_id: &str) -> Result<Vec<MessageRecord>, StoreError> {
        self.select("WHERE device_id = ?1", params![device_id])
    }

    /// The message with this id, if stored.
    pub fn get(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let Some(rowid) = parse_id(id) else {
            return Ok(None);
        };
        Ok(self.select("WHERE id = ?1", params![rowid])?.pop())
    }

    /// Forgets a message of this device; `false` if the device has no message with this id.
    pub fn delete(&mut self, device_id: &str, id: &str) -> Result<bool, StoreError> {
        let Some(rowid) = parse_id(id) else {
            return Ok(false);
        };
        let deleted = self.connection.execute(
            "DELETE FROM messages WHERE id = ?1 AND device_id = ?2",
            params![rowid, device_id],
        )?;
        Ok(deleted > 0)
    }

    /// A device's outgoing messages still to be sent (`queued` or `sending`), oldest first:
    /// after a restart the device task sends these again.
    pub fn pending_outgoing(&self, device_id: &str) -> Result<Vec<MessageRecord>, StoreError> {
        self.select(
            "WHERE device_id = ?1 AND direction = 'out' AND state IN ('queued', 'sending')",
            params![device_id],
        )
    }

    /// The object number (`Devices/<number>`) of the device `device_id`, or of a device whose Id
    /// is not known yet (`None`, never recorded). An Id keeps the number it was given first; a
    /// new Id gets, and keeps, the lowest number that was never given to another Id and is not
    /// in `in_use` (numbers the daemon shows now, some of them on devices without an Id).
    pub fn device_number(
        &mut self,
        device_id: Option<&str>,
        in_use: &BTreeSet<u32>,
    ) -> Result<u32, StoreError> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(id) = device_id
            && let Some(number) = transaction
                .query_row(
                    "SELECT number FROM device_numbers WHERE device_id = ?1",
                    params![id],
                    |row| row.get::<_, u32>(0),
                )
                .optional()?
        {
            return Ok(number);
        }
        let given: BTreeSet<u32> = transaction
            .prepare_cached("SELECT number FROM device_numbers")?
            .query_map([], |row| row.get::<_, u32>(0))?
            .collect::<Result<_, _>>()?;
        let number = (0..=u32::MAX)
            .find(|n| !given.contains(n) && !in_use.contains(n))
            .unwrap_or(u32::MAX);
        if let Some(id) = device_id {
            transaction.execute(
                "INSERT INTO device_numbers (device_id, number) VALUES (?1, ?2)",
                params![id, number],
            )?;
            transaction.commit()?;
        }
        Ok(number)
    }

    /// The keys of a device's last `limit` committed incoming messages, newest first: what a
    /// restarted driver is told again, so that it can finish deleting them from the device.
    pub fn recent_incoming_keys(
        &self,
        device_id: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT incoming_key FROM messages WHERE device_id = ?1 AND incoming_key IS NOT NULL \
             ORDER BY id DESC LIMIT ?2",
        )?;
        let keys = statement
            .query_map(params![device_id, limit], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(keys)
    }

    /// Messages matching `filter` (a WHERE clause), oldest first, with their info.
    fn select(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!("{SELECT_MESSAGES} {filter} ORDER BY id"))?;
        let rows = statement
            .query_map(params, |row| {
                Ok((row.get::<_, i64>(0)?, message_from_row(row)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut info_statement = self
            .connection
            .prepare_cached("SELECT key, value FROM message_info WHERE message_id = ?1")?;
        rows.into_iter()
            .map(|(rowid, mut record)| {
                record.info = info_statement
                    .query_map(params![rowid], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                Ok(record)
            })
            .collect()
    }
}

/// A [`Store`] shared by async code: every call runs on tokio's blocking pool, one at a time,
/// so D-Bus handlers never block on SQLite.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    store: Arc<Mutex<Store>>,
}

impl StoreHandle {
    /// Wraps an open store.
    pub fn new(store: Store) -> Self {
        StoreHandle {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// Runs `f` with the store on the blocking pool and returns its result, for example
    /// `handle.run(move |store| store.list(&device)).await?`.
    ///
    /// If `f` panics the call returns [`StoreError::TaskFailed`] and the handle stays usable:
    /// an open transaction is rolled back as the panic unwinds, so the store is consistent.
    pub async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await
        .map_err(|error| StoreError::TaskFailed(error.to_string()))?
    }
}

/// `None` if the database at `path` is healthy (or absent, or empty), else what is wrong with
/// it. Errors other than damage (I/O, permissions, locks) are returned: such a file is not moved.
fn find_damage(path: &Path) -> Result<Option<String>, StoreError> {
    // Checked before SQLite sees the file: SQLite would delete a `-wal` file next to a file
    // that is not a database, and that `-wal` may hold the newest messages.
    let header = read_header(path).map_err(|error| StoreError::Read {
        path: path.to_owned(),
        error,
    })?;
    let Some(header) = header else {
        return Ok(None);
    };
    if !header.is_empty() && header != SQLITE_HEADER {
        return Ok(Some("not an SQLite database".to_owned()));
    }
    let connection = Connection::open(path).map_err(|error| StoreError::Open {
        path: path.to_owned(),
        error,
    })?;
    match connection.pragma_query_value(None, "quick_check", |row| row.get::<_, String>(0)) {
        Ok(verdict) if verdict == "ok" => Ok(None),
        Ok(verdict) => Ok(Some(verdict)),
        Err(error)
            if matches!(
                error.sqlite_error_code(),
                Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
            ) =>
        {
            Ok(Some(error.to_string()))
        }
        Err(error) => Err(StoreError::Open {
            path: path.to_owned(),
            error,
        }),
    }
}

/// The first bytes of the file (fewer if it is shorter), or `None` if there is no file.
fn read_header(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut header = Vec::new();
    file.take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut header)?;
    Ok(Some(header))
}

/// Renames `path` and its `-wal`/`-shm` files to `<path>.corrupt-<unix time>[-<n>]`.
fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let base = with_suffix(path, &format!(".corrupt-{now}"));
    let mut aside = base.clone();
    let mut attempt = 1;
    while aside.symlink_metadata().is_ok() {
        aside = with_suffix(&base, &format!("-{attempt}"));
        attempt += 1;
    }
    for suffix in ["", "-wal", "-shm"] {
        let from = with_suffix(path, suffix);
        let to = with_suffix(&aside, suffix);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            // A database without its side files is normal.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {}
            Err(error) => return Err(StoreError::MoveAside { from, to, error }),
        }
    }
    Ok(aside)
}

/// `path` with `suffix` appended to its last component.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut text = path.as_os_str().to_owned();
    text.push(suffix);
    PathBuf::from(text)
}

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("message store: journal mode is {mode}, not WAL");
    }
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", true)
}

/// Applies the migrations the database lacks, all in one transaction.
fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let open_error = |error| StoreError::Open {
        path: path.to_owned(),
        error,
    };
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_error)?;
    let version: i64 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(open_error)?;
    let applied = usize::try_from(version)
        .ok()
        .filter(|applied| *applied <= MIGRATIONS.len())
        .ok_or_else(|| StoreError::NewerSchema {
            path: path.to_owned(),
            version,
            known: MIGRATIONS.len(),
        })?;
    for (new_version, migration) in (1_i64..).zip(MIGRATIONS).skip(applied) {
        transaction.execute_batch(migration).map_err(open_error)?;
        transaction
            .pragma_update(None, "user_version", new_version)
            .map_err(open_error)?;
    }
    transaction.commit().map_err(open_error)
}

/// Inserts a message row (without its info) and returns its rowid.
fn insert_message(
    connection: &Connection,
    record: &MessageRecord,
    incoming_key: Option<&str>,
) -> Result<i64, StoreError> {
    let timestamp = i64::try_from(record.timestamp)
        .map_err(|_| StoreError::TimestampOutOfRange(record.timestamp))?;
    connection.execute(
        "INSERT INTO messages
             (device_id, direction, peer, payload, encoding, text, state, timestamp, error, incoming_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            record.device_id,
            record.direction.as_str(),
            record.peer,
            record.payload,
            record.encoding,
            record.text,
            record.state,
            timestamp,
            record.error,
            incoming_key,
        ],
    )?;
    Ok(connection.last_insert_rowid())
}

/// Inserts an outgoing message (state `queued`) with its info into `connection` (a
/// transaction the caller commits); the record with its new id.
fn insert_outgoing_in(
    connection: &Connection,
    message: NewOutgoing,
) -> Result<MessageRecord, StoreError> {
    let mut record = MessageRecord {
        id: String::new(),
        device_id: message.device_id,
        direction: Direction::Out,
        peer: message.destination,
        payload: message.payload,
        encoding: message.encoding.to_owned(),
        text: message.text,
        state: "queued".to_owned(),
        timestamp: message.timestamp,
        error: String::new(),
        info: message.info,
    };
    let rowid = insert_message(connection, &record, None)?;
    merge_info(connection, rowid, &record.info)?;
    record.id = rowid.to_string();
    Ok(record)
}

/// Inserts or replaces `info`'s keys for a message, keeping its other keys.
fn merge_info(
    connection: &Connection,
    rowid: i64,
    info: &BTreeMap<String, String>,
) -> rusqlite::Result<()> {
    let mut statement = connection.prepare_cached(
        "INSERT INTO message_info (message_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (message_id, key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in info {
        statement.execute(params![rowid, key, value])?;
    }
    Ok(())
}

/// Reads the columns of [`SELECT_MESSAGES`]; `info` is filled in afterwards.
fn message_from_row(row: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    let timestamp: i64 = row.get(8)?;
    Ok(MessageRecord {
        id: row.get::<_, i64>(0)?.to_string(),
        device_id: row.get(1)?,
        direction: row.get(2)?,
        peer: row.get(3)?,
        payload: row.get(4)?,
        encoding: row.get(5)?,
        text: row.get(6)?,
        state: row.get(7)?,
        timestamp: u64::try_from(timestamp).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(
                8,
                rusqlite::types::Type::Integer,
                Box::new(error),
            )
        })?,
        error: row.get(9)?,
        info: BTreeMap::new(),
    })
}

/// The rowid an id string names; only the canonical decimal form is accepted.
fn parse_id(id: &str) -> Option<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|rowid| *rowid > 0 && rowid.to_string() == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEM: &str = "imei:356938035643809";
    const OTHER_MODEM: &str = "imei:490154203237518";

    fn info(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn queue_hello(store: &mut Store, device_id: &str, now: u64) -> MessageRecord {
        store
            .insert_outgoing(NewOutgoing {
                device_id: device_id.into(),
                destination: "+4915112345678".into(),
                payload: b"hello".to_vec(),
                encoding: "text",
                text: Some("hello".into()),
                timestamp: now,
                info: BTreeMap::new(),
            })
            .unwrap()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_outgoing_message_is_queued_and_can_be_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let queued = queue_hello(&mut store, MODEM, 1_764_000_000);
        assert_eq!(
            queued,
            MessageRecord {
                id: "1".to_owned(),
                device_id: MODEM.to_owned(),
                direction: Direction::Out,
                peer: "+4915112345678".to_owned(),
                payload: b"hello".to_vec(),
                encoding: "text".to_owned(),
                text: Some("hello".to_owned()),
                state: "queued".to_owned(),
                timestamp: 1_764_000_000,
                error: String::new(),
                info: BTreeMap::new(),
            }
        );
        assert_eq!(store.get("1").unwrap(), Some(queued.clone()));
        assert_eq!(store.list(MODEM).unwrap(), [queued]);
        assert!(store.list(OTHER_MODEM).unwrap().is_empty());
    }

    #[test]
    fn recent_incoming_keys_are_the_newest_of_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for (device, key) in [(MODEM, "a"), (MODEM, "b"), ("imei:1", "c"), (MODEM, "d")] {
            store
                .insert_incoming(device, key, "+49170", b"x", None, 0, &info(&[]))
                .unwrap();
        }
        assert_eq!(store.recent_incoming_keys(MODEM, 2).unwrap(), ["d", "b"]);
        assert_eq!(store.recent_incoming_keys("imei:1", 10).unwrap(), ["c"]);
        assert!(store.recent_incoming_keys("imei:2", 10).unwrap().is_empty());
    }

    #[test]
    fn an_incoming_message_is_stored_once_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let details = info(&[("smsc", "+491710760000")]);
        let received = store
            .insert_incoming(
                MODEM,
                "SM:3:1a2b",
                "+4917012345",
                b"Hi!",
                Some("Hi!"),
                1_764_000_100,
                &details,
            )
            .unwrap()
            .unwrap();
        assert_eq!(received.direction, Direction::In);
        assert_eq!(received.state, "received");
        assert_eq!(received.encoding, "text");
        assert_eq!(received.info, details);
        assert_eq!(store.get(&received.id).unwrap(), Some(received.clone()));

        // The modem re-delivers the same message after a crash: recognized, not stored again.
        let again = store
            .insert_incoming(
                MODEM,
                "SM:3:1a2b",
                "+4917012345",
                b"Hi!",
                Some("Hi!"),
                1_764_000_100,
                &details,
            )
            .unwrap();
        assert_eq!(again, None);
        assert_eq!(store.list(MODEM).unwrap(), [received]);

        // Keys are per device, and binary messages carry no text.
        let sbd = store
            .insert_incoming(
                OTHER_MODEM,
                "SM:3:1a2b",
                "",
                &[0x01, 0xfe],
                None,
                1_764_000_200,
                &BTreeMap::new(),
            )
            .unwrap()
            .unwrap();
        assert_eq!((sbd.encoding.as_str(), sbd.text), ("binary", None));
    }

    #[test]
    fn set_state_updates_and_merges_info() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let id = queue_hello(&mut store, MODEM, 10).id;
        store
            .set_state(
                &id,
                "sending",
                "",
                &info(&[("parts", "1"), ("attempt", "1")]),
            )
            .unwrap();
        store
            .set_state(
                &id,
                "failed",
                "CMS ERROR 38: network out of order",
                &info(&[("attempt", "2")]),
            )
            .unwrap();
        let record = store.get(&id).unwrap().unwrap();
        assert_eq!(record.state, "failed");
        assert_eq!(record.error, "CMS ERROR 38: network out of order");
        assert_eq!(record.info, info(&[("attempt", "2"), ("parts", "1")]));
    }

    #[test]
    fn set_state_of_an_unknown_id_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for id in ["1", "x", "", "01", "+1", "-1"] {
            let error = store
                .set_state(id, "sent", "", &BTreeMap::new())
                .unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("no stored message with id {id:?}")
            );
        }
    }

    #[test]
    fn delete_removes_only_the_devices_own_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let id = queue_hello(&mut store, MODEM, 10).id;
        store
            .set_state(&id, "sent", "", &info(&[("mr", "17")]))
            .unwrap();
        assert!(!store.delete(OTHER_MODEM, &id).unwrap());
        assert!(!store.delete(MODEM, "not-an-id").unwrap());
        assert!(store.delete(MODEM, &id).unwrap());
        assert_eq!(store.get(&id).unwrap(), None);
        assert!(!store.delete(MODEM, &id).unwrap());
        let orphans: i64 = store
            .connection
            .query_row("SELECT count(*) FROM message_info", [], |row| row.get(0))
            .unwrap();
        assert_eq!(orphans, 0, "info rows go with their message");
    }

    #[test]
    fn ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let first = queue_hello(&mut store, MODEM, 10).id;
        let second = queue_hello(&mut store, MODEM, 11).id;
        assert!(store.delete(MODEM, &second).unwrap());
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        let third = queue_hello(&mut store, MODEM, 12).id;
        assert_eq!(
            (first.as_str(), second.as_str(), third.as_str()),
            ("1", "2", "3")
        );
    }

    #[test]
    fn pending_messages_survive_a_restart_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let sent = queue_hello(&mut store, MODEM, 10).id;
        let sending = queue_hello(&mut store, MODEM, 11).id;
        let failed = queue_hello(&mut store, MODEM, 12).id;
        let queued = queue_hello(&mut store, MODEM, 13).id;
        queue_hello(&mut store, OTHER_MODEM, 14);
        store
            .insert_incoming(
                MODEM,
                "k1",
                "+4917012345",
                b"in",
                Some("in"),
                15,
                &BTreeMap::new(),
            )
            .unwrap();
        store
            .set_state(&sent, "sent", "", &BTreeMap::new())
            .unwrap();
        store
            .set_state(&sending, "sending", "", &BTreeMap::new())
            .unwrap();
        store
            .set_state(&failed, "failed", "timeout", &BTreeMap::new())
            .unwrap();
        drop(store);

        let store = Store::open(dir.path()).unwrap();
        let pending: Vec<_> = store
            .pending_outgoing(MODEM)
            .unwrap()
            .into_iter()
            .map(|record| (record.id, record.state))
            .collect();
        assert_eq!(
            pending,
            [
                (sending, "sending".to_owned()),
                (queued, "queued".to_owned())
            ]
        );
        assert_eq!(store.list(MODEM).unwrap().len(), 5);
    }

    #[test]
    fn progress_committed_before_a_kill_comes_back_with_the_pending_message() {
        // What a driver resuming a message after a restart gets in `OutgoingMessage::progress`:
        // each fact as last committed, the earlier ones kept.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let id = queue_hello(&mut store, MODEM, 10).id;
        let before_part = |sent: &str, references: &str| {
            info(&[
                ("concat_reference", "3"),
                ("parts", "3"),
                ("parts_sent", sent),
                ("message_references", references),
            ])
        };
        store
            .set_state(&id, "sending", "", &before_part("0", ""))
            .unwrap();
        store
            .set_state(&id, "sending", "", &before_part("1", "12"))
            .unwrap();
        store
            .set_state(&id, "sending", "", &info(&[("attempt", "1")]))
            .unwrap();
        drop(store);

        let store = Store::open(dir.path()).unwrap();
        let pending = store.pending_outgoing(MODEM).unwrap();
        assert_eq!(pending.len(), 1);
        let mut expected = before_part("1", "12");
        expected.insert("attempt".to_owned(), "1".to_owned());
        assert_eq!(pending[0].info, expected);
    }

    #[test]
    fn the_database_is_wal_full_sync_with_foreign_keys_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let pragma = |name: &str| -> String {
            store
                .connection
                .pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
                .map(|value| format!("{value:?}"))
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
        assert_eq!(pragma("synchronous"), "Integer(2)"); // FULL
        assert_eq!(pragma("foreign_keys"), "Integer(1)");
        assert_eq!(
            pragma("user_version"),
            format!("Integer({})", MIGRATIONS.len())
        );
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = b"AT+CMGL=4\r\n+CMGL: 1,0,,23\r\n".repeat(64);
        std::fs::write(dir.path().join("messages.db"), &garbage).unwrap();
        std::fs::write(dir.path().join("messages.db-wal"), b"not a wal either").unwrap();

        let mut store = Store::open(dir.path()).unwrap();
        assert!(queue_hello(&mut store, MODEM, 10).id == "1");

        let names = entries(dir.path());
        let aside = names
            .iter()
            .find(|name| name.starts_with("messages.db.corrupt-") && !name.ends_with("-wal"))
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join(aside)).unwrap(), garbage);
        assert_eq!(
            std::fs::read(dir.path().join(format!("{aside}-wal"))).unwrap(),
            b"not a wal either"
        );
    }

    #[test]
    fn a_damaged_sqlite_file_is_moved_aside_with_its_messages() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for now in 0..200 {
            queue_hello(&mut store, MODEM, now);
        }
        drop(store);
        let path = dir.path().join("messages.db");
        let mut bytes = std::fs::read(&path).unwrap();
        let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        bytes[page_size..2 * page_size].fill(0xa5); // page 2 overwritten
        std::fs::write(&path, &bytes).unwrap();

        let store = Store::open(dir.path()).unwrap();
        assert!(store.list(MODEM).unwrap().is_empty());
        let names = entries(dir.path());
        let aside = names
            .iter()
            .find(|name| name.starts_with("messages.db.corrupt-"))
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join(aside)).unwrap(), bytes);
    }

    #[test]
    fn two_corruptions_in_one_second_keep_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("messages.db");
        std::fs::write(&path, b"first garbage".repeat(100)).unwrap();
        let first = move_aside(&path).unwrap();
        std::fs::write(&path, b"second garbage".repeat(100)).unwrap();
        let second = move_aside(&path).unwrap();
        assert_ne!(first, second);
        assert!(
            second.to_string_lossy().ends_with("-1"),
            "{}",
            second.display()
        );
        assert_eq!(std::fs::read(&first).unwrap(), b"first garbage".repeat(100));
        assert_eq!(
            std::fs::read(&second).unwrap(),
            b"second garbage".repeat(100)
        );
    }

    #[test]
    fn a_database_from_a_newer_daemon_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let path = dir.path().join("messages.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let message = Store::open(dir.path()).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "message store {} has schema version 99, newer than the {} this daemon knows",
                path.display(),
                MIGRATIONS.len()
            )
        );
        assert_eq!(entries(dir.path()), ["messages.db"]);
    }

    #[test]
    fn a_state_dir_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        let state_dir = file.join("state");
        let message = Store::open(&state_dir).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!(
                "cannot create state directory {}: ",
                state_dir.display()
            )),
            "{message}"
        );
    }

    #[test]
    fn a_timestamp_beyond_sqlite_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let error = store
            .insert_outgoing(NewOutgoing {
                device_id: MODEM.into(),
                destination: String::new(),
                payload: b"x".to_vec(),
                encoding: "binary",
                text: None,
                timestamp: u64::MAX,
                info: BTreeMap::new(),
            })
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("timestamp {} is out of range", u64::MAX)
        );
    }

    #[test]
    fn a_device_keeps_its_number_and_a_new_one_gets_the_lowest_never_given() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let none = BTreeSet::new();
        assert_eq!(store.device_number(Some(MODEM), &none).unwrap(), 0);
        // A device without an Id yet holds number 1 now; it is shown, never recorded.
        assert_eq!(store.device_number(None, &BTreeSet::from([0])).unwrap(), 1);
        assert_eq!(
            store
                .device_number(Some(OTHER_MODEM), &BTreeSet::from([0, 1]))
                .unwrap(),
            2
        );
        drop(store);

        let mut store = Store::open(dir.path()).unwrap();
        // After a restart, in the other order: each Id gets its own number again.
        assert_eq!(store.device_number(Some(OTHER_MODEM), &none).unwrap(), 2);
        assert_eq!(store.device_number(Some(MODEM), &none).unwrap(), 0);
        // Number 1 was never given to an Id: the next new Id gets it.
        assert_eq!(store.device_number(Some("ble:AA:BB"), &none).unwrap(), 1);
        assert_eq!(store.device_number(Some("ble:CC:DD"), &none).unwrap(), 3);
    }

    #[tokio::test]
    async fn the_handle_runs_calls_and_survives_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let handle = StoreHandle::new(Store::open(dir.path()).unwrap());
        let id = handle
            .run(|store| Ok(queue_hello(store, MODEM, 10).id))
            .await
            .unwrap();
        let panicked = handle
            .run(|store| -> Result<(), StoreError> {
                let transaction = store.connection.transaction()?;
                transaction.execute("DELETE FROM messages", [])?;
                panic!("driver bug");
            })
            .await
            .unwrap_err();
        assert!(matches!(panicked, StoreError::TaskFailed(_)), "{panicked}");
        let listed = handle.clone().run(|store| store.list(MODEM)).await.unwrap();
        assert_eq!(listed.len(), 1, "the panicking transaction was rolled back");
        assert_eq!(listed[0].id, id);
    }
}
