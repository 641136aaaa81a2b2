//! Puts the sentences of one navigation epoch together into one [`Fix`].
//!
//! A receiver sends a burst of sentences per epoch (RMC, VTG, GGA, GSA, GSV, GLL in some order),
//! each with part of the solution. The epoch ends when a sentence carries the time of another
//! second, or when a sentence that comes once per epoch (GGA, RMC, GLL, VTG) comes again; the
//! driver also closes it when the line goes quiet after a burst. Satellites in view (GSV) are
//! kept per constellation across epochs: GSV series often straddle the bursts. A snapshot of the
//! latest sentence of each type ([`FixAssembler::snapshot`]) is put together the same way, as
//! one epoch.

use std::collections::BTreeMap;

use m2mhal_plugin_api::{Fix, FixMode, LocationSource};

use crate::{Date, Gga, Gll, Gsa, Nmea, Position, Rmc, TimeOfDay, Vtg};

/// Seconds in a day.
const DAY_S: i64 = 86_400;

/// Which sentence types an epoch has seen (each comes once per epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Seen {
    gga: bool,
    rmc: bool,
    gll: bool,
    vtg: bool,
}

/// Where the epoch's position came from, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PositionFrom {
    Gll,
    Rmc,
    Gga,
}

/// What the sentences of the current epoch said so far.
#[derive(Debug, Clone, Default)]
struct Epoch {
    seen: Seen,
    time: Option<TimeOfDay>,
    date: Option<Date>,
    /// Sentences that said the position is valid / not valid.
    valid: u32,
    invalid: u32,
    position: Option<(PositionFrom, Position)>,
    altitude: Option<f64>,
    gga_satellites: Option<u32>,
    gga_hdop: Option<f64>,
    /// GSA: the fix type of the last one, the sum of satellites used over all of them (one per
    /// constellation), and the DOPs.
    gsa: Option<Gsa>,
    speed: Option<f64>,
    course: Option<f64>,
}

impl Epoch {
    /// Whether a sentence that says whether there is a fix came.
    fn reported(&self) -> bool {
        self.seen.gga || self.seen.rmc || self.seen.gll
    }

    fn vote(&mut self, valid: bool) {
        if valid {
            self.valid += 1;
        } else {
            self.invalid += 1;
        }
    }

    fn offer_position(&mut self, from: PositionFrom, position: Option<Position>) {
        if let Some(position) = position
            && self.position.is_none_or(|(had, _)| from >= had)
        {
            self.position = Some((from, position));
        }
    }

    fn gga(&mut self, gga: &Gga) {
        self.seen.gga = true;
        self.time = gga.time.or(self.time);
        self.vote(gga.quality > 0);
        self.offer_position(PositionFrom::Gga, gga.position);
        self.altitude = gga.altitude;
        self.gga_satellites = gga.satellites;
        self.gga_hdop = gga.hdop;
    }

    fn rmc(&mut self, rmc: &Rmc) {
        self.seen.rmc = true;
        self.time = self.time.or(rmc.time);
        self.date = rmc.date;
        self.vote(rmc.valid);
        self.offer_position(PositionFrom::Rmc, rmc.position);
        self.speed = rmc.speed.or(self.speed);
        self.course = rmc.course.or(self.course);
    }

    fn gll(&mut self, gll: &Gll) {
        self.seen.gll = true;
        self.time = self.time.or(gll.time);
        self.vote(gll.valid);
        self.offer_position(PositionFrom::Gll, gll.position);
    }

    fn vtg(&mut self, vtg: &Vtg) {
        self.seen.vtg = true;
        self.speed = vtg.speed.or(self.speed);
        self.course = vtg.course.or(self.course);
    }

    fn gsa(&mut self, gsa: &Gsa) {
        let used = self.gsa.as_ref().map_or(0, |earlier| earlier.used) + gsa.used;
        self.gsa = Some(Gsa {
            used,
            ..gsa.clone()
        });
    }

    /// Whether `nmea` belongs to the next epoch.
    fn ends_with(&self, nmea: &Nmea) -> bool {
        let (repeated, time) = match nmea {
            Nmea::Gga(gga) => (self.seen.gga, gga.time),
            Nmea::Rmc(rmc) => (self.seen.rmc, rmc.time),
            Nmea::Gll(gll) => (self.seen.gll, gll.time),
            Nmea::Vtg(_) => (self.seen.vtg, None),
            _ => return false,
        };
        let other_second = time
            .zip(self.time)
            .is_some_and(|(new, old)| new.seconds != old.seconds);
        repeated || other_second
    }
}

/// The assembler: the current epoch, the last date seen, and the satellites in view.
#[derive(Debug, Default)]
pub struct FixAssembler {
    epoch: Epoch,
    /// The last RMC date (a receiver without RMC has its times dated by the host's clock).
    date: Option<Date>,
    /// Satellites in view by GSV talker (constellation).
    in_view: BTreeMap<String, u32>,
}

impl FixAssembler {
    /// Nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one sentence; returns the fix of the epoch it ended, if it ended one.
    /// `host_time` is the host's clock (unix seconds), for dating times when the receiver sent
    /// no date.
    pub fn push(&mut self, nmea: &Nmea, host_time: u64) -> Option<Fix> {
        let ended = if self.epoch.ends_with(nmea) {
            let fix = self.current(host_time);
            self.epoch = Epoch::default();
            fix
        } else {
            None
        };
        self.take(nmea);
        ended
    }

    /// The fix of a snapshot: the latest sentence of each type, as a device keeps them
    /// (ModemManager's NMEA traces), in any order: the same sentences in another order give the
    /// same fix. They are one epoch whatever their times (no sentence ends it: a snapshot is not
    /// a stream); `None` without a sentence that says whether there is a fix.
    pub fn snapshot<'a>(
        sentences: impl IntoIterator<Item = &'a Nmea>,
        host_time: u64,
    ) -> Option<Fix> {
        let mut sentences: Vec<&Nmea> = sentences.into_iter().collect();
        // In the order of a receiver's burst where order matters (VTG's speed and course over
        // RMC's), so that the fix does not depend on the order the snapshot lists them in.
        sentences.sort_by_key(|nmea| match nmea {
            Nmea::Rmc(_) => 0,
            Nmea::Vtg(_) => 1,
            _ => 2,
        });
        let mut assembler = FixAssembler::new();
        for nmea in sentences {
            assembler.take(nmea);
        }
        assembler.current(host_time)
    }

    /// Adds what `nmea` says to the current epoch.
    fn take(&mut self, nmea: &Nmea) {
        match nmea {
            Nmea::Gga(gga) => self.epoch.gga(gga),
            Nmea::Rmc(rmc) => {
                self.date = rmc.date.or(self.date);
                self.epoch.rmc(rmc);
            }
            Nmea::Gll(gll) => self.epoch.gll(gll),
            Nmea::Vtg(vtg) => self.epoch.vtg(vtg),
            Nmea::Gsa(gsa) => self.epoch.gsa(gsa),
            Nmea::Gsv(gsv) => {
                self.in_view.insert(gsv.talker.clone(), gsv.in_view);
            }
            Nmea::Txt(_) | Nmea::Other => {}
        }
    }

    /// The fix as the current epoch says it so far; `None` before any sentence that says
    /// whether there is a fix.
    pub fn current(&self, host_time: u64) -> Option<Fix> {
        let epoch = &self.epoch;
        if !epoch.reported() {
            return None;
        }
        let satellites_in_view = self.in_view.values().sum();
        let gsa_fix_type = epoch.gsa.as_ref().map(|gsa| gsa.fix_type);
        let position = match epoch.position {
            Some((_, position)) if epoch.invalid == 0 && gsa_fix_type != Some(1) => position,
            _ => {
                return Some(Fix {
                    satellites_in_view,
                    ..Fix::none()
                });
            }
        };
        let three_d = match gsa_fix_type {
            Some(fix_type) => fix_type >= 3,
            None => epoch.altitude.is_some(),
        };
        let gsa = epoch.gsa.as_ref();
        let or_nan = |value: Option<f64>| value.unwrap_or(f64::NAN);
        Some(Fix {
            mode: if three_d {
                FixMode::ThreeD
            } else {
                FixMode::TwoD
            },
            latitude: position.latitude,
            longitude: position.longitude,
            altitude: if three_d {
                or_nan(epoch.altitude)
            } else {
                f64::NAN
            },
            hdop: or_nan(epoch.gga_hdop.or(gsa.and_then(|gsa| gsa.hdop))),
            vdop: or_nan(gsa.and_then(|gsa| gsa.vdop)),
            pdop: or_nan(gsa.and_then(|gsa| gsa.pdop)),
            speed: or_nan(epoch.speed),
            course: or_nan(epoch.course),
            satellites_used: epoch
                .gga_satellites
                .or(gsa.map(|gsa| gsa.used))
                .unwrap_or(0),
            satellites_in_view,
            time: self.unix_time_of(epoch, host_time),
            source: Some(LocationSource::Gnss),
        })
    }

    /// Unix seconds of the epoch: its time of day on its date (or the last date seen, or the
    /// host's day nearest to it); the host's clock when the receiver gave no time.
    fn unix_time_of(&self, epoch: &Epoch, host_time: u64) -> u64 {
        let Some(time) = epoch.time else {
            return host_time;
        };
        if let Some(date) = epoch.date.or(self.date) {
            return date.at(time).unwrap_or(0);
        }
        let seconds = i64::from(time.seconds);
        let host = i64::try_from(host_time).unwrap_or(i64::MAX);
        let day = host.div_euclid(DAY_S);
        let nearest = [day - 1, day, day + 1]
            .into_iter()
            .map(|day| day * DAY_S + seconds)
            .min_by_key(|candidate| (candidate - host).abs())
            .unwrap_or(host);
        u64::try_from(nearest).unwrap_or(0)
    }
}
