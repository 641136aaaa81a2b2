//! SMS through ModemManager, the pure parts: checking an outgoing message, the properties
//! `Messaging.Create` takes for it, and an incoming SMS object's properties as the message
//! m2mhal stores.

use std::collections::{BTreeMap, HashMap};

use m2mhal_plugin_api::{CallError, CallErrorKind, Encoding, IncomingMessage, OutgoingMessage};
use m2mhal_sms::PhoneNumber;
use zbus::Variant;

use super::properties::{MAX_PAYLOAD, Properties, value};

/// The fact recorded with an outgoing message once ModemManager holds it: the SMS object's path.
pub const MM_SMS_INFO: &str = "mm-sms";
/// The fact recorded with an outgoing message about its `Sms.Send`: [`MM_SEND_ASKED`] or
/// [`MM_SEND_REFUSED`].
pub const MM_SEND_INFO: &str = "mm-send";
/// `Sms.Send` is (about to be) called and its outcome is not known: ModemManager may be sending
/// the SMS, or may have sent it. Recorded before the call.
pub const MM_SEND_ASKED: &str = "asked";
/// ModemManager answered `Sms.Send` with an error of its own: its attempt is over and, as far as
/// it knows, the SMS did not go out.
pub const MM_SEND_REFUSED: &str = "refused";

/// The fact recorded with an outgoing message before its `Messaging.Create`: [`MM_SEND_ASKED`].
/// ModemManager may create the SMS object even when it does not answer in time (it was stopped,
/// say): the next hand-over takes that orphan ([`is_orphan`]) instead of creating another.
pub const MM_CREATE_INFO: &str = "mm-create";

/// `MM_SMS_STATE_UNKNOWN`: what an SMS object created with `Messaging.Create` says until it is
/// sent.
const SMS_UNKNOWN: u32 = 0;
/// `MM_SMS_PDU_TYPE_SUBMIT`: an SMS to send.
const PDU_SUBMIT: u32 = 2;

/// `MM_SMS_STATE_SENT`. (ModemManager 1.20 never reports `SENDING`: an SMS created with
/// `Messaging.Create` stays `UNKNOWN` while it is being sent, and after a failed send, until it
/// is `SENT`.)
pub const SMS_SENT: u32 = 5;

/// Checks an outgoing message before the host commits it: a phone number, UTF-8 text, and no
/// more than [`MAX_PAYLOAD`] bytes. (ModemManager splits long messages into parts itself.)
pub fn check(message: &OutgoingMessage) -> Result<(), CallError> {
    PhoneNumber::destination(&message.destination).map_err(|error| {
        CallError::new(
            CallErrorKind::InvalidArgument,
            format!("destination: {error}"),
        )
    })?;
    if message.encoding == Encoding::Text && std::str::from_utf8(&message.payload).is_err() {
        return Err(CallError::new(
            CallErrorKind::InvalidArgument,
            "payload is not valid UTF-8 text",
        ));
    }
    if message.payload.len() > MAX_PAYLOAD as usize {
        return Err(CallError::new(
            CallErrorKind::PayloadTooLarge,
            format!(
                "payload of {} bytes exceeds the maximum of {MAX_PAYLOAD}",
                message.payload.len()
            ),
        ));
    }
    Ok(())
}

/// The properties `Messaging.Create` takes for `message`: `number` and `text` or `data`.
pub fn create_properties(message: &OutgoingMessage) -> HashMap<&'static str, Variant<'_>> {
    let body = match (message.encoding, std::str::from_utf8(&message.payload)) {
        (Encoding::Text, Ok(text)) => ("text", Variant::from(text)),
        _ => ("data", Variant::from(message.payload.as_slice())),
    };
    HashMap::from([
        ("number", Variant::from(message.destination.as_str())),
        body,
    ])
}

/// Whether an SMS object ModemManager holds is `message` (the one created for it, not another
/// that took its path after a restart of ModemManager).
pub fn is_for(sms: &Properties, message: &OutgoingMessage) -> bool {
    let number = value::<String>(sms, "Number").unwrap_or_default();
    let text = value::<String>(sms, "Text").unwrap_or_default();
    let data = value::<Vec<u8>>(sms, "Data").unwrap_or_default();
    number == message.destination
        && (text.as_bytes() == message.payload.as_slice() || data == message.payload)
}

/// Whether an SMS object ModemManager holds is one it created for `message` and never sent: an
/// SMS to send, in state `unknown`, with its number and body.
pub fn is_orphan(sms: &Properties, message: &OutgoingMessage) -> bool {
    value::<u32>(sms, "State") == Some(SMS_UNKNOWN)
        && value::<u32>(sms, "PduType") == Some(PDU_SUBMIT)
        && is_for(sms, message)
}

/// The message m2mhal stores for a received SMS object's properties; `received_at` (unix
/// seconds) stands in for a time stamp MM does not have. `None` for an SMS without a sender:
/// ModemManager 1.20 exports one whose PDU has an empty originator address (a damaged PDU, not
/// a message anyone sent), and m2mhal stores no message nobody can be named for or answer.
pub fn incoming(sms: &Properties, received_at: u64) -> Option<IncomingMessage> {
    let peer = value::<String>(sms, "Number").filter(|peer| !peer.is_empty())?;
    let text = value::<String>(sms, "Text").filter(|text| !text.is_empty());
    let payload = match &text {
        Some(text) => text.as_bytes().to_vec(),
        None => value::<Vec<u8>>(sms, "Data").unwrap_or_default(),
    };
    let stamp = value::<String>(sms, "Timestamp").unwrap_or_default();
    let timestamp = parse_timestamp(&stamp).unwrap_or(received_at);
    let mut info = BTreeMap::new();
    if let Some(smsc) = value::<String>(sms, "SMSC").filter(|smsc| !smsc.is_empty()) {
        info.insert("smsc".to_owned(), smsc);
    }
    let key = format!(
        "mm:{:016x}",
        fnv1a(&[peer.as_bytes(), stamp.as_bytes(), &payload])
    );
    Some(IncomingMessage {
        key,
        peer,
        payload,
        text,
        timestamp,
        info,
    })
}

/// FNV-1a over `parts` (each followed by a 0xff separator): a key that is the same for the same
/// message in every run, so a message seen again after a crash is stored once.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    parts
        .iter()
        .flat_map(|part| part.iter().chain(&[0xff]))
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
        })
}

/// Unix seconds of ModemManager's ISO 8601 time stamp (`2026-12-07T20:25:13+01:00`, or with
/// `+01`, `Z` or no zone for UTC).
fn parse_timestamp(stamp: &str) -> Option<u64> {
    let (date, rest) = stamp.split_once('T')?;
    let time = rest.get(..8)?;
    let zone = &rest[8..];
    let number = |text: &str| text.parse::<i64>().ok();
    let mut date = date.splitn(3, '-').map(number);
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let mut time = time.splitn(3, ':').map(number);
    let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
    let offset = match zone.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()) {
        "" | "Z" => 0,
        zone => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let mut parts = zone[1..].split(':');
            let hours = number(parts.next()?)?;
            let minutes = parts.next().map_or(Some(0), number)?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(seconds - offset).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use zbus::OwnedVariant;

    use super::*;

    fn message(destination: &str, payload: &[u8], encoding: Encoding) -> OutgoingMessage {
        OutgoingMessage {
            id: "1".to_owned(),
            destination: destination.to_owned(),
            payload: payload.to_vec(),
            encoding,
            progress: BTreeMap::new(),
        }
    }

    fn sms(entries: Vec<(&str, Variant<'static>)>) -> Properties {
        entries
            .into_iter()
            .map(|(name, value)| (name.to_owned(), OwnedVariant::try_from(value).unwrap()))
            .collect()
    }

    #[test]
    fn outgoing_messages_are_checked_before_they_are_committed() {
        assert!(check(&message("+4915123456789", b"hi", Encoding::Text)).is_ok());
        let number = check(&message("call me", b"hi", Encoding::Text)).unwrap_err();
        assert_eq!(number.kind, CallErrorKind::InvalidArgument);
        assert!(number.message.starts_with("destination"), "{number:?}");
        let text = check(&message("+4915123456789", b"\xff", Encoding::Text)).unwrap_err();
        assert_eq!(text.kind, CallErrorKind::InvalidArgument);
        assert!(check(&message("+4915123456789", b"\xff", Encoding::Binary)).is_ok());
        let long = vec![b'a'; MAX_PAYLOAD as usize + 1];
        let long = check(&message("+4915123456789", &long, Encoding::Text)).unwrap_err();
        assert_eq!(long.kind, CallErrorKind::PayloadTooLarge);
    }

    #[test]
    fn text_and_data_are_created_as_such() {
        let text = message("+4915123456789", b"hi", Encoding::Text);
        let created = create_properties(&text);
        assert_eq!(created["number"], Variant::from("+4915123456789"));
        assert_eq!(created["text"], Variant::from("hi"));
        let data = message("+4915123456789", &[1, 2], Encoding::Binary);
        assert_eq!(
            create_properties(&data)["data"],
            Variant::from(&[1u8, 2][..])
        );
    }

    #[test]
    fn an_sms_object_is_recognised_only_by_its_number_and_body() {
        let sent = message("+4915123456789", b"hi", Encoding::Text);
        let same = sms(vec![
            ("Number", Variant::from("+4915123456789")),
            ("Text", Variant::from("hi")),
        ]);
        assert!(is_for(&same, &sent));
        let other = sms(vec![
            ("Number", Variant::from("+4915123456789")),
            ("Text", Variant::from("another")),
        ]);
        assert!(!is_for(&other, &sent));
    }

    #[test]
    fn an_orphan_is_an_unsent_sms_to_send_with_the_message_s_number_and_body() {
        let queued = message("+4915123456789", b"hi", Encoding::Text);
        let object = |state: u32, pdu_type: u32| {
            sms(vec![
                ("Number", Variant::from("+4915123456789")),
                ("Text", Variant::from("hi")),
                ("State", Variant::from(state)),
                ("PduType", Variant::from(pdu_type)),
            ])
        };
        assert!(is_orphan(&object(SMS_UNKNOWN, PDU_SUBMIT), &queued));
        assert!(!is_orphan(&object(SMS_SENT, PDU_SUBMIT), &queued));
        // A received SMS with the same number and text is not one m2mhald created.
        assert!(!is_orphan(&object(3, 1), &queued));
        let other = message("+4915123456789", b"another", Encoding::Text);
        assert!(!is_orphan(&object(SMS_UNKNOWN, PDU_SUBMIT), &other));
    }

    #[test]
    fn a_received_sms_becomes_a_stored_message_with_a_stable_key() {
        let received = sms(vec![
            ("Number", Variant::from("+4915123456789")),
            ("Text", Variant::from("hello")),
            ("Timestamp", Variant::from("2026-12-07T21:25:13+01:00")),
            ("SMSC", Variant::from("+491710760000")),
        ]);
        let message = incoming(&received, 7).unwrap();
        assert_eq!(message.peer, "+4915123456789");
        assert_eq!(message.payload, b"hello");
        assert_eq!(message.text.as_deref(), Some("hello"));
        assert_eq!(message.timestamp, 1_796_675_113);
        assert_eq!(message.info["smsc"], "+491710760000");
        assert_eq!(incoming(&received, 8).unwrap().key, message.key);
        let other = sms(vec![
            ("Number", Variant::from("+4915123456789")),
            ("Text", Variant::from("hello!")),
            ("Timestamp", Variant::from("2026-12-07T21:25:13+01:00")),
        ]);
        assert_ne!(incoming(&other, 7).unwrap().key, message.key);
        let data = sms(vec![
            ("Number", Variant::from("+4915123456789")),
            ("Data", Variant::from(&[1u8, 2][..])),
        ]);
        let data = incoming(&data, 7).unwrap();
        assert_eq!(
            (data.payload, data.text, data.timestamp),
            (vec![1, 2], None, 7)
        );
    }

    #[test]
    fn an_sms_without_a_sender_is_no_message() {
        // What ModemManager 1.20 exports for a PDU whose originator address is empty.
        let senderless = sms(vec![
            ("Number", Variant::from("")),
            ("Text", Variant::from("A")),
            ("Timestamp", Variant::from("2026-12-07T20:25:13+00:00")),
        ]);
        assert_eq!(incoming(&senderless, 7), None);
        let unnamed = sms(vec![("Text", Variant::from("A"))]);
        assert_eq!(incoming(&unnamed, 7), None);
    }

    #[test]
    fn time_stamps_in_every_zone_notation() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01T01:00:00+01"), Some(0));
        assert_eq!(parse_timestamp("2026-12-07T20:25:13"), Some(1_796_675_113));
        assert_eq!(
            parse_timestamp("2026-12-07T15:25:13-05:00"),
            Some(1_796_675_113)
        );
        assert_eq!(
            parse_timestamp("2000-02-29T00:00:00+00:00"),
            Some(951_782_400)
        );
        assert_eq!(parse_timestamp(""), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
