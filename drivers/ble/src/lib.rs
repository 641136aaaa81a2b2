//! BLE sensor driver (work in progress).
