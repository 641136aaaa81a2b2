//! The plugin as the host sees it: nothing but the exported C entry table, CBOR in and out.

use m2mhal_driver_testkit::{CommonChecks, linked_plugin, writes};
use m2mhal_plugin_api::{DeviceKind, Effect, Event, FixMode, OpenConfig};

// Links the plugin's `m2mhal_plugin_entry`.
use m2mhal_driver_gnss as _;

fn common_checks() -> CommonChecks {
    let config = OpenConfig {
        port: "/dev/ttyACM0".into(),
        ..OpenConfig::default()
    };
    linked_plugin!().check_common("gnss", &config)
}

#[test]
fn entry_table_describes_the_driver() {
    let description = common_checks().description;
    assert_eq!(description.kinds, [DeviceKind::GnssReceiver]);
    assert!(description.at.is_empty());
    assert_eq!(description.default_baud, Some(9_600));
}

#[test]
fn a_fix_crosses_the_table_as_a_location_effect() {
    let mut checked = common_checks();
    assert!(
        writes(&checked.opened).is_empty(),
        "a receiver is only listened to"
    );
    let burst = b"$GPGGA,083723.00,5155.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70\r\n";
    checked.instance.handle(5, Event::Rx(burst.to_vec()));
    // The next second's GGA closes the epoch.
    let next = b"$GPGGA,083724.00,5155.55430,N,00434.65878,E,1,06,2.51,-4.2,M,46.0,M,,*7B\r\n";
    let effects = checked.instance.handle(1005, Event::Rx(next.to_vec()));
    let fix = effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Location(update) => update.fix.clone(),
            _ => None,
        })
        .expect("a location effect");
    assert_eq!(fix.mode, FixMode::ThreeD);
    assert!((fix.altitude + 4.0).abs() < 1e-9);
}
