//! Cellular modem driver (work in progress).
