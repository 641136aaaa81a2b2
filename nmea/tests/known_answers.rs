//! Known answers of the NMEA parser: sentences as real receivers sent them, taken from the
//! regression logs of the gpsd project (file named at each test) and from receiver manuals.

use m2mhal_nmea::{Nmea, NmeaError, parse_line};

fn parse(line: &str) -> Nmea {
    parse_line(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[track_caller]
fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-6,
        "{actual} is not {expected}"
    );
}

/// u-blox LEA-5H, gpsd `test/daemon/ublox-lea-5h.log`.
#[test]
fn u_blox_lea_5h_gga() {
    let Nmea::Gga(gga) =
        parse("$GPGGA,083723.00,5155.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70")
    else {
        panic!("not a GGA");
    };
    let position = gga.position.unwrap();
    close(position.latitude, 51.0 + 55.55442 / 60.0);
    close(position.longitude, 4.0 + 34.65873 / 60.0);
    assert_eq!((gga.quality, gga.satellites), (1, Some(6)));
    assert_eq!((gga.hdop, gga.altitude), (Some(2.51), Some(-4.0)));
    assert_eq!(gga.time.unwrap().seconds, 8 * 3600 + 37 * 60 + 23);
}

/// u-blox LEA-5H, gpsd `test/daemon/ublox-lea-5h.log`: no course while standing.
#[test]
fn u_blox_lea_5h_rmc_vtg_gsa_gsv_gll() {
    let Nmea::Rmc(rmc) =
        parse("$GPRMC,083723.00,A,5155.55442,N,00434.65873,E,0.211,,210810,,,A*7F")
    else {
        panic!("not an RMC");
    };
    assert!(rmc.valid);
    close(rmc.speed.unwrap(), 0.211 * 1852.0 / 3600.0);
    assert_eq!(rmc.course, None);
    let date = rmc.date.unwrap();
    assert_eq!((date.year, date.month, date.day), (2010, 8, 21));

    let Nmea::Vtg(vtg) = parse("$GPVTG,,T,,M,0.211,N,0.391,K,A*2A") else {
        panic!("not a VTG");
    };
    close(vtg.speed.unwrap(), 0.391 / 3.6);
    assert_eq!(vtg.course, None);

    let Nmea::Gsa(gsa) = parse("$GPGSA,A,3,27,15,09,28,18,08,,,,,,,3.33,2.51,2.20*04") else {
        panic!("not a GSA");
    };
    assert_eq!((gsa.fix_type, gsa.used), (3, 6));
    assert_eq!(
        (gsa.pdop, gsa.hdop, gsa.vdop),
        (Some(3.33), Some(2.51), Some(2.2))
    );

    let Nmea::Gsv(gsv) = parse("$GPGSV,3,1,12,05,04,187,,08,11,078,29,09,43,270,37,12,03,212,*75")
    else {
        panic!("not a GSV");
    };
    assert_eq!((gsv.talker.as_str(), gsv.in_view), ("GP", 12));

    let Nmea::Gll(gll) = parse("$GPGLL,5155.55442,N,00434.65873,E,083723.00,A,A*6E") else {
        panic!("not a GLL");
    };
    assert!(gll.valid);
    close(gll.position.unwrap().longitude, 4.0 + 34.65873 / 60.0);

    assert_eq!(
        parse("$GPTXT,01,01,02,MOD LEA-5H-0*2E"),
        Nmea::Txt("MOD LEA-5H-0".to_owned())
    );
}

/// Quectel L76K, gpsd `test/daemon/quectel-l76k-nmea.log`: GN talker, west longitude, NMEA 4.10
/// fields (RMC navigational status, GSA system id), GSV of three constellations.
#[test]
fn quectel_l76k_multi_constellation() {
    let Nmea::Rmc(rmc) =
        parse("$GNRMC,055234.000,A,4739.71890,N,12219.58362,W,0.00,286.35,050826,,,A,V*13")
    else {
        panic!("not an RMC");
    };
    assert!(rmc.valid);
    close(rmc.position.unwrap().longitude, -(122.0 + 19.58362 / 60.0));
    assert_eq!((rmc.speed, rmc.course), (Some(0.0), Some(286.35)));

    let Nmea::Gga(gga) =
        parse("$GNGGA,055234.200,4739.71890,N,12219.58362,W,1,14,0.9,76.5,M,-21.6,M,,*4A")
    else {
        panic!("not a GGA");
    };
    assert_eq!(gga.time.unwrap().millis, 200);
    assert_eq!((gga.satellites, gga.altitude), (Some(14), Some(76.5)));

    let Nmea::Gsa(gsa) = parse("$GNGSA,A,3,13,27,37,,,,,,,,,,1.5,0.9,1.2,4*39") else {
        panic!("not a GSA");
    };
    assert_eq!((gsa.used, gsa.hdop), (3, Some(0.9)));

    for (line, talker, in_view) in [
        (
            "$BDGSV,1,1,03,13,19,043,17,27,38,127,33,37,36,091,24,0*49",
            "BD",
            3,
        ),
        ("$GLGSV,3,3,10,71,23,216,,72,43,277,,0*7A", "GL", 10),
    ] {
        let Nmea::Gsv(gsv) = parse(line) else {
            panic!("not a GSV");
        };
        assert_eq!((gsv.talker.as_str(), gsv.in_view), (talker, in_view));
    }
    assert_eq!(parse("$GNZDA,055234.000,05,08,2026,00,00*46"), Nmea::Other);
}

/// u-blox NEO-M9N, gpsd `test/daemon/ublox-neo-m9n-nmea.log`: Galileo (GA) and BeiDou (GB)
/// talkers, DGPS quality 2.
#[test]
fn u_blox_neo_m9n_galileo_and_beidou() {
    let Nmea::Gsv(galileo) =
        parse("$GAGSV,3,1,10,03,44,149,40,05,42,071,39,08,08,190,,09,06,034,,7*74")
    else {
        panic!("not a GSV");
    };
    assert_eq!((galileo.talker.as_str(), galileo.in_view), ("GA", 10));
    let Nmea::Gsv(beidou) = parse("$GBGSV,2,2,07,30,37,312,36,32,45,196,44,33,20,043,27,1*4D")
    else {
        panic!("not a GSV");
    };
    assert_eq!((beidou.talker.as_str(), beidou.in_view), ("GB", 7));
    let Nmea::Gga(gga) =
        parse("$GNGGA,223745.00,3806.62964,N,12237.61382,W,2,12,0.54,83.1,M,-29.5,M,,0000*44")
    else {
        panic!("not a GGA");
    };
    assert_eq!(gga.quality, 2);
    let Nmea::Vtg(vtg) = parse("$GNVTG,,T,,M,0.040,N,0.075,K,D*3E") else {
        panic!("not a VTG");
    };
    close(vtg.speed.unwrap(), 0.075 / 3.6);
}

/// A car on a motorway, gpsd regression logs: course and speed in RMC and VTG agree.
#[test]
fn moving_rmc_and_vtg() {
    let Nmea::Rmc(rmc) =
        parse("$GPRMC,143306.50,A,5546.82983,N,02334.72123,E,30.324,221.16,091209,,,A*52")
    else {
        panic!("not an RMC");
    };
    close(rmc.speed.unwrap(), 30.324 * 1852.0 / 3600.0);
    assert_eq!(rmc.course, Some(221.16));
    let Nmea::Vtg(vtg) = parse("$GPVTG,221.16,T,,M,30.324,N,56.191,K,A*37") else {
        panic!("not a VTG");
    };
    assert_eq!(vtg.course, Some(221.16));
    close(vtg.speed.unwrap(), 56.191 / 3.6);
}

/// The RMC and GGA examples of the u-blox 8 / M8 Receiver Description (what u-blox cellular
/// modules return for `AT+UGRMC?` / `AT+UGGGA?`), and what a u-blox writes before its first fix.
#[test]
fn u_blox_m8_receiver_description_rmc_gga_and_searching() {
    let Nmea::Rmc(rmc) =
        parse("$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57")
    else {
        panic!("not an RMC");
    };
    assert!(rmc.valid);
    let position = rmc.position.unwrap();
    close(position.latitude, 47.0 + 17.11437 / 60.0);
    close(position.longitude, 8.0 + 33.91522 / 60.0);
    close(rmc.speed.unwrap(), 0.004 * 1852.0 / 3600.0);
    assert_eq!(rmc.course, Some(77.52));
    // 2002-12-09 08:35:59 UTC.
    assert_eq!(rmc.date.unwrap().at(rmc.time.unwrap()), Some(1_039_422_959));

    let Nmea::Gga(gga) =
        parse("$GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,*5B")
    else {
        panic!("not a GGA");
    };
    assert_eq!((gga.quality, gga.satellites), (1, Some(8)));
    assert_eq!((gga.hdop, gga.altitude), (Some(1.01), Some(499.6)));

    let Nmea::Rmc(searching) = parse("$GPRMC,,V,,,,,,,,,,N*53") else {
        panic!("not an RMC");
    };
    assert!(!searching.valid && searching.position.is_none());
    // Status A but mode N (no fix): not valid.
    let Nmea::Rmc(mode_n) =
        parse("$GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,N*46")
    else {
        panic!("not an RMC");
    };
    assert!(!mode_n.valid);
    let Nmea::Gga(no_fix) = parse("$GPGGA,,,,,,0,00,99.99,,,,,,*48") else {
        panic!("not a GGA");
    };
    assert_eq!((no_fix.quality, no_fix.altitude), (0, None));
}

/// No fix yet: SiRF (status V with a stale position) and MediaTek (quality 0 with a placeholder
/// position that is no angle at all), gpsd `test/daemon/*.log`.
#[test]
fn receivers_without_a_fix() {
    let Nmea::Rmc(rmc) =
        parse("$GPRMC,125106,V,3854.5087,N,07726.4523,W,0.0,0.0,241011,10.5,W,S*28")
    else {
        panic!("not an RMC");
    };
    assert!(!rmc.valid);
    let Nmea::Gll(gll) = parse("$GPGLL,3854.5087,N,07726.4523,W,125106,V,S*55") else {
        panic!("not a GLL");
    };
    assert!(!gll.valid);
    let Nmea::Gga(gga) = parse("$GNGGA,074150.799,,,,,0,00,,,M,0.0,M,,0000,*64") else {
        panic!("not a GGA");
    };
    assert_eq!((gga.quality, gga.position), (0, None));
    assert!(matches!(
        parse_line(b"$GPGGA,235946.005,8960.000000,N,00000.000000,E,0,0,,137.000,M,13.000,M,,*49"),
        Err(NmeaError::Field {
            field: "latitude",
            ..
        })
    ));
}

/// NMEA 0183 (and the u-blox M8 protocol specification): the checksum is the XOR of the bytes
/// between `$` and `*`; one wrong byte is enough to drop the sentence.
#[test]
fn one_damaged_byte_drops_the_sentence() {
    let good = "$GPGGA,083723.00,5155.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70";
    assert!(parse_line(good.as_bytes()).is_ok());
    let damaged = good.replace("5155.55442", "5155.55443");
    assert!(matches!(
        parse_line(damaged.as_bytes()),
        Err(NmeaError::Checksum { .. })
    ));
}
