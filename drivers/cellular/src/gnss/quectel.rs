//! Quectel: `AT+QGPS?`, `AT+QGPS=1`, `AT+QGPSEND`, `AT+QGPSLOC=2` (Quectel GNSS AT Commands
//! Manual, e.g. EC2x/EG2x/EG9x/EM05 GNSS Application Note).

use m2mhal_plugin_api::Fix;

use super::acp;
use crate::parse::Field;

/// `+CME ERROR: 504`, the session is already running (switching on twice).
pub(super) const SESSION_ONGOING: u16 = 504;
/// `+CME ERROR: 505`, no session is running (switching off twice).
pub(super) const SESSION_INACTIVE: u16 = 505;
/// `+CME ERROR: 516`, no fix yet.
pub(super) const NO_FIX: u16 = 516;

/// `+QGPSLOC: <UTC>,<lat (-)dd.ddddd>,<lon (-)ddd.ddddd>,...` in mode 2: the `$GPSACP` layout
/// with signed decimal degrees.
pub(super) fn fix(fields: &[Field<'_>]) -> Option<Fix> {
    let number = |index: usize| fields.get(index)?.number::<f64>().filter(|n| n.is_finite());
    let latitude = number(1).filter(|l| l.abs() <= 90.0)?;
    let longitude = number(2).filter(|l| l.abs() <= 180.0)?;
    acp::fix(fields, latitude, longitude)
}

#[cfg(test)]
mod tests {
    use m2mhal_at::AtError;
    use m2mhal_plugin_api::{Fix, FixMode};

    use super::super::GnssFamily;
    use super::super::answers::{answer, cme};

    #[test]
    fn quectel_location_in_mode_2() {
        // The Quectel GNSS AT Commands Manual's example, in mode 2.
        let fix = GnssFamily::Quectel
            .fix(&answer(
                "+QGPSLOC: 061951.000,31.84537,117.19882,0.7,62.2,3,150.30,36.0,19.4,110513,09",
            ))
            .unwrap();
        assert_eq!(fix.mode, FixMode::ThreeD);
        assert_eq!((fix.latitude, fix.longitude), (31.84537, 117.19882));
        assert_eq!(
            (fix.hdop, fix.altitude, fix.satellites_used),
            (0.7, 62.2, 9)
        );
        assert!((fix.course - 150.5).abs() < 1e-9, "150 degrees 30 minutes");
        assert!((fix.speed - 10.0).abs() < 1e-9, "36 km/h");
        // 2013-05-11 06:19:51 UTC.
        assert_eq!(fix.time, 1_368_253_191);
        assert!(
            GnssFamily::Quectel
                .fix(&cme("516"))
                .unwrap()
                .same_as(&Fix::none())
        );
        assert_eq!(GnssFamily::Quectel.fix(&Err(AtError::Error)), None);
        let two_d = GnssFamily::Quectel
            .fix(&answer(
                "+QGPSLOC: 061951.000,-31.5,-117.25,1.2,62.2,2,0.00,0.0,0.0,110513,04",
            ))
            .unwrap();
        assert_eq!((two_d.mode, two_d.latitude), (FixMode::TwoD, -31.5));
        assert!(two_d.altitude.is_nan());
    }
}
