//! The Rust SDK: implement [`Driver`] and export it with [`crate::export_driver!`].
//!
//! A whole driver, for a serial thermometer that answers `READ?` with `T=21.5`: it polls the
//! device every 10 s and publishes `Sensor.Readings` (the crate type of such a plugin is
//! `cdylib`; `examples/rust-sensor` in the m2mhal tree is the full version, with replies to
//! application calls and a transcript test):
//!
//! ```
//! use m2mhal_plugin_api::sdk::{Driver, Effects};
//! use m2mhal_plugin_api::{
//!     DeviceKind, DeviceUpdate, DriverDescription, Effect, Event, Input, OpenConfig, SensorUpdate,
//! };
//!
//! /// Timer id of the next poll.
//! const POLL: u32 = 1;
//!
//! /// One thermometer: no I/O, no clock; the host hands it everything.
//! pub struct Thermometer {
//!     port: String,
//!     line: Vec<u8>,
//!     out: Effects,
//! }
//!
//! impl Driver for Thermometer {
//!     fn describe() -> DriverDescription {
//!         DriverDescription {
//!             name: "thermometer".into(),
//!             // Must equal the table's version, which export_driver! takes from Cargo.toml.
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             kinds: vec![DeviceKind::Sensor],
//!             default_baud: Some(9600),
//!             ..Default::default()
//!         }
//!     }
//!
//!     fn open(config: OpenConfig) -> Result<Self, String> {
//!         Ok(Thermometer { port: config.port, line: Vec::new(), out: Effects::new() })
//!     }
//!
//!     fn handle(&mut self, input: Input) -> Vec<Effect> {
//!         match input.event {
//!             Event::Opened | Event::Timer(POLL) => {
//!                 self.out.push(Effect::Tx(b"READ?\r\n".to_vec()));
//!                 self.out.set_timer(POLL, 10_000);
//!             }
//!             Event::Rx(bytes) => {
//!                 for byte in bytes {
//!                     if byte != b'\n' {
//!                         self.line.push(byte);
//!                         continue;
//!                     }
//!                     let line = String::from_utf8_lossy(&self.line).trim().to_owned();
//!                     self.line.clear();
//!                     if let Some(celsius) = line.strip_prefix("T=").and_then(|t| t.parse().ok()) {
//!                         self.out.device(DeviceUpdate {
//!                             id: Some(format!("thermometer:{}", self.port)),
//!                             state: Some("ready".into()),
//!                             capabilities: Some(vec!["sensor".into()]),
//!                             ..Default::default()
//!                         });
//!                         self.out.push(Effect::Sensor(SensorUpdate {
//!                             readings: [("temperature".to_owned(), celsius)].into(),
//!                             updated_at: Some(input.unix_time),
//!                         }));
//!                     }
//!                 }
//!             }
//!             // Hangups, other timers and events of later ABI minor versions: nothing to do.
//!             _ => {}
//!         }
//!         self.out.take()
//!     }
//! }
//!
//! m2mhal_plugin_api::export_driver!(Thermometer, "thermometer");
//!
//! // A transcript test needs no daemon: hand the driver inputs, compare its effects.
//! let config = OpenConfig { port: "/dev/ttyUSB0".into(), ..Default::default() };
//! let mut driver = Thermometer::open(config).unwrap();
//! let at = |event| Input { now_ms: 0, unix_time: 1_700_000_000, event };
//! let effects = driver.handle(at(Event::Opened));
//! assert_eq!(effects[0], Effect::Tx(b"READ?\r\n".to_vec()));
//! let effects = driver.handle(at(Event::Rx(b"T=21.5\r\n".to_vec())));
//! let Effect::Sensor(update) = &effects[1] else { panic!("{effects:?}") };
//! assert_eq!(update.readings["temperature"], 21.5);
//! ```
//!
//! While it handles an input, a driver collects what it asks the host to do in an [`Effects`].
//!
//! The generated entry points catch every panic: a panic in `describe` or `open` is reported as an
//! error, a panic in `handle` poisons that one instance and is reported to the host, which closes
//! the device. Nothing unwinds across the C boundary.
//!
//! That needs panics that unwind, Rust's default. A plugin built with `panic = "abort"` in its
//! profile would abort whatever process runs it instead; the description `export_driver!` answers
//! says how the plugin was built ([`crate::PanicStrategy`]), and the host runs such a plugin only
//! in worker processes of its own, never in the daemon.

mod effects;

pub use effects::Effects;

use std::any::Any;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::{Buffer, STATUS_ERROR, STATUS_OK, STATUS_PANIC};
use crate::codec;
use crate::describe::{DriverDescription, PanicStrategy};
use crate::messages::{Effect, Input, OpenConfig};

/// A sans-IO driver: no I/O, no clock, no threads. The host serialises calls per instance.
pub trait Driver: Sized + Send + 'static {
    /// Identity and claim rules of this driver.
    fn describe() -> DriverDescription;
    /// Creates an instance for one device. Do no I/O here; wait for [`crate::Event::Opened`].
    fn open(config: OpenConfig) -> Result<Self, String>;
    /// Reacts to one input and returns what the host must do.
    fn handle(&mut self, input: Input) -> Vec<Effect>;
}

/// Runtime support for the code [`crate::export_driver!`] generates. Not part of the stable API.
#[doc(hidden)]
pub mod export {
    use super::*;

    struct Instance<D> {
        driver: D,
        poisoned: bool,
    }

    fn panic_text(payload: &(dyn Any + Send)) -> String {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_owned())
    }

    /// Moves `bytes` into `out` (ownership goes to the host until it calls `free_buffer`).
    ///
    /// # Safety
    /// `out` must be null or valid for writes.
    unsafe fn fill(out: *mut Buffer, bytes: Vec<u8>) {
        if out.is_null() {
            return;
        }
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        // SAFETY: `out` is valid for writes per the caller's contract.
        unsafe {
            *out = Buffer {
                ptr: bytes.as_mut_ptr(),
                len: bytes.len(),
                cap: bytes.capacity(),
            };
        }
    }

    /// Fills `out` with the outcome of `body` and returns the status code.
    unsafe fn finish(
        out: *mut Buffer,
        outcome: std::thread::Result<Result<Vec<u8>, String>>,
    ) -> i32 {
        let (status, bytes) = match outcome {
            Ok(Ok(bytes)) => (STATUS_OK, bytes),
            Ok(Err(message)) => (STATUS_ERROR, message.into_bytes()),
            Err(payload) => (STATUS_PANIC, panic_text(payload.as_ref()).into_bytes()),
        };
        // SAFETY: forwarded caller contract.
        unsafe { fill(out, bytes) };
        status
    }

    /// `describe` entry: the driver's description, with the panic strategy of the plugin's
    /// build (`cfg!(panic = "unwind")` where [`crate::export_driver!`] is expanded) and the ABI
    /// minor version of this crate.
    ///
    /// # Safety
    /// `out` must be null or valid for writes.
    pub unsafe fn describe<D: Driver>(out: *mut Buffer, panic_strategy: PanicStrategy) -> i32 {
        let outcome = catch_unwind(|| {
            let description = DriverDescription {
                panic_strategy: Some(panic_strategy),
                abi_minor: Some(crate::ABI_MINOR),
                ..D::describe()
            };
            codec::encode(&description).map_err(|e| e.to_string())
        });
        // SAFETY: forwarded caller contract.
        unsafe { finish(out, outcome) }
    }

    /// `open` entry.
    ///
    /// # Safety
    /// `config` must point to `config_len` readable bytes; `instance` and `out` must be valid for
    /// writes (or null).
    pub unsafe fn open<D: Driver>(
        config: *const u8,
        config_len: usize,
        instance: *mut *mut c_void,
        out: *mut Buffer,
    ) -> i32 {
        if config.is_null() || instance.is_null() {
            // SAFETY: forwarded caller contract.
            return unsafe { finish(out, Ok(Err("null argument to open".into()))) };
        }
        // SAFETY: the caller guarantees `config_len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(config, config_len) };
        let outcome = catch_unwind(|| {
            let config: OpenConfig = codec::decode(bytes).map_err(|e| e.to_string())?;
            D::open(config)
        });
        match outcome {
            Ok(Ok(driver)) => {
                let boxed = Box::new(Instance {
                    driver,
                    poisoned: false,
                });
                // SAFETY: `instance` is valid for writes per the caller's contract.
                unsafe { *instance = Box::into_raw(boxed).cast() };
                // SAFETY: forwarded caller contract.
                unsafe { finish(out, Ok(Ok(Vec::new()))) }
            }
            Ok(Err(message)) => unsafe { finish(out, Ok(Err(message))) },
            Err(payload) => unsafe { finish(out, Err(payload)) },
        }
    }

    /// `handle` entry.
    ///
    /// # Safety
    /// `instance` must come from `open` of the same plugin and not be closed; `input` must point to
    /// `input_len` readable bytes; `out` must be valid for writes (or null).
    pub unsafe fn handle<D: Driver>(
        instance: *mut c_void,
        input: *const u8,
        input_len: usize,
        out: *mut Buffer,
    ) -> i32 {
        if instance.is_null() || input.is_null() {
            // SAFETY: forwarded caller contract.
            return unsafe { finish(out, Ok(Err("null argument to handle".into()))) };
        }
        // SAFETY: the instance pointer was produced by `open` for this `D`.
        let instance = unsafe { &mut *instance.cast::<Instance<D>>() };
        if instance.poisoned {
            // SAFETY: forwarded caller contract.
            return unsafe {
                finish(
                    out,
                    Ok(Err("instance is poisoned by an earlier panic".into())),
                )
            };
        }
        // SAFETY: the caller guarantees `input_len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(input, input_len) };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let input: Input = codec::decode(bytes).map_err(|e| e.to_string())?;
            let effects: Vec<Effect> = instance.driver.handle(input);
            codec::encode(&effects).map_err(|e| e.to_string())
        }));
        if outcome.is_err() {
            instance.poisoned = true;
        }
        // SAFETY: forwarded caller contract.
        unsafe { finish(out, outcome) }
    }

    /// `close` entry.
    ///
    /// # Safety
    /// `instance` must come from `open` of the same plugin and not be closed already.
    pub unsafe fn close<D: Driver>(instance: *mut c_void) {
        if instance.is_null() {
            return;
        }
        // SAFETY: produced by `Box::into_raw` in `open`.
        let boxed = unsafe { Box::from_raw(instance.cast::<Instance<D>>()) };
        // A panicking Drop must not unwind into the host.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    }

    /// `free_buffer` entry.
    ///
    /// # Safety
    /// `buffer` must be null or a buffer this plugin filled and not yet freed.
    pub unsafe fn free_buffer(buffer: *mut Buffer) {
        if buffer.is_null() {
            return;
        }
        // SAFETY: valid per the caller's contract.
        let buffer = unsafe { &mut *buffer };
        if !buffer.ptr.is_null() {
            // SAFETY: ptr/len/cap come from a Vec<u8> leaked in `fill`.
            drop(unsafe { Vec::from_raw_parts(buffer.ptr, buffer.len, buffer.cap) });
        }
        *buffer = Buffer::empty();
    }
}

/// Exports a [`Driver`] as an m2mhal plugin: `export_driver!(MyDriver, "name");`.
///
/// Generates the static entry table and the `m2mhal_plugin_entry` symbol. Use it once per
/// shared library. The description it answers carries the panic strategy of the plugin's build
/// ([`crate::PanicStrategy`]).
#[macro_export]
macro_rules! export_driver {
    ($driver:ty, $name:literal) => {
        const _: () = {
            unsafe extern "C" fn describe(out: *mut $crate::abi::Buffer) -> i32 {
                // The plugin's own build decides whether its panics unwind: record it, so the
                // host never runs a `panic = "abort"` plugin in its own process.
                let strategy = $crate::PanicStrategy::of_build(cfg!(panic = "unwind"));
                unsafe { $crate::sdk::export::describe::<$driver>(out, strategy) }
            }
            unsafe extern "C" fn open(
                config: *const u8,
                config_len: usize,
                instance: *mut *mut ::core::ffi::c_void,
                out: *mut $crate::abi::Buffer,
            ) -> i32 {
                unsafe { $crate::sdk::export::open::<$driver>(config, config_len, instance, out) }
            }
            unsafe extern "C" fn handle(
                instance: *mut ::core::ffi::c_void,
                input: *const u8,
                input_len: usize,
                out: *mut $crate::abi::Buffer,
            ) -> i32 {
                unsafe { $crate::sdk::export::handle::<$driver>(instance, input, input_len, out) }
            }
            unsafe extern "C" fn close(instance: *mut ::core::ffi::c_void) {
                unsafe { $crate::sdk::export::close::<$driver>(instance) }
            }
            unsafe extern "C" fn free_buffer(buffer: *mut $crate::abi::Buffer) {
                unsafe { $crate::sdk::export::free_buffer(buffer) }
            }
            static PLUGIN: $crate::abi::PluginV1 = $crate::abi::PluginV1 {
                abi_version: $crate::ABI_VERSION,
                struct_size: ::core::mem::size_of::<$crate::abi::PluginV1>() as u32,
                name: concat!($name, "\0").as_ptr().cast(),
                version: concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast(),
                describe,
                open,
                handle,
                close,
                free_buffer,
            };
            #[unsafe(no_mangle)]
            pub extern "C" fn m2mhal_plugin_entry() -> *const $crate::abi::PluginV1 {
                &PLUGIN
            }
        };
    };
}
