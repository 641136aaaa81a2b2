//! A cursor over PDU octets whose errors name the field that is missing.

use crate::SmsError;

/// Reads a PDU front to back; running out of octets is a [`SmsError::Truncated`] at the field
/// being read.
pub(crate) struct PduReader<'a> {
    remaining: &'a [u8],
}

impl<'a> PduReader<'a> {
    pub(crate) fn new(pdu: &'a [u8]) -> Self {
        Self { remaining: pdu }
    }

    /// Reads one octet of `field`.
    pub(crate) fn octet(&mut self, field: &'static str) -> Result<u8, SmsError> {
        let (&octet, rest) = self
            .remaining
            .split_first()
            .ok_or(SmsError::Truncated { field })?;
        self.remaining = rest;
        Ok(octet)
    }

    /// Reads `count` octets of `field`.
    pub(crate) fn octets(
        &mut self,
        count: usize,
        field: &'static str,
    ) -> Result<&'a [u8], SmsError> {
        let (octets, rest) = self
            .remaining
            .split_at_checked(count)
            .ok_or(SmsError::Truncated { field })?;
        self.remaining = rest;
        Ok(octets)
    }
}
