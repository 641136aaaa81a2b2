//! Decryption of encrypted BTHome service data (<https://bthome.io/encryption/>): AES-128-CCM with
//! a 4-byte MIC, no associated data, and the 13-byte nonce
//! `address (6, as written) | UUID16 d2 fc | device information byte | counter (4)`.

use aes::Aes128;
use ccm::Ccm;
use ccm::aead::{AeadInOut, KeyInit};
use ccm::consts::{U4, U13};

use super::BthomeError;
use crate::config::{Address, BindKey};

/// AES-128-CCM with a 4-byte MIC and a 13-byte nonce.
type BthomeCcm = Ccm<Aes128, U4, U13>;

/// The BTHome UUID16 as it is sent (little-endian).
const UUID16_ON_AIR: [u8; 2] = [0xd2, 0xfc];
const COUNTER_LEN: usize = 4;
const MIC_LEN: usize = 4;

/// Decrypts `body` (ciphertext, counter, MIC: everything after the device information byte
/// `info`) sent by `address`, checking the MIC.
pub(super) fn decrypt(
    key: &BindKey,
    address: &Address,
    info: u8,
    body: &[u8],
) -> Result<Vec<u8>, BthomeError> {
    let ciphertext_len = body
        .len()
        .checked_sub(COUNTER_LEN + MIC_LEN)
        .ok_or(BthomeError::TooShort)?;
    let (ciphertext, trailer) = body.split_at(ciphertext_len);
    let (counter, mic) = trailer.split_at(COUNTER_LEN);

    let mut nonce = [0u8; 13];
    nonce[..6].copy_from_slice(address);
    nonce[6..8].copy_from_slice(&UUID16_ON_AIR);
    nonce[8] = info;
    nonce[9..].copy_from_slice(counter);
    let mic: [u8; MIC_LEN] = mic.try_into().map_err(|_| BthomeError::TooShort)?;

    let mut plain = ciphertext.to_vec();
    BthomeCcm::new(&(*key).into())
        .decrypt_inout_detached(&nonce.into(), &[], plain.as_mut_slice().into(), &mic.into())
        .map_err(|_| BthomeError::Decrypt)?;
    Ok(plain)
}
