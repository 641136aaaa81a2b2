//! Fake BlueZ (work in progress).
