//! What the daemon and a driver worker say to each other over the worker's stdin and stdout.
//!
//! A frame is a `u32` little-endian length and that many bytes of payload; the payload is a CBOR
//! [`Request`] (daemon to worker) or [`Reply`] (worker to daemon). The protocol is a byte relay:
//! a request carries the CBOR bytes the C ABI entry point takes, a reply the bytes the plugin
//! returned, so it does not depend on the plugin message types. Every request gets exactly one
//! reply, in order.

use std::io::{Read, Write};

use m2mhal_plugin_api::codec;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest payload either side accepts; a bigger length is a protocol error and is never
/// allocated.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// A request from the daemon to its worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Call the plugin's `describe`; the reply carries the description's CBOR.
    Describe,
    /// Call the plugin's `open` with these `OpenConfig` bytes (once per worker).
    Open(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Call the plugin's `handle` on the open instance with these `Input` bytes; the reply carries
    /// the effects' CBOR.
    Handle(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// A worker's answer to one [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The entry point succeeded with these bytes.
    Ok(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The plugin reported an error (`PluginError::Failed`).
    Failed {
        /// The plugin's message.
        message: String,
    },
    /// The plugin panicked (`PluginError::Panicked`).
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The worker could not load the plugin, or the request made no sense (say, `Handle` before
    /// `Open`); the message says why, as the daemon would have.
    Refused {
        /// Why.
        message: String,
    },
}

/// A frame that could not be read, written or understood.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The pipe failed or closed in the middle of a frame.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A frame announced more than [`MAX_FRAME`] bytes.
    #[error("frame of {0} bytes is larger than the {MAX_FRAME} allowed")]
    TooLarge(u64),
    /// The payload is not CBOR of the expected message.
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
}

/// The payload length a frame header announces, if acceptable.
fn payload_len(header: [u8; 4]) -> Result<usize, ProtocolError> {
    let len = u32::from_le_bytes(header);
    usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_FRAME)
        .ok_or(ProtocolError::TooLarge(u64::from(len)))
}

/// One frame (header and payload) holding `message`, ready to be written in one go.
pub fn frame<T: Serialize>(message: &T) -> Result<Vec<u8>, ProtocolError> {
    let payload = codec::encode(message)?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len as usize <= MAX_FRAME)
        .ok_or(ProtocolError::TooLarge(payload.len() as u64))?;
    let mut bytes = Vec::with_capacity(4 + payload.len());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// Decodes a frame's payload.
pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, ProtocolError> {
    Ok(codec::decode(payload)?)
}

/// Reads one frame's payload (blocking); `None` at a clean end of stream before a frame.
pub fn read_frame(input: &mut impl Read) -> Result<Option<Vec<u8>>, ProtocolError> {
    let mut header = [0; 4];
    let mut filled = 0;
    while filled < header.len() {
        match input.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut payload = vec![0; payload_len(header)?];
    input.read_exact(&mut payload)?;
    Ok(Some(payload))
}

/// Writes `message` as one frame (blocking) and flushes.
pub fn write_frame<T: Serialize>(
    output: &mut impl Write,
    message: &T,
) -> Result<(), ProtocolError> {
    output.write_all(&frame(message)?)?;
    output.flush()?;
    Ok(())
}

/// Reads one frame's payload; an end of stream is an error (a reply was due).
pub async fn read_frame_async(
    input: &mut (impl AsyncRead + Unpin),
) -> Result<Vec<u8>, ProtocolError> {
    let mut header = [0; 4];
    input.read_exact(&mut header).await?;
    let mut payload = vec![0; payload_len(header)?];
    input.read_exact(&mut payload).await?;
    Ok(payload)
}

/// Writes `message` as one frame and flushes.
pub async fn write_frame_async<T: Serialize>(
    output: &mut (impl AsyncWrite + Unpin),
    message: &T,
) -> Result<(), ProtocolError> {
    output.write_all(&frame(message)?).await?;
    output.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_frame_is_a_little_endian_length_and_cbor() {
        let bytes = frame(&Request::Handle(vec![0xa1, 0x02])).unwrap();
        // CBOR {"Handle": h'a102'}: map(1), text(6) "Handle", bytes(2).
        let payload = [&[0xa1, 0x66][..], b"Handle", &[0x42, 0xa1, 0x02]].concat();
        assert_eq!(&bytes[..4], &(payload.len() as u32).to_le_bytes());
        assert_eq!(&bytes[4..], &payload[..]);
        // A unit variant is its name as a text string.
        assert_eq!(&frame(&Request::Describe).unwrap()[4..], b"\x68Describe");
    }

    #[test]
    fn frames_read_back_in_order_then_a_clean_end() {
        let mut stream = Vec::new();
        write_frame(&mut stream, &Reply::Ok(b"effects".to_vec())).unwrap();
        write_frame(
            &mut stream,
            &Reply::Panicked {
                message: "boom".into(),
            },
        )
        .unwrap();
        let mut input = &stream[..];
        let first = read_frame(&mut input).unwrap().unwrap();
        assert_eq!(
            decode::<Reply>(&first).unwrap(),
            Reply::Ok(b"effects".to_vec())
        );
        let second = read_frame(&mut input).unwrap().unwrap();
        assert_eq!(
            decode::<Reply>(&second).unwrap(),
            Reply::Panicked {
                message: "boom".into()
            }
        );
        assert!(read_frame(&mut input).unwrap().is_none());
    }

    #[test]
    fn an_oversized_length_is_refused_without_allocating_it() {
        let mut input = &[0xff, 0xff, 0xff, 0xff, 0x00][..];
        assert!(matches!(
            read_frame(&mut input),
            Err(ProtocolError::TooLarge(0xffff_ffff))
        ));
        let just_over = (MAX_FRAME as u32 + 1).to_le_bytes();
        assert!(matches!(
            read_frame(&mut &just_over[..]),
            Err(ProtocolError::TooLarge(_))
        ));
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_an_error() {
        let bytes = frame(&Request::Open(vec![1, 2, 3])).unwrap();
        for cut in 1..bytes.len() {
            assert!(read_frame(&mut &bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn the_async_side_speaks_the_same_frames() {
        let (mut daemon, mut worker) = tokio::io::duplex(64);
        write_frame_async(&mut daemon, &Request::Open(b"config".to_vec()))
            .await
            .unwrap();
        let payload = read_frame_async(&mut worker).await.unwrap();
        assert_eq!(
            decode::<Request>(&payload).unwrap(),
            Request::Open(b"config".to_vec())
        );
        drop(daemon);
        assert!(matches!(
            read_frame_async(&mut worker).await,
            Err(ProtocolError::Io(_))
        ));
    }

    fn any_request() -> impl Strategy<Value = Request> {
        prop_oneof![
            Just(Request::Describe),
            any::<Vec<u8>>().prop_map(Request::Open),
            any::<Vec<u8>>().prop_map(Request::Handle),
        ]
    }

    fn any_reply() -> impl Strategy<Value = Reply> {
        prop_oneof![
            any::<Vec<u8>>().prop_map(Reply::Ok),
            any::<String>().prop_map(|message| Reply::Failed { message }),
            any::<String>().prop_map(|message| Reply::Panicked { message }),
            any::<String>().prop_map(|message| Reply::Refused { message }),
        ]
    }

    proptest! {
        #[test]
        fn requests_and_replies_round_trip(request in any_request(), reply in any_reply()) {
            let mut stream = Vec::new();
            write_frame(&mut stream, &request).unwrap();
            write_frame(&mut stream, &reply).unwrap();
            let mut input = &stream[..];
            let payload = read_frame(&mut input).unwrap().unwrap();
            prop_assert_eq!(decode::<Request>(&payload).unwrap(), request);
            let payload = read_frame(&mut input).unwrap().unwrap();
            prop_assert_eq!(decode::<Reply>(&payload).unwrap(), reply);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in any::<Vec<u8>>()) {
            let _ = decode::<Request>(&bytes);
            let _ = decode::<Reply>(&bytes);
            let mut input = &bytes[..];
            while let Ok(Some(payload)) = read_frame(&mut input) {
                let _ = decode::<Reply>(&payload);
            }
        }
    }
}
