//! The modem's GNSS: probed at start, off by default, switched by the `gnss` option or
//! `SetEnabled`, polled while on.

use m2mhal_plugin_api::{CallErrorKind, CallReply, DeviceKind, FixMode, Request};

use crate::support::{EG25_GNSS, Identity, ready_as, ready_modem};

/// A SIM7600 with its GNSS, off.
const SIM7600: Identity = Identity {
    manufacturer: "SIMCOM INCORPORATED",
    model: "SIMCOM_SIM7600E-H",
    revision: "LE20B04SIM7600M22",
    imei: "862274040123456",
    gnss: Some("+CGPS: 0,1"),
};

#[test]
fn a_modem_with_gnss_lists_location_while_it_is_off_and_polls_nothing() {
    let mut modem = ready_as(&EG25_GNSS, &[]);
    let device = modem.device();
    assert_eq!(device.kind, Some(DeviceKind::CellularModem));
    assert_eq!(
        device.capabilities,
        Some(vec![
            "signal".to_owned(),
            "messaging".to_owned(),
            "location".to_owned()
        ])
    );
    assert!(!modem.location_enabled());
    assert!(modem.locations.iter().any(|u| u.enabled == Some(false)));
    modem.advance(60_000);
    modem.expect_no_tx();
}

#[test]
fn set_enabled_switches_a_quectel_on_polls_it_and_switches_it_off() {
    let mut modem = ready_as(&EG25_GNSS, &[]);
    let on = modem.call(Request::SetLocationEnabled(true));
    modem.ok("AT+QGPS=1", &[]);
    assert_eq!(modem.reply(on), Ok(CallReply::Done));
    assert!(modem.location_enabled());
    // No fix yet.
    modem.fails("AT+QGPSLOC=2", "+CME ERROR: 516");
    assert_eq!(modem.fix().mode, FixMode::None);
    assert!(
        modem.fixes().is_empty(),
        "no fix before, none now: nothing new"
    );
    modem.expect_no_tx();
    // The default interval: 5 s.
    modem.advance(4_999);
    modem.expect_no_tx();
    modem.advance(1);
    modem.ok(
        "AT+QGPSLOC=2",
        &["+QGPSLOC: 061951.000,31.84537,117.19882,0.7,62.2,3,150.30,36.0,19.4,110513,09"],
    );
    let fix = modem.fix();
    assert_eq!(fix.mode, FixMode::ThreeD);
    assert_eq!(
        (fix.latitude, fix.longitude, fix.altitude),
        (31.84537, 117.19882, 62.2)
    );
    assert_eq!((fix.satellites_used, fix.time), (9, 1_368_253_191));
    // The same fix again is no news.
    modem.advance(5_000);
    modem.ok(
        "AT+QGPSLOC=2",
        &["+QGPSLOC: 061951.000,31.84537,117.19882,0.7,62.2,3,150.30,36.0,19.4,110513,09"],
    );
    assert_eq!(modem.fixes().len(), 1);
    // Switching on again is done at once.
    let again = modem.call(Request::SetLocationEnabled(true));
    assert_eq!(modem.reply(again), Ok(CallReply::Done));
    modem.expect_no_tx();
    let off = modem.call(Request::SetLocationEnabled(false));
    modem.ok("AT+QGPSEND", &[]);
    assert_eq!(modem.reply(off), Ok(CallReply::Done));
    assert!(!modem.location_enabled());
    assert_eq!(modem.fix().mode, FixMode::None);
    modem.advance(20_000);
    modem.expect_no_tx();
}

#[test]
fn the_gnss_option_switches_it_on_at_start_and_sets_the_interval() {
    let mut modem = ready_as(&EG25_GNSS, &[("gnss", "true"), ("gnss_interval", "2")]);
    // Already on (a restart of the daemon): Quectel says so with 504.
    modem.fails("AT+QGPS=1", "+CME ERROR: 504");
    assert!(modem.location_enabled());
    modem.fails("AT+QGPSLOC=2", "+CME ERROR: 516");
    modem.advance(2_000);
    modem.fails("AT+QGPSLOC=2", "+CME ERROR: 516");
}

#[test]
fn a_simcom_is_switched_with_cgps_and_read_with_cgpsinfo() {
    let mut modem = ready_as(&SIM7600, &[("gnss", "true")]);
    modem.ok("AT+CGPS=1", &[]);
    modem.ok("AT+CGPSINFO", &["+CGPSINFO: ,,,,,,,,"]);
    assert_eq!(modem.fix().mode, FixMode::None);
    modem.advance(5_000);
    modem.ok(
        "AT+CGPSINFO",
        &["+CGPSINFO: 3113.343286,N,12121.234064,E,250311,072809.3,44.1,0.0,0"],
    );
    let fix = modem.fix();
    assert_eq!(fix.mode, FixMode::ThreeD);
    assert!((fix.latitude - (31.0 + 13.343286 / 60.0)).abs() < 1e-9);
    // The fix is lost.
    modem.advance(5_000);
    modem.ok("AT+CGPSINFO", &["+CGPSINFO: ,,,,,,,,"]);
    assert_eq!(modem.fix().mode, FixMode::None);
    assert!(modem.fix().latitude.is_nan());
    let off = modem.call(Request::SetLocationEnabled(false));
    modem.ok("AT+CGPS=0", &[]);
    assert_eq!(modem.reply(off), Ok(CallReply::Done));
}

#[test]
fn a_modem_without_gnss_refuses_set_enabled_and_a_failed_switch_fails_the_call() {
    let mut modem = ready_modem();
    assert!(
        !modem
            .device()
            .capabilities
            .unwrap()
            .contains(&"location".to_owned())
    );
    let on = modem.call(Request::SetLocationEnabled(true));
    assert_eq!(
        modem.reply(on).unwrap_err().kind,
        CallErrorKind::NotSupported
    );
    modem.expect_no_tx();

    let mut modem = ready_as(&EG25_GNSS, &[]);
    let on = modem.call(Request::SetLocationEnabled(true));
    modem.fails("AT+QGPS=1", "+CME ERROR: 503");
    assert_eq!(modem.reply(on).unwrap_err().kind, CallErrorKind::Failed);
    assert!(!modem.location_enabled());
    modem.advance(60_000);
    modem.expect_no_tx();
}

#[test]
fn a_bad_gnss_option_is_refused_by_name() {
    let error = m2mhal_plugin_api::sdk::Driver::open(m2mhal_plugin_api::OpenConfig {
        port: "/dev/ttyUSB2".into(),
        options: [("gnss".to_owned(), "yes".to_owned())].into(),
        ..Default::default()
    })
    .map(|_: m2mhal_driver_cellular::CellularDriver| ())
    .unwrap_err();
    assert!(error.contains("gnss"), "{error}");
}

#[test]
fn a_hangup_forgets_the_fix() {
    let mut modem = ready_as(&EG25_GNSS, &[("gnss", "true")]);
    modem.ok("AT+QGPS=1", &[]);
    modem.ok(
        "AT+QGPSLOC=2",
        &["+QGPSLOC: 061951.000,31.84537,117.19882,0.7,62.2,3,150.30,36.0,19.4,110513,09"],
    );
    assert_eq!(modem.fix().mode, FixMode::ThreeD);
    modem.input(m2mhal_plugin_api::Event::Hangup);
    assert_eq!(modem.state(), ("offline", "hangup"));
    assert_eq!(modem.fix().mode, FixMode::None);
    assert!(modem.fix().latitude.is_nan());
}
