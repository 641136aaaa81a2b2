//! Telit (LE910Cx, LN920, ME910/ML865 families): `AT$GPSP?`, `AT$GPSP=1`/`AT$GPSP=0` and
//! `AT$GPSACP` (Telit LE910Cx AT Commands Reference Guide 80502ST10950A, ME910C1/NE910C1/ML865C1
//! AT Commands Reference Guide 80529ST10815A, LN920 AT Commands Reference Guide 80617ST10991A:
//! "GNSS Controller Power Management" and "Get Acquired Position").

use m2mhal_plugin_api::Fix;

use super::acp;
use super::units::degrees;
use crate::parse::Field;

/// `$GPSACP: <UTC hhmmss.sss>,<latitude ddmm.mmmmN>,<longitude dddmm.mmmmE>,<hdop>,<altitude>,
/// <fix>,<cog ddd.mm>,<spkm km/h>,<spkn knots>,<date ddmmyy>,<nsat>`. `<fix>` 0 or 1 (invalid)
/// or an answer with every field empty: no fix.
pub(super) fn fix(fields: &[Field<'_>]) -> Option<Fix> {
    if acp::mode(fields).is_none() {
        let says_invalid = matches!(fields.get(5).map(|field| field.text), Some("0" | "1"));
        let blank = fields.iter().all(|field| field.text.is_empty());
        return (says_invalid || blank).then(Fix::none);
    }
    let latitude = angle(fields.get(1)?.text, ('N', 'S'), 90.0)?;
    let longitude = angle(fields.get(2)?.text, ('E', 'W'), 180.0)?;
    acp::fix(fields, latitude, longitude)
}

/// `ddmm.mmmmN` / `dddmm.mmmmE` as signed degrees.
fn angle(text: &str, letters: (char, char), max: f64) -> Option<f64> {
    let split = text
        .len()
        .checked_sub(1)
        .filter(|at| text.is_char_boundary(*at))?;
    let (value, hemisphere) = text.split_at(split);
    degrees(value.parse().ok()?, hemisphere, letters, max)
}

#[cfg(test)]
mod tests {
    use m2mhal_at::AtError;
    use m2mhal_plugin_api::FixMode;
    use proptest::prelude::*;

    use super::super::GnssFamily;
    use super::super::answers::answer;
    use super::*;

    #[test]
    fn a_3d_fix_in_the_manuals_layout() {
        // The position and date of the manuals' example (Trieste, 27 July 2005), each field
        // where the `$GPSACP` syntax puts it.
        let fix = GnssFamily::Telit
            .fix(&answer(
                "$GPSACP: 080220.000,4542.82691N,01344.26820E,0.9,259.07,3,182.30,36.0,19.4,270705,09",
            ))
            .unwrap();
        assert_eq!(fix.mode, FixMode::ThreeD);
        assert!((fix.latitude - (45.0 + 42.82691 / 60.0)).abs() < 1e-9);
        assert!((fix.longitude - (13.0 + 44.26820 / 60.0)).abs() < 1e-9);
        assert_eq!(
            (fix.hdop, fix.altitude, fix.satellites_used),
            (0.9, 259.07, 9)
        );
        assert!((fix.course - 182.5).abs() < 1e-9, "182 degrees 30 minutes");
        assert!((fix.speed - 10.0).abs() < 1e-9, "36 km/h");
        // 2005-07-27 08:02:20 UTC.
        assert_eq!(fix.time, 1_122_451_340);
        let south_west = GnssFamily::Telit
            .fix(&answer(
                "$GPSACP: 080220,3351.4080S,15112.9180W,1.4,,2,0.0,0.0,0.0,270705,04",
            ))
            .unwrap();
        assert_eq!(south_west.mode, FixMode::TwoD);
        assert!((south_west.latitude + (33.0 + 51.408 / 60.0)).abs() < 1e-9);
        assert!((south_west.longitude + (151.0 + 12.918 / 60.0)).abs() < 1e-9);
        assert!(south_west.altitude.is_nan());
    }

    #[test]
    fn no_fix_is_an_empty_answer_or_fix_0_or_1() {
        for no_fix in [
            "$GPSACP: ",
            "$GPSACP: ,,,,,,,,,,",
            "$GPSACP: 002706.000,,,,,1,,0.0,0.0,060180,00",
            "$GPSACP: 080220.000,4542.82691N,01344.26820E,99.9,,0,,,,270705,00",
        ] {
            let fix = GnssFamily::Telit.fix(&answer(no_fix)).unwrap();
            assert!(fix.same_as(&Fix::none()), "{no_fix}");
        }
        assert_eq!(GnssFamily::Telit.fix(&Err(AtError::Error)), None);
        // A 3D fix whose latitude does not read.
        assert_eq!(
            GnssFamily::Telit.fix(&answer(
                "$GPSACP: 080220.000,4542.82691X,01344.26820E,0.9,259.07,3,0,0,0,270705,09"
            )),
            None
        );
    }

    proptest! {
        #[test]
        fn any_answer_is_read_or_refused_without_panic(text in "\\PC{0,120}") {
            let _ = GnssFamily::Telit.fix(&answer(&format!("$GPSACP: {text}")));
        }

        #[test]
        fn any_acp_shaped_answer_reads_within_range(
            fields in proptest::collection::vec("[0-9NSEW.,-]{0,12}", 0..12),
        ) {
            let line = format!("$GPSACP: {}", fields.join(","));
            if let Some(fix) = GnssFamily::Telit.fix(&answer(&line)) {
                prop_assert!(fix.mode == FixMode::None || fix.latitude.abs() <= 90.0);
                prop_assert!(fix.mode == FixMode::None || fix.longitude.abs() <= 180.0);
            }
        }
    }
}
