//! The one tracing span of a device: every log line of a device names its port (device node or
//! Bluetooth address) once, and its `Id` once it is known, and nothing else, so that journal
//! lines stay short. (Which driver serves it is logged once, when it is published.)

/// The span for the device on `port`; [`crate::device::task`] fills in `id`.
pub fn device_span(port: &str) -> tracing::Span {
    tracing::info_span!("dev", port = %port, id = tracing::field::Empty)
}
