//! u-blox cellular modules with a GNSS receiver attached or built in (SARA-R4/R5, LARA-R6):
//! `AT+UGPS?`, `AT+UGPS=1,0,<GNSS systems>`/`AT+UGPS=0`, `AT+UGRMC=1` then `AT+UGRMC?` (u-blox
//! SARA-R4 series AT Commands Manual UBX-17003787, SARA-R5 series AT Commands Manual
//! UBX-19047455, LARA-R6 series AT Commands Manual UBX-21046719: "GNSS power management
//! +UGPS", "Get GPRMC data +UGRMC").

use m2mhal_plugin_api::Fix;

use super::rmc;

/// `AT+UGPS=1,0,67`: on, without aiding, GPS + SBAS + GLONASS (`<GNSS_systems>` is a bit map:
/// 1 GPS, 2 SBAS, 64 GLONASS).
pub(super) const POWER_ON: &str = "AT+UGPS=1,0,67";
/// The answer prefix of `AT+UGRMC?`.
const RMC_PREFIX: &str = "+UGRMC:";
/// What `AT+UGRMC?` says in place of a sentence when the receiver has none to give.
const NOT_AVAILABLE: &str = "Not available";

/// `+UGRMC: <mode>,<$GPRMC sentence>`, or `+UGRMC: <mode>,Not available`: the last RMC
/// sentence the receiver sent (status `V`: no fix), or none. `None`: no such line, or a sentence
/// that does not read.
pub(super) fn fix(lines: &[String]) -> Option<Fix> {
    let answer = lines.iter().find_map(|line| {
        let line = line.trim();
        let head = line.get(..RMC_PREFIX.len())?;
        head.eq_ignore_ascii_case(RMC_PREFIX)
            .then(|| &line[RMC_PREFIX.len()..])
    })?;
    let (_mode, sentence) = answer.split_once(',')?;
    let sentence = sentence.trim();
    if sentence.eq_ignore_ascii_case(NOT_AVAILABLE) {
        return Some(Fix::none());
    }
    rmc::fix(sentence)
}

#[cfg(test)]
mod tests {
    use m2mhal_at::AtError;
    use m2mhal_plugin_api::FixMode;
    use proptest::prelude::*;

    use super::super::GnssFamily;
    use super::super::answers::{answer, cme};
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
        }
    }
}
