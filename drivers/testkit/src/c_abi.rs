//! [`PluginClient`]: a plugin driven through its exported C entry table, as the daemon drives it.
//!
//! ```
//! # use m2mhal_plugin_api::sdk::{Driver, Effects};
//! # use m2mhal_plugin_api::{DriverDescription, Effect, Event, Input, OpenConfig};
//! # /// Writes `ATE0` when its port opens.
//! # struct Echo { out: Effects }
//! # impl Driver for Echo {
//! #     fn describe() -> DriverDescription {
//! #         DriverDescription {
//! #             name: "echo".into(),
//! #             version: env!("CARGO_PKG_VERSION").into(),
//! #             ..Default::default()
//! #         }
//! #     }
//! #     fn open(_: OpenConfig) -> Result<Self, String> { Ok(Echo { out: Effects::new() }) }
//! #     fn handle(&mut self, input: Input) -> Vec<Effect> {
//! #         if input.event == Event::Opened {
//! #             self.out.push(Effect::Tx(b"ATE0\r".to_vec()));
//! #         }
//! #         self.out.take()
//! #     }
//! # }
//! // In a vendor's test, `use the_plugin_crate as _;` links the plugin's entry; here the driver
//! // above is exported in the test itself.
//! m2mhal_plugin_api::export_driver!(Echo, "echo");
//! use m2mhal_driver_testkit::writes;
//!
//! let plugin = m2mhal_driver_testkit::linked_plugin!();
//! let mut checked = plugin.check_common("echo", &OpenConfig::default());
//! assert_eq!(writes(&checked.opened), ["ATE0\r"]);
//! let answered = checked.instance.handle(10, Event::Rx(b"ATE0\r\r\nOK\r\n".to_vec()));
//! assert!(writes(&answered).is_empty());
//! ```

use std::ffi::{CStr, c_char, c_void};
use std::ptr::NonNull;

use m2mhal_plugin_api::abi::{Buffer, PluginV1, STATUS_ERROR, STATUS_OK};
use m2mhal_plugin_api::{ABI_VERSION, DriverDescription, Effect, Event, Input, OpenConfig, codec};

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

/// What [`PluginClient::check_common`] leaves for the driver's own checks.
#[derive(Debug)]
pub struct CommonChecks {
    /// What `describe` gave.
    pub description: DriverDescription,
    /// The effects of `Opened` (at `now_ms` 0).
    pub opened: Vec<Effect>,
    /// The instance, after `Opened` and after a garbage input it refused; it must keep working.
    pub instance: PluginInstance,
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

    /// Runs the checks every plugin must pass through its table: the ABI version and table size,
    /// `name` in the table and in the description, a version; an instance opened with `config`
    /// closes without having handled anything; another one handles `Opened` and refuses garbage
    /// instead of CBOR with an error message, not a crash. Returns what the driver's own checks
    /// need, the instance among it (dropping it closes it).
    #[track_caller]
    pub fn check_common(&self, name: &str, config: &OpenConfig) -> CommonChecks {
        assert_eq!(self.table.abi_version, ABI_VERSION);
        assert_eq!(self.table.struct_size as usize, size_of::<PluginV1>());
        assert_eq!(self.name(), name);
        assert!(!self.version().is_empty(), "the table names no version");
        let description = self.describe();
        assert_eq!(description.name, name);

        drop(self.open(config).expect_instance());
        let mut instance = self.open(config).expect_instance();
        let opened = instance.handle(0, Event::Opened);
        let (status, message) = instance.handle_raw(b"\xff\x00garbage");
        assert_eq!(status, STATUS_ERROR, "garbage input was not refused");
        assert!(
            !message.is_empty(),
            "garbage input was refused without a message"
        );
        CommonChecks {
            description,
            opened,
            instance,
        }
    }

    /// Opens an instance with `config` and option `key` set to `value`, which the plugin must
    /// refuse with a message that names `key`; returns the message.
    #[track_caller]
    pub fn check_refuses_option(&self, config: &OpenConfig, key: &str, value: &str) -> String {
        let mut config = config.clone();
        config.options.insert(key.to_owned(), value.to_owned());
        let message = self.open(&config).expect_refusal();
        assert!(
            message.contains(key),
            "the refusal does not name {key}: {message}"
        );
        message
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

impl OpenOutcome {
    /// The instance; panics with the plugin's message unless `open` succeeded.
    #[track_caller]
    pub fn expect_instance(self) -> PluginInstance {
        let message = String::from_utf8_lossy(&self.message);
        assert_eq!(self.status, STATUS_OK, "open failed: {message}");
        self.instance.expect("open succeeded without an instance")
    }

    /// The plugin's error message; panics unless `open` failed with `STATUS_ERROR`, made no
    /// instance and said why.
    #[track_caller]
    pub fn expect_refusal(self) -> String {
        assert_eq!(self.status, STATUS_ERROR, "open did not refuse");
        assert!(self.instance.is_none(), "open refused but made an instance");
        let message = String::from_utf8_lossy(&self.message).into_owned();
        assert!(!message.is_empty(), "open refused without a message");
        message
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
    /// with effects the host understands, every one of them.
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
        let decoded =
            codec::decode_effects(&output).unwrap_or_else(|error| panic!("bad effects: {error}"));
        assert!(
            decoded.rejected.is_empty(),
            "effects the host does not understand: {:?}",
            decoded.rejected
        );
        decoded.effects
    }

    /// Hands bytes received at `now_ms` to `handle`; what the driver wrote in answer, as text.
    #[track_caller]
    pub fn writes_after_rx(&mut self, now_ms: u64, bytes: &[u8]) -> Vec<String> {
        writes(&self.handle(now_ms, Event::Rx(bytes.to_vec())))
    }
}

impl Drop for PluginInstance {
    fn drop(&mut self) {
        // SAFETY: the instance came from `open` and is closed once, here.
        unsafe { (self.table.close)(self.instance.as_ptr()) };
    }
}

/// The client of the plugin linked into this test binary (`use the_plugin_crate as _;`), through
/// its exported `m2mhal_plugin_entry`.
#[macro_export]
macro_rules! linked_plugin {
    () => {{
        unsafe extern "C" {
            fn m2mhal_plugin_entry() -> *const $crate::plugin_api::abi::PluginV1;
        }
        // SAFETY: the entry returns the linked plugin's static table.
        unsafe { $crate::PluginClient::new(m2mhal_plugin_entry()) }
    }};
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
