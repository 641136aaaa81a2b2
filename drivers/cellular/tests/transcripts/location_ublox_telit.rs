//! The GNSS of u-blox (`AT+UGPS`, `AT+UGRMC`, `AT+UGGGA`) and Telit (`AT$GPSP`, `AT$GPSACP`) modems:
//! probed at start, switched on, polled for a fix, no fix, an error answer, switched off.

use m2mhal_plugin_api::{CallErrorKind, CallReply, FixMode, LogLevel, Request};

use crate::support::{Identity, ready_as};

/// A SARA-R510M8S (a u-blox M8 GNSS inside), its GNSS off.
const SARA_R5: Identity = Identity {
    manufacturer: "u-blox",
    model: "SARA-R510M8S",
    revision: "03.15",
    imei: "004401083640735",
    gnss: Some("+UGPS: 0"),
};

/// An LE910C1-EU, its GNSS off.
const LE910C1: Identity = Identity {
    manufacturer: "Telit",
    model: "LE910C1-EU",
    revision: "25.21.660",
    imei: "354757090123458",
    gnss: Some("$GPSP: 0"),
};

/// The RMC example of the u-blox 8 / M8 Receiver Description, as `AT+UGRMC?` wraps it.
const UGRMC_FIX: &str =
    "+UGRMC: 1,$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57";
/// The GGA example of the same manual, as `AT+UGGGA?` wraps it.
const UGGGA_FIX: &str =
    "+UGGGA: 1,$GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,*5B";
/// A running u-blox receiver without a fix.
const UGRMC_SEARCHING: &str = "+UGRMC: 1,$GPRMC,,V,,,,,,,,,,N*53";
/// The same in GGA.
const UGGGA_SEARCHING: &str = "+UGGGA: 1,$GPGGA,,,,,,0,00,99.99,,,,,,*48";
/// A 3D fix in the layout of the Telit manuals.
const GPSACP_FIX: &str =
    "$GPSACP: 080220.000,4542.82691N,01344.26820E,0.9,259.07,3,182.30,36.0,19.4,270705,09";
/// A running Telit receiver without a fix (`<fix>` 1: invalid).
const GPSACP_SEARCHING: &str = "$GPSACP: 002706.000,,,,,1,,0.0,0.0,060180,00";

#[test]
fn a_u_blox_lists_location_while_off_and_is_switched_on_polled_and_off() {
    let mut modem = ready_as(&SARA_R5, &[]);
    let capabilities = modem.device().capabilities.unwrap();
    assert!(capabilities.contains(&"location".to_owned()));
    assert!(!modem.location_enabled());
    modem.advance(60_000);
    modem.expect_no_tx();

    let on = modem.call(Request::SetLocationEnabled(true));
    modem.ok("AT+UGPS=1,0,67", &[]);
    assert_eq!(modem.reply(on), Ok(CallReply::Done));
    assert!(modem.location_enabled());
    // The receiver keeps its RMC and GGA sentences for reading once asked to.
    modem.ok("AT+UGRMC=1;+UGGGA=1", &[]);
    modem.ok("AT+UGRMC?;+UGGGA?", &[UGRMC_SEARCHING, UGGGA_SEARCHING]);
    assert_eq!(modem.fix().mode, FixMode::None);
    assert!(modem.fixes().is_empty(), "no fix before, none now");
    modem.advance(5_000);
    modem.ok("AT+UGRMC?;+UGGGA?", &[UGRMC_FIX, UGGGA_FIX]);
    let fix = modem.fix();
    assert_eq!(fix.mode, FixMode::ThreeD);
    assert!((fix.latitude - (47.0 + 17.11437 / 60.0)).abs() < 1e-9);
    assert!((fix.longitude - (8.0 + 33.91522 / 60.0)).abs() < 1e-9);
    assert_eq!((fix.course, fix.time), (77.52, 1_039_422_959));
    assert_eq!((fix.altitude, fix.satellites_used), (499.6, 8));
    // The fix is lost.
    modem.advance(5_000);
    modem.ok("AT+UGRMC?;+UGGGA?", &[UGRMC_SEARCHING, UGGGA_SEARCHING]);
    assert_eq!(modem.fix().mode, FixMode::None);
    assert!(modem.fix().latitude.is_nan());

    let off = modem.call(Request::SetLocationEnabled(false));
    modem.ok("AT+UGPS=0", &[]);
    assert_eq!(modem.reply(off), Ok(CallReply::Done));
    assert!(!modem.location_enabled());
    modem.advance(60_000);
    modem.expect_no_tx();
}

#[test]
fn a_u_blox_error_answer_keeps_the_driver_up_without_a_fix() {
    let mut modem = ready_as(&SARA_R5, &[("gnss", "true"), ("gnss_interval", "2")]);
    modem.ok("AT+UGPS=1,0,67", &[]);
    // A firmware that refuses to keep the sentences: said, and polled all the same.
    modem.fails("AT+UGRMC=1;+UGGGA=1", "+CME ERROR: 4");
    assert!(modem.logged(LogLevel::Warn, "cannot set the GNSS up"));
    modem.fails("AT+UGRMC?;+UGGGA?", "+CME ERROR: 4");
    assert_eq!(modem.state(), ("ready", ""));
    assert_eq!(modem.fix().mode, FixMode::None);
    assert!(modem.location_enabled());
    modem.advance(2_000);
    modem.ok(
        "AT+UGRMC?;+UGGGA?",
        &["+UGRMC: 0,Not available", "+UGGGA: 0,Not available"],
    );
    assert_eq!(modem.fix().mode, FixMode::None);
    // RMC alone: a 2D fix.
    modem.advance(2_000);
    modem.ok("AT+UGRMC?;+UGGGA?", &[UGRMC_FIX, "+UGGGA: 0,Not available"]);
    assert_eq!(modem.fix().mode, FixMode::TwoD);
}

#[test]
fn a_u_blox_found_on_at_start_is_set_up_and_polled_or_switched_off() {
    let running = Identity {
        gnss: Some("+UGPS: 1,0,67"),
        ..SARA_R5
    };
    let mut modem = ready_as(&running, &[("gnss", "true")]);
    assert!(modem.location_enabled());
    modem.ok("AT+UGRMC=1;+UGGGA=1", &[]);
    modem.ok("AT+UGRMC?;+UGGGA?", &[UGRMC_FIX, UGGGA_FIX]);
    assert_eq!(modem.fix().mode, FixMode::ThreeD);

    let mut modem = ready_as(&running, &[]);
    modem.ok("AT+UGPS=0", &[]);
    assert!(!modem.location_enabled());
    modem.advance(60_000);
    modem.expect_no_tx();
}

#[test]
fn a_telit_is_switched_with_gpsp_and_read_with_gpsacp() {
    let mut modem = ready_as(&LE910C1, &[("gnss", "true")]);
    let capabilities = modem.device().capabilities.unwrap();
    assert!(capabilities.contains(&"location".to_owned()));
    modem.ok("AT$GPSP=1", &[]);
    assert!(modem.location_enabled());
    modem.ok("AT$GPSACP", &[GPSACP_SEARCHING]);
    assert_eq!(modem.fix().mode, FixMode::None);
    assert!(modem.fixes().is_empty(), "no fix before, none now");
    modem.advance(5_000);
    modem.ok("AT$GPSACP", &[GPSACP_FIX]);
    let fix = modem.fix();
    assert_eq!(fix.mode, FixMode::ThreeD);
    assert!((fix.latitude - (45.0 + 42.82691 / 60.0)).abs() < 1e-9);
    assert_eq!((fix.altitude, fix.satellites_used), (259.07, 9));
    assert_eq!(fix.time, 1_122_451_340);
    // The fix is lost: an empty answer.
    modem.advance(5_000);
    modem.ok("AT$GPSACP", &["$GPSACP: "]);
    assert_eq!(modem.fix().mode, FixMode::None);

    let off = modem.call(Request::SetLocationEnabled(false));
    modem.ok("AT$GPSP=0", &[]);
    assert_eq!(modem.reply(off), Ok(CallReply::Done));
    assert!(!modem.location_enabled());
    modem.advance(60_000);
    modem.expect_no_tx();
}

#[test]
fn a_telit_error_answer_keeps_the_driver_up_without_a_fix() {
    let mut modem = ready_as(&LE910C1, &[]);
    // Switching on fails: the call fails, the GNSS stays off.
    let on = modem.call(Request::SetLocationEnabled(true));
    modem.fails("AT$GPSP=1", "ERROR");
    assert_eq!(modem.reply(on).unwrap_err().kind, CallErrorKind::Failed);
    assert!(!modem.location_enabled());
    modem.advance(60_000);
    modem.expect_no_tx();
    // Switched on; the position read fails, then works.
    let on = modem.call(Request::SetLocationEnabled(true));
    modem.ok("AT$GPSP=1", &[]);
    assert_eq!(modem.reply(on), Ok(CallReply::Done));
    modem.fails("AT$GPSACP", "ERROR");
    assert_eq!(modem.state(), ("ready", ""));
    assert_eq!(modem.fix().mode, FixMode::None);
    modem.advance(5_000);
    modem.ok("AT$GPSACP", &[GPSACP_FIX]);
    assert_eq!(modem.fix().mode, FixMode::ThreeD);
}

#[test]
fn a_telit_found_on_at_start_is_polled_at_once() {
    let running = Identity {
        gnss: Some("$GPSP: 1"),
        ..LE910C1
    };
    let mut modem = ready_as(&running, &[("gnss", "true")]);
    assert!(modem.location_enabled());
    modem.ok("AT$GPSACP", &[GPSACP_FIX]);
    assert_eq!(modem.fix().mode, FixMode::ThreeD);
}

#[test]
fn a_u_blox_or_telit_without_gnss_has_no_location() {
    for identity in [
        Identity {
            gnss: None,
            ..SARA_R5
        },
        Identity {
            gnss: None,
            ..LE910C1
        },
    ] {
        let mut modem = ready_as(&identity, &[("gnss", "true")]);
        let capabilities = modem.device().capabilities.unwrap();
        assert!(!capabilities.contains(&"location".to_owned()));
        modem.advance(60_000);
        modem.expect_no_tx();
    }
}
