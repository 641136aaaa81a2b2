//! Our own SMS PDU codec: 3GPP TS 23.040 (PDU layout, user data header, concatenation) and
//! TS 23.038 (GSM 7-bit default alphabet with its extension table, UCS-2). Pure: no I/O, no
//! clock; every decoder returns an error, never panics, on any input.
//!
//! - The cellular driver encodes SMS-SUBMIT ([`encode_submit`]) for AT+CMGS, decodes
//!   SMS-DELIVER ([`decode_deliver`]) and SMS-STATUS-REPORT ([`decode_status_report`]) from
//!   +CMGR/+CMGL/+CMT/+CDS, and joins concatenated parts with a [`Reassembler`].
//! - The simulator decodes SMS-SUBMIT ([`decode_submit`]) and encodes SMS-DELIVER
//!   ([`encode_deliver`]).
//!
//! PDUs are bytes that start with the service centre address, as modems give and take them;
//! [`to_hex`] and [`from_hex`] convert to the hex text of the AT commands.
//!
//! Text is sent in GSM 7-bit if every character is in the default alphabet or its extension
//! table, else in UCS-2 (UTF-16, surrogate pairs kept); binary bodies as 8-bit data. A body
//! that does not fit one PDU (160 septets, 70 UTF-16 units, 140 octets) is split into at most
//! [`MAX_PARTS`] parts of 153 septets, 67 units or 134 octets behind an 8-bit-reference
//! concatenation header; no part ends inside an escape sequence or a surrogate pair.

mod address;
mod dcs;
mod deliver;
mod error;
mod gsm7;
mod hex;
mod message_type;
mod pdu_reader;
mod reassembly;
mod split;
mod status_report;
mod submit;
mod timestamp;
mod ucs2;
mod udh;
mod user_data;
mod validity;

pub use address::PhoneNumber;
pub use dcs::Alphabet;
pub use deliver::{Deliver, DeliverOptions, decode_deliver, encode_deliver};
pub use error::SmsError;
pub use hex::{from_hex, to_hex};
pub use message_type::{MessageType, message_type};
pub use reassembly::{Complete, Duplicate, Reassembler};
pub use status_report::{DeliveryOutcome, StatusReport, decode_status_report};
pub use submit::{EncodedPart, Submit, SubmitOptions, decode_submit, encode_submit};
pub use udh::Concat;
pub use user_data::{Body, Content};

/// Most parts a concatenated message can have (the part counters are single octets).
pub const MAX_PARTS: usize = 255;
