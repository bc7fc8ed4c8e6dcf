//! The telemetry model: each vehicle's day is a deterministic list of trips (a function of the seed,
//! the vehicle and the day), and every stat at any instant is computed from it on demand. Only one
//! small schedule per vehicle-day is cached, so memory does not grow with the number of GPS points.
//!
//! Sampling: GPS every 5 s while the engine is on, other analogue stats every 60 s while on, everything
//! hourly while off (and once at engine-off); engine states at transitions; fault codes per 6 h block.
//! All sample times fall on a 5 s grid.

// The physical model mixes f64 and i64 at magnitudes far below 2^52 (metres, seconds, milli-units),
// and short names (t, v, k, d) follow the maths; casts and names are deliberate here.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::similar_names,
    clippy::many_single_char_names
)]

use std::sync::{Arc, RwLock};

use crate::fleet::{Kind, VehicleSpec, BRANCHES};
use crate::rng::{hash, Rng};

/// Engine phase at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Engine off.
    Off,
    /// Engine on, not moving.
    Idle,
    /// Driving.
    Driving,
}

/// One trip: idle `[start, drive0)`, driving `[drive0, drive1)`, idle `[drive1, end)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trip {
    /// Engine on.
    pub(crate) start: i64,
    /// Wheels roll.
    pub(crate) drive0: i64,
    /// Wheels stop.
    pub(crate) drive1: i64,
    /// Engine off.
    pub(crate) end: i64,
    /// Cruise speed, m/s.
    pub(crate) speed: f64,
    /// Whether the power take-off runs during the idle before engine-off (a work truck at a job).
    pub(crate) pto: bool,
}

/// A vehicle's local day: trips plus the counters at its start.
#[derive(Debug, Clone, Default)]
pub(crate) struct DaySched {
    /// Trips in time order, all inside the local day.
    pub(crate) trips: Vec<Trip>,
    /// Odometer (m) at the start of the day.
    pub(crate) odo0: f64,
    /// Engine seconds at the start of the day.
    pub(crate) eng0: i64,
    /// Idle seconds (engine on, not moving) at the start of the day.
    pub(crate) idle0: i64,
    /// A connectivity gap `[start, end)`: points in it are uploaded at `end` (`--gaps on`).
    pub(crate) gap: Option<(i64, i64)>,
}

impl DaySched {
    fn distance(&self) -> f64 {
        self.trips
            .iter()
            .map(|t| t.speed * (t.drive1 - t.drive0) as f64)
            .sum()
    }
    fn engine(&self) -> i64 {
        self.trips.iter().map(|t| t.end - t.start).sum()
    }

    fn idle(&self) -> i64 {
        self.trips
            .iter()
            .map(|t| (t.drive0 - t.start) + (t.end - t.drive1))
            .sum()
    }
}

/// Per-vehicle constants of the model.
#[derive(Debug, Clone)]
// Independent equipment flags (PTO body, van, plow, NFC reader, immobiliser), not a state machine.
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Params {
    /// Vehicle class.
    pub(crate) kind: Kind,
    /// Local-midnight offset from UTC midnight, seconds (positive for the Americas).
    pub(crate) shift: i64,
    /// Offset of the hourly off-engine samples within the hour (multiple of 5).
    pub(crate) off_offset: i64,
    /// Route loop centre and radius.
    pub(crate) centre: (f64, f64),
    /// Loop radius, m.
    pub(crate) radius: f64,
    /// Loop phase.
    pub(crate) phase0: f64,
    /// Usual cruise speed, m/s.
    pub(crate) speed: f64,
    /// Tank range, m; fuel phase, m.
    pub(crate) range: f64,
    /// Offset into the refuelling cycle.
    pub(crate) fuel_phase: f64,
    /// Branch index.
    pub(crate) branch: usize,
    /// A work truck (dump, utility or service body): runs its PTO at jobs.
    pub(crate) work: bool,
    /// A cargo van (door sensor on the ECU).
    pub(crate) van: bool,
    /// A plow and spreader truck (the spreader controller reports).
    pub(crate) plow: bool,
    /// A pool vehicle drivers badge into (NFC card reader).
    pub(crate) shared: bool,
    /// Fitted with a first-generation engine immobiliser.
    pub(crate) immobilizer: bool,
    /// Reports an OBD odometer (`obdOdometerMeters`); without one only the GPS odometer is there.
    pub(crate) obd_odometer: bool,
}

/// The model over the whole fleet.
#[derive(Debug)]
pub(crate) struct Model {
    /// The `--seed`.
    pub(crate) seed: u64,
    /// First instant with data (Unix s).
    pub(crate) origin: i64,
    first_day: i64,
    /// Per-vehicle constants.
    pub(crate) params: Vec<Params>,
    days: RwLock<Vec<Arc<[DaySched]>>>,
    /// Whether vehicles lose connectivity now and then (`--gaps on`).
    pub(crate) gaps: bool,
    /// Whether maintenance episodes replace the 6-hour fault blocks and alter battery, oil pressure,
    /// tire pressure and the OBD odometer (`--episodes on`; see `episodes`).
    pub(crate) episodes: bool,
    /// Manual overrides from `PATCH /fleet/vehicles/{id}`, per vehicle, in time order.
    manual: RwLock<std::collections::BTreeMap<usize, Vec<Manual>>>,
}

/// A manual counter override: from `at` (Unix s) on the counter reads `value` plus what the model's
/// counter gained since (`base` = the model's counter at `at`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Manual {
    /// When it was set.
    pub(crate) at: i64,
    /// Which counter.
    pub(crate) counter: Counter,
    /// The value set (metres or seconds).
    pub(crate) value: f64,
    /// The model's counter at `at`.
    pub(crate) base: f64,
}

/// The counters `PATCH /fleet/vehicles/{id}` can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// `odometerMeters` → `gpsOdometerMeters` (distance from GPS).
    Odometer,
    /// `engineHours` → `syntheticEngineSeconds` (engine-on time).
    EngineSeconds,
}

/// Day schedules covering a time range, borrowed for one request.
#[derive(Debug)]
pub(crate) struct Days {
    first: i64,
    days: Vec<Arc<[DaySched]>>,
}

static EMPTY: DaySched = DaySched {
    trips: Vec::new(),
    odo0: 0.0,
    eng0: 0,
    idle0: 0,
    gap: None,
};

impl Days {
    /// The schedule of vehicle `v` for day index `d` (empty outside the view).
    pub(crate) fn get(&self, v: usize, d: i64) -> &DaySched {
        usize::try_from(d - self.first)
            .ok()
            .and_then(|i| self.days.get(i))
            .and_then(|day| day.get(v))
            .unwrap_or(&EMPTY)
    }
}

const fn align_up(t: i64, p: i64) -> i64 {
    t.div_euclid(p) * p + if t.rem_euclid(p) == 0 { 0 } else { p }
}

const fn align_down(t: i64, p: i64) -> i64 {
    t.div_euclid(p) * p
}

/// How a stat is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sampling {
    /// Every `n` seconds while on, hourly while off, and at engine-off.
    Periodic(i64),
    /// At engine transitions.
    Transitions,
    /// At engine-on only (a card scanned as the driver starts the vehicle).
    Starts,
    /// Once per block of `n` seconds.
    Block(i64),
}

impl Model {
    /// Builds the model; data exists from `origin` (Unix s).
    pub(crate) fn new(seed: u64, origin: i64, specs: &[VehicleSpec], gaps: bool) -> Self {
        let params = specs
            .iter()
            .map(|s| {
                let mut r = Rng::new(seed, 1000 + s.idx as u64);
                let b = BRANCHES[s.branch];
                #[allow(clippy::cast_possible_truncation)]
                let shift = -((b.lon / 15.0).round() as i64) * 3600;
                let (radius, speed, range) = match s.kind {
                    Kind::Heavy => (30_000.0 + 50_000.0 * r.unit(), 24.0 + 5.0 * r.unit(), 1_600_000.0),
                    Kind::Light => (5_000.0 + 15_000.0 * r.unit(), 12.0 + 8.0 * r.unit(), 650_000.0),
                    Kind::Ev => (4_000.0 + 10_000.0 * r.unit(), 11.0 + 6.0 * r.unit(), 320_000.0),
                };
                let ang = r.unit() * std::f64::consts::TAU;
                let (dn, de) = (radius * ang.cos(), radius * ang.sin());
                Params {
                    kind: s.kind,
                    shift,
                    off_offset: i64::try_from(r.below(720)).unwrap_or(0) * 5,
                    centre: (
                        b.lat + dn / 111_320.0,
                        b.lon + de / (111_320.0 * b.lat.to_radians().cos()),
                    ),
                    radius,
                    phase0: ang + std::f64::consts::PI,
                    speed,
                    range,
                    fuel_phase: r.unit() * range,
                    branch: s.branch,
                    // One heavy truck in five and one pickup in three carry a PTO-driven body.
                    work: match s.kind {
                        Kind::Heavy => hash(seed, &[s.idx as u64, 78]) % 5 == 0,
                        Kind::Light => {
                            s.name.starts_with("Pickup") && hash(seed, &[s.idx as u64, 78]) % 3 == 0
                        }
                        Kind::Ev => false,
                    },
                    van: s.name.starts_with("Van"),
                    // Half the heavy work trucks carry a plow and spreader.
                    plow: s.kind == Kind::Heavy && hash(seed, &[s.idx as u64, 78]) % 10 == 0,
                    shared: hash(seed, &[s.idx as u64, 79]) % 4 == 0,
                    immobilizer: s.kind == Kind::Light && hash(seed, &[s.idx as u64, 80]) % 10 == 0,
                    obd_odometer: true,
                }
            })
            .collect();
        Self {
            seed,
            origin,
            first_day: origin.div_euclid(86_400) - 1,
            params,
            days: RwLock::new(Vec::new()),
            gaps,
            episodes: false,
            manual: RwLock::new(std::collections::BTreeMap::new()),
        }
    }

    /// The long idles of trip `i` of vehicle `v` on day `d` (a draw of their own, so the rest of the
    /// day's schedule keeps its random stream): a cold-morning warm-up of 20-70 min before the day's
    /// first trip (15 % of days), and before engine-off either a PTO job of 20-90 min (40 % of a work
    /// truck's trips), a lunch or dock wait of 15-60 min (8 % of trips), or a sleeper-cab rest of 1-3 h
    /// (3 % of a heavy truck's trips). Returns the warm-up, the closing idle (s) and whether the PTO runs.
    fn long_idles(seed: u64, v: usize, d: i64, i: u64, p: &Params) -> (Option<i64>, Option<i64>, bool) {
        let x = hash(seed, &[v as u64, d.unsigned_abs(), i, 77]);
        let u = |k: u64| crate::rng::unit(hash(x, &[k]));
        #[allow(clippy::cast_possible_truncation)]
        let span = |lo: i64, width: f64, k: u64| Some(lo + (u(k) * width) as i64 / 5 * 5);
        let warm = (i == 0 && u(1) < 0.15).then(|| span(1200, 3000.0, 2)).flatten();
        if p.work && u(3) < 0.4 {
            return (warm, span(1200, 4200.0, 4), true);
        }
        let idle = if u(5) < 0.08 {
            span(900, 2700.0, 6)
        } else if p.kind == Kind::Heavy && u(7) < 0.03 {
            span(3600, 7200.0, 8)
        } else {
            None
        };
        (warm, idle, false)
    }

    fn gen_day(&self, v: usize, d: i64, prev: Option<&DaySched>) -> DaySched {
        let p = &self.params[v];
        let (odo0, eng0, idle0) = prev.map_or_else(
            || {
                let mut r = Rng::new(self.seed, 2000 + v as u64);
                let years = 1.0 + 5.0 * r.unit();
                let per_year = if p.kind == Kind::Heavy {
                    160_000_000.0
                } else {
                    30_000_000.0
                };
                #[allow(clippy::cast_possible_truncation)]
                let eng = (years * if p.kind == Kind::Heavy { 3_000.0 } else { 700.0 } * 3600.0) as i64;
                // A fifth of a vehicle's engine time is idling.
                ((years * per_year).round(), eng, eng / 5)
            },
            |s| (s.odo0 + s.distance(), s.eng0 + s.engine(), s.idle0 + s.idle()),
        );
        let mut r = Rng::new(
            hash(self.seed, &[v as u64, u64::try_from(d + 100_000).unwrap_or(0)]),
            3,
        );
        let dow = (d + 4).rem_euclid(7); // 0 = Sunday
        let active = if dow == 0 || dow == 6 {
            r.chance(0.3)
        } else {
            r.chance(0.92)
        };
        let mut trips = Vec::new();
        if active {
            let day0 = d * 86_400 + p.shift;
            let n = if p.kind == Kind::Heavy {
                1 + r.below(2)
            } else {
                2 + r.below(3)
            };
            let mut t = day0 + 4 * 3600 + i64::try_from(r.below(4 * 720)).unwrap_or(0) * 5;
            for i in 0..n {
                let mut warm = 60 + i64::try_from(r.below(48)).unwrap_or(0) * 5;
                let drive_min = if p.kind == Kind::Heavy {
                    90 + r.below(240)
                } else {
                    15 + r.below(90)
                };
                let drive = i64::try_from(drive_min).unwrap_or(30) * 60;
                let mut idle = i64::try_from(r.below(121)).unwrap_or(0) * 5;
                let (long_warm, long_idle, pto) = Self::long_idles(self.seed, v, d, i, p);
                warm = long_warm.unwrap_or(warm);
                idle = long_idle.unwrap_or(idle);
                let end = t + warm + drive + idle;
                if end > day0 + 23 * 3600 {
                    break;
                }
                trips.push(Trip {
                    start: t,
                    drive0: t + warm,
                    drive1: t + warm + drive,
                    end,
                    speed: p.speed * (0.85 + 0.3 * r.unit()),
                    pto,
                });
                t = end + 900 + i64::try_from(r.below(900)).unwrap_or(0) * 5;
            }
        }
        // Every stream starts at the simulated window's start (`--days` before `--start`): no trip
        // (hence no inspection, form, safety event or defect) begins before it, so trips, telemetry and
        // IFTA agree. The day's pre-trip inspection comes 10 minutes before its first trip.
        trips.retain(|tr| tr.start - 900 >= self.origin);
        // A dead zone on some trips: 10-90 minutes whose points upload when the vehicle reconnects.
        let gap = (self.gaps && !trips.is_empty() && r.chance(0.25)).then(|| {
            let tr = trips[usize::try_from(r.below(trips.len() as u64)).unwrap_or(0)];
            let start = tr.drive0 + (tr.drive1 - tr.drive0) / 3 / 5 * 5;
            (start, start + 600 + i64::try_from(r.below(973)).unwrap_or(0) * 5)
        });
        DaySched {
            trips,
            odo0,
            eng0,
            idle0,
            gap,
        }
    }

    /// Schedules covering `[lo, hi]` (Unix s), generating missing days.
    pub(crate) fn days(&self, lo: i64, hi: i64) -> Days {
        let first = (lo.div_euclid(86_400) - 2).max(self.first_day);
        let last = (hi.div_euclid(86_400) + 2).max(first);
        let need = usize::try_from(last - self.first_day + 1).unwrap_or(0);
        let have = self.days.read().map_or(0, |d| d.len());
        if have < need {
            if let Ok(mut days) = self.days.write() {
                while days.len() < need {
                    let d = self.first_day + i64::try_from(days.len()).unwrap_or(0);
                    let prev = days.last().cloned();
                    let day: Arc<[DaySched]> = (0..self.params.len())
                        .map(|v| self.gen_day(v, d, prev.as_ref().map(|p| &p[v])))
                        .collect();
                    days.push(day);
                }
            }
        }
        let start = usize::try_from(first - self.first_day).unwrap_or(0);
        let days = self
            .days
            .read()
            .map(|d| d[start.min(d.len())..need.min(d.len())].to_vec())
            .unwrap_or_default();
        Days { first, days }
    }

    /// Takes the OBD odometer away from about `percent` % of the vehicles (`--no-obd-odometer`): a
    /// draw of its own per vehicle, so the rest of the model is unchanged.
    pub(crate) fn drop_obd_odometer(&mut self, percent: u32) {
        let seed = self.seed;
        for (v, p) in self.params.iter_mut().enumerate() {
            p.obd_odometer = hash(seed, &[v as u64, 81]) % 100 >= u64::from(percent);
        }
    }

    /// Records a manual override of `counter` for vehicle `v` at `at` (Unix s).
    pub(crate) fn set_manual(&self, v: usize, counter: Counter, at: i64, value: f64) {
        let days = self.days(at - 86_400, at);
        let base = match counter {
            Counter::Odometer => self.odometer(&days, v, at),
            Counter::EngineSeconds => self.engine_seconds(&days, v, at) as f64,
        };
        if let Ok(mut m) = self.manual.write() {
            m.entry(v).or_default().push(Manual {
                at,
                counter,
                value,
                base,
            });
        }
    }

    /// The override of `counter` in force for vehicle `v` at `t` (the latest set at or before `t`).
    pub(crate) fn manual_at(&self, v: usize, counter: Counter, t: i64) -> Option<Manual> {
        let m = self.manual.read().ok()?;
        m.get(&v)?
            .iter()
            .rev()
            .find(|o| o.counter == counter && o.at <= t)
            .copied()
    }

    /// The local day index of vehicle `v` at `t`.
    pub(crate) fn day_of(&self, v: usize, t: i64) -> i64 {
        (t - self.params[v].shift).div_euclid(86_400)
    }

    /// The trip in progress at `t` (`start <= t < end`).
    pub(crate) fn trip_at<'a>(&self, days: &'a Days, v: usize, t: i64) -> Option<&'a Trip> {
        days.get(v, self.day_of(v, t))
            .trips
            .iter()
            .find(|tr| tr.start <= t && t < tr.end)
    }

    fn on_closed(&self, days: &Days, v: usize, t: i64) -> bool {
        days.get(v, self.day_of(v, t))
            .trips
            .iter()
            .any(|tr| tr.start <= t && t <= tr.end)
    }

    /// Engine phase at `t`.
    pub(crate) fn phase(&self, days: &Days, v: usize, t: i64) -> Phase {
        match self.trip_at(days, v, t) {
            Some(tr) if t >= tr.drive0 && t < tr.drive1 => Phase::Driving,
            Some(_) => Phase::Idle,
            None => Phase::Off,
        }
    }

    /// Odometer in metres at `t` (monotonic).
    pub(crate) fn odometer(&self, days: &Days, v: usize, t: i64) -> f64 {
        let s = days.get(v, self.day_of(v, t));
        s.odo0
            + s.trips
                .iter()
                .map(|tr| tr.speed * (t.min(tr.drive1) - tr.drive0).max(0) as f64)
                .sum::<f64>()
    }

    /// Distance driven since local midnight, metres.
    pub(crate) fn day_distance(&self, days: &Days, v: usize, t: i64) -> f64 {
        self.odometer(days, v, t) - days.get(v, self.day_of(v, t)).odo0
    }

    /// Engine seconds at `t` (monotonic).
    pub(crate) fn engine_seconds(&self, days: &Days, v: usize, t: i64) -> i64 {
        let s = days.get(v, self.day_of(v, t));
        s.eng0
            + s.trips
                .iter()
                .map(|tr| (t.min(tr.end) - tr.start).max(0))
                .sum::<i64>()
    }

    /// Cumulative idle seconds of vehicle `v` at `t` (engine on, wheels still).
    pub(crate) fn idle_seconds(&self, days: &Days, v: usize, t: i64) -> i64 {
        let s = days.get(v, self.day_of(v, t));
        s.idle0
            + s.trips
                .iter()
                .map(|tr| (t.min(tr.drive0) - tr.start).max(0) + (t.min(tr.end) - tr.drive1).max(0))
                .sum::<i64>()
    }

    /// How `stat` is sampled: its catalogue sampling, except fault codes every 5 minutes while the
    /// engine runs when episodes are on (so a fault's opening, flapping and clearing show).
    pub(crate) fn sampling_of(&self, stat: crate::stattypes::Stat) -> Sampling {
        if self.episodes && stat.0 == "faultCodes" {
            return Sampling::Periodic(crate::episodes::FAULT_SAMPLE_S);
        }
        stat.sampling()
    }

    /// The first sample strictly after `t`, within the view.
    pub(crate) fn next_sample(&self, days: &Days, v: usize, how: Sampling, t: i64) -> i64 {
        let t1 = (t + 1).max(self.origin);
        let d0 = self.day_of(v, t1);
        match how {
            Sampling::Block(b) => {
                let off = self.params[v].off_offset;
                align_up(t1 - off, b) + off
            }
            Sampling::Starts => (d0..d0 + 8)
                .find_map(|d| days.get(v, d).trips.iter().map(|tr| tr.start).find(|&x| x >= t1))
                .unwrap_or(i64::MAX),
            Sampling::Transitions => {
                for d in d0..d0 + 8 {
                    for tr in &days.get(v, d).trips {
                        for x in [tr.start, tr.drive0, tr.drive1, tr.end] {
                            if x >= t1 {
                                return x;
                            }
                        }
                    }
                }
                i64::MAX
            }
            Sampling::Periodic(p) => {
                let mut on = i64::MAX;
                'days: for d in d0..d0 + 3 {
                    for tr in &days.get(v, d).trips {
                        if tr.end >= t1 {
                            on = if tr.start >= t1 {
                                tr.start
                            } else {
                                align_up(t1, p).min(tr.end)
                            };
                            break 'days;
                        }
                    }
                }
                let off = self.params[v].off_offset;
                let mut h = align_up(t1 - off, 3600) + off;
                for _ in 0..48 {
                    if h >= on || !self.on_closed(days, v, h) {
                        break;
                    }
                    h += 3600;
                }
                on.min(h)
            }
        }
    }

    /// The last sample at or before `t`, if any data exists by then.
    pub(crate) fn prev_sample(&self, days: &Days, v: usize, how: Sampling, t: i64) -> Option<i64> {
        let d0 = self.day_of(v, t);
        let found = match how {
            Sampling::Block(b) => {
                let off = self.params[v].off_offset;
                Some(align_down(t - off, b) + off)
            }
            Sampling::Starts => (d0 - 7..=d0).rev().find_map(|d| {
                days.get(v, d)
                    .trips
                    .iter()
                    .rev()
                    .map(|tr| tr.start)
                    .find(|&x| x <= t)
            }),
            Sampling::Transitions => (d0 - 7..=d0).rev().find_map(|d| {
                days.get(v, d)
                    .trips
                    .iter()
                    .rev()
                    .flat_map(|tr| [tr.end, tr.drive1, tr.drive0, tr.start])
                    .find(|&x| x <= t)
            }),
            Sampling::Periodic(p) => {
                let on = (d0 - 2..=d0).rev().find_map(|d| {
                    days.get(v, d)
                        .trips
                        .iter()
                        .rev()
                        .find(|tr| tr.start <= t)
                        .map(|tr| {
                            if t >= tr.end {
                                tr.end
                            } else {
                                align_down(t, p).max(tr.start)
                            }
                        })
                });
                let off = self.params[v].off_offset;
                let mut h = align_down(t - off, 3600) + off;
                for _ in 0..48 {
                    if on.is_some_and(|o| h <= o) || !self.on_closed(days, v, h) {
                        break;
                    }
                    h -= 3600;
                }
                Some(on.map_or(h, |o| o.max(h)))
            }
        };
        found.filter(|&x| x >= self.origin)
    }

    /// Position on the vehicle's route loop after `odo` metres: (latitude, longitude, heading°).
    pub(crate) fn position(&self, v: usize, odo: f64) -> (f64, f64, f64) {
        let p = &self.params[v];
        let theta = p.phase0 + (odo % (p.radius * std::f64::consts::TAU)) / p.radius;
        let (north, east) = (p.radius * theta.cos(), p.radius * theta.sin());
        let lat = p.centre.0 + north / 111_320.0;
        let lon = p.centre.1 + east / (111_320.0 * lat.to_radians().cos());
        let heading = (theta.cos().atan2(-theta.sin()).to_degrees() + 360.0) % 360.0;
        (lat, lon, heading)
    }

    /// The fleet driver index driving vehicle `v` on local day `d` (`None` without drivers).
    pub(crate) fn driver_for(&self, v: usize, d: i64, drivers: usize) -> Option<usize> {
        if drivers == 0 {
            return None;
        }
        let h = hash(self.seed, &[v as u64, d.unsigned_abs(), 31]);
        let base = if crate::rng::unit(h) < 0.1 {
            v + 1 + (h % 7) as usize
        } else {
            v
        };
        Some(base % drivers)
    }

    /// Seed-derived hash for per-sample noise.
    pub(crate) fn noise(&self, v: usize, t: i64, salt: u64) -> f64 {
        crate::rng::unit(hash(self.seed, &[v as u64, t.unsigned_abs(), salt]))
    }

    /// Whether fault block containing `t` has an active fault, and which one (index).
    pub(crate) fn fault_at(&self, v: usize, t: i64) -> Option<u64> {
        if self.episodes {
            return crate::episodes::fault_at(self, v, t);
        }
        let off = self.params[v].off_offset;
        let block = align_down(t - off, 21_600);
        let h = hash(self.seed, &[v as u64, block.unsigned_abs(), 77]);
        (crate::rng::unit(h) < 0.18).then_some(h >> 40)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Fleet;

    #[test]
    fn no_obd_odometer_takes_it_from_about_that_share_of_vehicles() {
        let fleet = Fleet::generate(3, 200, 1);
        let mut m = Model::new(3, 1_793_491_200, &fleet.vehicles, false);
        let without = |m: &Model| m.params.iter().filter(|p| !p.obd_odometer).count();
        assert_eq!(without(&m), 0, "every vehicle has one by default");
        m.drop_obd_odometer(25);
        assert!((30..=70).contains(&without(&m)), "{}", without(&m));
        let gps = crate::stattypes::Stat("gpsOdometerMeters");
        let obd = crate::stattypes::Stat("obdOdometerMeters");
        assert!(m.params.iter().all(|p| gps.reported_by(p)));
        assert!(m.params.iter().all(|p| obd.reported_by(p) == p.obd_odometer));
        m.drop_obd_odometer(0);
        assert_eq!(without(&m), 0);
    }

    #[test]
    fn counters_are_monotonic_and_samples_ordered() {
        let fleet = Fleet::generate(3, 12, 1);
        let origin = 1_793_491_200 - 2 * 86_400;
        let m = Model::new(3, origin, &fleet.vehicles, false);
        let days = m.days(origin, origin + 3 * 86_400);
        for v in 0..12 {
            let (mut odo, mut eng, mut t) = (0.0, 0, origin - 1);
            let mut n = 0;
            while t < origin + 2 * 86_400 {
                let nt = m.next_sample(&days, v, Sampling::Periodic(5), t);
                assert!(nt > t);
                assert_eq!(nt % 5, 0);
                assert_eq!(m.prev_sample(&days, v, Sampling::Periodic(5), nt), Some(nt));
                let (o, e) = (m.odometer(&days, v, nt), m.engine_seconds(&days, v, nt));
                assert!(o >= odo && e >= eng);
                (odo, eng, t) = (o, e, nt);
                n += 1;
            }
            assert!(n > 40, "vehicle {v}: {n} samples");
        }
    }
}
