//! The router's tables: routed messages (with the attempt under way and the device message that
//! carries it), the bytes each uplink carried (budgets) and the rules' kept state.

use std::collections::BTreeSet;

use m2mhal_routing::{
    Attempt, Change, Encoding, Priority, RoutedMessage, RoutedState, RuleSnapshot, RuleState,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{MessageRecord, NewOutgoing, Store, StoreError, insert_outgoing_in};

/// The info key of a device message that carries an attempt of a routed message: its value is
/// the routed message's id. Committed with the device message, so that after a kill the attempt
/// is found even if the router had not recorded the device message's id yet.
pub const ROUTED_ID: &str = "routed_id";

/// The columns [`routed_from_row`] reads, in its order.
const SELECT_ROUTED: &str = "SELECT id, route, payload, encoding, priority, expires, state, \
    uplink, attempts, error, attempt_uplink, attempt_started, attempt_message, failed_uplinks, \
    passed_uplinks, timestamp FROM routed_messages";

/// A routed message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedRecord {
    /// The message and where it stands.
    pub message: RoutedMessage,
    /// Unix seconds when it was accepted.
    pub timestamp: u64,
    /// The device message (`Messaging` id) carrying the attempt under way.
    pub attempt_message: Option<String>,
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::TimestampOutOfRange(value))
}

fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Text => "text",
        Encoding::Binary => "binary",
    }
}

fn uplink_set(text: &str) -> BTreeSet<String> {
    text.split('\n')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join("\n")
}

fn routed_from_row(row: &Row<'_>) -> rusqlite::Result<RoutedRecord> {
    let id: i64 = row.get(0)?;
    let encoding: String = row.get(3)?;
    let priority: String = row.get(4)?;
    let state: String = row.get(6)?;
    let attempt_uplink: Option<String> = row.get(10)?;
    let attempt_started: Option<i64> = row.get(11)?;
    let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
    let message = RoutedMessage {
        id: id.to_string(),
        route: row.get(1)?,
        payload: row.get(2)?,
        encoding: if encoding == "binary" {
            Encoding::Binary
        } else {
            Encoding::Text
        },
        priority: if priority == "high" {
            Priority::High
        } else {
            Priority::Normal
        },
        expires: row.get::<_, Option<i64>>(5)?.map(unsigned),
        state: match state.as_str() {
            "sending" => RoutedState::Sending,
            "sent" => RoutedState::Sent,
            "failed" => RoutedState::Failed,
            _ => RoutedState::Queued,
        },
        uplink: row.get(7)?,
        attempts: row.get(8)?,
        error: row.get(9)?,
        attempt: attempt_uplink.map(|uplink| Attempt {
            uplink,
            started: attempt_started.map_or(0, unsigned),
            withdrawing: false,
        }),
        failed_uplinks: uplink_set(&row.get::<_, String>(13)?),
        passed_uplinks: uplink_set(&row.get::<_, String>(14)?),
    };
    Ok(RoutedRecord {
        message,
        timestamp: unsigned(row.get(15)?),
        attempt_message: row.get(12)?,
    })
}

impl Store {
    /// Commits a new routed message as `queued` and returns its id.
    pub fn insert_routed(
        &mut self,
        message: &RoutedMessage,
        now: u64,
    ) -> Result<String, StoreError> {
        let expires = message.expires.map(to_i64).transpose()?;
        self.connection.execute(
            "INSERT INTO routed_messages (route, payload, encoding, priority, expires, state, timestamp)
             VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6)",
            params![
                message.route,
                message.payload,
                encoding_name(message.encoding),
                message.priority.as_str(),
                expires,
                to_i64(now)?,
            ],
        )?;
        Ok(self.connection.last_insert_rowid().to_string())
    }

    /// Commits where a routed message stands, and the device message carrying its attempt.
    pub fn save_routed(
        &mut self,
        message: &RoutedMessage,
        attempt_message: Option<&str>,
    ) -> Result<(), StoreError> {
        save_routed_in(&self.connection, message, attempt_message)
    }

    /// Commits, in one transaction, the device message `outgoing` that carries an attempt of
    /// routed message `routed` and where `routed` stands (that attempt under way). The device
    /// message, with its new id.
    pub fn insert_attempt(
        &mut self,
        outgoing: NewOutgoing,
        routed: &RoutedMessage,
    ) -> Result<MessageRecord, StoreError> {
        let transaction = self.connection.transaction()?;
        let record = insert_outgoing_in(&transaction, outgoing)?;
        save_routed_in(&transaction, routed, Some(&record.id))?;
        transaction.commit()?;
        Ok(record)
    }

    /// Commits a routed message's final state (`sent` or `failed`: no attempt under way) and,
    /// in the same transaction, what its uplink carried (`Spent`), if anything.
    pub fn finish_routed(
        &mut self,
        change: &Change,
        spent: Option<&Spent>,
    ) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        let changed = transaction.execute(
            "UPDATE routed_messages SET state = ?2, uplink = ?3, attempts = ?4, error = ?5,
                 attempt_uplink = NULL, attempt_started = NULL, attempt_message = NULL
             WHERE id = ?1",
            params![
                change.id,
                change.state.as_str(),
                change.uplink,
                change.attempts,
                change.error
            ],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(change.id.clone()));
        }
        if let Some(spent) = spent {
            record_spent_in(&transaction, spent)?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// The newest message of device `device_id` that carries an attempt of routed message
    /// `routed_id` (its info `routed_id`), if any.
    pub fn attempt_message_of(
        &self,
        routed_id: &str,
        device_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let found: Option<i64> = self
            .connection
            .query_row(
                "SELECT m.id FROM messages m JOIN message_info i ON i.message_id = m.id
                 WHERE i.key = ?3 AND i.value = ?1 AND m.device_id = ?2
                 ORDER BY m.id DESC LIMIT 1",
                params![routed_id, device_id, ROUTED_ID],
                |row| row.get(0),
            )
            .optional()?;
        Ok(found.map(|id| id.to_string()))
    }

    /// Every routed message, oldest first.
    pub fn list_routed(&self) -> Result<Vec<RoutedRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!("{SELECT_ROUTED} ORDER BY id"))?;
        let rows = statement.query_map([], routed_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The routed messages not `sent` or `failed`, oldest first.
    pub fn pending_routed(&self) -> Result<Vec<RoutedRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "{SELECT_ROUTED} WHERE state IN ('queued', 'sending') ORDER BY id"
        ))?;
        let rows = statement.query_map([], routed_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What an uplink carried, on its own.
    pub fn record_spent(&mut self, spent: &Spent) -> Result<(), StoreError> {
        record_spent_in(&self.connection, spent)
    }

    /// What the uplinks carried since `since` (older entries are dropped).
    pub fn spent_since(&mut self, since: u64) -> Result<Vec<(String, u64, u64)>, StoreError> {
        let since = to_i64(since)?;
        self.connection
            .execute("DELETE FROM uplink_spent WHERE at < ?1", params![since])?;
        let mut statement = self
            .connection
            .prepare_cached("SELECT uplink, at, bytes FROM uplink_spent ORDER BY at")?;
        let rows = statement.query_map([], |row| {
            let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
            Ok((row.get(0)?, unsigned(row.get(1)?), unsigned(row.get(2)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keeps a rule's state across restarts.
    pub fn save_rule(&mut self, name: &str, snapshot: RuleSnapshot) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT OR REPLACE INTO rule_state (name, state, fired, last_fired)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                name,
                snapshot.state.as_str(),
                snapshot.fired,
                to_i64(snapshot.last_fired)?
            ],
        )?;
        Ok(())
    }

    /// A rule's kept state, if any.
    pub fn rule(&self, name: &str) -> Result<Option<RuleSnapshot>, StoreError> {
        let kept = self
            .connection
            .query_row(
                "SELECT state, fired, last_fired FROM rule_state WHERE name = ?1",
                params![name],
                |row| {
                    let state: String = row.get(0)?;
                    let last_fired: i64 = row.get(2)?;
                    Ok(RuleSnapshot {
                        state: RuleState::parse(&state).unwrap_or(RuleState::Armed),
                        fired: row.get(1)?,
                        last_fired: u64::try_from(last_fired).unwrap_or(0),
                    })
                },
            )
            .optional()?;
        Ok(kept)
    }
}

/// Bytes that went out through an uplink (its budget's ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spent {
    /// The uplink.
    pub uplink: String,
    /// Unix seconds.
    pub at: u64,
    /// Payload bytes.
    pub bytes: u64,
}

fn record_spent_in(connection: &Connection, spent: &Spent) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO uplink_spent (uplink, at, bytes) VALUES (?1, ?2, ?3)",
        params![spent.uplink, to_i64(spent.at)?, to_i64(spent.bytes)?],
    )?;
    Ok(())
}

fn save_routed_in(
    connection: &Connection,
    message: &RoutedMessage,
    attempt_message: Option<&str>,
) -> Result<(), StoreError> {
    let (attempt_uplink, attempt_started) = match &message.attempt {
        Some(attempt) => (
            Some(attempt.uplink.as_str()),
            Some(to_i64(attempt.started)?),
        ),
        None => (None, None),
    };
    let changed = connection.execute(
        "UPDATE routed_messages SET state = ?2, uplink = ?3, attempts = ?4, error = ?5,
             attempt_uplink = ?6, attempt_started = ?7, attempt_message = ?8,
             failed_uplinks = ?9, passed_uplinks = ?10
         WHERE id = ?1",
        params![
            message.id,
            message.state.as_str(),
            message.uplink,
            message.attempts,
            message.error,
            attempt_uplink,
            attempt_started,
            attempt_message,
            join(&message.failed_uplinks),
            join(&message.passed_uplinks),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(message.id.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_routed_message_keeps_its_attempt_across_a_reopen() {
        let (dir, mut store) = store();
        let mut message = RoutedMessage::new("", "home", b"hi".to_vec(), Encoding::Text);
        message.priority = Priority::High;
        message.expires = Some(2000);
        message.id = store.insert_routed(&message, 1000).unwrap();
        message.state = RoutedState::Sending;
        message.uplink = "imei:1".into();
        message.attempts = 1;
        message.attempt = Some(Attempt {
            uplink: "imei:1".into(),
            started: 1001,
            withdrawing: false,
        });
        message.passed_uplinks.insert("imei:2".into());
        store.save_routed(&message, Some("7")).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let pending = store.pending_routed().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].message, message);
        assert_eq!(pending[0].attempt_message.as_deref(), Some("7"));
        assert_eq!(pending[0].timestamp, 1000);
        assert_eq!(
            store.attempt_message_of(&message.id, "imei:1").unwrap(),
            None
        );
    }

    #[test]
    fn an_attempt_is_found_by_its_device_message() {
        let (_dir, mut store) = store();
        let tag = BTreeMap::from([(ROUTED_ID.to_owned(), "5".to_owned())]);
        let outgoing = |timestamp, info: &BTreeMap<String, String>| NewOutgoing {
            device_id: "imei:1".into(),
            destination: String::new(),
            payload: b"a".to_vec(),
            encoding: "text",
            text: None,
            timestamp,
            info: info.clone(),
        };
        let first = store.insert_outgoing(outgoing(1, &tag)).unwrap();
        store
            .insert_outgoing(outgoing(1, &BTreeMap::new()))
            .unwrap();
        assert_eq!(
            store.attempt_message_of("5", "imei:1").unwrap(),
            Some(first.id.clone())
        );
        assert_eq!(store.attempt_message_of("5", "imei:2").unwrap(), None);
        let second = store.insert_outgoing(outgoing(2, &tag)).unwrap();
        assert_eq!(
            store.attempt_message_of("5", "imei:1").unwrap(),
            Some(second.id)
        );
    }

    #[test]
    fn an_attempt_and_its_device_message_commit_together_and_so_do_its_end_and_spending() {
        let (_dir, mut store) = store();
        let mut message = RoutedMessage::new("", "home", b"hi".to_vec(), Encoding::Text);
        message.id = store.insert_routed(&message, 1000).unwrap();
        message.state = RoutedState::Sending;
        message.attempts = 1;
        message.attempt = Some(Attempt {
            uplink: "imei:1".into(),
            started: 1001,
            withdrawing: false,
        });
        let outgoing = NewOutgoing {
            device_id: "imei:1".into(),
            destination: String::new(),
            payload: b"hi".to_vec(),
            encoding: "text",
            text: Some("hi".into()),
            timestamp: 1001,
            info: BTreeMap::from([(ROUTED_ID.to_owned(), message.id.clone())]),
        };
        let carried = store.insert_attempt(outgoing.clone(), &message).unwrap();
        let pending = store.pending_routed().unwrap();
        assert_eq!(pending[0].message.state, RoutedState::Sending);
        assert_eq!(pending[0].attempt_message, Some(carried.id));

        // A routed message that is not stored takes no device message with it.
        let mut missing = message.clone();
        missing.id = "99".into();
        assert!(store.insert_attempt(outgoing, &missing).is_err());
        assert_eq!(store.list("imei:1").unwrap().len(), 1);

        let sent = Change {
            id: message.id.clone(),
            state: RoutedState::Sent,
            uplink: "imei:1".into(),
            attempts: 1,
            error: String::new(),
        };
        let spent = Spent {
            uplink: "imei:1".into(),
            at: 1002,
            bytes: 2,
        };
        store.finish_routed(&sent, Some(&spent)).unwrap();
        assert!(store.pending_routed().unwrap().is_empty());
        assert_eq!(
            store.spent_since(0).unwrap(),
            [("imei:1".to_owned(), 1002, 2)]
        );
    }

    #[test]
    fn spending_and_rule_state_are_kept() {
        let (_dir, mut store) = store();
        for (at, bytes) in [(100, 40), (200, 50)] {
            let uplink = "imei:2".to_owned();
            store.record_spent(&Spent { uplink, at, bytes }).unwrap();
        }
        assert_eq!(
            store.spent_since(150).unwrap(),
            [("imei:2".to_owned(), 200, 50)]
        );
        assert_eq!(store.rule("tank-hot").unwrap(), None);
        let fired = RuleSnapshot {
            state: RuleState::Fired,
            fired: 2,
            last_fired: 300,
        };
        store.save_rule("tank-hot", fired).unwrap();
        assert_eq!(store.rule("tank-hot").unwrap(), Some(fired));
    }
}
