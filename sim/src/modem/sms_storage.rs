//! The SIM's SMS storage ("SM"): numbered slots holding PDUs and their `<stat>`.

/// Number of slots on the simulated SIM.
pub const CAPACITY: usize = 30;

/// `<stat>` of a stored message in PDU mode (3GPP TS 27.005 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    /// 0: received unread.
    Unread,
    /// 1: received read.
    Read,
}

impl MessageStatus {
    /// The `<stat>` number.
    pub fn code(self) -> u8 {
        match self {
            Self::Unread => 0,
            Self::Read => 1,
        }
    }

    /// A word for JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unread => "unread",
            Self::Read => "read",
        }
    }
}

/// One received message part in a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Read or unread.
    pub status: MessageStatus,
    /// The SMS-DELIVER PDU including the SMSC address prefix.
    pub pdu: Vec<u8>,
    /// Originator as the control command gave it.
    pub from: String,
}

impl StoredMessage {
    /// `<length>` of `+CMGR`/`+CMGL`: the PDU length without the SMSC address.
    pub fn tpdu_length(&self) -> usize {
        tpdu_length(&self.pdu)
    }
}

/// The length of `pdu` without its leading SMSC address (length octet plus address).
pub fn tpdu_length(pdu: &[u8]) -> usize {
    let sca_octets = pdu.first().map_or(0, |&length| usize::from(length) + 1);
    pdu.len().saturating_sub(sca_octets)
}

/// Which messages `AT+CMGD=<index>,<delflag>` deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteScope {
    /// Flag 0: the message at the index.
    One,
    /// Flag 1: all read messages.
    Read,
    /// Flags 2..=4: all messages (no sent or unsent ones are ever stored here).
    All,
}

/// The storage is full; the message was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageFull;

/// SIM message storage with `CAPACITY` slots, numbered from 0 as Quectel and SIMCom do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsStorage {
    slots: Vec<Option<StoredMessage>>,
}

impl Default for SmsStorage {
    fn default() -> Self {
        Self {
            slots: vec![None; CAPACITY],
        }
    }
}

impl SmsStorage {
    /// Stores an unread message in the first free slot and returns its index.
    pub fn store(&mut self, pdu: Vec<u8>, from: &str) -> Result<usize, StorageFull> {
        let index = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(StorageFull)?;
        self.slots[index] = Some(StoredMessage {
            status: MessageStatus::Unread,
            pdu,
            from: from.to_owned(),
        });
        Ok(index)
    }

    /// Number of occupied slots.
    pub fn used(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Number of free slots.
    pub fn free(&self) -> usize {
        CAPACITY - self.used()
    }

    /// Whether `index` names a slot (free or not).
    pub fn is_valid_index(&self, index: usize) -> bool {
        index < self.slots.len()
    }

    /// Reads a message, marking it read. `None` for free or invalid slots.
    pub fn read(&mut self, index: usize) -> Option<StoredMessage> {
        let message = self.slots.get_mut(index)?.as_mut()?;
        let before = message.clone();
        message.status = MessageStatus::Read;
        Some(before)
    }

    /// Reads all messages with `status` (or all when `None`) in slot order, marking them read.
    pub fn read_all(&mut self, status: Option<MessageStatus>) -> Vec<(usize, StoredMessage)> {
        let indices: Vec<usize> = self
            .list()
            .filter(|(_, message)| status.is_none_or(|wanted| message.status == wanted))
            .map(|(index, _)| index)
            .collect();
        indices
            .into_iter()
            .filter_map(|index| Some((index, self.read(index)?)))
            .collect()
    }

    /// All stored messages in slot order, without changing their status.
    pub fn list(&self) -> impl Iterator<Item = (usize, &StoredMessage)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| Some((index, slot.as_ref()?)))
    }

    /// Deletes messages; `index` matters only for `DeleteScope::One`.
    pub fn delete(&mut self, index: usize, scope: DeleteScope) {
        for (slot_index, slot) in self.slots.iter_mut().enumerate() {
            let delete = match scope {
                DeleteScope::One => slot_index == index,
                DeleteScope::Read => slot
                    .as_ref()
                    .is_some_and(|message| message.status == MessageStatus::Read),
                DeleteScope::All => true,
            };
            if delete {
                *slot = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_read_delete() {
        let mut storage = SmsStorage::default();
        assert_eq!(storage.store(vec![0x00, 0x04], "+1"), Ok(0));
        assert_eq!(storage.store(vec![0x00, 0x04], "+2"), Ok(1));
        assert_eq!(
            storage.read(0).map(|message| message.status),
            Some(MessageStatus::Unread)
        );
        assert_eq!(
            storage.read(0).map(|message| message.status),
            Some(MessageStatus::Read)
        );
        let unread = storage.read_all(Some(MessageStatus::Unread));
        assert_eq!(unread.len(), 1);
        assert_eq!(unread[0].0, 1);
        storage.delete(0, DeleteScope::One);
        assert_eq!(storage.store(vec![0x00], "+3"), Ok(0));
        storage.delete(0, DeleteScope::All);
        assert_eq!(storage.used(), 0);
    }

    #[test]
    fn full_storage_refuses() {
        let mut storage = SmsStorage::default();
        for _ in 0..CAPACITY {
            assert!(storage.store(vec![0x00], "+1").is_ok());
        }
        assert_eq!(storage.store(vec![0x00], "+1"), Err(StorageFull));
        assert!(!storage.is_valid_index(CAPACITY));
    }

    #[test]
    fn tpdu_length_skips_smsc_address() {
        assert_eq!(tpdu_length(&[0x07, 0x91, 1, 2, 3, 4, 5, 6, 0x04, 0x0B]), 2);
        assert_eq!(tpdu_length(&[0x00, 0x04, 0x0B]), 2);
        assert_eq!(tpdu_length(&[]), 0);
    }
}
