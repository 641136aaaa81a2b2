//! A simulated NMEA receiver: where it is, how it moves, and the burst of sentences it sends
//! every epoch (RMC, VTG, GGA, GSA, GSV, GLL, and the u-blox TXT identification on request).

use serde_json::{Value, json};

use m2mhal_nmea::{self as nmea, KNOTS_PER_M_S};

/// Metres per degree of latitude (and of longitude at the equator), close enough for a simulator.
const METRES_PER_DEGREE: f64 = 111_320.0;
/// The TXT sentences a u-blox NEO-M8N sends at power-up.
const UBLOX_TXT: [&str; 4] = [
    "u-blox AG - www.u-blox.com",
    "HW UBX-M8030 00080000",
    "FWVER=SPG 3.01",
    "MOD=NEO-M8N-0",
];

/// What the receiver's solution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    /// No fix (searching).
    None,
    /// Latitude and longitude.
    TwoD,
    /// With altitude.
    ThreeD,
}

impl FixKind {
    /// `none`, `2d`, `3d`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "none" => Some(FixKind::None),
            "2d" => Some(FixKind::TwoD),
            "3d" => Some(FixKind::ThreeD),
            _ => None,
        }
    }

    /// The name [`FixKind::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::None => "none",
            FixKind::TwoD => "2d",
            FixKind::ThreeD => "3d",
        }
    }
}

/// Where the receiver is and what it sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solution {
    /// Degrees, north positive.
    pub latitude: f64,
    /// Degrees, east positive.
    pub longitude: f64,
    /// Metres above mean sea level.
    pub altitude: f64,
    /// Metres per second over ground.
    pub speed: f64,
    /// Degrees true.
    pub course: f64,
    /// The fix.
    pub fix: FixKind,
    /// Satellites used.
    pub used: u32,
    /// Satellites in view.
    pub in_view: u32,
}

impl Default for Solution {
    /// A 3D fix, standing still in Berlin.
    fn default() -> Self {
        Solution {
            latitude: 52.52,
            longitude: 13.405,
            altitude: 34.0,
            speed: 0.0,
            course: 0.0,
            fix: FixKind::ThreeD,
            used: 8,
            in_view: 12,
        }
    }
}

impl Solution {
    /// The same solution as a damaged line would carry it (another position, altitude, speed).
    fn damaged(&self) -> Solution {
        Solution {
            latitude: self.latitude + if self.latitude > 0.0 { -1.0 } else { 1.0 },
            altitude: self.altitude + 100.0,
            speed: self.speed + 10.0,
            ..*self
        }
    }

    /// The burst of one epoch at `unix_ms`, talker `talker`.
    pub fn burst(&self, talker: &str, unix_ms: u64) -> Vec<String> {
        let (time, date) = nmea::time_and_date(unix_ms);
        let valid = self.fix != FixKind::None;
        let (status, mode) = if valid { ("A", "A") } else { ("V", "N") };
        let position = if valid {
            format!(
                "{},{}",
                nmea::angle(self.latitude, 2, 'N', 'S'),
                nmea::angle(self.longitude, 3, 'E', 'W')
            )
        } else {
            ",,,".to_owned()
        };
        let knots = self.speed * KNOTS_PER_M_S;
        let kmh = self.speed * 3.6;
        let (speed, course) = if valid {
            (format!("{knots:.3}"), format!("{:.2}", self.course))
        } else {
            (String::new(), String::new())
        };
        let (quality, used, hdop, altitude) = match self.fix {
            FixKind::None => ("0", 0, "99.99".to_owned(), String::new()),
            FixKind::TwoD | FixKind::ThreeD => (
                "1",
                self.used,
                "0.90".to_owned(),
                format!("{:.1}", self.altitude),
            ),
        };
        let gsa_mode = match self.fix {
            FixKind::None => 1,
            FixKind::TwoD => 2,
            FixKind::ThreeD => 3,
        };
        let prns: Vec<String> = (0..12)
            .map(|i| {
                if i < used {
                    format!("{:02}", i + 1)
                } else {
                    String::new()
                }
            })
            .collect();
        let mut bodies = vec![
            format!("{talker}RMC,{time},{status},{position},{speed},{course},{date},,,{mode}"),
            format!(
                "{talker}VTG,{course},T,,M,{speed},N,{},K,{mode}",
                if valid {
                    format!("{kmh:.3}")
                } else {
                    String::new()
                }
            ),
            format!(
                "{talker}GGA,{time},{position},{quality},{used:02},{hdop},{altitude},M,47.0,M,,"
            ),
            format!(
                "{talker}GSA,A,{gsa_mode},{},1.50,{hdop},1.20",
                prns.join(",")
            ),
        ];
        bodies.extend(self.gsv());
        bodies.push(format!("{talker}GLL,{position},{time},{status},{mode}"));
        bodies
    }

    /// GPS satellites in view, four per GSV sentence.
    fn gsv(&self) -> Vec<String> {
        let in_view = self.in_view.min(32);
        let sentences = in_view.div_ceil(4).max(1);
        (0..sentences)
            .map(|index| {
                let satellites: Vec<String> = (index * 4..(index * 4 + 4).min(in_view))
                    .map(|i| {
                        let snr = if i < self.used && self.fix != FixKind::None {
                            "40"
                        } else {
                            ""
                        };
                        format!("{:02},{:02},{:03},{snr}", i + 1, 10 + i * 2, i * 11)
                    })
                    .collect();
                let mut body = format!("GPGSV,{sentences},{},{in_view:02}", index + 1);
                for satellite in satellites {
                    body.push(',');
                    body.push_str(&satellite);
                }
                body
            })
            .collect()
    }
}

/// A simulated receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// The solution it reports.
    pub solution: Solution,
    /// `GP` or `GN`.
    pub talker: String,
    /// Every sentence goes out damaged (its checksum no longer matches).
    pub bad_checksums: bool,
    /// The u-blox TXT identification goes out with the next burst.
    pub identify: bool,
    last_burst_ms: Option<u64>,
    bursts: u64,
}

impl Receiver {
    /// A receiver with the default solution, talker `talker`, that introduces itself with its
    /// first burst.
    pub fn new(talker: &str) -> Self {
        Receiver {
            solution: Solution::default(),
            talker: talker.to_owned(),
            bad_checksums: false,
            identify: true,
            last_burst_ms: None,
            bursts: 0,
        }
    }

    /// Moves along the course at the speed for the time since the last burst.
    fn travel(&mut self, unix_ms: u64) {
        let elapsed_s = self
            .last_burst_ms
            .map_or(0.0, |last| unix_ms.saturating_sub(last) as f64 / 1000.0);
        self.last_burst_ms = Some(unix_ms);
        let solution = &mut self.solution;
        if solution.fix == FixKind::None || solution.speed <= 0.0 {
            return;
        }
        let distance = solution.speed * elapsed_s;
        let course = solution.course.to_radians();
        solution.latitude =
            (solution.latitude + distance * course.cos() / METRES_PER_DEGREE).clamp(-89.9, 89.9);
        let metres_per_degree = METRES_PER_DEGREE * solution.latitude.to_radians().cos();
        solution.longitude += distance * course.sin() / metres_per_degree;
        if solution.longitude > 180.0 {
            solution.longitude -= 360.0;
        } else if solution.longitude < -180.0 {
            solution.longitude += 360.0;
        }
    }

    /// The bytes of the epoch at `unix_ms` and the event reporting it.
    pub fn epoch(&mut self, unix_ms: u64) -> (Vec<u8>, Value) {
        self.travel(unix_ms);
        self.bursts += 1;
        let mut text = String::new();
        if std::mem::take(&mut self.identify) {
            for txt in UBLOX_TXT {
                text.push_str(&nmea::sentence(&format!(
                    "{}TXT,01,01,02,{txt}",
                    self.talker
                )));
            }
        }
        let good = self.solution.burst(&self.talker, unix_ms);
        if self.bad_checksums {
            let damaged = self.solution.damaged().burst(&self.talker, unix_ms);
            for (good, damaged) in good.iter().zip(damaged) {
                let expected = nmea::checksum(good);
                // A damage the checksum cannot see would be no test of it: leave it out.
                if nmea::checksum(&damaged) != expected {
                    text.push_str(&format!("${damaged}*{expected:02X}\r\n"));
                }
            }
        } else {
            for body in good {
                text.push_str(&nmea::sentence(&body));
            }
        }
        let event = json!({
            "event": "epoch",
            "count": self.bursts,
            "fix": self.solution.fix.as_str(),
            "latitude": self.solution.latitude,
            "longitude": self.solution.longitude,
            "bad_checksums": self.bad_checksums,
        });
        (text.into_bytes(), event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(bytes: &[u8]) -> Vec<String> {
        String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn verified(line: &str) -> bool {
        let (body, sum) = line[1..].rsplit_once('*').unwrap();
        format!("{:02X}", nmea::checksum(body)) == sum
    }

    #[test]
    fn the_first_burst_introduces_a_u_blox_and_every_sentence_verifies() {
        let mut receiver = Receiver::new("GN");
        // 2010-08-21 08:37:23 UTC
        let (bytes, event) = receiver.epoch(1_282_379_843_000);
        let lines = sentences(&bytes);
        assert!(lines[0].starts_with("$GNTXT,01,01,02,u-blox AG"));
        assert!(lines.iter().all(|line| verified(line)), "{lines:?}");
        assert!(lines.iter().any(|line| {
            line.starts_with("$GNGGA,083723.00,5231.20000,N,01324.30000,E,1,08,0.90,34.0,M")
        }));
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("$GNRMC,083723.00,A,") && line.contains(",210810,"))
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("$GPGSV,3,")).count(),
            3
        );
        assert_eq!(event["fix"], "3d");
        let (again, _) = receiver.epoch(1_282_379_844_000);
        assert!(!sentences(&again)[0].contains("TXT"), "only once");
    }

    #[test]
    fn it_moves_along_its_course() {
        let mut receiver = Receiver::new("GP");
        receiver.solution.speed = 10.0;
        receiver.solution.course = 0.0;
        receiver.epoch(1_000_000);
        receiver.epoch(11_000);
        let before = Solution::default().latitude;
        assert_eq!(
            receiver.solution.latitude, before,
            "time went back: no move"
        );
        receiver.epoch(21_000);
        let moved = (receiver.solution.latitude - before) * METRES_PER_DEGREE;
        assert!((moved - 100.0).abs() < 1e-6, "{moved}");
    }

    #[test]
    fn no_fix_sends_empty_positions_and_bad_checksums_never_verify() {
        let mut receiver = Receiver::new("GP");
        receiver.solution.fix = FixKind::None;
        let (bytes, _) = receiver.epoch(0);
        assert!(
            sentences(&bytes)
                .iter()
                .any(|l| l.starts_with("$GPRMC,000000.00,V,,,,,"))
        );
        receiver.solution.fix = FixKind::ThreeD;
        receiver.bad_checksums = true;
        let (bytes, event) = receiver.epoch(1000);
        let lines = sentences(&bytes);
        assert!(lines.iter().any(|l| l.contains("RMC")));
        assert!(lines.iter().all(|line| !verified(line)), "{lines:?}");
        assert_eq!(event["bad_checksums"], true);
    }
}
