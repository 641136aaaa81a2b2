//! The plugin as the host sees it: nothing but the exported C entry table, CBOR in and out.

use m2mhal_driver_testkit::{CommonChecks, EPOCH, linked_plugin};
use m2mhal_plugin_api::ble::{Advertisement, normalize_uuid};
use m2mhal_plugin_api::{DeviceKind, Effect, Event, OpenConfig, SensorUpdate};
use serde_bytes::ByteBuf;

// Links the plugin's `m2mhal_plugin_entry`.
use m2mhal_driver_ble as _;

/// The address and key of the bthome.io encryption example.
const ADDRESS: &str = "54:48:E6:8F:80:A5";
const KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";

fn config() -> OpenConfig {
    OpenConfig {
        port: ADDRESS.into(),
        options: [("bthome_key".to_owned(), KEY.to_owned())].into(),
        ..OpenConfig::default()
    }
}

fn common_checks() -> CommonChecks {
    linked_plugin!().check_common("ble", &config())
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
    let description = common_checks().description;
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
    let mut checked = common_checks();
    assert!(checked.opened.iter().any(|effect| matches!(
        effect,
        Effect::Device(update) if update.id.as_deref() == Some("ble:54:48:E6:8F:80:A5")
    )));

    // The garbage the common checks sent did not stop the instance. The bthome.io encryption
    // example:
    let advertisement = Advertisement {
        address: ADDRESS.into(),
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
    let effects = checked
        .instance
        .handle(0, Event::Advertisement(advertisement));
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
    assert_eq!(updates[0].updated_at, Some(EPOCH));
    // Dropping the instance closes it.
}

#[test]
fn open_refuses_bad_configuration_with_a_message() {
    linked_plugin!().check_refuses_option(&config(), "bthome_key", "secret");

    let not_an_address = OpenConfig {
        port: "/dev/ttyUSB0".into(),
        ..OpenConfig::default()
    };
    let message = linked_plugin!().open(&not_an_address).expect_refusal();
    assert!(message.contains("not a Bluetooth address"), "{message}");
}
