//! A served modem's position from ModemManager's Location interface
//! (`org.freedesktop.ModemManager1.Modem.Location`): which of MM's sources m2mhal uses, what
//! MM's `Location` property says in m2mhal's words, and switching the GNSS with `Setup`.
//!
//! Three sources are used. `3gpp-lac-ci` (enabled whenever MM offers it: it costs nothing) gives
//! the serving cell's identity, `Location.Cell`; it carries no coordinates, so it never makes a
//! fix. `gps-raw` (enabled while the GNSS is on: `SetEnabled`, or `[modemmanager] gnss`) gives
//! the position: MM fills it from the receiver's GGA sentences (latitude, longitude, altitude,
//! UTC time of day) and drops it when the receiver reports no position. `gps-nmea` (enabled
//! with `gps-raw` when MM offers it) is MM's latest sentence of each type, CR LF separated;
//! they are read with `m2mhal-nmea` as one snapshot ([`FixAssembler::snapshot`]) and give what
//! gps-raw lacks: DOPs, speed, course, satellites used and in view, and a 2D mode when the GSA
//! sentence says so. gps-raw stays the source of the position and its time: MM updates both
//! from the same sentences, gps-raw is what MM validated as a position, and a modem without
//! gps-nmea keeps the same position as before. The `Location` property is read only once `Setup` asked MM to
//! signal it, which needs no extra polkit action (`GetLocation` would); switching the GNSS on
//! also sets MM's GPS refresh rate (how often it updates that property) to 5 s.

use std::collections::HashMap;
use std::time::Duration;

use m2mhal_nmea::{FixAssembler, parse_line};
use m2mhal_plugin_api::{CallError, Fix, FixMode, LocationSource, LocationUpdate};
use zbus::{Connection, OwnedVariant};

use super::call::{MmError, within};
use super::properties::{Properties, value, variant_value};
use super::proxies::LocationProxy;
use crate::device::location::CellIdentity;

/// `org.freedesktop.ModemManager1.Modem.Location`.
pub const LOCATION_INTERFACE: &str = "org.freedesktop.ModemManager1.Modem.Location";
/// The capability a modem with a position source lists.
pub const LOCATION_CAPABILITY: &str = "location";
/// How long `Location.Setup` may take (starting a GNSS takes a few AT commands), within the
/// D-Bus side's `SetEnabled` timeout.
const SETUP_TIMEOUT: Duration = Duration::from_secs(25);
/// How often ModemManager updates a running GNSS's position, in seconds (its default, 30, is
/// slow for a moving asset; the direct driver polls every 5 s).
const GPS_REFRESH_RATE: u32 = 5;
/// Seconds in a day.
const DAY: u64 = 86_400;

/// `MMModemLocationSource` flags.
mod source {
    /// `MM_MODEM_LOCATION_SOURCE_3GPP_LAC_CI`.
    pub const LAC_CI: u32 = 1 << 0;
    /// `MM_MODEM_LOCATION_SOURCE_GPS_RAW`.
    pub const GPS_RAW: u32 = 1 << 1;
    /// `MM_MODEM_LOCATION_SOURCE_GPS_NMEA`.
    pub const GPS_NMEA: u32 = 1 << 2;
}

/// What a modem's Location interface (its properties, as `GetAll` returns them) says.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationView {
    /// The sources MM offers (`Capabilities`).
    pub capabilities: u32,
    /// The sources MM has enabled (`Enabled`).
    pub enabled: u32,
    /// The GNSS fix (from gps-raw while it is enabled, with what gps-nmea adds), [`Fix::none`]
    /// without one.
    pub fix: Fix,
    /// The serving cell (from 3gpp-lac-ci), all unknown without one.
    pub cell: CellIdentity,
}

impl LocationView {
    /// Reads the interface's properties; `now` (unix seconds) dates a fix whose receiver gave
    /// only the time of day.
    pub fn read(location: &Properties, now: u64) -> LocationView {
        let capabilities = value::<u32>(location, "Capabilities").unwrap_or(0);
        let enabled = value::<u32>(location, "Enabled").unwrap_or(0);
        let sources = value::<HashMap<u32, OwnedVariant>>(location, "Location").unwrap_or_default();
        let entry = |source: u32| sources.get(&source).filter(|_| enabled & source != 0);
        let raw = entry(source::GPS_RAW)
            .and_then(variant_value::<Properties>)
            .map_or_else(Fix::none, |raw| gps_fix(&raw, now));
        let fix = match entry(source::GPS_NMEA)
            .and_then(variant_value::<String>)
            .and_then(|traces| nmea_fix(&traces, now))
        {
            Some(nmea) => with_nmea(raw, &nmea),
            None => raw,
        };
        let cell = entry(source::LAC_CI)
            .and_then(variant_value::<String>)
            .map(|lac_ci| cell_identity(&lac_ci))
            .unwrap_or_default();
        LocationView {
            capabilities,
            enabled,
            fix,
            cell,
        }
    }

    /// Whether the modem lists `location`: MM offers a source m2mhal uses.
    pub fn offered(&self) -> bool {
        self.capabilities & (source::LAC_CI | source::GPS_RAW) != 0
    }

    /// Whether the modem has a GNSS m2mhal can switch (MM offers gps-raw).
    pub fn has_gnss(&self) -> bool {
        self.capabilities & source::GPS_RAW != 0
    }

    /// The sources to ask MM for, with the GNSS on (`gnss`) or off: those MM has enabled that
    /// m2mhal does not manage (somebody else's), 3gpp-lac-ci when offered, gps-raw and gps-nmea
    /// when on and offered.
    pub fn sources(&self, gnss: bool) -> u32 {
        let managed = source::LAC_CI | source::GPS_RAW | source::GPS_NMEA;
        let gps = if gnss {
            source::GPS_RAW | source::GPS_NMEA
        } else {
            0
        };
        (self.enabled & !managed) | (self.capabilities & (source::LAC_CI | gps))
    }

    /// The Location properties: `Enabled` (gps-raw is on) and the fix.
    pub fn update(&self) -> LocationUpdate {
        LocationUpdate {
            enabled: Some(self.enabled & source::GPS_RAW != 0),
            fix: Some(self.fix.clone()),
        }
    }
}

/// The fix of a gps-raw dictionary (`utc-time` s `hhmmss.ss`, `latitude`, `longitude`,
/// `altitude` d): 3D with an altitude, 2D without; none without a position. The time of day is
/// dated with the day of `now` it is nearest to (a fix from just before midnight read just
/// after it is yesterday's); without one the fix is dated `now`.
pub fn gps_fix(raw: &Properties, now: u64) -> Fix {
    let degrees = |name: &str| value::<f64>(raw, name).filter(|value| value.is_finite());
    let (Some(latitude), Some(longitude)) = (degrees("latitude"), degrees("longitude")) else {
        return Fix::none();
    };
    let altitude = degrees("altitude");
    let time = value::<String>(raw, "utc-time")
        .and_then(|utc| seconds_of_day(&utc))
        .map_or(now, |of_day| nearest_day(of_day, now));
    Fix {
        mode: if altitude.is_some() {
            FixMode::ThreeD
        } else {
            FixMode::TwoD
        },
        latitude,
        longitude,
        altitude: altitude.unwrap_or(f64::NAN),
        time,
        source: Some(LocationSource::Gnss),
        ..Fix::none()
    }
}

/// The fix of MM's gps-nmea traces (sentences separated by CR LF, the latest of each type);
/// sentences that do not verify are left out. `None` without a sentence that says whether
/// there is a fix.
pub fn nmea_fix(traces: &str, now: u64) -> Option<Fix> {
    let sentences: Vec<_> = traces
        .lines()
        .filter_map(|line| parse_line(line.trim().as_bytes()).ok())
        .collect();
    FixAssembler::snapshot(&sentences, now)
}

/// gps-raw's fix `raw` with what the NMEA traces' fix `nmea` adds: satellites in view always;
/// DOPs, speed, course, satellites used, and the 2D mode (without altitude) of a GSA that says
/// 2D, when both have a fix. Position and time stay gps-raw's; no gps-raw position, no fix.
fn with_nmea(raw: Fix, nmea: &Fix) -> Fix {
    if raw.mode == FixMode::None || nmea.mode == FixMode::None {
        return Fix {
            satellites_in_view: nmea.satellites_in_view,
            ..raw
        };
    }
    let two_d = nmea.mode == FixMode::TwoD;
    Fix {
        mode: if two_d { FixMode::TwoD } else { raw.mode },
        altitude: if two_d { f64::NAN } else { raw.altitude },
        hdop: nmea.hdop,
        vdop: nmea.vdop,
        pdop: nmea.pdop,
        speed: nmea.speed,
        course: nmea.course,
        satellites_used: nmea.satellites_used,
        satellites_in_view: nmea.satellites_in_view,
        ..raw
    }
}

/// Seconds since midnight of NMEA's `hhmmss[.ss]`.
fn seconds_of_day(utc: &str) -> Option<u64> {
    let whole = utc.split('.').next()?;
    if whole.len() != 6 || !whole.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let field = |at: usize| whole[at..at + 2].parse::<u64>().ok();
    let (hours, minutes, seconds) = (field(0)?, field(2)?, field(4)?);
    // 60: a leap second.
    (hours < 24 && minutes < 60 && seconds <= 60).then_some(hours * 3600 + minutes * 60 + seconds)
}

/// The unix time with `of_day` seconds since midnight that is nearest to `now`.
fn nearest_day(of_day: u64, now: u64) -> u64 {
    let today = now - now % DAY + of_day;
    [today.saturating_sub(DAY), today, today + DAY]
        .into_iter()
        .min_by_key(|candidate| candidate.abs_diff(now))
        .unwrap_or(today)
}

/// The cell identity of MM's 3gpp-lac-ci string `MCC,MNC,LAC,CI[,TAC]` (codes in hex); parts
/// that are malformed or 0 are unknown.
pub fn cell_identity(lac_ci: &str) -> CellIdentity {
    let fields: Vec<&str> = lac_ci.split(',').map(str::trim).collect();
    let digits = |at: usize, lengths: &[usize]| {
        fields
            .get(at)
            .filter(|field| {
                lengths.contains(&field.len()) && field.bytes().all(|byte| byte.is_ascii_digit())
            })
            .map(|field| (*field).to_owned())
            .unwrap_or_default()
    };
    let hex = |at: usize| {
        fields
            .get(at)
            .and_then(|field| u32::from_str_radix(field, 16).ok())
            .unwrap_or(0)
    };
    CellIdentity {
        mcc: digits(0, &[3]),
        mnc: digits(1, &[2, 3]),
        lac: hex(2),
        cell_id: hex(3),
        tac: hex(4),
    }
}

/// Asks ModemManager to enable `sources` of the modem at `path` and to signal its `Location`;
/// with gps-raw, updated every [`GPS_REFRESH_RATE`] seconds.
pub async fn setup(conn: &Connection, path: &str, sources: u32) -> Result<(), CallError> {
    let location = async {
        let location = LocationProxy::builder(conn)
            .path(path.to_owned())
            .build()
            .await?;
        if sources & source::GPS_RAW != 0 {
            location.set_gps_refresh_rate(GPS_REFRESH_RATE).await?;
        }
        location.setup(sources, true).await
    };
    within("Location.Setup", SETUP_TIMEOUT, location)
        .await
        .map_err(|e: MmError| CallError::new(e.call_error().kind, e.to_string()))
}

#[cfg(test)]
mod tests {
    use zbus::Variant;

    use super::*;

    /// 2026-12-07 22:30:00 UTC.
    const NOW: u64 = 1_796_682_600;

    fn dict(entries: Vec<(&str, Variant<'static>)>) -> Properties {
        entries
            .into_iter()
            .map(|(name, value)| (name.to_owned(), OwnedVariant::try_from(value).unwrap()))
            .collect()
    }

    /// The Location interface's properties with `capabilities`, `enabled` and `location`.
    fn interface(
        capabilities: u32,
        enabled: u32,
        location: Vec<(u32, Variant<'static>)>,
    ) -> Properties {
        let location: HashMap<u32, Variant<'static>> = location.into_iter().collect();
        dict(vec![
            ("Capabilities", Variant::from(capabilities)),
            ("Enabled", Variant::from(enabled)),
            ("Location", Variant::from(location)),
            ("SignalsLocation", Variant::from(true)),
        ])
    }

    fn gps_raw(entries: Vec<(&str, Variant<'static>)>) -> Variant<'static> {
        let raw: HashMap<String, Variant<'static>> = entries
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        Variant::from(raw)
    }

    #[test]
    fn the_serving_cell_of_3gpp_lac_ci_is_an_identity_not_a_position() {
        let view = LocationView::read(
            &interface(1, 1, vec![(1, Variant::from("262,01,1A2B,1A2B3C4,0"))]),
            NOW,
        );
        assert_eq!(
            view.cell,
            CellIdentity {
                mcc: "262".to_owned(),
                mnc: "01".to_owned(),
                lac: 0x1A2B,
                tac: 0,
                cell_id: 0x01A2_B3C4,
            }
        );
        assert!(view.offered() && !view.has_gnss());
        assert_eq!(view.fix.mode, FixMode::None);
        assert!(view.fix.latitude.is_nan());
        assert_eq!(view.update().enabled, Some(false));
    }

    #[test]
    fn cell_strings_of_every_shape_mm_writes() {
        // LTE: tracking area instead of location area, three-digit MNC.
        let lte = cell_identity("310,410,0,8A1B2C3,2F1A");
        assert_eq!((lte.mcc.as_str(), lte.mnc.as_str()), ("310", "410"));
        assert_eq!((lte.lac, lte.tac, lte.cell_id), (0, 0x2F1A, 0x08A1_B2C3));
        // Before MM 1.10 there was no tracking area field.
        let old = cell_identity("234,15,7D0,5A1F");
        assert_eq!((old.lac, old.cell_id, old.tac), (0x7D0, 0x5A1F, 0));
        // Garbage gives nothing known rather than a wrong cell.
        assert_eq!(cell_identity(""), CellIdentity::default());
        let bad = cell_identity("26x,1,ZZZZ,1A2B3C4D5,");
        assert_eq!(bad, CellIdentity::default());
    }

    #[test]
    fn gps_raw_is_a_gnss_fix_3d_with_altitude_2d_without() {
        let raw = gps_raw(vec![
            ("utc-time", Variant::from("221512.00")),
            ("latitude", Variant::from(48.117_3)),
            ("longitude", Variant::from(11.516_667)),
            ("altitude", Variant::from(545.4)),
        ]);
        let view = LocationView::read(&interface(7, 3, vec![(2, raw)]), NOW);
        let fix = &view.fix;
        assert_eq!(fix.mode, FixMode::ThreeD);
        assert_eq!(
            (fix.latitude, fix.longitude, fix.altitude),
            (48.117_3, 11.516_667, 545.4)
        );
        assert_eq!(fix.time, NOW - (14 * 60 + 48));
        assert_eq!(fix.source, Some(LocationSource::Gnss));
        assert!(fix.hdop.is_nan() && fix.speed.is_nan() && fix.course.is_nan());
        assert_eq!(fix.satellites_used, 0);
        assert_eq!(view.update().enabled, Some(true));
        assert!(view.has_gnss());

        let flat = gps_raw(vec![
            ("utc-time", Variant::from("221512")),
            ("latitude", Variant::from(-33.8568)),
            ("longitude", Variant::from(151.2153)),
        ]);
        let fix = LocationView::read(&interface(7, 3, vec![(2, flat)]), NOW).fix;
        assert_eq!(fix.mode, FixMode::TwoD);
        assert!(fix.altitude.is_nan());
        assert_eq!(fix.latitude, -33.8568);
    }

    /// MM's gps-nmea entry: the latest sentences, CR LF separated.
    fn traces(sentences: &[&str]) -> Variant<'static> {
        Variant::from(sentences.join("\r\n"))
    }

    /// gps-raw at 48.1173 N 11.516667 E, 545.4 m.
    fn munich() -> Variant<'static> {
        gps_raw(vec![
            ("utc-time", Variant::from("221512.00")),
            ("latitude", Variant::from(48.117_3)),
            ("longitude", Variant::from(11.516_667)),
            ("altitude", Variant::from(545.4)),
        ])
    }

    /// Sentences of real receivers (gpsd `test/daemon/*.log`, the known answers of
    /// `m2mhal-nmea`): a moving RMC, a u-blox LEA-5H GGA (6 used, HDOP 2.51), GSA and GSV.
    const RMC: &str = "$GPRMC,143306.50,A,5546.82983,N,02334.72123,E,30.324,221.16,091209,,,A*52";
    const GGA: &str = "$GPGGA,083723.00,5155.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70";
    const GSA_3D: &str = "$GPGSA,A,3,27,15,09,28,18,08,,,,,,,3.33,2.51,2.20*04";
    const GSA_2D: &str = "$GPGSA,A,2,27,15,09,,,,,,,,,,3.33,2.51,2.20*0E";
    const GSV: &str = "$GPGSV,3,1,12,05,04,187,,08,11,078,29,09,43,270,37,12,03,212,*75";

    #[test]
    fn gps_nmea_adds_dops_speed_course_and_satellites_to_the_gps_raw_position() {
        let location = |enabled| {
            interface(
                7,
                enabled,
                vec![(2, munich()), (4, traces(&[GSV, RMC, GSA_3D, GGA]))],
            )
        };
        let fix = LocationView::read(&location(1 | 2 | 4), NOW).fix;
        assert_eq!(fix.mode, FixMode::ThreeD);
        assert_eq!(
            (fix.latitude, fix.longitude, fix.altitude),
            (48.117_3, 11.516_667, 545.4),
            "gps-raw's position, not the sentences'"
        );
        assert_eq!(fix.time, NOW - (14 * 60 + 48), "gps-raw's time");
        assert_eq!((fix.hdop, fix.pdop, fix.vdop), (2.51, 3.33, 2.20));
        assert!((fix.speed - 30.324 * 1852.0 / 3600.0).abs() < 1e-9);
        assert_eq!(fix.course, 221.16);
        assert_eq!((fix.satellites_used, fix.satellites_in_view), (6, 12));
        // gps-nmea not enabled: a stale entry adds nothing.
        let raw_only = LocationView::read(&location(1 | 2), NOW).fix;
        assert!(raw_only.hdop.is_nan() && raw_only.speed.is_nan());
        assert_eq!(raw_only.satellites_used, 0);
    }

    #[test]
    fn a_2d_gsa_a_damaged_sentence_and_no_fix_in_the_sentences() {
        let read = |sentences: &[&str]| {
            LocationView::read(
                &interface(7, 7, vec![(2, munich()), (4, traces(sentences))]),
                NOW,
            )
            .fix
        };
        let two_d = read(&[GGA, GSA_2D, RMC]);
        assert_eq!(two_d.mode, FixMode::TwoD);
        assert!(two_d.altitude.is_nan());
        assert_eq!(two_d.latitude, 48.117_3);
        // One changed digit under the old checksum: that RMC is left out, the rest is used.
        let damaged = RMC.replace("30.324", "30.325");
        let fix = read(&[GGA, &damaged, GSA_3D]);
        assert!(fix.speed.is_nan());
        assert_eq!((fix.hdop, fix.satellites_used), (2.51, 6));
        // The sentences say there is no fix: gps-raw's position stays, with the satellites in
        // view; nothing else of theirs is used.
        let searching = read(&["$GPRMC,,V,,,,,,,,,,N*53", GSV]);
        assert_eq!(searching.mode, FixMode::ThreeD);
        assert_eq!(
            (searching.satellites_in_view, searching.satellites_used),
            (12, 0)
        );
        assert!(searching.hdop.is_nan());
        // No gps-raw position: no fix, whatever the sentences say.
        let lost = LocationView::read(
            &interface(7, 7, vec![(4, traces(&[GGA, RMC, GSA_3D, GSV]))]),
            NOW,
        )
        .fix;
        assert_eq!((lost.mode, lost.satellites_in_view), (FixMode::None, 12));
        assert!(lost.latitude.is_nan() && lost.speed.is_nan());
        // Garbage traces are no sentences.
        assert_eq!(nmea_fix("not nmea\r\n$GP", NOW), None);
    }

    #[test]
    fn no_position_no_source_or_gps_off_is_no_fix() {
        // MM drops gps-raw when the receiver has no position; an incomplete one is no fix.
        let lost = LocationView::read(&interface(7, 3, vec![]), NOW);
        assert_eq!(lost.fix.mode, FixMode::None);
        assert_eq!(lost.update().enabled, Some(true));
        let half = gps_raw(vec![("latitude", Variant::from(48.1))]);
        assert_eq!(
            gps_fix(
                &variant_value(&OwnedVariant::try_from(half).unwrap()).unwrap(),
                NOW
            )
            .mode,
            FixMode::None
        );
        // A stale entry of a source that is off is not used.
        let raw = gps_raw(vec![
            ("latitude", Variant::from(48.1)),
            ("longitude", Variant::from(11.5)),
        ]);
        let off = LocationView::read(&interface(7, 1, vec![(2, raw)]), NOW);
        assert_eq!(off.fix.mode, FixMode::None);
        assert_eq!(off.update().enabled, Some(false));
        // A modem without the interface's properties offers nothing.
        let nothing = LocationView::read(&Properties::new(), NOW);
        assert!(!nothing.offered());
    }

    #[test]
    fn fix_times_are_dated_with_the_nearest_day() {
        let raw = |utc: &str| {
            let raw: Properties = dict(vec![
                ("utc-time", Variant::from(utc.to_owned())),
                ("latitude", Variant::from(1.0)),
                ("longitude", Variant::from(2.0)),
            ]);
            gps_fix(&raw, NOW).time
        };
        let midnight = NOW - NOW % DAY;
        assert_eq!(raw("223000"), NOW);
        // Just after midnight, a fix from just before it is yesterday's.
        let after_midnight = midnight + 60;
        let late: Properties = dict(vec![
            ("utc-time", Variant::from("235950.5")),
            ("latitude", Variant::from(1.0)),
            ("longitude", Variant::from(2.0)),
        ]);
        assert_eq!(gps_fix(&late, after_midnight).time, midnight - 10);
        // No usable time of day: dated now.
        assert_eq!(raw(""), NOW);
        assert_eq!(raw("256000"), NOW);
        assert_eq!(seconds_of_day("000000"), Some(0));
        assert_eq!(seconds_of_day("2359"), None);
    }

    #[test]
    fn setup_keeps_other_sources_and_switches_gps_raw_with_gps_nmea() {
        let view = |capabilities, enabled| LocationView {
            capabilities,
            enabled,
            fix: Fix::none(),
            cell: CellIdentity::default(),
        };
        // A Quectel through MM: 3gpp-lac-ci, gps-raw, gps-nmea, gps-unmanaged, agps offered.
        let quectel = view(1 | 2 | 4 | 16 | 32 | 64, 1);
        assert_eq!(quectel.sources(true), 1 | 2 | 4);
        assert_eq!(quectel.sources(false), 1);
        // gps-nmea somebody else enabled goes with the GNSS switched off; cdma-bs stays.
        let busy = view(1 | 2 | 4 | 8, 1 | 2 | 4 | 8);
        assert_eq!(busy.sources(false), 1 | 8);
        // Only what MM offers is asked for.
        let cell_only = view(1, 0);
        assert_eq!(cell_only.sources(true), 1);
        assert!(!cell_only.has_gnss());
    }
}
