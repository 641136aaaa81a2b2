//! The position layout Telit defined for `$GPSACP` and Quectel copied for `+QGPSLOC`:
//! `<UTC hhmmss.sss>,<lat>,<lon>,<hdop>,<altitude>,<fix>,<cog ddd.mm>,<km/h>,<knots>,
//! <date ddmmyy>,<satellites>`. Only the way latitude and longitude are written differs.

use m2mhal_plugin_api::{Fix, FixMode, LocationSource};

use super::units::{course_of_degrees_minutes, time_of};
use crate::parse::Field;

/// The `<fix>` field: 2D or 3D; `None` for anything else (no fix).
pub(super) fn mode(fields: &[Field<'_>]) -> Option<FixMode> {
    match fields.get(5)?.number::<u8>()? {
        2 => Some(FixMode::TwoD),
        3 => Some(FixMode::ThreeD),
        _ => None,
    }
}

/// The fix of an answer with a 2D or 3D `<fix>` whose position is `latitude`, `longitude`;
/// `None` when a field does not read.
pub(super) fn fix(fields: &[Field<'_>], latitude: f64, longitude: f64) -> Option<Fix> {
    let number = |index: usize| fields.get(index)?.number::<f64>().filter(|n| n.is_finite());
    let mode = mode(fields)?;
    Some(Fix {
        mode,
        latitude,
        longitude,
        altitude: match mode {
            FixMode::ThreeD => number(4).unwrap_or(f64::NAN),
            _ => f64::NAN,
        },
        hdop: number(3).unwrap_or(f64::NAN),
        speed: number(7).map_or(f64::NAN, |kmh| kmh / 3.6),
        course: number(6).map_or(f64::NAN, course_of_degrees_minutes),
        satellites_used: fields.get(10).and_then(|f| f.number()).unwrap_or(0),
        time: time_of(fields.get(9)?.text, fields.first()?.text)?,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    })
}
