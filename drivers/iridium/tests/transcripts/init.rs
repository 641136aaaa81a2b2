//! Identification, initialisation and the signal, as a 9603 answers.

use std::collections::BTreeMap;

use m2mhal_driver_iridium::IridiumDriver;
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{
    AtIdentity, CallErrorKind, CallReply, DeviceKind, Encoding, LogLevel, Request,
};

use crate::support::{
    CGMR_9603, EPOCH, IMEI, Terminal, binary, configure, identify, message, ready_terminal, sbdix,
};

#[test]
fn description_claims_iridium_ahead_of_the_generic_cellular_rule() {
    let description = IridiumDriver::describe();
    assert_eq!(description.name, "iridium");
    assert_eq!(description.kinds, [DeviceKind::SatelliteTerminal]);
    assert_eq!(description.default_baud, Some(19_200));
    assert_eq!(description.at.len(), 1);
    let rule = &description.at[0];
    assert_eq!(rule.priority, 100);
    let probed = AtIdentity {
        manufacturer: "Iridium".into(),
        model: "IRIDIUM 9600 Family SBD Transceiver".into(),
    };
    assert!(rule.matches(&probed));
    let quectel = AtIdentity {
        manufacturer: "Quectel".into(),
        model: "EG25".into(),
    };
    assert!(!rule.matches(&quectel));
    assert_eq!(
        description.udev[0]
            .properties
            .get("ID_M2MHAL_DRIVER")
            .map(String::as_str),
        Some("iridium")
    );
}

#[test]
fn full_init_of_a_9603_with_echo_on() {
    let mut terminal = Terminal::new();
    terminal.open();
    assert_eq!(terminal.state(), ("initializing", ""));
    // Echo is on after power-up: every command comes back before its answer.
    let escape_and_echo_on = terminal.take_tx().expect("the resynchronisation");
    terminal.rx_bytes(&[&escape_and_echo_on[..], b"\r\nOK\r\n"].concat());
    terminal.exchange("AT", "AT\r\r\nOK\r\n");
    terminal.expect_tx("ATE0");
    terminal.rx("ATE0\r\r\nOK\r\n");
    terminal.expect_tx("AT&K0");
    terminal.rx("\r\nOK\r\n");
    terminal.expect_tx("AT+CGMI");
    terminal.rx("\r\nIridium\r\n\r\nOK\r\n");
    terminal.expect_tx("AT+CGMM");
    terminal.rx("\r\nIRIDIUM 9600 Family SBD Transceiver\r\n\r\nOK\r\n");
    terminal.expect_tx("AT+CGMR");
    let cgmr: String = CGMR_9603
        .iter()
        .map(|line| format!("\r\n{line}\r\n"))
        .collect();
    terminal.rx(&format!("{cgmr}\r\nOK\r\n"));
    assert!(
        terminal.devices.iter().all(|update| update.id.is_none()),
        "no identity before the IMEI"
    );
    terminal.expect_tx("AT+CGSN");
    terminal.rx("\r\n300434063963620\r\n\r\nOK\r\n");

    let identity = terminal.devices.last().unwrap().clone();
    assert_eq!(identity.id.as_deref(), Some("imei:300434063963620"));
    assert_eq!(identity.serial_number.as_deref(), Some(IMEI));
    assert_eq!(identity.kind, Some(DeviceKind::SatelliteTerminal));
    assert_eq!(identity.manufacturer.as_deref(), Some("Iridium"));
    assert_eq!(
        identity.model.as_deref(),
        Some("IRIDIUM 9600 Family SBD Transceiver")
    );
    assert_eq!(identity.revision.as_deref(), Some("TA19002"));
    assert_eq!(
        identity.extra,
        Some(BTreeMap::from([(
            "hardware_version".to_owned(),
            "BOOT07d2/9603NrvA-D/04/RAW0d".to_owned()
        )]))
    );
    assert_eq!(
        identity.capabilities,
        Some(vec!["signal".to_owned(), "messaging".to_owned()])
    );
    assert_eq!(identity.max_payload, Some(340));
    assert_eq!(identity.state.as_deref(), Some("initializing"));

    terminal.ok("AT+SBDMTA=1", &[]);
    terminal.ok("AT+CIER=0", &[]);
    terminal.expect_tx("AT+CIER=1,1,1");
    terminal.rx("\r\nOK\r\n\r\n+CIEV:0,3\r\n\r\n+CIEV:1,1\r\n");
    assert_eq!(terminal.quality(), Some(60));
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.ok("AT+SBDS", &["+SBDS: 0, 12, 0, -1"]);
    assert_eq!(terminal.state().0, "initializing", "ready after the signal");
    terminal.ok("AT+CSQ", &["+CSQ:4"]);
    assert_eq!(terminal.state(), ("ready", ""));
    let signal = terminal.signals.last().unwrap();
    assert_eq!(signal.quality, Some(80));
    assert_eq!(signal.technology.as_deref(), Some("iridium"));
    assert_eq!(signal.rssi, Some(0));
    assert_eq!(signal.registration.as_deref(), Some(""));
    assert_eq!(signal.updated_at, Some(EPOCH));
    // Indications keep the signal fresh: no polling while idle.
    terminal.advance(600_000);
    terminal.expect_no_tx();
}

#[test]
fn rockblock_without_flow_control_lines_refuses_at_k0_and_still_works() {
    let mut terminal = Terminal::new();
    terminal.open();
    terminal.resync();
    terminal.ok("ATE0", &[]);
    terminal.fails("AT&K0", "ERROR");
    terminal.ok("AT+CGMI", &["Iridium"]);
    terminal.ok("AT+CGMM", &["IRIDIUM 9600 Family SBD Transceiver"]);
    terminal.ok("AT+CGMR", &["Call Processor Version: TA16005"]);
    terminal.ok("AT+CGSN", &[IMEI]);
    configure(&mut terminal, "+SBDS: 0, 0, 0, -1");
    assert_eq!(terminal.state(), ("ready", ""));
    assert_eq!(terminal.devices[1].revision.as_deref(), Some("TA16005"));
}

#[test]
fn no_imei_fails_the_terminal() {
    let mut terminal = Terminal::new();
    terminal.open();
    terminal.resync();
    terminal.ok("ATE0", &[]);
    terminal.ok("AT&K0", &[]);
    terminal.ok("AT+CGMI", &["Iridium"]);
    terminal.ok("AT+CGMM", &["IRIDIUM 9600 Family SBD Transceiver"]);
    terminal.ok("AT+CGMR", &CGMR_9603);
    terminal.fails("AT+CGSN", "ERROR");
    assert_eq!(terminal.state(), ("failed", "imei-unavailable"));
    terminal.expect_no_tx();
    let call = terminal.send(binary("m1", b"hi"));
    assert_eq!(
        terminal.reply(call).unwrap_err().kind,
        CallErrorKind::NotReady
    );
}

#[test]
fn refresh_reads_bars_as_quality() {
    let mut terminal = ready_terminal();
    for (bars, quality) in [(0, 0), (1, 20), (3, 60), (5, 100)] {
        let call = terminal.call(Request::Refresh);
        terminal.ok("AT+CSQ", &[&format!("+CSQ:{bars}")]);
        assert_eq!(terminal.reply(call), Ok(CallReply::Done));
        assert_eq!(terminal.quality(), Some(quality));
    }
}

#[test]
fn signal_indications_update_quality() {
    let mut terminal = ready_terminal();
    terminal.rx("\r\n+CIEV:0,2\r\n");
    assert_eq!(terminal.quality(), Some(40));
    terminal.rx("\r\n+CIEV:0,5\r\n");
    assert_eq!(terminal.quality(), Some(100));
    terminal.rx("\r\n+CIEV:1,0\r\n");
    assert!(terminal.logged(LogLevel::Info, "network service is unavailable"));
    terminal.rx("\r\n+CIEV:0,9\r\n+CIEV:7,1\r\n");
    assert_eq!(terminal.quality(), Some(100), "out-of-range ignored");
    terminal.expect_no_tx();
}

#[test]
fn without_indications_the_signal_is_polled_at_the_signal_interval() {
    let mut terminal = Terminal::with_options(&[("signal_interval", "120")]);
    terminal.open();
    terminal.resync();
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    terminal.ok("AT+SBDMTA=1", &[]);
    terminal.fails("AT+CIER=0", "ERROR");
    terminal.fails("AT+CIER=1,1,1", "ERROR");
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.ok("AT+SBDS", &["+SBDS: 0, 0, 0, -1"]);
    terminal.ok("AT+CSQ", &["+CSQ:2"]);
    assert!(terminal.logged(LogLevel::Warn, "AT+CIER=1,1,1 failed"));
    terminal.advance(119_999);
    terminal.expect_no_tx();
    terminal.advance(1);
    terminal.ok("AT+CSQ", &["+CSQ:3"]);
    assert_eq!(terminal.quality(), Some(60));
    terminal.advance(120_000);
    terminal.ok("AT+CSQ", &["+CSQ:3"]);
}

#[test]
fn check_message_wants_an_empty_destination_and_1_to_340_bytes() {
    let mut terminal = ready_terminal();
    let mut to_phone = message("m1", b"hi", Encoding::Text);
    to_phone.destination = "+881600000000".into();
    let call = terminal.call(Request::CheckMessage(to_phone));
    let error = terminal.reply(call).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::InvalidArgument);
    assert!(
        error
            .message
            .contains("satellite messages go to the gateway; destination must be empty"),
        "{}",
        error.message
    );
    let call = terminal.call(Request::CheckMessage(message("m1", b"", Encoding::Binary)));
    assert_eq!(
        terminal.reply(call).unwrap_err().kind,
        CallErrorKind::InvalidArgument
    );
    let call = terminal.call(Request::CheckMessage(message(
        "m1",
        &[7; 341],
        Encoding::Binary,
    )));
    assert_eq!(
        terminal.reply(call).unwrap_err().kind,
        CallErrorKind::PayloadTooLarge
    );
    let call = terminal.call(Request::CheckMessage(message(
        "m1",
        &[7; 340],
        Encoding::Binary,
    )));
    assert_eq!(terminal.reply(call), Ok(CallReply::Done));
    terminal.expect_no_tx();
}

#[test]
fn bad_options_are_refused_by_name() {
    let config = m2mhal_plugin_api::OpenConfig {
        options: [("min_session_interval".to_owned(), "soon".to_owned())].into(),
        ..Default::default()
    };
    let Err(error) = IridiumDriver::open(config) else {
        panic!("accepted a bad option");
    };
    assert!(error.contains("min_session_interval"), "{error}");
}

#[test]
fn a_session_answer_left_by_a_killed_host_does_not_shift_the_identification() {
    let mut terminal = Terminal::new();
    terminal.open();
    let escape_and_echo_on = terminal.take_tx().expect("the resynchronisation");
    assert_eq!(escape_and_echo_on[0], 0x1B, "ESC first");
    // The session of the host before ends now: its answer comes before the answer to ATE1.
    terminal.rx(&sbdix([0, 3, 0, 0, 0, 0]));
    terminal.expect_tx("AT");
    terminal.rx("\r\nOK\r\n");
    terminal.expect_no_tx();
    terminal.rx("AT\r\r\nOK\r\n");
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    let device = terminal.device();
    assert_eq!(device.manufacturer.as_deref(), Some("Iridium"));
    assert!(device.id.is_some(), "the IMEI was read");
}
