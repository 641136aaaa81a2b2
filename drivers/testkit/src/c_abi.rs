//! [`PluginClient`]: a plugin driven through its exported C entry table, as the daemon drives it.
//!
//! ```ignore
//! unsafe extern "C" {
//!     fn m2mhal_plugin_entry() -> *const PluginV1;
//! }
//! // SAFETY: the entry returns the plugin's static table.
//! let plugin = unsafe { PluginClient::new(m2mhal_plugin_entry()) };
//! let mut instance = plugin.open(&OpenConfig::default()).instance.unwrap();
//! assert_eq!(writes(&instance.handle(0, Event::Opened)), ["ATE0\r"]);
//! ```

use std::ffi::{CStr, c_char, c_void};
use std::ptr::NonNull;

use m2mhal_plugin_api::abi::{Buffer, PluginV1, STATUS_OK};
use m2mhal_plugin_api::{DriverDescription, Effect, Event, Input, OpenConfig, codec};

use crate::host::EPOCH;

/// A plugin's C entry table.
#[derive(Debug, Clone, Copy)]
pub struct PluginClient {
    table: &'static PluginV1,
}

/// What `open` gave back.
#[derive(Debug)]
pub struct OpenOutcome {
    /// The status code (`STATUS_OK`, `STATUS_ERROR`, ...).
    pub status: i32,
    /// The instance, if the plugin made one.
    pub instance: Option<PluginInstance>,
    /// The bytes of the output buffer (the error message on failure).
    pub message: Vec<u8>,
}

/// One open instance of a plugin; closed when dropped.
#[derive(Debug)]
pub struct PluginInstance {
    table: &'static PluginV1,
    instance: NonNull<c_void>,
}

impl PluginClient {
    /// The client of the table at `table`.
    ///
    /// # Safety
    /// `table` must be what a plugin's `m2mhal_plugin_entry` returned: a valid table that lives
    /// as long as the program, whose functions keep the ABI's contracts.
    pub unsafe fn new(table: *const PluginV1) -> Self {
        // SAFETY: a valid static table per the caller's contract.
        Self {
            table: unsafe { &*table },
        }
    }

    /// The entry table itself.
    pub fn table(&self) -> &'static PluginV1 {
        self.table
    }

    /// The driver name in the table.
    pub fn name(&self) -> String {
        static_text(self.table.name)
    }

    /// The plugin version in the table.
    pub fn version(&self) -> String {
        static_text(self.table.version)
    }

    /// The driver description; panics unless `describe` succeeds with valid CBOR.
    pub fn describe(&self) -> DriverDescription {
        let mut out = Buffer::empty();
        // SAFETY: `out` is valid for writes.
        let status = unsafe { (self.table.describe)(&mut out) };
        let bytes = take(self.table, out);
        assert_eq!(status, STATUS_OK, "{}", String::from_utf8_lossy(&bytes));
        codec::decode(&bytes).unwrap_or_else(|error| panic!("bad description: {error}"))
    }

    /// Opens an instance with `config`.
    pub fn open(&self, config: &OpenConfig) -> OpenOutcome {
        let bytes =
            codec::encode(config).unwrap_or_else(|error| panic!("cannot encode config: {error}"));
        let mut instance: *mut c_void = std::ptr::null_mut();
        let mut out = Buffer::empty();
        // SAFETY: the pointers are valid for the duration of the call.
        let status =
            unsafe { (self.table.open)(bytes.as_ptr(), bytes.len(), &mut instance, &mut out) };
        OpenOutcome {
            status,
            instance: NonNull::new(instance).map(|instance| PluginInstance {
                table: self.table,
                instance,
            }),
            message: take(self.table, out),
        }
    }
}

impl PluginInstance {
    /// Hands `input` (CBOR, or anything else) to `handle`; the status and the output bytes.
    pub fn handle_raw(&mut self, input: &[u8]) -> (i32, Vec<u8>) {
        let mut out = Buffer::empty();
        // SAFETY: the instance is open (it is closed only on drop); the input is valid for the
        // call and `out` for writes.
        let status = unsafe {
            (self.table.handle)(
                self.instance.as_ptr(),
                input.as_ptr(),
                input.len(),
                &mut out,
            )
        };
        (status, take(self.table, out))
    }

    /// Hands `event` at `now_ms` ([`EPOCH`] as Unix time) to `handle`; panics unless it succeeds
    /// with valid effects.
    #[track_caller]
    pub fn handle(&mut self, now_ms: u64, event: Event) -> Vec<Effect> {
        let input = Input {
            now_ms,
            unix_time: EPOCH,
            event,
        };
        let bytes =
            codec::encode(&input).unwrap_or_else(|error| panic!("cannot encode input: {error}"));
        let (status, output) = self.handle_raw(&bytes);
        assert_eq!(status, STATUS_OK, "{}", String::from_utf8_lossy(&output));
        codec::decode_effects(&output)
            .unwrap_or_else(|error| panic!("bad effects: {error}"))
            .effects
    }
}

impl Drop for PluginInstance {
    fn drop(&mut self) {
        // SAFETY: the instance came from `open` and is closed once, here.
        unsafe { (self.table.close)(self.instance.as_ptr()) };
    }
}

/// The bytes written by `Effect::Tx` among `effects`, as text.
pub fn writes(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Tx(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .collect()
}

/// Copies a buffer the plugin filled and hands it back to the plugin.
fn take(table: &PluginV1, mut buffer: Buffer) -> Vec<u8> {
    let bytes = if buffer.ptr.is_null() {
        Vec::new()
    } else {
        // SAFETY: the plugin filled `len` bytes at `ptr`.
        unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec()
    };
    // SAFETY: the buffer came from this plugin and is freed once.
    unsafe { (table.free_buffer)(&mut buffer) };
    bytes
}

/// A static NUL-terminated string of the table.
fn static_text(text: *const c_char) -> String {
    // SAFETY: the table's strings are static and NUL-terminated.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}
