//! Byte transcripts of the GNSS of simulated u-blox and Telit modems (`--vendor ublox|telit
//! --gnss`), with the position the control plane gives them.

use m2mhal_nmea::{Nmea, parse_line};
use serde_json::json;

use super::transcript_tests::{control, quiet_modem, text};
use super::{ModemState, Vendor};

fn modem_of(vendor: Vendor) -> ModemState {
    quiet_modem().with_vendor(vendor).with_gnss(true)
}

#[test]
fn a_u_blox_names_itself_switches_and_answers_with_its_last_rmc_and_gga_sentences() {
    let mut modem = modem_of(Vendor::Ublox);
    assert_eq!(text(&mut modem, "AT+CGMI\r"), "\r\nu-blox\r\n\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT+QGPS?\r"), "\r\nERROR\r\n");
    assert_eq!(text(&mut modem, "AT+UGPS?\r"), "\r\n+UGPS: 0\r\n\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT+UGRMC?\r"),
        "\r\n+UGRMC: 0,Not available\r\n\r\nOK\r\n"
    );
    let output = modem.receive(b"AT+UGPS=1,0,67\r");
    assert_eq!(output.bytes, b"\r\nOK\r\n");
    assert_eq!(output.events, [json!({"event": "gnss", "on": true})]);
    assert_eq!(
        text(&mut modem, "AT+UGPS?\r"),
        "\r\n+UGPS: 1,0,67\r\n\r\nOK\r\n"
    );
    assert_eq!(text(&mut modem, "AT+UGRMC=1;+UGGGA=1\r"), "\r\nOK\r\n");
    let output = modem.receive(b"AT+UGRMC?;+UGGGA?\r");
    assert_eq!(
        String::from_utf8(output.bytes).unwrap(),
        "\r\n+UGRMC: 1,$GPRMC,,V,,,,,,,,,,N*53\r\n+UGGGA: 1,$GPGGA,,,,,,0,00,99.99,,,,,,*48\r\n\r\nOK\r\n"
    );
    assert_eq!(
        output.events,
        [json!({"event": "gnss-location", "fix": false})]
    );

    control(&mut modem, "gnss 52.52 -13.405 34");
    let answer = text(&mut modem, "AT+UGRMC?;+UGGGA?\r");
    let sentences: Vec<Nmea> = answer
        .split("\r\n")
        .filter_map(|line| line.split_once(",$"))
        .map(|(_, sentence)| parse_line(format!("${sentence}").as_bytes()).unwrap())
        .collect();
    let [Nmea::Rmc(rmc), Nmea::Gga(gga)] = &sentences[..] else {
        panic!("not an RMC and a GGA sentence: {answer}");
    };
    assert!(rmc.valid);
    let position = rmc.position.unwrap();
    assert!((position.latitude - 52.52).abs() < 1e-6);
    assert!((position.longitude + 13.405).abs() < 1e-6);
    assert_eq!((gga.quality, gga.altitude), (1, Some(34.0)));

    let output = modem.receive(b"AT+UGPS=0\r");
    assert_eq!(output.events, [json!({"event": "gnss", "on": false})]);
    assert_eq!(
        text(&mut modem, "AT+UGRMC?;+UGGGA?\r"),
        "\r\n+UGRMC: 1,Not available\r\n+UGGGA: 1,Not available\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_telit_names_itself_switches_and_answers_gpsacp() {
    let mut modem = modem_of(Vendor::Telit);
    assert_eq!(text(&mut modem, "AT+CGMI\r"), "\r\nTelit\r\n\r\nOK\r\n");
    assert_eq!(text(&mut modem, "AT$GPSP?\r"), "\r\n$GPSP: 0\r\n\r\nOK\r\n");
    assert_eq!(
        text(&mut modem, "AT$GPSACP\r"),
        "\r\n$GPSACP: ,,,,,,,,,,\r\n\r\nOK\r\n"
    );
    let output = modem.receive(b"AT$GPSP=1\r");
    assert_eq!(output.bytes, b"\r\nOK\r\n");
    assert_eq!(output.events, [json!({"event": "gnss", "on": true})]);
    let output = modem.receive(b"AT$GPSACP\r");
    assert_eq!(
        String::from_utf8(output.bytes).unwrap(),
        "\r\n$GPSACP: ,,,,,1,,,,,\r\n\r\nOK\r\n"
    );
    assert_eq!(
        output.events,
        [json!({"event": "gnss-location", "fix": false})]
    );
    control(&mut modem, "gnss -33.8568 151.2153 58");
    assert_eq!(
        text(&mut modem, "AT$GPSACP\r"),
        "\r\n$GPSACP: 000000.000,3351.40800S,15112.91800E,1.1,58.0,3,0.00,0.0,0.0,010126,08\r\n\r\nOK\r\n"
    );
    control(&mut modem, "gnss 48.5 11.25");
    assert_eq!(
        text(&mut modem, "AT$GPSACP\r"),
        "\r\n$GPSACP: 000000.000,4830.00000N,01115.00000E,1.1,,2,0.00,0.0,0.0,010126,08\r\n\r\nOK\r\n"
    );
    let output = modem.receive(b"AT$GPSP=0\r");
    assert_eq!(output.events, [json!({"event": "gnss", "on": false})]);
}

#[test]
fn a_modem_without_gnss_answers_no_vendor_gnss_command() {
    for vendor in [Vendor::Ublox, Vendor::Telit] {
        let mut modem = quiet_modem().with_vendor(vendor);
        assert_eq!(text(&mut modem, "AT+UGPS?\r"), "\r\nERROR\r\n");
        assert_eq!(text(&mut modem, "AT$GPSP?\r"), "\r\nERROR\r\n");
    }
}
