//! NMEA 0183 for every m2mhal part that reads or writes it: verified sentences ([`Sentence`]),
//! their field formats, and the sentences a fix is made of ([`Nmea`]: GGA, RMC, GSA, GSV, VTG,
//! GLL and TXT of any talker); the fix assembler ([`FixAssembler`]) that puts the sentences of an
//! epoch together into one [`Fix`](m2mhal_plugin_api::Fix); and the other way, writing sentences
//! ([`sentence`], [`angle`], [`time_and_date`]). No I/O and no plugin entry point: the `gnss`
//! and `cellular` driver plugins, the daemon (ModemManager's NMEA traces), `m2msim` and `m2mctl`
//! all link it.

mod epoch;
mod fields;
mod frame;
mod sentences;
mod write;

pub use epoch::FixAssembler;
pub use fields::{Date, TimeOfDay};
pub use frame::{MAX_SENTENCE, Sentence, with_checksum};
pub use sentences::{Gga, Gll, Gsa, Gsv, Nmea, Position, Rmc, Vtg};
pub use write::{KNOTS_PER_M_S, angle, checksum, sentence, time_and_date};

/// Why a line was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NmeaError {
    /// The line does not start with `$` (the tail of a sentence, or noise).
    #[error("not a sentence start")]
    NoStart,
    /// No `*hh` checksum at the end.
    #[error("no checksum")]
    NoChecksum,
    /// The checksum does not match the sentence.
    #[error("checksum {actual:02X} where the sentence says {expected:02X}")]
    Checksum {
        /// The checksum the sentence carries.
        expected: u8,
        /// The checksum of the bytes received.
        actual: u8,
    },
    /// A byte that is not printable ASCII.
    #[error("not printable text")]
    NotText,
    /// The address field is empty or not alphanumeric.
    #[error("malformed address")]
    BadAddress,
    /// Longer than any sentence.
    #[error("longer than a sentence")]
    TooLong,
    /// A field that does not decode.
    #[error("malformed {field} {value:?}")]
    Field {
        /// Which field.
        field: &'static str,
        /// What it held.
        value: String,
    },
}

/// Verifies and decodes one line (without its line end).
pub fn parse_line(line: &[u8]) -> Result<Nmea, NmeaError> {
    Nmea::decode(&Sentence::parse(line)?)
}
