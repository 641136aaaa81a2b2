//! The sentences a position is made of (GGA, RMC, GSA, GSV, VTG, GLL) and the TXT sentences that
//! identify a u-blox, decoded from a verified [`Sentence`] of any talker.

use super::NmeaError;
use super::fields::{self, Date, TimeOfDay};
use super::frame::Sentence;

/// Knots to metres per second.
const KNOT_M_S: f64 = 1852.0 / 3600.0;

/// A decoded sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Nmea {
    /// GGA: fix data.
    Gga(Gga),
    /// RMC: recommended minimum data.
    Rmc(Rmc),
    /// GSA: DOP and satellites used.
    Gsa(Gsa),
    /// GSV: satellites in view (one of a series).
    Gsv(Gsv),
    /// VTG: course and speed over ground.
    Vtg(Vtg),
    /// GLL: geographic position.
    Gll(Gll),
    /// TXT: a text message.
    Txt(String),
    /// A verified sentence this driver has no use for (ZDA, GST, proprietary, ...).
    Other,
}

/// A position with the time it was taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Signed degrees.
    pub latitude: f64,
    /// Signed degrees.
    pub longitude: f64,
}

/// GGA.
#[derive(Debug, Clone, PartialEq)]
pub struct Gga {
    /// UTC time of the fix.
    pub time: Option<TimeOfDay>,
    /// The position, when given.
    pub position: Option<Position>,
    /// Fix quality: 0 none, 1 GPS, 2 DGPS, 4/5 RTK, 6 estimated.
    pub quality: u32,
    /// Satellites used.
    pub satellites: Option<u32>,
    /// Horizontal dilution of precision.
    pub hdop: Option<f64>,
    /// Altitude above mean sea level, metres.
    pub altitude: Option<f64>,
}

/// RMC.
#[derive(Debug, Clone, PartialEq)]
pub struct Rmc {
    /// UTC time of the fix.
    pub time: Option<TimeOfDay>,
    /// Status `A` (and a mode other than `N`): the data are valid.
    pub valid: bool,
    /// The position, when given.
    pub position: Option<Position>,
    /// Speed over ground, m/s.
    pub speed: Option<f64>,
    /// Course over ground, degrees true.
    pub course: Option<f64>,
    /// UTC date.
    pub date: Option<Date>,
}

/// GSA (one per constellation on a multi-GNSS receiver).
#[derive(Debug, Clone, PartialEq)]
pub struct Gsa {
    /// 1 no fix, 2 2D, 3 3D.
    pub fix_type: u32,
    /// Satellites used (the PRN fields that are filled).
    pub used: u32,
    /// Position DOP.
    pub pdop: Option<f64>,
    /// Horizontal DOP.
    pub hdop: Option<f64>,
    /// Vertical DOP.
    pub vdop: Option<f64>,
}

/// GSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gsv {
    /// The talker (one count per constellation).
    pub talker: String,
    /// Satellites in view of this talker's constellation.
    pub in_view: u32,
}

/// VTG.
#[derive(Debug, Clone, PartialEq)]
pub struct Vtg {
    /// Course over ground, degrees true.
    pub course: Option<f64>,
    /// Speed over ground, m/s.
    pub speed: Option<f64>,
}

/// GLL.
#[derive(Debug, Clone, PartialEq)]
pub struct Gll {
    /// The position, when given.
    pub position: Option<Position>,
    /// UTC time of the position.
    pub time: Option<TimeOfDay>,
    /// Status `A` (and a mode other than `N`).
    pub valid: bool,
}

impl Nmea {
    /// Decodes a verified sentence; a field that does not parse is an error (the sentence is
    /// dropped whole, never half used).
    pub fn decode(sentence: &Sentence) -> Result<Nmea, NmeaError> {
        let Some((talker, kind)) = sentence.talker_and_type() else {
            return Ok(Nmea::Other);
        };
        let s = |index| sentence.field(index);
        Ok(match kind {
            "GGA" => Nmea::Gga(Gga {
                time: fields::time_of_day(s(0))?,
                position: position(s(1), s(2), s(3), s(4))?,
                quality: fields::count("quality", s(5))?.unwrap_or(0),
                satellites: fields::count("satellites", s(6))?,
                hdop: fields::number("hdop", s(7))?,
                altitude: fields::number("altitude", s(8))?,
            }),
            "RMC" => Nmea::Rmc(Rmc {
                time: fields::time_of_day(s(0))?,
                valid: fields::letter(s(1)) == Some('A') && fields::letter(s(11)) != Some('N'),
                position: position(s(2), s(3), s(4), s(5))?,
                speed: fields::number("speed", s(6))?.map(|knots| knots * KNOT_M_S),
                course: fields::number("course", s(7))?,
                date: fields::date(s(8))?,
            }),
            "GSA" => Nmea::Gsa(Gsa {
                fix_type: fields::count("fix type", s(1))?.unwrap_or(1),
                used: (2..14).map(|i| u32::from(!s(i).trim().is_empty())).sum(),
                pdop: fields::number("pdop", s(14))?,
                hdop: fields::number("hdop", s(15))?,
                vdop: fields::number("vdop", s(16))?,
            }),
            "GSV" => Nmea::Gsv(Gsv {
                talker: talker.to_owned(),
                in_view: fields::count("satellites in view", s(2))?.unwrap_or(0),
            }),
            "VTG" => vtg(sentence)?,
            "GLL" => Nmea::Gll(Gll {
                position: position(s(0), s(1), s(2), s(3))?,
                time: fields::time_of_day(s(4))?,
                valid: fields::letter(s(5)) == Some('A') && fields::letter(s(6)) != Some('N'),
            }),
            "TXT" => Nmea::Txt(s(3).trim().to_owned()),
            _ => Nmea::Other,
        })
    }
}

/// VTG in the NMEA 2.3+ form (`course,T,course,M,knots,N,kmh,K,mode`); the old form without the
/// unit letters (`course,course,knots,kmh`) is read too.
fn vtg(sentence: &Sentence) -> Result<Nmea, NmeaError> {
    let s = |index| sentence.field(index);
    let old_form = s(1) != "T" && sentence.fields.len() == 4;
    let (course, knots, kmh, mode) = if old_form {
        (s(0), s(2), s(3), "")
    } else {
        (s(0), s(4), s(6), s(8))
    };
    if fields::letter(mode) == Some('N') {
        return Ok(Nmea::Vtg(Vtg {
            course: None,
            speed: None,
        }));
    }
    let speed = match fields::number("speed", kmh)? {
        Some(kmh) => Some(kmh / 3.6),
        None => fields::number("speed", knots)?.map(|knots| knots * KNOT_M_S),
    };
    Ok(Nmea::Vtg(Vtg {
        course: fields::number("course", course)?,
        speed,
    }))
}

fn position(
    latitude: &str,
    north_south: &str,
    longitude: &str,
    east_west: &str,
) -> Result<Option<Position>, NmeaError> {
    let latitude = fields::angle("latitude", latitude, north_south, 90.0)?;
    let longitude = fields::angle("longitude", longitude, east_west, 180.0)?;
    Ok(latitude
        .zip(longitude)
        .map(|(latitude, longitude)| Position {
            latitude,
            longitude,
        }))
}
