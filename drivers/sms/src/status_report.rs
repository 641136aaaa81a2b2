//! SMS-STATUS-REPORT (TS 23.040 9.2.2.3): the service centre's answer to a message sent with
//! [`crate::SubmitOptions::request_status_report`], given by +CDS or stored by the modem.

use crate::address;
use crate::message_type::{self, MessageType};
use crate::pdu_reader::PduReader;
use crate::{SmsError, timestamp};

/// A decoded SMS-STATUS-REPORT. Optional fields after TP-ST are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The service centre that sent it, if the PDU names one.
    pub smsc: Option<String>,
    /// TP-MR of the SMS-SUBMIT this reports on (as +CMGS returned it).
    pub message_reference: u8,
    /// TP-RA: the recipient of that message.
    pub recipient: String,
    /// TP-SCTS: when the service centre accepted the message, Unix seconds.
    pub submitted: i64,
    /// TP-DT: when it was delivered or the status last changed, Unix seconds.
    pub discharged: i64,
    /// TP-ST as received.
    pub status: u8,
}

/// What TP-ST means for the message (TS 23.040 9.2.3.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 0x00-0x1F: the short message transaction completed (delivered, forwarded or replaced).
    Delivered,
    /// 0x20-0x3F: temporary error, the service centre is still trying.
    Pending,
    /// 0x40-0xFF: permanent error, a temporary error the centre gave up on, or a reserved value.
    Failed,
}

impl StatusReport {
    /// What [`StatusReport::status`] means for the message.
    pub fn outcome(&self) -> DeliveryOutcome {
        match self.status {
            0x00..=0x1F => DeliveryOutcome::Delivered,
            0x20..=0x3F => DeliveryOutcome::Pending,
            _ => DeliveryOutcome::Failed,
        }
    }
}

/// Decodes an SMS-STATUS-REPORT that starts with the SCA.
pub fn decode_status_report(pdu: &[u8]) -> Result<StatusReport, SmsError> {
    let mut reader = PduReader::new(pdu);
    let smsc = address::decode_sca(&mut reader)?;
    message_type::read_first_octet(&mut reader, MessageType::StatusReport)?;
    let message_reference = reader.octet("TP-MR")?;
    let recipient = address::decode_address(&mut reader, "TP-RA")?;
    let submitted = timestamp::decode(reader.octets(timestamp::LENGTH, "TP-SCTS")?, "TP-SCTS")?;
    let discharged = timestamp::decode(reader.octets(timestamp::LENGTH, "TP-DT")?, "TP-DT")?;
    let status = reader.octet("TP-ST")?;
    Ok(StatusReport {
        smsc,
        message_reference,
        recipient,
        submitted,
        discharged,
        status,
    })
}
