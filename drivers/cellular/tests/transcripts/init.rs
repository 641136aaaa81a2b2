//! Initialisation against modems as they really answer.

use std::collections::BTreeMap;

use m2mhal_driver_testkit::outgoing;
use m2mhal_plugin_api::{CallErrorKind, DeviceKind, Encoding, OutgoingMessage, Request};

use crate::support::{
    EG25, EPOCH, Identity, Modem, answer_identification, answer_sim_ready, configure_after_sim,
    identify, identify_as, ready_modem,
};

fn text_message(destination: &str, text: &str) -> OutgoingMessage {
    outgoing("m1", destination, text.as_bytes(), Encoding::Text)
}

#[test]
fn quectel_eg25_with_echo_on() {
    let mut modem = Modem::new();
    modem.open();
    assert_eq!(modem.state(), ("initializing", ""));
    // Echo is on after power-up: every command comes back before its answer.
    let escape_and_echo_on = modem.take_tx().expect("the resynchronisation");
    modem.rx_bytes(&[&escape_and_echo_on[..], b"\r\nOK\r\n"].concat());
    modem.exchange("AT", "AT\r\r\nOK\r\n");
    modem.exchange("ATE0", "ATE0\r\r\nOK\r\n");
    modem.exchange("AT+CMEE=1", "\r\nOK\r\n");
    modem.exchange("AT+CGMI", "\r\nQuectel\r\n\r\nOK\r\n");
    modem.exchange("AT+CGMM", "\r\nEG25\r\n\r\nOK\r\n");
    modem.exchange("AT+CGMR", "\r\nEG25GGBR07A08M2G\r\n\r\nOK\r\n");
    // Without a GNSS the probe fails: no `location`.
    modem.exchange("AT+QGPS?", "\r\nERROR\r\n");
    assert!(modem.device().id.is_none(), "no identity before the IMEI");
    modem.exchange("AT+CGSN", "\r\n867698041234567\r\n\r\nOK\r\n");

    let identity = modem.devices.last().unwrap().clone();
    assert_eq!(identity.id.as_deref(), Some("imei:867698041234567"));
    assert_eq!(identity.kind, Some(DeviceKind::CellularModem));
    assert_eq!(identity.manufacturer.as_deref(), Some("Quectel"));
    assert_eq!(identity.model.as_deref(), Some("EG25"));
    assert_eq!(identity.revision.as_deref(), Some("EG25GGBR07A08M2G"));
    assert_eq!(identity.serial_number.as_deref(), Some("867698041234567"));
    assert_eq!(identity.state.as_deref(), Some("initializing"));
    assert_eq!(
        identity.capabilities,
        Some(vec!["signal".to_owned(), "messaging".to_owned()])
    );
    assert_eq!(identity.max_payload, Some(1200));

    modem.exchange("AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    modem.exchange("AT+CIMI", "\r\n262011234567890\r\n\r\nOK\r\n");
    modem.exchange("AT+CCID", "\r\nERROR\r\n");
    modem.exchange("AT+QCCID", "\r\n+QCCID: 89490200001234567890\r\n\r\nOK\r\n");
    assert_eq!(
        modem.device().extra,
        Some(BTreeMap::from([
            ("iccid".to_owned(), "89490200001234567890".to_owned()),
            ("imsi".to_owned(), "262011234567890".to_owned()),
        ]))
    );
    modem.exchange("AT+CMGF=0", "\r\nOK\r\n");
    modem.exchange("AT+CSMS?", "\r\n+CSMS: 0,1,1,1\r\n\r\nOK\r\n");
    modem.exchange(
        "AT+CPMS?",
        "\r\n+CPMS: \"ME\",0,255,\"ME\",0,255,\"ME\",0,255\r\n\r\nOK\r\n",
    );
    modem.exchange("AT+CNMI=2,1,0,2,0", "\r\nOK\r\n");
    modem.exchange("AT+CREG=2", "\r\nOK\r\n");
    modem.exchange("AT+CGREG=2", "\r\nOK\r\n");
    modem.exchange("AT+CEREG=2", "\r\nOK\r\n");
    modem.exchange("AT+COPS=3,0", "\r\nOK\r\n");
    modem.exchange("AT+CSQ", "\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    modem.exchange("AT+CESQ", "\r\n+CESQ: 99,99,255,255,20,45\r\n\r\nOK\r\n");
    modem.exchange(
        "AT+CREG?",
        "\r\n+CREG: 2,1,\"1A2B\",\"01A2D101\",7\r\n\r\nOK\r\n",
    );
    modem.exchange("AT+CGREG?", "\r\n+CGREG: 2,0\r\n\r\nOK\r\n");
    modem.exchange(
        "AT+CEREG?",
        "\r\n+CEREG: 2,1,\"1A2B\",\"01A2D101\",7\r\n\r\nOK\r\n",
    );
    assert!(
        modem.signals.is_empty(),
        "signal is published once per refresh"
    );
    modem.exchange("AT+COPS?", "\r\n+COPS: 0,0,\"Telekom.de\",7\r\n\r\nOK\r\n");

    let signal = modem.signals.last().unwrap();
    assert_eq!(signal.rssi, Some(-73), "RSSI 20 -> -113 + 2 * 20 dBm");
    assert_eq!(
        signal.quality,
        Some(64),
        "-73 dBm RSSI on the -113..-51 scale"
    );
    assert_eq!(
        signal.rsrp,
        Some(-96),
        "RSRP 45 -> -141 + 45 dBm (TS 27.007 8.69)"
    );
    assert_eq!(
        signal.rsrq,
        Some(-10.0),
        "RSRQ 20 -> -20 + 20 / 2 dB (TS 27.007 8.69)"
    );
    assert!(signal.sinr.is_some_and(f64::is_nan), "no SINR reading");
    assert_eq!(signal.technology.as_deref(), Some("lte"));
    assert_eq!(signal.registration.as_deref(), Some("home"));
    assert_eq!(signal.operator.as_deref(), Some("Telekom.de"));
    assert_eq!(signal.updated_at, Some(EPOCH));

    assert_eq!(
        modem.state().0,
        "initializing",
        "ready only after the storage was read"
    );
    modem.exchange("AT+CMGL=4", "\r\nOK\r\n");
    assert_eq!(modem.state(), ("ready", ""));
    modem.expect_no_tx();
}

#[test]
fn simcom_optional_commands_answer_errors() {
    let mut modem = Modem::new();
    modem.open();
    modem.resync();
    modem.ok("ATE0", &[]);
    modem.fails("AT+CMEE=1", "ERROR");
    modem.ok("AT+CGMI", &["SIMCOM INCORPORATED"]);
    modem.ok("AT+CGMM", &["SIMCOM_SIM7600E-H"]);
    modem.ok("AT+CGMR", &["+CGMR: LE20B04SIM7600M22"]);
    modem.fails("AT+CGPS?", "ERROR");
    modem.ok("AT+CGSN", &[r#"+CGSN: "862274040123456""#]);
    modem.ok("AT+CPIN?", &["+CPIN: READY"]);
    modem.fails("AT+CIMI", "+CME ERROR: 4");
    modem.fails("AT+CCID", "+CME ERROR: 4");
    modem.fails("AT+QCCID", "ERROR");
    modem.ok("AT+CICCID", &["+ICCID: 8944303382700000001F"]);
    modem.ok("AT+CMGF=0", &[]);
    modem.fails("AT+CSMS?", "+CMS ERROR: 302");
    // Reading from the SIM, receiving into the phone: make them agree.
    modem.ok("AT+CPMS?", &[r#"+CPMS: "SM",2,40,"SM",2,40,"ME",0,255"#]);
    modem.ok(r#"AT+CPMS="SM","SM","SM""#, &["+CPMS: 2,40,2,40,2,40"]);
    modem.fails("AT+CNMI=2,1,0,2,0", "+CMS ERROR: 303");
    modem.ok("AT+CNMI=2,1,0,1,0", &[]);
    modem.ok("AT+CREG=2", &[]);
    modem.ok("AT+CGREG=2", &[]);
    modem.fails("AT+CEREG=2", "+CME ERROR: 4");
    modem.ok("AT+COPS=3,0", &[]);
    modem.ok("AT+CSQ", &["+CSQ: 15,99"]);
    modem.fails("AT+CESQ", "ERROR");
    modem.ok("AT+CREG?", &[r#"+CREG: 2,5,"00C3","0000D9B3",2"#]);
    modem.ok("AT+CGREG?", &[r#"+CGREG: 2,5,"00C3","0000D9B3",2"#]);
    modem.fails("AT+CEREG?", "+CME ERROR: 4");
    modem.ok("AT+COPS?", &[r#"+COPS: 0,0,"vodafone UK",2"#]);
    modem.ok("AT+CMGL=4", &[]);
    modem.expect_no_tx();

    assert_eq!(modem.state(), ("ready", ""));
    let device = modem.device();
    assert_eq!(device.id.as_deref(), Some("imei:862274040123456"));
    assert_eq!(device.manufacturer.as_deref(), Some("SIMCOM INCORPORATED"));
    assert_eq!(device.revision.as_deref(), Some("LE20B04SIM7600M22"));
    assert_eq!(
        device.extra,
        Some(BTreeMap::from([(
            "iccid".to_owned(),
            "8944303382700000001F".to_owned()
        )]))
    );
    let signal = modem.signal();
    assert_eq!(signal.rssi, Some(-83), "CSQ 15 -> -113 + 2 * 15 dBm");
    assert_eq!(signal.quality, Some(48), "-83 dBm on the -113..-51 scale");
    assert_eq!(signal.registration.as_deref(), Some("roaming"));
    assert_eq!(signal.technology.as_deref(), Some("umts"));
    assert_eq!(signal.operator.as_deref(), Some("vodafone UK"));

    // The next refresh leaves out what this modem does not have.
    modem.advance(30_000);
    modem.ok("AT+CSQ", &["+CSQ: 15,99"]);
    modem.ok("AT+CREG?", &[r#"+CREG: 2,5,"00C3","0000D9B3",2"#]);
    modem.ok("AT+CGREG?", &[r#"+CGREG: 2,5,"00C3","0000D9B3",2"#]);
    modem.ok("AT+COPS?", &[r#"+COPS: 0,0,"vodafone UK",2"#]);
    modem.expect_no_tx();
    let refresh = modem.signals.last().unwrap();
    assert_eq!(refresh.updated_at, Some(EPOCH + 30));
    assert_eq!(refresh.rssi, None, "unchanged fields are not repeated");
}

#[test]
fn sim_missing_fails_and_recovers_when_a_sim_appears() {
    let mut modem = Modem::new();
    modem.open();
    identify(&mut modem);
    modem.fails("AT+CPIN?", "+CME ERROR: 10");
    assert_eq!(modem.state(), ("failed", "sim-missing"));
    assert_eq!(
        modem.device().id.as_deref(),
        Some("imei:867698041234567"),
        "published anyway"
    );
    modem.expect_no_tx();

    let send = modem.call(Request::Send(text_message("+4915112345678", "hi")));
    let error = modem.reply(send).unwrap_err();
    assert_eq!(error.kind, CallErrorKind::NotReady);
    assert!(error.message.contains("sim-missing"), "{}", error.message);

    // Raw commands still work (diagnostics).
    let call = modem.call(Request::Command {
        line: "AT+QSIMDET?".into(),
        timeout_ms: 1000,
    });
    modem.ok("AT+QSIMDET?", &["+QSIMDET: 0,0"]);
    assert_eq!(
        modem.reply(call).unwrap(),
        m2mhal_plugin_api::CallReply::Text("+QSIMDET: 0,0\nOK".into())
    );

    modem.advance(15_000);
    modem.fails("AT+CPIN?", "+CME ERROR: 10");
    modem.expect_no_tx();
    modem.advance(15_000);
    answer_sim_ready(&mut modem);
    assert_eq!(modem.state(), ("initializing", ""));
    configure_after_sim(&mut modem, &[]);
}

#[test]
fn sim_pin_waits_for_the_pin_given_through_a_raw_command() {
    let mut modem = Modem::new();
    modem.open();
    identify_as(
        &mut modem,
        &Identity {
            manufacturer: "u-blox",
            model: "SARA-R410M-02B",
            revision: "L0.0.00.00.05.06 [Feb 03 2018 13:00:41]",
            imei: "352753090123456",
            gnss: None,
        },
    );
    modem.ok("AT+CPIN?", &["+CPIN: SIM PIN"]);
    assert_eq!(modem.state(), ("initializing", "sim-pin-required"));

    let call = modem.call(Request::Command {
        line: r#"AT+CPIN="1234""#.into(),
        timeout_ms: 5000,
    });
    modem.ok(r#"AT+CPIN="1234""#, &[]);
    assert!(modem.reply(call).is_ok());
    // The SIM reports itself; the driver looks again at once.
    modem.rx("\r\n+CPIN: READY\r\n");
    answer_sim_ready(&mut modem);
    configure_after_sim(&mut modem, &[]);
}

#[test]
fn sim_puk_and_busy_sim() {
    let mut modem = Modem::new();
    modem.open();
    identify_as(
        &mut modem,
        &Identity {
            manufacturer: "Telit",
            model: "LE910C1-EUX",
            revision: "25.30.226",
            imei: "354516090123456",
            gnss: None,
        },
    );
    modem.fails("AT+CPIN?", "+CME ERROR: 14");
    assert_eq!(
        modem.state(),
        ("initializing", ""),
        "a busy SIM is no error"
    );
    modem.advance(1_999);
    modem.expect_no_tx();
    modem.advance(1);
    modem.ok("AT+CPIN?", &["+CPIN: SIM PUK"]);
    assert_eq!(modem.state(), ("initializing", "sim-puk-required"));
}

#[test]
fn refused_pdu_mode_fails_the_modem() {
    let mut modem = Modem::new();
    modem.open();
    identify_as(
        &mut modem,
        &Identity {
            manufacturer: "Sierra Wireless, Incorporated",
            model: "MC7304",
            revision: "SWI9X15C_05.05.58.00",
            imei: "359225050123456",
            gnss: None,
        },
    );
    answer_sim_ready(&mut modem);
    modem.ok("AT+CIMI", &["310260000000000"]);
    modem.ok("AT+CCID", &["+CCID: 89014103211118510720"]);
    modem.fails("AT+CMGF=0", "+CMS ERROR: 303");
    assert_eq!(modem.state(), ("failed", "pdu-mode-unsupported"));
    modem.expect_no_tx();

    // Reset runs the whole sequence again.
    let reset = modem.call(Request::Reset);
    assert!(modem.reply(reset).is_ok());
    assert_eq!(modem.state(), ("initializing", ""));
    modem.resync();
    modem.expect_tx("ATE0");
}

#[test]
fn imei_from_gsn_when_cgsn_fails() {
    let mut modem = Modem::new();
    modem.open();
    modem.resync();
    modem.ok("ATE0", &[]);
    modem.ok("AT+CMEE=1", &[]);
    modem.ok("AT+CGMI", &["Generic"]);
    modem.ok("AT+CGMM", &["M1"]);
    modem.ok("AT+CGMR", &["1.0"]);
    modem.fails("AT+CGSN", "ERROR");
    modem.ok("AT+GSN", &["490154203237518"]);
    assert_eq!(modem.device().id.as_deref(), Some("imei:490154203237518"));
    modem.expect_tx("AT+CPIN?");
}

#[test]
fn reset_reinitialises_a_ready_modem() {
    let mut modem = ready_modem();
    let reset = modem.call(Request::Reset);
    assert!(modem.reply(reset).is_ok());
    assert_eq!(modem.state(), ("initializing", ""));
    identify(&mut modem);
    answer_sim_ready(&mut modem);
    configure_after_sim(&mut modem, &[]);
}

#[test]
fn a_stale_answer_and_a_pending_prompt_are_left_behind_at_open() {
    let mut modem = Modem::new();
    modem.open();
    // The host before was killed after the `> ` of AT+CMGS: ESC cancels the text entry first.
    let escape_and_echo_on = modem.take_tx().expect("the resynchronisation");
    assert_eq!(escape_and_echo_on[0], 0x1B, "ESC first");
    assert!(escape_and_echo_on.ends_with(b"\rATE1\r"));
    // The modem answers the ESC, then ATE1 (echo was off).
    modem.rx("\r\nOK\r\n");
    modem.expect_tx("AT");
    modem.rx("\r\nOK\r\n");
    modem.expect_no_tx();
    // A late answer to a command of the host before: not the marker's answer either.
    modem.rx("\r\n+CMGS: 7\r\n\r\nOK\r\n");
    modem.expect_no_tx();
    modem.rx("AT\r\r\nOK\r\n");
    answer_identification(&mut modem, &EG25);
    let device = modem.device();
    assert_eq!(device.manufacturer.as_deref(), Some("Quectel"));
    assert_eq!(device.model.as_deref(), Some("EG25"));
    assert_eq!(modem.state(), ("initializing", ""));
}
