//! SMS-DELIVER (TS 23.040 9.2.2.1): decoded by the cellular driver from +CMGR/+CMGL/+CMT,
//! encoded by the simulator.

use crate::address::{self, PhoneNumber};
use crate::dcs::Alphabet;
use crate::message_type::{self, MessageType, NO_MORE_MESSAGES, PLAIN_PROTOCOL, USER_DATA_HEADER};
use crate::pdu_reader::PduReader;
use crate::udh::Concat;
use crate::user_data::{self, Body, Content};
use crate::{SmsError, split, timestamp};

/// A decoded SMS-DELIVER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliver {
    /// The service centre that delivered it (`+31624000000`), if the PDU names one.
    pub smsc: Option<String>,
    /// `+4915...` for an international number, the bare digits for other numbers, the text of an
    /// alphanumeric sender (e.g. `InternetSMS`).
    pub originator: String,
    /// TP-SCTS as Unix seconds, its time zone applied (two-digit years 90-99 are 19xx, the
    /// others 20xx).
    pub timestamp: i64,
    /// Alphabet of the user data.
    pub alphabet: Alphabet,
    /// Concatenation information, if this is a part of a longer message.
    pub concat: Option<Concat>,
    /// The body of this PDU.
    pub content: Content,
}

/// How the simulator builds SMS-DELIVER PDUs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliverOptions {
    /// TP-SCTS in Unix seconds; must fall in the years 1990..=2089 at the given offset.
    pub timestamp: i64,
    /// The service centre's UTC offset in quarter hours (-79..=79), e.g. 8 for +02:00.
    pub utc_offset_quarters: i8,
    /// Concatenation reference shared by the parts of a long message.
    pub concat_reference: u8,
    /// Service centre address put in front of the TPDU; `None` writes an empty SCA.
    pub smsc: Option<PhoneNumber>,
}

/// Decodes an SMS-DELIVER that starts with the SCA, as +CMGR, +CMGL and +CMT give it. Another
/// message type (e.g. an SMS-STATUS-REPORT in +CMGL output) is a
/// [`SmsError::UnexpectedMessageType`] naming it.
pub fn decode_deliver(pdu: &[u8]) -> Result<Deliver, SmsError> {
    let mut reader = PduReader::new(pdu);
    let smsc = address::decode_sca(&mut reader)?;
    let first_octet = message_type::read_first_octet(&mut reader, MessageType::Deliver)?;
    let originator = address::decode_address(&mut reader, "TP-OA")?;
    reader.octet("TP-PID")?;
    let dcs = reader.octet("TP-DCS")?;
    let timestamp = timestamp::decode(reader.octets(timestamp::LENGTH, "TP-SCTS")?, "TP-SCTS")?;
    let user_data = user_data::decode(dcs, first_octet & USER_DATA_HEADER != 0, &mut reader)?;
    Ok(Deliver {
        smsc,
        originator,
        timestamp,
        alphabet: user_data.alphabet,
        concat: user_data.concat,
        content: user_data.content,
    })
}

/// Encodes `body` from `originator` as one SMS-DELIVER PDU (SCA included) per part, split like
/// [`crate::encode_submit`]. TP-MMS says no more messages are waiting; TP-PID is 0.
pub fn encode_deliver(
    originator: &PhoneNumber,
    body: Body<'_>,
    options: &DeliverOptions,
) -> Result<Vec<Vec<u8>>, SmsError> {
    let timestamp = timestamp::encode(options.timestamp, options.utc_offset_quarters)?;
    let encoded = split::encode_body(body, options.concat_reference)?;
    let sca = address::encode_sca(options.smsc.as_ref());
    let originator = address::encode_address(originator);
    let first_octet = MessageType::Deliver.bits() | NO_MORE_MESSAGES;
    Ok(encoded
        .parts
        .iter()
        .map(|user_data| {
            let mut pdu = sca.clone();
            let header_flag = if user_data.has_header {
                USER_DATA_HEADER
            } else {
                0
            };
            pdu.push(first_octet | header_flag);
            pdu.extend_from_slice(&originator);
            pdu.extend([PLAIN_PROTOCOL, encoded.alphabet.dcs()]);
            pdu.extend(timestamp);
            user_data.write_to(&mut pdu);
            pdu
        })
        .collect())
}
