//! The header fields the message types share: TP-MTI and the flags of the first octet, TP-PID.

use std::fmt;

use crate::SmsError;
use crate::address;
use crate::pdu_reader::PduReader;

/// TP-UDHI: the user data begins with a user data header.
pub(crate) const USER_DATA_HEADER: u8 = 0x40;
/// TP-SRR (SUBMIT) / TP-SRI (DELIVER) / TP-SRQ (STATUS-REPORT).
pub(crate) const STATUS_REPORT: u8 = 0x20;
/// TP-MMS in an SMS-DELIVER, set when no more messages are waiting at the service centre.
pub(crate) const NO_MORE_MESSAGES: u8 = 0x04;

/// TP-PID of plain person-to-person messages (no interworking, no replacement).
pub(crate) const PLAIN_PROTOCOL: u8 = 0x00;

/// The message type in TP-MTI, the two low bits of the first TPDU octet.
///
/// TP-MTI means different things by direction; each variant is named by its meaning in the
/// direction our decoders read it, the other meaning is in its doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// TP-MTI 0: SMS-DELIVER (service centre to phone; SMS-DELIVER-REPORT the other way).
    Deliver,
    /// TP-MTI 1: SMS-SUBMIT (phone to service centre; SMS-SUBMIT-REPORT the other way).
    Submit,
    /// TP-MTI 2: SMS-STATUS-REPORT (service centre to phone; SMS-COMMAND the other way).
    StatusReport,
    /// TP-MTI 3: reserved.
    Reserved,
}

impl MessageType {
    fn from_first_octet(first_octet: u8) -> Self {
        match first_octet & 0x03 {
            0 => Self::Deliver,
            1 => Self::Submit,
            2 => Self::StatusReport,
            _ => Self::Reserved,
        }
    }

    /// TP-MTI bits of this type.
    pub(crate) fn bits(self) -> u8 {
        match self {
            Self::Deliver => 0,
            Self::Submit => 1,
            Self::StatusReport => 2,
            Self::Reserved => 3,
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deliver => "SMS-DELIVER",
            Self::Submit => "SMS-SUBMIT",
            Self::StatusReport => "SMS-STATUS-REPORT",
            Self::Reserved => "reserved TP-MTI 3",
        })
    }
}

/// Reads the message type of a PDU that starts with the SCA, as modems give it; use it to pick
/// the decoder ([`crate::decode_deliver`], [`crate::decode_submit`], [`crate::decode_status_report`]).
pub fn message_type(pdu: &[u8]) -> Result<MessageType, SmsError> {
    let mut reader = PduReader::new(pdu);
    address::decode_sca(&mut reader)?;
    Ok(MessageType::from_first_octet(reader.octet("first octet")?))
}

/// Reads the first octet and checks its TP-MTI is `expected`; returns the octet for its flags.
pub(crate) fn read_first_octet(
    reader: &mut PduReader<'_>,
    expected: MessageType,
) -> Result<u8, SmsError> {
    let first_octet = reader.octet("first octet")?;
    let found = MessageType::from_first_octet(first_octet);
    if found == expected {
        Ok(first_octet)
    } else {
        Err(SmsError::UnexpectedMessageType { expected, found })
    }
}
