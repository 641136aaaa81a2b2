//! Fixes put together from the sentences of an epoch.

use m2mhal_plugin_api::{Fix, FixMode, LocationSource};

use crate::support::{
    EPOCH, L76K, LEA_5H, LEA_5H_NEXT, LEA_5H_TIME, Receiver, close, lea_5h, line,
};

#[test]
fn a_u_blox_epoch_makes_one_3d_fix_once_the_burst_is_over() {
    let mut receiver = lea_5h();
    assert!(receiver.fixes().is_empty(), "the burst may not be over yet");
    receiver.advance(300);
    let fixes = receiver.fixes();
    assert_eq!(fixes.len(), 1);
    let fix = &fixes[0];
    assert_eq!(fix.mode, FixMode::ThreeD);
    close(fix.latitude, 51.0 + 55.55442 / 60.0);
    close(fix.longitude, 4.0 + 34.65873 / 60.0);
    close(fix.altitude, -4.0);
    close(fix.hdop, 2.51);
    close(fix.pdop, 3.33);
    close(fix.vdop, 2.2);
    close(fix.speed, 0.391 / 3.6);
    assert!(fix.course.is_nan(), "no course while standing still");
    assert_eq!((fix.satellites_used, fix.satellites_in_view), (6, 12));
    assert_eq!(fix.time, LEA_5H_TIME);
    assert_eq!(fix.source, Some(LocationSource::Gnss));
}

#[test]
fn the_next_epoch_reports_the_previous_one_at_once_and_movement_shows() {
    let mut receiver = lea_5h();
    receiver.rx(LEA_5H_NEXT);
    // The RMC of 08:37:24 closed the epoch of 08:37:23.
    assert_eq!(receiver.fixes().len(), 1);
    assert_eq!(receiver.fix().time, LEA_5H_TIME);
    receiver.advance(300);
    let fix = receiver.fix();
    assert_eq!(fix.time, LEA_5H_TIME + 1);
    close(fix.latitude, 51.0 + 55.55430 / 60.0);
    close(fix.altitude, -4.2);
    // Quiet again, nothing new: no new report.
    receiver.advance(5_000);
    assert_eq!(receiver.fixes().len(), 2);
}

#[test]
fn bytes_in_any_chunks_give_the_same_fixes() {
    let mut whole = Receiver::new();
    whole.open();
    whole.rx(&format!("{LEA_5H}{LEA_5H_NEXT}"));
    let mut bytewise = Receiver::new();
    bytewise.open();
    for byte in format!("{LEA_5H}{LEA_5H_NEXT}").bytes() {
        bytewise.rx_bytes(&[byte]);
    }
    let same = whole.fixes().len() == bytewise.fixes().len()
        && whole
            .fixes()
            .iter()
            .zip(bytewise.fixes())
            .all(|(a, b)| a.same_as(&b));
    assert!(same, "{:?} vs {:?}", whole.fixes(), bytewise.fixes());
}

#[test]
fn a_sentence_with_a_bad_checksum_is_dropped_never_half_used() {
    let mut receiver = Receiver::new();
    receiver.open();
    // The port opened in the middle of a sentence; then a GGA whose position was damaged on the
    // line (one digit changed, the checksum no longer matches).
    receiver.rx("0434.65873,E,083722.00,A,A*6E\r\n");
    receiver.rx("$GPRMC,083723.00,A,5155.55442,N,00434.65873,E,0.211,,210810,,,A*7F\r\n");
    receiver.rx("$GPGGA,083723.00,5955.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70\r\n");
    receiver.advance(300);
    let fix = receiver.fix();
    close(fix.latitude, 51.0 + 55.55442 / 60.0);
    assert_eq!(fix.mode, FixMode::TwoD, "no altitude without the GGA");
    assert!(fix.altitude.is_nan() && fix.hdop.is_nan());
    assert_eq!(fix.satellites_used, 0);
}

#[test]
fn multi_constellation_counts_sum_the_constellations() {
    let mut receiver = Receiver::new();
    receiver.open();
    receiver.rx(L76K);
    receiver.advance(300);
    let fix = receiver.fix();
    assert_eq!(fix.mode, FixMode::ThreeD);
    close(fix.longitude, -(122.0 + 19.58362 / 60.0));
    assert_eq!(fix.satellites_in_view, 12 + 3 + 10);
    assert_eq!(fix.satellites_used, 14, "GGA's count");
    close(fix.course, 286.35);
    close(fix.speed, 0.0);
    // 2026-08-05 05:52:34 UTC: RMC (.000) and GGA (.200) are the same second, one epoch.
    assert_eq!(fix.time, 1_785_909_154);
    assert_eq!(receiver.fixes().len(), 1);
}

#[test]
fn a_lost_fix_is_mode_none_with_nan_positions_and_time_0() {
    let mut receiver = lea_5h();
    receiver.advance(300);
    receiver.rx(&line("GPRMC,083724.00,V,,,,,,,210810,,,N"));
    receiver.rx(&line("GPGGA,083724.00,,,,,0,00,99.99,,,,,,"));
    receiver.rx(&line("GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"));
    receiver.advance(300);
    let fix = receiver.fix();
    assert!(
        fix.same_as(&Fix {
            satellites_in_view: 12,
            ..Fix::none()
        }),
        "{fix:?}"
    );
    // A SiRF's RMC keeps the old position with status V: still no fix.
    receiver.rx("$GPRMC,125106,V,3854.5087,N,07726.4523,W,0.0,0.0,241011,10.5,W,S*28\r\n");
    receiver.advance(300);
    assert_eq!(receiver.fix().mode, FixMode::None);
    receiver.rx(LEA_5H_NEXT);
    receiver.advance(300);
    assert_eq!(receiver.fix().mode, FixMode::ThreeD);
}

#[test]
fn a_receiver_without_rmc_dates_its_times_by_the_host_clock() {
    let mut receiver = Receiver::new();
    receiver.open();
    // EPOCH is 2023-11-14 22:13:20 UTC; a GGA of 22:13:19 is that day's.
    receiver.rx(&line(
        "GPGGA,221319.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,",
    ));
    receiver.advance(300);
    assert_eq!(receiver.fix().time, EPOCH - 1);
    close(receiver.fix().latitude, 47.0 + 17.11399 / 60.0);
}

#[test]
fn a_2d_fix_from_gsa_has_no_altitude() {
    let mut receiver = Receiver::new();
    receiver.open();
    receiver.rx(&line(
        "GNGGA,092725.00,4717.11399,N,00833.91590,E,1,03,2.0,499.6,M,48.0,M,,",
    ));
    receiver.rx(&line("GNGSA,A,2,01,02,03,,,,,,,,,,2.5,2.0,1.5"));
    receiver.advance(300);
    let fix = receiver.fix();
    assert_eq!(fix.mode, FixMode::TwoD);
    assert!(fix.altitude.is_nan());
    assert_eq!(fix.satellites_used, 3);
}
