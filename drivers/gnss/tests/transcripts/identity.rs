//! What the driver claims and how the receiver is identified.

use std::collections::BTreeMap;

use m2mhal_driver_gnss::GnssDriver;
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{AtIdentity, DeviceKind};

use crate::support::{LEA_5H, Receiver, lea_5h};

#[test]
fn claimed_only_through_the_config_or_udev() {
    let description = GnssDriver::describe();
    assert_eq!(description.name, "gnss");
    assert_eq!(description.kinds, [DeviceKind::GnssReceiver]);
    assert_eq!(description.default_baud, Some(9_600));
    assert!(
        description.at.is_empty(),
        "no AT probe answer claims a port"
    );
    assert!(description.ble.is_empty());
    assert_eq!(description.udev.len(), 1);
    assert_eq!(
        description.udev[0].properties,
        BTreeMap::from([("ID_M2MHAL_DRIVER".to_owned(), "gnss".to_owned())])
    );
    let any_modem = AtIdentity {
        manufacturer: "u-blox".into(),
        model: "NEO-M8N".into(),
    };
    assert!(!description.at.iter().any(|rule| rule.matches(&any_modem)));
}

#[test]
fn opened_it_is_a_gnss_receiver_with_location_and_writes_nothing() {
    let mut receiver = Receiver::new();
    receiver.open();
    let device = receiver.device();
    assert_eq!(device.id.as_deref(), Some("gnss:ttyUSB0"));
    assert_eq!(device.kind, Some(DeviceKind::GnssReceiver));
    assert_eq!(device.capabilities, Some(vec!["location".to_owned()]));
    assert_eq!(receiver.state(), ("initializing", ""));
    assert!(receiver.location_enabled());
    receiver.rx(LEA_5H);
    assert_eq!(receiver.state(), ("ready", ""));
    receiver.advance(60_000);
    receiver.expect_no_tx();
}

#[test]
fn a_u_blox_names_itself_in_its_txt_sentences() {
    let receiver = lea_5h();
    let device = receiver.device();
    assert_eq!(device.manufacturer.as_deref(), Some("u-blox"));
    assert_eq!(device.model.as_deref(), Some("LEA-5H-0"));
    assert_eq!(device.revision.as_deref(), Some("6.00 (33247)"));
}
