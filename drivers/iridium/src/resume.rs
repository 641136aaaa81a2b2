//! Exactly-once SBD across restarts: what a session records about the message it carries, and
//! how a restarted driver tells from the terminal's MOMSN whether that session reached the
//! gateway.
//!
//! The MOMSN is the terminal's own counter, kept across power cycles: `+SBDS`/`+SBDSX` report
//! the one the next session uses, and it goes up by one with every session that completes with
//! the gateway (MO status 0 to 4); a failed session leaves it (Iridium ISU AT Command Reference,
//! `+SBDIX`, `+SBDS`). So right before each `AT+SBDIX` that carries a message, the driver
//! records `momsn_pending` = the MOMSN that session will use (write-ahead: the host commits the
//! [`Effect::MessageState`](m2mhal_plugin_api::Effect::MessageState) before it writes the
//! command's bytes). After a restart the message comes back with that record in
//! `OutgoingMessage::progress`, and the initialisation has read the terminal's MOMSN: if it moved
//! past `momsn_pending`, the session completed and the gateway has the message, which is then
//! reported sent instead of going out again.
//!
//! Kill points, for a message carried by a session that uses MOMSN `m`:
//! - before the record of `m` is committed: `AT+SBDIX` was not written; the store holds the
//!   record of an earlier session of the message, which failed (the MOMSN is still its `m`),
//!   or none: the message goes again, as it must;
//! - after the record, before the terminal started the session: the MOMSN is still `m`: it goes
//!   again (the MO buffer was cleared at initialisation and is written again);
//! - during the session: the terminal finishes it on its own (input waits meanwhile). Success
//!   moves the MOMSN to `m + 1`: reported sent, not sent again; failure leaves `m`: sent again;
//! - after the `+SBDIX` answer, before the host committed `sent`: as during the session;
//! - after the commit: the message is no longer pending.
//!
//! When the driver does not know the MOMSN (the terminal did not answer `AT+SBDS`), it records
//! `momsn_pending` as "" and the message goes again after a restart: a possible duplicate,
//! never a loss. `AT+SBDC` (which clears the MOMSN) between a kill and the restart would make a
//! pending message look sent; nothing in m2mhal sends it.
//!
//! `attempt` counts the sessions that carried the message, across restarts: it is recorded with
//! `momsn_pending` and a resumed message counts on from it.

use std::collections::BTreeMap;

use crate::parse::first_numbers;

/// Progress key: the MOMSN of the session that carries the message now ("" when unknown).
pub(crate) const MOMSN_PENDING: &str = "momsn_pending";
/// Progress key: sessions that carried the message so far.
pub(crate) const ATTEMPT: &str = "attempt";

/// What earlier driver instances recorded about a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// Sessions that carried it.
    pub attempts: u32,
    /// The MOMSN of the last session that carried it, when known.
    pub momsn_pending: Option<u16>,
}

impl Recorded {
    /// Reads the facts from a message's `progress` (missing or malformed facts count as unknown).
    pub fn from_progress(progress: &BTreeMap<String, String>) -> Self {
        let number = |key: &str| progress.get(key).and_then(|value| value.parse().ok());
        Recorded {
            attempts: number(ATTEMPT).unwrap_or(0),
            momsn_pending: number(MOMSN_PENDING).and_then(|momsn: u32| u16::try_from(momsn).ok()),
        }
    }

    /// The MOMSN under which the gateway received the message, when the terminal's MOMSN at
    /// initialisation (`momsn_at_open`) moved past the recorded one.
    pub fn sent_as(&self, momsn_at_open: Option<u16>) -> Option<u16> {
        let pending = self.momsn_pending?;
        (momsn_at_open? != pending).then_some(pending)
    }
}

/// The facts a session records right before its `AT+SBDIX`: the attempt it is and the MOMSN it
/// uses (`None`: unknown, recorded as "").
pub(crate) fn session_record(attempt: u32, momsn: Option<u16>) -> BTreeMap<String, String> {
    BTreeMap::from([
        (ATTEMPT.to_owned(), attempt.to_string()),
        (
            MOMSN_PENDING.to_owned(),
            momsn.map(|momsn| momsn.to_string()).unwrap_or_default(),
        ),
    ])
}

/// The MOMSN the next session uses, from `+SBDS: <MO flag>, <MOMSN>, <MT flag>, <MTMSN>` (or
/// `+SBDSX:`, which starts with the same fields).
pub(crate) fn next_momsn(lines: &[String]) -> Option<u16> {
    let fields = first_numbers(lines, "+SBDS:").or_else(|| first_numbers(lines, "+SBDSX:"))?;
    u16::try_from(*fields.get(1)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_moved_momsn_means_the_session_reached_the_gateway() {
        let recorded =
            Recorded::from_progress(&progress(&[("attempt", "2"), ("momsn_pending", "7")]));
        assert_eq!(recorded.attempts, 2);
        assert_eq!(recorded.sent_as(Some(8)), Some(7));
        assert_eq!(recorded.sent_as(Some(0)), Some(7), "wrapped or counted on");
        assert_eq!(
            recorded.sent_as(Some(7)),
            None,
            "the session failed or never ran"
        );
        assert_eq!(recorded.sent_as(None), None, "unknown now: send again");
    }

    #[test]
    fn unknown_or_malformed_facts_send_again() {
        for pairs in [
            &[][..],
            &[("momsn_pending", "")],
            &[("momsn_pending", "70000")],
            &[("momsn_pending", "x"), ("attempt", "y")],
        ] {
            let recorded = Recorded::from_progress(&progress(pairs));
            assert_eq!(recorded, Recorded::default(), "{pairs:?}");
            assert_eq!(recorded.sent_as(Some(3)), None);
        }
    }

    #[test]
    fn momsn_from_sbds_and_sbdsx() {
        let lines = |line: &str| vec![line.to_owned()];
        assert_eq!(next_momsn(&lines("+SBDS: 0, 12, 0, -1")), Some(12));
        assert_eq!(
            next_momsn(&lines("+SBDSX: 1, 65535, 0, -1, 0, 0")),
            Some(65535)
        );
        assert_eq!(next_momsn(&lines("+SBDS: 0")), None);
        assert_eq!(next_momsn(&lines("OK")), None);
        assert_eq!(
            session_record(3, None),
            progress(&[("attempt", "3"), ("momsn_pending", "")])
        );
    }
}
