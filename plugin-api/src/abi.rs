//! The C entry table of ABI v1. `include/m2mhal_plugin.h` is the same contract for C authors.
//!
//! A plugin exports one symbol, [`ENTRY_SYMBOL`], a function returning a pointer to a static
//! [`PluginV1`]. Buffers returned by the plugin are owned by the plugin and handed back to its
//! `free_buffer` once the host has copied them, so host and plugin never share an allocator.

use std::ffi::{c_char, c_void};

/// Name of the exported entry function (NUL-terminated, for `dlsym`).
pub const ENTRY_SYMBOL: &[u8] = b"m2mhal_plugin_entry\0";

/// The call succeeded; the output buffer holds CBOR.
pub const STATUS_OK: i32 = 0;
/// The call failed; the output buffer holds a UTF-8 message.
pub const STATUS_ERROR: i32 = 1;
/// The driver panicked (or crashed in a way it caught); the output buffer holds a UTF-8 message.
/// After a panic in `handle` the instance is poisoned and must be closed.
pub const STATUS_PANIC: i32 = 2;

/// A byte buffer allocated by the plugin.
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    /// Start of the bytes, or null when empty.
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// Allocation size, for the plugin's own `free_buffer`.
    pub cap: usize,
}

impl Buffer {
    /// An empty buffer, the state the host passes in.
    pub const fn empty() -> Self {
        Buffer {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }
}

/// Signature of the exported entry symbol.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginV1;
/// Writes the CBOR [`crate::DriverDescription`] into `out`.
pub type DescribeFn = unsafe extern "C" fn(out: *mut Buffer) -> i32;
/// Creates an instance from a CBOR [`crate::OpenConfig`]; on failure writes a message into `out`.
pub type OpenFn = unsafe extern "C" fn(
    config: *const u8,
    config_len: usize,
    instance: *mut *mut c_void,
    out: *mut Buffer,
) -> i32;
/// Hands one CBOR [`crate::Input`] to an instance; writes a CBOR array of effects into `out`.
pub type HandleFn = unsafe extern "C" fn(
    instance: *mut c_void,
    input: *const u8,
    input_len: usize,
    out: *mut Buffer,
) -> i32;
/// Destroys an instance.
pub type CloseFn = unsafe extern "C" fn(instance: *mut c_void);
/// Releases a buffer the plugin filled.
pub type FreeBufferFn = unsafe extern "C" fn(buffer: *mut Buffer);

/// The entry table, version 1. Later versions only append fields, so a host checks `abi_version`
/// and that `struct_size` covers the fields it uses.
#[repr(C)]
#[derive(Debug)]
pub struct PluginV1 {
    /// Must equal [`crate::ABI_VERSION`].
    pub abi_version: u32,
    /// `size_of::<PluginV1>()` as the plugin was compiled.
    pub struct_size: u32,
    /// Driver name, NUL-terminated, static.
    pub name: *const c_char,
    /// Plugin version, NUL-terminated, static.
    pub version: *const c_char,
    /// See [`DescribeFn`].
    pub describe: DescribeFn,
    /// See [`OpenFn`].
    pub open: OpenFn,
    /// See [`HandleFn`].
    pub handle: HandleFn,
    /// See [`CloseFn`].
    pub close: CloseFn,
    /// See [`FreeBufferFn`].
    pub free_buffer: FreeBufferFn,
}

// SAFETY: the table is immutable and its pointers are to static strings and functions.
unsafe impl Sync for PluginV1 {}
