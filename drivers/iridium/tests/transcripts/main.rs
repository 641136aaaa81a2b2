//! Transcript tests: the driver against byte-for-byte Iridium 9602/9603 conversations.

mod support;

mod init;
mod receive;
mod recovery;
mod resume;
mod send;
