//! The plugin as the host sees it: nothing but the exported C entry table, CBOR in and out.

use std::ffi::{CStr, c_void};

use m2mhal_plugin_api::abi::{Buffer, PluginV1, STATUS_ERROR, STATUS_OK};
use m2mhal_plugin_api::ble::{Advertisement, normalize_uuid};
use m2mhal_plugin_api::{
    ABI_VERSION, DeviceKind, DriverDescription, Effect, Event, Input, OpenConfig, SensorUpdate,
    codec,
};
use serde_bytes::ByteBuf;

// Links the plugin's `m2mhal_plugin_entry`.
use m2mhal_driver_ble as _;

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

fn handle(instance: *mut c_void, event: Event) -> Vec<Effect> {
    let input = codec::encode(&Input {
        now_ms: 0,
        unix_time: 1_700_000_000,
        event,
    })
    .unwrap();
    let (status, bytes) = handle_raw(instance, &input);
    assert_eq!(status, STATUS_OK, "{}", String::from_utf8_lossy(&bytes));
    let decoded = codec::decode_effects(&bytes).unwrap();
    assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
    decoded.effects
}

fn sensor_updates(effects: &[Effect]) -> Vec<&SensorUpdate> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Sensor(update) => Some(update),
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
    assert_eq!(unsafe { CStr::from_ptr(plugin.name) }.to_str(), Ok("ble"));
    assert!(
        !unsafe { CStr::from_ptr(plugin.version) }
            .to_bytes()
            .is_empty()
    );

    let mut out = Buffer::empty();
    // SAFETY: `out` is valid for writes.
    assert_eq!(unsafe { (plugin.describe)(&mut out) }, STATUS_OK);
    let description: DriverDescription = codec::decode(&take(out)).unwrap();
    assert_eq!(description.name, "ble");
    assert_eq!(description.kinds, [DeviceKind::BleDevice]);
    assert!(description.udev.is_empty() && description.at.is_empty());
    assert_eq!(description.ble.len(), 1);
    let rule = &description.ble[0];
    assert_eq!(rule.priority, 0);

    let bthome = Advertisement {
        service_data: [(normalize_uuid("fcd2").unwrap(), ByteBuf::from(vec![0x40]))].into(),
        ..Advertisement::default()
    };
    let environmental = Advertisement {
        services: vec![normalize_uuid("181a").unwrap()],
        ..Advertisement::default()
    };
    let battery = Advertisement {
        services: vec![normalize_uuid("180f").unwrap()],
        ..Advertisement::default()
    };
    let heart_rate = Advertisement {
        services: vec![normalize_uuid("180d").unwrap()],
        ..Advertisement::default()
    };
    assert!(rule.matches(&bthome) && rule.matches(&environmental) && rule.matches(&battery));
    assert!(!rule.matches(&heart_rate));
}

#[test]
fn open_handle_close_through_the_table() {
    let config = OpenConfig {
        port: "54:48:E6:8F:80:A5".into(),
        options: [(
            "bthome_key".to_owned(),
            "231d39c1d7cc1ab1aee224cd096db932".to_owned(),
        )]
        .into(),
        ..OpenConfig::default()
    };
    let (status, instance, message) = open(&config);
    assert_eq!(status, STATUS_OK, "{}", String::from_utf8_lossy(&message));
    assert!(!instance.is_null());

    let opened = handle(instance, Event::Opened);
    assert!(opened.iter().any(|effect| matches!(
        effect,
        Effect::Device(update) if update.id.as_deref() == Some("ble:54:48:E6:8F:80:A5")
    )));

    // Garbage instead of CBOR is an error, not a crash; the instance keeps working.
    let (status, message) = handle_raw(instance, b"\xff\x00garbage");
    assert_eq!(status, STATUS_ERROR);
    assert!(!message.is_empty());

    // The bthome.io encryption example.
    let advertisement = Advertisement {
        address: "54:48:E6:8F:80:A5".into(),
        service_data: [(
            normalize_uuid("fcd2").unwrap(),
            ByteBuf::from(vec![
                0x41, 0xa4, 0x72, 0x66, 0xc9, 0x5f, 0x73, 0x00, 0x11, 0x22, 0x33, 0x78, 0x23, 0x72,
                0x14,
            ]),
        )]
        .into(),
        ..Advertisement::default()
    };
    let effects = handle(instance, Event::Advertisement(advertisement));
    let updates = sensor_updates(&effects);
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].readings,
        [
            ("humidity".to_owned(), 50.55),
            ("temperature".to_owned(), 25.06)
        ]
        .into()
    );
    assert_eq!(updates[0].updated_at, Some(1_700_000_000));

    // SAFETY: `instance` came from `open` and is closed once.
    unsafe { (plugin().close)(instance) };
}

#[test]
fn open_refuses_bad_configuration_with_a_message() {
    let bad_key = OpenConfig {
        port: "54:48:E6:8F:80:A5".into(),
        options: [("bthome_key".to_owned(), "secret".to_owned())].into(),
        ..OpenConfig::default()
    };
    let (status, instance, message) = open(&bad_key);
    assert_eq!(status, STATUS_ERROR);
    assert!(instance.is_null());
    assert!(String::from_utf8_lossy(&message).contains("bthome_key"));

    let not_an_address = OpenConfig {
        port: "/dev/ttyUSB0".into(),
        ..OpenConfig::default()
    };
    let (status, _, message) = open(&not_an_address);
    assert_eq!(status, STATUS_ERROR);
    assert!(String::from_utf8_lossy(&message).contains("not a Bluetooth address"));
}
