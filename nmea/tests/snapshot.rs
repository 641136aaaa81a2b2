//! Snapshots ([`FixAssembler::snapshot`]): the latest sentence of each type, as ModemManager keeps
//! them for its gps-nmea source (in no order, possibly of different seconds), make one fix.

use m2mhal_nmea::{FixAssembler, Nmea, parse_line};
use m2mhal_plugin_api::{FixMode, LocationSource};

/// The u-blox 8 / M8 Receiver Description's RMC and GGA examples (of different seconds), and
/// GSA and GSV of a u-blox LEA-5H (gpsd `test/daemon/ublox-lea-5h.log`).
const RMC: &str = "$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57";
const GGA: &str = "$GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,*5B";
const GSA_3D: &str = "$GPGSA,A,3,27,15,09,28,18,08,,,,,,,3.33,2.51,2.20*04";
const GSV: &str = "$GPGSV,3,1,12,05,04,187,,08,11,078,29,09,43,270,37,12,03,212,*75";
/// A moving receiver's VTG (its speed in km/h, 56.191, is not exactly RMC's 0.004 knots).
const VTG: &str = "$GPVTG,221.16,T,,M,30.324,N,56.191,K,A*37";

fn sentences(lines: &[&str]) -> Vec<Nmea> {
    lines
        .iter()
        .map(|line| parse_line(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

/// 2026-12-07 22:30:00 UTC.
const NOW: u64 = 1_796_682_600;

#[test]
fn the_latest_sentences_in_any_order_make_one_fix() {
    for order in [
        [GSV, RMC, GSA_3D, GGA],
        [GGA, GSA_3D, GSV, RMC],
        [RMC, GGA, GSV, GSA_3D],
    ] {
        let fix = FixAssembler::snapshot(&sentences(&order), NOW).expect("a fix");
        assert_eq!(fix.mode, FixMode::ThreeD, "{order:?}");
        assert!(
            (fix.latitude - (47.0 + 17.11399 / 60.0)).abs() < 1e-9,
            "GGA's"
        );
        assert_eq!(fix.altitude, 499.6);
        assert_eq!((fix.hdop, fix.pdop, fix.vdop), (1.01, 3.33, 2.20));
        assert!((fix.speed - 0.004 * 1852.0 / 3600.0).abs() < 1e-12);
        assert_eq!(fix.course, 77.52);
        assert_eq!((fix.satellites_used, fix.satellites_in_view), (8, 12));
        assert_eq!(fix.source, Some(LocationSource::Gnss));
    }
    // VTG's speed and course win over RMC's, whichever comes first.
    for order in [[RMC, VTG, GGA], [VTG, GGA, RMC]] {
        let fix = FixAssembler::snapshot(&sentences(&order), NOW).expect("a fix");
        assert!((fix.speed - 56.191 / 3.6).abs() < 1e-9, "{order:?}");
        assert_eq!(fix.course, 221.16);
    }
    // As a stream, the RMC of another second would have ended the epoch of the GGA.
    let mut stream = FixAssembler::new();
    let mut fixes = Vec::new();
    for nmea in sentences(&[GGA, GSA_3D, RMC]) {
        fixes.extend(stream.push(&nmea, NOW));
    }
    assert_eq!(fixes.len(), 1);
    assert!(fixes[0].speed.is_nan());
}

#[test]
fn a_2d_gsa_makes_a_2d_fix_and_no_fix_sentence_is_no_fix() {
    let gsa_2d = "$GPGSA,A,2,27,15,09,,,,,,,,,,3.33,2.51,2.20*0E";
    let fix = FixAssembler::snapshot(&sentences(&[GGA, gsa_2d, RMC]), NOW).expect("a fix");
    assert_eq!(fix.mode, FixMode::TwoD);
    assert!(fix.altitude.is_nan());
    // Only satellites and DOPs: nothing says whether there is a fix.
    assert_eq!(
        FixAssembler::snapshot(&sentences(&[GSA_3D, GSV]), NOW),
        None
    );
    // The receiver says it has none.
    let searching = "$GPRMC,,V,,,,,,,,,,N*53";
    let none = FixAssembler::snapshot(&sentences(&[searching, GSV]), NOW).expect("no fix");
    assert_eq!((none.mode, none.satellites_in_view), (FixMode::None, 12));
    assert!(none.latitude.is_nan());
}
