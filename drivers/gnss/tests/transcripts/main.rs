//! Transcript tests: the driver against byte-for-byte receiver output.

mod support;

mod fixes;
mod identity;
mod link;
