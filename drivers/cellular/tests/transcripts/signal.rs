//! Signal, registration and operator: refreshes and URCs.

use m2mhal_driver_cellular::CellularDriver;
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{CallErrorKind, CallReply, OpenConfig, Request, SignalUpdate};

use crate::support::{
    EPOCH, Identity, Modem, answer_refresh, answer_sim_ready, configure_after_sim, identify_as,
    ready_modem,
};

#[test]
fn roaming_urcs_combine_the_domains() {
    let mut modem = ready_modem();
    let published = modem.signals.len();
    // CS roaming while EPS still says home: home wins, nothing changes.
    modem.rx("\r\n+CREG: 5\r\n");
    assert_eq!(modem.signals.len(), published);
    modem.rx("\r\n+CEREG: 5,\"1A2B\",\"01A2D101\",7\r\n");
    assert_eq!(
        modem.signals.last(),
        Some(&SignalUpdate {
            registration: Some("roaming".into()),
            updated_at: Some(EPOCH),
            ..Default::default()
        })
    );
    // Still registered: no operator query.
    modem.expect_no_tx();
}

#[test]
fn losing_the_network_reads_the_operator_again() {
    let mut modem = ready_modem();
    modem.rx("\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n");
    assert_eq!(modem.signal().registration.as_deref(), Some("searching"));
    modem.ok("AT+COPS?", &["+COPS: 0"]);
    let signal = modem.signal();
    assert_eq!(signal.operator.as_deref(), Some(""));
    assert_eq!(signal.technology.as_deref(), Some(""));
    modem.rx("\r\n+CEREG: 1,\"1A2B\",\"01A2D102\",7\r\n");
    assert_eq!(modem.signal().registration.as_deref(), Some("home"));
    modem.ok("AT+COPS?", &[r#"+COPS: 0,0,"Telekom.de",7"#]);
    assert_eq!(modem.signal().operator.as_deref(), Some("Telekom.de"));
    assert_eq!(modem.signal().technology.as_deref(), Some("lte"));
}

#[test]
fn refresh_call_answers_after_the_last_query() {
    let mut modem = ready_modem();
    modem.advance(5_000);
    let call = modem.call(Request::Refresh);
    modem.ok("AT+CSQ", &["+CSQ: 25,99"]);
    // A URC between a command and its result is no part of the answer.
    modem.exchange(
        "AT+CESQ",
        "\r\n+CREG: 1,\"1A2B\",\"01A2D101\",7\r\n\r\n+CESQ: 99,99,255,255,20,50\r\n\r\nOK\r\n",
    );
    modem.ok("AT+CREG?", &[r#"+CREG: 2,1,"1A2B","01A2D101",7"#]);
    modem.ok("AT+CGREG?", &["+CGREG: 2,0"]);
    modem.ok("AT+CEREG?", &[r#"+CEREG: 2,1,"1A2B","01A2D101",7"#]);
    assert!(!modem.replies.contains_key(&call));
    modem.ok("AT+COPS?", &[r#"+COPS: 0,0,"Telekom.de",7"#]);
    assert_eq!(modem.reply(call), Ok(CallReply::Done));
    // The +CREG URC published the new RSSI at once; the end of the refresh publishes the rest.
    assert_eq!(
        modem.signals.last(),
        Some(&SignalUpdate {
            rsrp: Some(-91),
            updated_at: Some(EPOCH + 5),
            ..Default::default()
        })
    );
    // RSSI from +CSQ 25 (-113 + 2 * 25 dBm), RSRP from +CESQ 50 (-141 + 50 dBm): two readings.
    let signal = modem.signal();
    assert_eq!(
        (signal.rssi, signal.quality, signal.rsrp, signal.rsrq),
        (Some(-63), Some(80), Some(-91), Some(-10.0))
    );
}

#[test]
fn periodic_refresh_follows_the_signal_interval_option() {
    let mut modem = Modem::with_options(&[("signal_interval", "10")]);
    modem.open();
    identify_as(
        &mut modem,
        &Identity {
            manufacturer: "Quectel",
            model: "BG96",
            revision: "BG96MAR02A07M1G",
            imei: "866425031234567",
            gnss: None,
        },
    );
    answer_sim_ready(&mut modem);
    configure_after_sim(&mut modem, &[]);
    modem.advance(9_999);
    modem.expect_no_tx();
    modem.advance(1);
    // The modem lost LTE: RSRP unknown, the RSSI of +CSQ counts; 99 means unknown.
    modem.ok("AT+CSQ", &["+CSQ: 99,99"]);
    modem.ok("AT+CESQ", &["+CESQ: 99,99,255,255,255,255"]);
    modem.ok("AT+CREG?", &["+CREG: 2,4"]);
    modem.ok("AT+CGREG?", &["+CGREG: 2,4"]);
    modem.ok("AT+CEREG?", &["+CEREG: 2,4"]);
    modem.ok("AT+COPS?", &["+COPS: 0"]);
    let lost = modem.signals.last().cloned().unwrap_or_default();
    assert!(lost.rsrq.is_some_and(f64::is_nan), "RSRQ unknown: {lost:?}");
    assert_eq!(
        SignalUpdate { rsrq: None, ..lost },
        SignalUpdate {
            quality: Some(0),
            rssi: Some(0),
            rsrp: Some(0),
            rsrq: None,
            sinr: None,
            technology: Some(String::new()),
            registration: Some("unknown".into()),
            operator: Some(String::new()),
            updated_at: Some(EPOCH + 10),
        }
    );
    modem.advance(10_000);
    answer_refresh(&mut modem);
    assert_eq!(modem.signal().registration.as_deref(), Some("home"));
}

#[test]
fn a_bad_signal_interval_is_refused_at_open() {
    let config = OpenConfig {
        options: [("signal_interval".to_owned(), "often".to_owned())].into(),
        ..OpenConfig::default()
    };
    let error = CellularDriver::open(config).err().unwrap();
    assert!(error.contains("signal_interval"), "{error}");
}

#[test]
fn refresh_and_poll_need_a_ready_modem() {
    let mut modem = Modem::new();
    let refresh = modem.call(Request::Refresh);
    assert_eq!(
        modem.reply(refresh).unwrap_err().kind,
        CallErrorKind::NotReady
    );
    modem.open();
    let poll = modem.call(Request::Poll);
    assert_eq!(modem.reply(poll).unwrap_err().kind, CallErrorKind::NotReady);
}
