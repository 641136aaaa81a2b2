//! Just enough NMEA 0183 for the modems that answer with sentences: RMC (position, time, speed,
//! course) and GGA (altitude, satellites, HDOP), checksums verified. (The NMEA parser of the
//! `gnss` driver cannot be linked in here: that crate is a plugin too, and two plugins in one
//! library would export the same entry point.)

use m2mhal_plugin_api::{Fix, FixMode, LocationSource};

use super::units::{KNOT_M_S, degrees, time_of};

/// What a GGA sentence adds to the position of an RMC sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Gga {
    /// Fix quality: 0 no fix, 1 GPS, 2 DGPS, 4/5 RTK, 6 estimated.
    pub quality: u8,
    /// Satellites used.
    pub satellites: Option<u32>,
    /// Horizontal dilution of precision.
    pub hdop: Option<f64>,
    /// Metres above mean sea level.
    pub altitude: Option<f64>,
}

/// `$--GGA,<UTC>,<lat>,<N|S>,<lon>,<E|W>,<quality>,<satellites>,<HDOP>,<altitude>,M,<geoid
/// separation>,M,<age>,<station>*hh` with any talker; `None`: not a GGA sentence, a bad checksum
/// or no quality.
pub(super) fn gga(sentence: &str) -> Option<Gga> {
    let fields = fields_of(sentence, "GGA")?;
    let number = |index: usize| {
        fields
            .get(index)?
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
    };
    Some(Gga {
        quality: fields.get(6)?.parse().ok()?,
        satellites: fields.get(7).and_then(|field| field.parse().ok()),
        hdop: number(8),
        altitude: number(9),
    })
}

/// `$--RMC,<UTC hhmmss.ss>,<status A|V>,<lat ddmm.mmmmm>,<N|S>,<lon dddmm.mmmmm>,<E|W>,
/// <knots>,<course>,<date ddmmyy>,<magnetic variation>,<E|W>[,<mode>[,<nav status>]]*hh` with any
/// talker. Status `V` or mode `N`: no fix ([`Fix::none`]). `None`: not an RMC sentence, a bad
/// checksum, or a field that does not read. RMC has no altitude: a valid fix is 2D.
pub(super) fn rmc_fix(sentence: &str) -> Option<Fix> {
    let fields = fields_of(sentence, "RMC")?;
    let field = |index: usize| fields.get(index).copied().unwrap_or("");
    let number = |index: usize| field(index).parse::<f64>().ok().filter(|n| n.is_finite());
    match (field(2), field(12)) {
        ("V", _) | (_, "N") => return Some(Fix::none()),
        ("A", _) => {}
        _ => return None,
    }
    Some(Fix {
        mode: FixMode::TwoD,
        latitude: degrees(number(3)?, field(4), ('N', 'S'), 90.0)?,
        longitude: degrees(number(5)?, field(6), ('E', 'W'), 180.0)?,
        speed: number(7).map_or(f64::NAN, |knots| knots * KNOT_M_S),
        course: number(8).unwrap_or(f64::NAN),
        time: time_of(field(9), field(1))?,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    })
}

/// The fields of a `kind` sentence (`RMC`) of any talker whose checksum is right, its address
/// first.
fn fields_of<'a>(sentence: &'a str, kind: &str) -> Option<Vec<&'a str>> {
    let fields: Vec<&str> = verified_body(sentence)?.split(',').collect();
    let address = fields.first()?;
    (address.len() == 5 && address.ends_with(kind)).then_some(fields)
}

/// The text between `$` and `*hh` when `hh` is its XOR checksum.
fn verified_body(sentence: &str) -> Option<&str> {
    let (body, checksum) = sentence.trim().strip_prefix('$')?.rsplit_once('*')?;
    if checksum.len() != 2 || !checksum.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let expected = u8::from_str_radix(checksum, 16).ok()?;
    let actual = body.bytes().fold(0, |sum, byte| sum ^ byte);
    (actual == expected).then_some(body)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_u_blox_receiver_description_example() {
        // u-blox 8 / M8 Receiver Description, RMC.
        let fix =
            rmc_fix("$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57")
                .unwrap();
        assert_eq!(fix.mode, FixMode::TwoD);
        assert!((fix.latitude - (47.0 + 17.11437 / 60.0)).abs() < 1e-9);
        assert!((fix.longitude - (8.0 + 33.91522 / 60.0)).abs() < 1e-9);
        assert!((fix.speed - 0.004 * KNOT_M_S).abs() < 1e-12);
        assert_eq!(fix.course, 77.52);
        // 2002-12-09 08:35:59 UTC.
        assert_eq!(fix.time, 1_039_422_959);
        assert!(fix.altitude.is_nan());
    }

    #[test]
    fn the_u_blox_receiver_description_gga_example() {
        let gga = gga("$GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,*5B");
        assert_eq!(
            gga,
            Some(Gga {
                quality: 1,
                satellites: Some(8),
                hdop: Some(1.01),
                altitude: Some(499.6)
            })
        );
        let searching = super::gga("$GPGGA,,,,,,0,00,99.99,,,,,,*48").unwrap();
        assert_eq!((searching.quality, searching.altitude), (0, None));
        assert_eq!(super::gga("$GPGGA,,,,,,0,00,99.99,,,,,,*49"), None);
        assert_eq!(
            super::gga("$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57"),
            None
        );
    }

    #[test]
    fn no_fix_and_damage() {
        // As a u-blox writes it before its first fix.
        assert!(
            rmc_fix("$GPRMC,,V,,,,,,,,,,N*53")
                .unwrap()
                .same_as(&Fix::none())
        );
        assert!(
            rmc_fix("$GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,N*46")
                .unwrap()
                .same_as(&Fix::none())
        );
        // One digit changed under the old checksum.
        assert_eq!(
            rmc_fix("$GPRMC,083559.00,A,4717.11438,N,00833.91522,E,0.004,77.52,091202,,,A*57"),
            None
        );
        assert_eq!(rmc_fix("$GPGGA,,,,,,0,00,99.99,,,,,,*48"), None);
        assert_eq!(rmc_fix("GPRMC,,V,,,,,,,,,,N*53"), None);
        assert_eq!(rmc_fix("$GPRMC,,V,,,,,,,,,,N"), None);
    }

    proptest! {
        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "\\PC{0,100}") {
            let _ = rmc_fix(&text);
            let _ = gga(&text);
        }

        #[test]
        fn any_rmc_shaped_sentence_reads_within_range(
            fields in proptest::collection::vec("[0-9A-Z.,-]{0,12}", 0..14),
        ) {
            let body = format!("GPRMC,{}", fields.join(","));
            let checksum = body.bytes().fold(0, |sum, byte| sum ^ byte);
            if let Some(fix) = rmc_fix(&format!("${body}*{checksum:02X}")) {
                prop_assert!(fix.mode == FixMode::None || fix.latitude.abs() <= 90.0);
                prop_assert!(fix.mode == FixMode::None || fix.longitude.abs() <= 180.0);
            }
        }
    }
}
