//! The one error type of the codec.

use crate::MAX_PARTS;
use crate::message_type::MessageType;

/// Everything that can go wrong encoding or decoding an SMS PDU. Each message names the field or
/// the input that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Hex text has an odd number of digits.
    #[error("hex PDU has an odd number of digits ({digits})")]
    OddHexLength {
        /// Number of hex digits found.
        digits: usize,
    },
    /// Hex text holds a character that is not a hex digit.
    #[error("hex PDU has {character:?} at position {position}, which is not a hex digit")]
    InvalidHexDigit {
        /// The offending character.
        character: char,
        /// Its character position in the text.
        position: usize,
    },
    /// Text given as a phone number is not one.
    #[error("{text:?} is not a phone number: {reason}")]
    InvalidPhoneNumber {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The PDU ends before a field it must hold.
    #[error("PDU truncated at {field}")]
    Truncated {
        /// The 3GPP TS 23.040 name of the missing field, e.g. "TP-UD".
        field: &'static str,
    },
    /// The PDU is of another message type than the decoder handles.
    #[error("PDU is of type {found}, expected {expected}")]
    UnexpectedMessageType {
        /// The type the decoder handles.
        expected: MessageType,
        /// The type found in TP-MTI.
        found: MessageType,
    },
    /// TP-DCS announces compressed user data (TS 23.042), which this codec does not implement.
    #[error("TP-DCS 0x{dcs:02X} announces compressed user data, which is not supported")]
    CompressedUserData {
        /// The TP-DCS octet.
        dcs: u8,
    },
    /// TP-UDL is larger than a single PDU can hold.
    #[error("TP-UDL {length} exceeds the maximum of {max} {unit}")]
    UserDataTooLong {
        /// TP-UDL as found.
        length: u8,
        /// The maximum for the alphabet.
        max: u8,
        /// "septets" or "octets".
        unit: &'static str,
    },
    /// The user data header (TP-UDHI set) cannot be parsed.
    #[error("user data header is malformed: {reason}")]
    MalformedHeader {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A time stamp field holds no valid date and time.
    #[error("{field} is not a valid time stamp: {reason}")]
    InvalidTimestamp {
        /// "TP-SCTS" or "TP-DT".
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A time stamp to encode lies outside the years 1990..=2089 that TP-SCTS can express.
    #[error(
        "time stamp {timestamp} at UTC offset {utc_offset_quarters} quarter hours is outside the years 1990..=2089"
    )]
    TimestampOutOfRange {
        /// Unix seconds as given.
        timestamp: i64,
        /// UTC offset as given.
        utc_offset_quarters: i8,
    },
    /// A UTC offset to encode cannot be expressed in TP-SCTS.
    #[error("UTC offset of {quarters} quarter hours is outside -79..=79")]
    UtcOffsetOutOfRange {
        /// The offset as given.
        quarters: i8,
    },
    /// The body needs more concatenated parts than the 8-bit part counter allows.
    #[error("message needs {parts} parts, more than the maximum of {MAX_PARTS}")]
    TooManyParts {
        /// Parts the body would need.
        parts: usize,
    },
}
