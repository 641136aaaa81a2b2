//! SMS-SUBMIT (TS 23.040 9.2.2.2): encoded by the cellular driver for AT+CMGS, decoded by the
//! simulator.

use crate::SmsError;
use crate::address::{self, PhoneNumber};
use crate::dcs::Alphabet;
use crate::message_type::{self, MessageType, PLAIN_PROTOCOL, STATUS_REPORT, USER_DATA_HEADER};
use crate::pdu_reader::PduReader;
use crate::split;
use crate::udh::Concat;
use crate::user_data::{self, Body, Content};
use crate::validity::{self, RELATIVE_FORMAT};

/// How to send a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubmitOptions {
    /// Concatenation reference shared by the parts of a long message; pick a new one per
    /// message (e.g. a counter).
    pub concat_reference: u8,
    /// Ask the service centre for an SMS-STATUS-REPORT (TP-SRR).
    pub request_status_report: bool,
    /// Validity period in minutes, sent in the relative format rounded up to the next period it
    /// can express (at most 63 weeks). `None` sends no TP-VP: the service centre's default.
    pub validity_minutes: Option<u32>,
}

/// One PDU to send with AT+CMGS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPart {
    /// The whole PDU, starting with the SCA length octet 0x00 (use the SIM's SMSC).
    pub pdu: Vec<u8>,
    /// The length for `AT+CMGS=<n>`: octets after the SCA.
    pub tpdu_len: usize,
}

/// A decoded SMS-SUBMIT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    /// `+4915...` for an international number, the bare digits otherwise.
    pub destination: String,
    /// Alphabet of the user data.
    pub alphabet: Alphabet,
    /// Concatenation information, if this is a part of a longer message.
    pub concat: Option<Concat>,
    /// The body of this PDU.
    pub content: Content,
    /// TP-MR.
    pub message_reference: u8,
    /// TP-SRR: the sender asked for a status report.
    pub status_report_requested: bool,
}

/// Encodes `body` for `destination` as one SMS-SUBMIT per part (see [`Body`] for the alphabet
/// and the crate docs for the split). Each PDU has no SMSC (the SIM's is used), TP-MR 0 (the
/// modem assigns it), TP-PID 0, TP-DCS in the general group without class, and TP-VP relative
/// or absent as [`SubmitOptions::validity_minutes`] says.
pub fn encode_submit(
    destination: &PhoneNumber,
    body: Body<'_>,
    options: &SubmitOptions,
) -> Result<Vec<EncodedPart>, SmsError> {
    let encoded = split::encode_body(body, options.concat_reference)?;
    let sca = address::encode_sca(None);
    let destination = address::encode_address(destination);
    let validity = options.validity_minutes.map(validity::relative);
    let mut first_octet = MessageType::Submit.bits();
    if options.request_status_report {
        first_octet |= STATUS_REPORT;
    }
    if validity.is_some() {
        first_octet |= RELATIVE_FORMAT;
    }
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
            pdu.extend([first_octet | header_flag, 0x00]);
            pdu.extend_from_slice(&destination);
            pdu.extend([PLAIN_PROTOCOL, encoded.alphabet.dcs()]);
            pdu.extend(validity);
            user_data.write_to(&mut pdu);
            EncodedPart {
                tpdu_len: pdu.len() - sca.len(),
                pdu,
            }
        })
        .collect())
}

/// Decodes an SMS-SUBMIT that starts with the SCA (as the simulator receives it from AT+CMGS).
/// The validity period is skipped.
pub fn decode_submit(pdu: &[u8]) -> Result<Submit, SmsError> {
    let mut reader = PduReader::new(pdu);
    address::decode_sca(&mut reader)?;
    let first_octet = message_type::read_first_octet(&mut reader, MessageType::Submit)?;
    let message_reference = reader.octet("TP-MR")?;
    let destination = address::decode_address(&mut reader, "TP-DA")?;
    reader.octet("TP-PID")?;
    let dcs = reader.octet("TP-DCS")?;
    validity::skip(&mut reader, first_octet)?;
    let user_data = user_data::decode(dcs, first_octet & USER_DATA_HEADER != 0, &mut reader)?;
    Ok(Submit {
        destination,
        alphabet: user_data.alphabet,
        concat: user_data.concat,
        content: user_data.content,
        message_reference,
        status_report_requested: first_octet & STATUS_REPORT != 0,
    })
}
