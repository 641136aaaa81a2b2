//! Transcript tests: the driver against byte-for-byte modem conversations.

mod support;

mod commands;
mod init;
mod location;
mod location_ublox_telit;
mod receive;
mod recovery;
mod resume;
mod send;
mod signal;
