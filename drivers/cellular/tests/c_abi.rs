//! The plugin as the host sees it: nothing but the exported C entry table, CBOR in and out.

use m2mhal_driver_testkit::{PluginClient, writes};
use m2mhal_plugin_api::abi::{PluginV1, STATUS_ERROR, STATUS_OK};
use m2mhal_plugin_api::{ABI_VERSION, DeviceKind, Event, OpenConfig};

// Links the plugin's `m2mhal_plugin_entry`.
use m2mhal_driver_cellular as _;

unsafe extern "C" {
    fn m2mhal_plugin_entry() -> *const PluginV1;
}

fn plugin() -> PluginClient {
    // SAFETY: the entry returns a pointer to the plugin's static table.
    unsafe { PluginClient::new(m2mhal_plugin_entry()) }
}

#[test]
fn entry_table_describes_the_driver() {
    let plugin = plugin();
    assert_eq!(plugin.table().abi_version, ABI_VERSION);
    assert_eq!(plugin.table().struct_size as usize, size_of::<PluginV1>());
    assert_eq!(plugin.name(), "cellular");
    assert!(!plugin.version().is_empty());

    let description = plugin.describe();
    assert_eq!(description.name, "cellular");
    assert_eq!(description.kinds, [DeviceKind::CellularModem]);
    assert_eq!(description.at.len(), 1);
    assert_eq!(
        (
            description.at[0].manufacturer.as_ref(),
            description.at[0].model.as_ref()
        ),
        (None, None)
    );
    assert_eq!(description.at[0].priority, 0);
    assert_eq!(description.udev.len(), 1);
    assert_eq!(
        description.udev[0]
            .properties
            .get("ID_M2MHAL_DRIVER")
            .map(String::as_str),
        Some("cellular")
    );
    assert_eq!(description.default_baud, Some(115_200));
}

#[test]
fn open_handle_close_through_the_table() {
    let config = OpenConfig {
        port: "/dev/ttyUSB2".into(),
        ..OpenConfig::default()
    };
    let opened = plugin().open(&config);
    assert_eq!(
        opened.status,
        STATUS_OK,
        "{}",
        String::from_utf8_lossy(&opened.message)
    );
    let mut instance = opened.instance.expect("no instance");

    let effects = instance.handle(0, Event::Opened);
    assert_eq!(writes(&effects), ["ATE0\r"]);
    let answered = instance.handle(10, Event::Rx(b"ATE0\r\r\nOK\r\n".to_vec()));
    assert_eq!(writes(&answered), ["AT+CMEE=1\r"]);

    // Garbage instead of CBOR is an error, not a crash; the instance keeps working.
    let (status, message) = instance.handle_raw(b"\xff\x00garbage");
    assert_eq!(status, STATUS_ERROR);
    assert!(!message.is_empty());
    let next = instance.handle(20, Event::Rx(b"\r\nOK\r\n".to_vec()));
    assert_eq!(writes(&next), ["AT+CGMI\r"]);
    // Dropping the instance closes it.
}

#[test]
fn open_refuses_a_bad_option_with_a_message() {
    let config = OpenConfig {
        port: "/dev/ttyUSB2".into(),
        options: [("signal_interval".to_owned(), "-5".to_owned())].into(),
        ..OpenConfig::default()
    };
    let refused = plugin().open(&config);
    assert_eq!(refused.status, STATUS_ERROR);
    assert!(refused.instance.is_none());
    assert!(String::from_utf8_lossy(&refused.message).contains("signal_interval"));
}
