//! The plugin as the host sees it: nothing but the exported C entry table, CBOR in and out.

use std::ffi::{CStr, c_void};

use m2mhal_plugin_api::abi::{Buffer, PluginV1, STATUS_ERROR, STATUS_OK};
use m2mhal_plugin_api::{
    ABI_VERSION, DeviceKind, DriverDescription, Effect, Event, Input, OpenConfig, codec,
};

// Links the plugin's `m2mhal_plugin_entry`.
use m2mhal_driver_iridium as _;

unsafe extern "C" {
    fn m2mhal_plugin_entry() -> *const PluginV1;
}

fn plugin() -> &'static PluginV1 {
    // SAFETY: the entry returns a pointer to a static table.
    unsafe { &*m2mhal_plugin_entry() }
}

/// Copies a buffer the plugin filled and hands it back to the plugin.
fn take(mut buffer: Buffer) -> Vec<u8> {
    let bytes = if buffer.ptr.is_null() {
        Vec::new()
    } else {
        // SAFETY: the plugin filled `len` bytes at `ptr`.
        unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec()
    };
    // SAFETY: the buffer came from this plugin and is freed once.
    unsafe { (plugin().free_buffer)(&mut buffer) };
    bytes
}

fn open(config: &OpenConfig) -> (i32, *mut c_void, Vec<u8>) {
    let bytes = codec::encode(config).unwrap();
    let mut instance: *mut c_void = std::ptr::null_mut();
    let mut out = Buffer::empty();
    // SAFETY: valid pointers for the duration of the call.
    let status = unsafe { (plugin().open)(bytes.as_ptr(), bytes.len(), &mut instance, &mut out) };
    (status, instance, take(out))
}

fn handle_raw(instance: *mut c_void, bytes: &[u8]) -> (i32, Vec<u8>) {
    let mut out = Buffer::empty();
    // SAFETY: `instance` came from `open`; the input is valid for the call.
    let status = unsafe { (plugin().handle)(instance, bytes.as_ptr(), bytes.len(), &mut out) };
    (status, take(out))
}

fn handle(instance: *mut c_void, now_ms: u64, event: Event) -> Vec<Effect> {
    let input = codec::encode(&Input {
        now_ms,
        unix_time: 1_700_000_000,
        event,
    })
    .unwrap();
    let (status, bytes) = handle_raw(instance, &input);
    assert_eq!(status, STATUS_OK, "{}", String::from_utf8_lossy(&bytes));
    codec::decode_effects(&bytes).unwrap().effects
}

fn writes(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Tx(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn entry_table_describes_the_driver() {
    let plugin = plugin();
    assert_eq!(plugin.abi_version, ABI_VERSION);
    assert_eq!(plugin.struct_size as usize, size_of::<PluginV1>());
    // SAFETY: name and version are static NUL-terminated strings.
    assert_eq!(
        unsafe { CStr::from_ptr(plugin.name) }.to_str(),
        Ok("iridium")
    );

    let mut out = Buffer::empty();
    // SAFETY: `out` is valid for writes.
    assert_eq!(unsafe { (plugin.describe)(&mut out) }, STATUS_OK);
    let description: DriverDescription = codec::decode(&take(out)).unwrap();
    assert_eq!(description.name, "iridium");
    assert_eq!(description.kinds, [DeviceKind::SatelliteTerminal]);
    assert_eq!(description.at.len(), 1);
    assert_eq!(description.at[0].manufacturer.as_deref(), Some("iridium"));
    assert_eq!(description.at[0].priority, 100);
    assert_eq!(description.default_baud, Some(19_200));
}

#[test]
fn open_handle_close_through_the_table() {
    let config = OpenConfig {
        port: "/dev/ttyUSB0".into(),
        ..OpenConfig::default()
    };
    let (status, instance, message) = open(&config);
    assert_eq!(status, STATUS_OK, "{}", String::from_utf8_lossy(&message));
    assert!(!instance.is_null());

    let opened = handle(instance, 0, Event::Opened);
    assert_eq!(writes(&opened), ["ATE0\r"]);
    let answered = handle(instance, 10, Event::Rx(b"ATE0\r\r\nOK\r\n".to_vec()));
    assert_eq!(writes(&answered), ["AT&K0\r"]);

    // Garbage instead of CBOR is an error, not a crash; the instance keeps working.
    let (status, message) = handle_raw(instance, b"\xff\x00garbage");
    assert_eq!(status, STATUS_ERROR);
    assert!(!message.is_empty());
    let next = handle(instance, 20, Event::Rx(b"\r\nERROR\r\n".to_vec()));
    assert_eq!(writes(&next), ["AT+CGMI\r"]);

    // SAFETY: `instance` came from `open` and is closed once.
    unsafe { (plugin().close)(instance) };
}

#[test]
fn open_refuses_a_bad_option_with_a_message() {
    let config = OpenConfig {
        port: "/dev/ttyUSB0".into(),
        options: [("max_backoff".to_owned(), "-5".to_owned())].into(),
        ..OpenConfig::default()
    };
    let (status, instance, message) = open(&config);
    assert_eq!(status, STATUS_ERROR);
    assert!(instance.is_null());
    assert!(String::from_utf8_lossy(&message).contains("max_backoff"));
}
