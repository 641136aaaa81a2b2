//! SIMCom: `AT+CGPS?`, `AT+CGPS=1`/`AT+CGPS=0`, `AT+CGPSINFO` (SIMCom SIM7500/SIM7600 Series AT
//! Command Manual).

use m2mhal_plugin_api::{Fix, FixMode, LocationSource};

use super::units::{KNOT_M_S, degrees, time_of};
use crate::parse::Field;

/// `+CGPSINFO: <lat ddmm.mmmmmm>,<N/S>,<lon dddmm.mmmmmm>,<E/W>,<date ddmmyy>,<UTC hhmmss.s>,
/// <altitude>,<knots>,<course>`; all empty without a fix.
pub(super) fn fix(fields: &[Field<'_>]) -> Option<Fix> {
    if fields.iter().all(|field| field.text.is_empty()) {
        return Some(Fix::none());
    }
    let number = |index: usize| fields.get(index)?.number::<f64>().filter(|n| n.is_finite());
    let latitude = degrees(number(0)?, fields.get(1)?.text, ('N', 'S'), 90.0)?;
    let longitude = degrees(number(2)?, fields.get(3)?.text, ('E', 'W'), 180.0)?;
    let altitude = number(6);
    Some(Fix {
        mode: if altitude.is_some() {
            FixMode::ThreeD
        } else {
            FixMode::TwoD
        },
        latitude,
        longitude,
        altitude: altitude.unwrap_or(f64::NAN),
        speed: number(7).map_or(f64::NAN, |knots| knots * KNOT_M_S),
        course: number(8).unwrap_or(f64::NAN),
        time: time_of(fields.get(4)?.text, fields.get(5)?.text)?,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    })
}

#[cfg(test)]
mod tests {
    use m2mhal_plugin_api::{Fix, FixMode};

    use super::super::GnssFamily;
    use super::super::answers::answer;

    #[test]
    fn simcom_gps_info() {
        // The SIMCom SIM7600 AT Command Manual's example.
        let fix = GnssFamily::Simcom
            .fix(&answer(
                "+CGPSINFO: 3113.343286,N,12121.234064,E,250311,072809.3,44.1,0.0,0",
            ))
            .unwrap();
        assert!((fix.latitude - (31.0 + 13.343286 / 60.0)).abs() < 1e-9);
        assert!((fix.longitude - (121.0 + 21.234064 / 60.0)).abs() < 1e-9);
        assert_eq!(
            (fix.mode, fix.altitude, fix.speed),
            (FixMode::ThreeD, 44.1, 0.0)
        );
        // 2011-03-25 07:28:09 UTC.
        assert_eq!(fix.time, 1_301_038_089);
        let none = GnssFamily::Simcom
            .fix(&answer("+CGPSINFO: ,,,,,,,,"))
            .unwrap();
        assert!(none.same_as(&Fix::none()));
        assert_eq!(
            GnssFamily::Simcom.fix(&answer("+CGPSINFO: 3113.3,X,12121.2,E,250311,072809.3,,,")),
            None
        );
    }
}
