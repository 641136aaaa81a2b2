//! u-blox cellular modules with a GNSS receiver attached or built in (SARA-R4/R5, LARA-R6):
//! `AT+UGPS?`, `AT+UGPS=1,0,<GNSS systems>`/`AT+UGPS=0`, `AT+UGRMC=1;+UGGGA=1` then
//! `AT+UGRMC?;+UGGGA?` (u-blox SARA-R4 series AT Commands Manual UBX-17003787, SARA-R5 series
//! AT Commands Manual UBX-19047455, LARA-R6 series AT Commands Manual UBX-21046719: "GNSS power
//! management +UGPS", "Get GPRMC data +UGRMC", "Get GPS fix data +UGGGA", "Concatenation of AT
//! commands").

use m2mhal_nmea::{Gga, Nmea, Rmc, parse_line};
use m2mhal_plugin_api::{Fix, FixMode, LocationSource};

/// `AT+UGPS=1,0,67`: on, without aiding, GPS + SBAS + GLONASS (`<GNSS_systems>` is a bit map:
/// 1 GPS, 2 SBAS, 64 GLONASS).
pub(super) const POWER_ON: &str = "AT+UGPS=1,0,67";
/// Keep the last RMC and GGA sentences for reading (one command line: the manuals' "Concatenation
/// of AT commands").
pub(super) const KEEP_SENTENCES: &str = "AT+UGRMC=1;+UGGGA=1";
/// Read the last RMC and GGA sentences.
pub(super) const READ_SENTENCES: &str = "AT+UGRMC?;+UGGGA?";
/// The answer prefix of `AT+UGRMC?`.
const RMC_PREFIX: &str = "+UGRMC:";
/// The answer prefix of `AT+UGGGA?`.
const GGA_PREFIX: &str = "+UGGGA:";
/// What `AT+UGRMC?` / `AT+UGGGA?` say in place of a sentence when the receiver has none to give.
const NOT_AVAILABLE: &str = "Not available";

/// The answers to [`READ_SENTENCES`]: `+UGRMC: <mode>,<$GPRMC sentence>` (status `V`: no fix)
/// or `+UGRMC: <mode>,Not available` (none), and the same of GGA. The two are the receiver's
/// last sentence of each kind, kept separately (possibly of different epochs), so they are not
/// assembled as an epoch: the RMC sentence, which has the date, is the fix, and a GGA with a fix
/// adds altitude (a 3D fix), satellites and HDOP to it. `None`: no RMC line, or a sentence that
/// does not read (a bad checksum, a malformed field, a valid RMC without position or date).
pub(super) fn fix(lines: &[String]) -> Option<Fix> {
    let rmc = sentence(lines, RMC_PREFIX)?;
    if rmc.eq_ignore_ascii_case(NOT_AVAILABLE) {
        return Some(Fix::none());
    }
    let Ok(Nmea::Rmc(rmc)) = parse_line(rmc.as_bytes()) else {
        return None;
    };
    let fix = rmc_fix(&rmc)?;
    let gga = sentence(lines, GGA_PREFIX).and_then(|gga| match parse_line(gga.as_bytes()) {
        Ok(Nmea::Gga(gga)) if gga.quality > 0 => Some(gga),
        _ => None,
    });
    Some(match gga {
        Some(gga) if fix.mode != FixMode::None => with_gga(fix, &gga),
        _ => fix,
    })
}

/// The 2D fix of an RMC sentence (RMC has no altitude); [`Fix::none`] when it says the data
/// are not valid; `None` for a valid one without position, time or date.
fn rmc_fix(rmc: &Rmc) -> Option<Fix> {
    if !rmc.valid {
        return Some(Fix::none());
    }
    let position = rmc.position?;
    Some(Fix {
        mode: FixMode::TwoD,
        latitude: position.latitude,
        longitude: position.longitude,
        speed: rmc.speed.unwrap_or(f64::NAN),
        course: rmc.course.unwrap_or(f64::NAN),
        time: rmc.date?.at(rmc.time?)?,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    })
}

/// The text after `<prefix> <mode>,` in the first line that starts with `prefix`.
fn sentence<'a>(lines: &'a [String], prefix: &str) -> Option<&'a str> {
    lines.iter().find_map(|line| {
        let line = line.trim();
        let head = line.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let (_mode, sentence) = line[prefix.len()..].split_once(',')?;
        Some(sentence.trim())
    })
}

/// The RMC `fix` with what its GGA sentence adds.
fn with_gga(fix: Fix, gga: &Gga) -> Fix {
    Fix {
        mode: if gga.altitude.is_some() {
            FixMode::ThreeD
        } else {
            FixMode::TwoD
        },
        altitude: gga.altitude.unwrap_or(f64::NAN),
        hdop: gga.hdop.unwrap_or(f64::NAN),
        satellites_used: gga.satellites.unwrap_or(0),
        ..fix
    }
}

#[cfg(test)]
mod tests {
    use m2mhal_at::AtError;
    use m2mhal_plugin_api::FixMode;
    use proptest::prelude::*;

    use super::super::GnssFamily;
    use super::super::answers::{answer, answer_lines, cme};
    use super::*;

    #[test]
    fn the_last_rmc_sentence_is_the_fix() {
        // The RMC example of the u-blox 8 / M8 Receiver Description, as `AT+UGRMC?` wraps it.
        let fix = GnssFamily::Ublox
            .fix(&answer(
                "+UGRMC: 1,$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57",
            ))
            .unwrap();
        assert_eq!(fix.mode, FixMode::TwoD);
        assert!((fix.latitude - (47.0 + 17.11437 / 60.0)).abs() < 1e-9);
        assert_eq!(fix.time, 1_039_422_959);
        // Status V: the receiver runs without a fix.
        let searching = GnssFamily::Ublox.fix(&answer("+UGRMC: 1,$GPRMC,,V,,,,,,,,,,N*53"));
        assert!(searching.unwrap().same_as(&Fix::none()));
        let off = GnssFamily::Ublox.fix(&answer("+UGRMC: 0,Not available"));
        assert!(off.unwrap().same_as(&Fix::none()));
    }

    #[test]
    fn the_gga_sentence_adds_altitude_satellites_and_hdop() {
        // The RMC and GGA examples of the u-blox 8 / M8 Receiver Description.
        let rmc =
            "+UGRMC: 1,$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57";
        let gga =
            "+UGGGA: 1,$GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,*5B";
        let fix = GnssFamily::Ublox.fix(&answer_lines(&[rmc, gga])).unwrap();
        assert_eq!(fix.mode, FixMode::ThreeD);
        assert_eq!(
            (fix.altitude, fix.hdop, fix.satellites_used),
            (499.6, 1.01, 8)
        );
        assert!(
            (fix.latitude - (47.0 + 17.11437 / 60.0)).abs() < 1e-9,
            "RMC's"
        );
        assert_eq!(fix.time, 1_039_422_959, "RMC's");
        // A GGA without a fix, or none, adds nothing.
        for gga in [
            "+UGGGA: 1,$GPGGA,,,,,,0,00,99.99,,,,,,*48",
            "+UGGGA: 0,Not available",
            "+UGGGA: 1,$GPGGA,,,,,,0,00,99.99,,,,,,*47",
        ] {
            let fix = GnssFamily::Ublox.fix(&answer_lines(&[rmc, gga])).unwrap();
            assert_eq!((fix.mode, fix.satellites_used), (FixMode::TwoD, 0), "{gga}");
        }
        // No RMC fix: GGA does not make one.
        let searching = "+UGRMC: 1,$GPRMC,,V,,,,,,,,,,N*53";
        let fix = GnssFamily::Ublox
            .fix(&answer_lines(&[searching, gga]))
            .unwrap();
        assert!(fix.same_as(&Fix::none()));
    }

    #[test]
    fn errors_and_damage_leave_the_fix_alone() {
        assert_eq!(GnssFamily::Ublox.fix(&cme("3")), None);
        assert_eq!(GnssFamily::Ublox.fix(&Err(AtError::Error)), None);
        assert_eq!(GnssFamily::Ublox.fix(&answer("+UGRMC: 1")), None);
        assert_eq!(
            GnssFamily::Ublox.fix(&answer("+UGRMC: 1,$GPRMC,,V,,,,,,,,,,N*54")),
            None
        );
        assert_eq!(
            GnssFamily::Ublox.fix(&answer("+UGGGA: 1,Not available")),
            None
        );
    }

    proptest! {
        #[test]
        fn any_answer_is_read_or_refused_without_panic(text in "\\PC{0,120}") {
            let _ = GnssFamily::Ublox.fix(&answer(&text));
            let _ = GnssFamily::Ublox.fix(&answer(&format!("+UGRMC: {text}")));
            let _ = GnssFamily::Ublox.fix(&answer(&format!("+UGRMC: 1,${text}")));
            let rmc = "+UGRMC: 1,$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57";
            let _ = GnssFamily::Ublox.fix(&answer_lines(&[rmc, &format!("+UGGGA: 1,${text}")]));
        }
    }
}
