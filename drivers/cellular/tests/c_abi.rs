//! The plugin as the host sees it: nothing but the exported C entry table, CBOR in and out.

use m2mhal_driver_testkit::{CommonChecks, linked_plugin, writes};
use m2mhal_plugin_api::{DeviceKind, OpenConfig};

// Links the plugin's `m2mhal_plugin_entry`.
use m2mhal_driver_cellular as _;

fn config() -> OpenConfig {
    OpenConfig {
        port: "/dev/ttyUSB2".into(),
        ..OpenConfig::default()
    }
}

fn common_checks() -> CommonChecks {
    linked_plugin!().check_common("cellular", &config())
}

#[test]
fn entry_table_describes_the_driver() {
    let description = common_checks().description;
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
    let mut checked = common_checks();
    let opened = writes(&checked.opened);
    assert!(opened.len() == 1 && opened[0].starts_with('\u{1b}') && opened[0].ends_with("ATE1\r"));
    // The garbage the common checks sent did not stop the instance.
    assert_eq!(checked.instance.writes_after_rx(5, b"\r\nOK\r\n"), ["AT\r"]);
    assert_eq!(
        checked.instance.writes_after_rx(8, b"AT\r\r\nOK\r\n"),
        ["ATE0\r"]
    );
    assert_eq!(
        checked.instance.writes_after_rx(10, b"ATE0\r\r\nOK\r\n"),
        ["AT+CMEE=1\r"]
    );
    assert_eq!(
        checked.instance.writes_after_rx(20, b"\r\nOK\r\n"),
        ["AT+CGMI\r"]
    );
    // Dropping the instance closes it.
}

#[test]
fn open_refuses_a_bad_option_with_a_message() {
    linked_plugin!().check_refuses_option(&config(), "signal_interval", "-5");
}
