//! Maintenance episodes (`--episodes on`): what a maintenance Function must notice, placed on the
//! vehicles' trips from the seed, with their ground truth under `/__sandbox/truth/episodes`.
//!
//! Per vehicle and local day with trips (each a draw of its own, so the rest of the model keeps its
//! random streams): a fault code that stays for 60-150 minutes (30 % of days), a flap: another code
//! for 3-6 minutes (25 %), a battery drained overnight (15 %), a charging fault while driving (10 %),
//! low oil pressure while driving (10 %), a tire leaking 25 kPa an hour for 10 hours (10 %), an
//! ECU swap that rolls the OBD odometer back (4 %) and an odometer jump of 500 km (4 %). With episodes
//! on, fault codes come only from episodes (not the 6-hour blocks) and are sampled every 5 minutes
//! while the engine runs; without them nothing here runs.

// Times and metres in i64/f64 far below 2^52; short names follow the model's.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::many_single_char_names
)]

use serde_json::{json, Value};

use crate::http::{Request, Response};
use crate::model::{Days, Model, Phase, Sampling};
use crate::rng::{hash, unit};
use crate::router::Sandbox;
use crate::simtime::{parse_rfc3339_ms, rfc3339};

/// Fault codes are sampled this often (s) while the engine runs when episodes are on.
pub(crate) const FAULT_SAMPLE_S: i64 = 300;

/// What happens in an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A fault code present for long enough to open.
    Fault,
    /// A fault code present too briefly to open.
    Flap,
    /// The battery drained while parked (below 12.0 V).
    LowVoltageOff,
    /// The battery not charging while the engine runs (below 13.0 V).
    LowVoltageOn,
    /// Low oil pressure while driving.
    LowOilPressure,
    /// A tire losing pressure until repaired.
    TireLeak,
    /// The OBD odometer reset lower (an ECU swap); `amount` m from `start` on.
    OdometerRollback,
    /// The OBD odometer jumping ahead; `amount` m from `start` on.
    OdometerJump,
}

impl Kind {
    const fn name(self) -> &'static str {
        match self {
            Self::Fault => "fault",
            Self::Flap => "flap",
            Self::LowVoltageOff => "lowVoltageEngineOff",
            Self::LowVoltageOn => "lowVoltageEngineOn",
            Self::LowOilPressure => "lowOilPressure",
            Self::TireLeak => "tireLeak",
            Self::OdometerRollback => "odometerRollback",
            Self::OdometerJump => "odometerJump",
        }
    }

    /// How the stat the episode changes is sampled.
    const fn sampling(self) -> Sampling {
        match self {
            Self::Fault | Self::Flap => Sampling::Periodic(FAULT_SAMPLE_S),
            _ => Sampling::Periodic(60),
        }
    }
}

/// One episode: `[start, end)` (Unix s).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Episode {
    /// What happens.
    pub(crate) kind: Kind,
    /// From.
    pub(crate) start: i64,
    /// Until (exclusive).
    pub(crate) end: i64,
    /// Fault code index (faults, flaps); tire index (leaks).
    pub(crate) index: u64,
    /// Odometer change (m) or leak rate (kPa/h).
    pub(crate) amount: f64,
}

const fn up5(t: i64) -> i64 {
    t.div_euclid(5) * 5 + if t.rem_euclid(5) == 0 { 0 } else { 5 }
}

/// The episodes of vehicle `v` on its local day `d` (`days` must cover `d` and `d + 1`).
pub(crate) fn of_day(model: &Model, days: &Days, v: usize, d: i64) -> Vec<Episode> {
    let trips = &days.get(v, d).trips;
    let (Some(first), Some(last)) = (trips.first(), trips.last()) else {
        return Vec::new();
    };
    let h = |k: u64| hash(model.seed, &[v as u64, d.unsigned_abs(), 91, k]);
    let u = |k: u64| unit(h(k));
    let span = |lo: i64, width: f64, k: u64| lo + (u(k) * width) as i64 / 5 * 5;
    let mut out = Vec::new();
    let mut ep = |kind, start: i64, end: i64, index, amount| {
        if end > start {
            out.push(Episode {
                kind,
                start,
                end,
                index,
                amount,
            });
        }
    };
    let fault_code = h(3) % 4;
    let fault = (u(1) < 0.3).then(|| {
        let s = up5(first.drive0 + 1200);
        (s, span(s + 3600, 5400.0, 2))
    });
    if let Some((s, e)) = fault {
        ep(Kind::Fault, s, e, fault_code, 0.0);
    }
    if u(4) < 0.25 {
        let s = up5(last.drive0 + 600);
        let e = span(s + 180, 180.0, 5);
        // Never beside the fault: a code flapping inside a fault would be the fault.
        if fault.is_none_or(|(fs, fe)| e + FAULT_SAMPLE_S < fs || s > fe + FAULT_SAMPLE_S) {
            ep(Kind::Flap, s, e, (fault_code + 1 + h(6) % 3) % 4, 0.0);
        }
    }
    if u(7) < 0.15 {
        let s = up5(last.end + 3600);
        let next = days.get(v, d + 1).trips.first().map_or(i64::MAX, |t| t.start);
        ep(
            Kind::LowVoltageOff,
            s,
            span(s + 3 * 3600, 4.0 * 3600.0, 8).min(next),
            0,
            0.0,
        );
    }
    if u(9) < 0.1 {
        let s = up5(first.start + 300);
        ep(
            Kind::LowVoltageOn,
            s,
            span(s + 1800, 1800.0, 10).min(first.end),
            0,
            0.0,
        );
    }
    // Electric vehicles report no oil pressure.
    let combustion = model.params[v].kind != crate::fleet::Kind::Ev;
    if combustion && u(11) < 0.1 && first.drive1 - first.drive0 > 3000 {
        let s = up5(first.drive0 + 2400);
        ep(
            Kind::LowOilPressure,
            s,
            span(s + 1200, 1200.0, 12).min(first.drive1),
            0,
            0.0,
        );
    }
    if u(13) < 0.1 {
        ep(
            Kind::TireLeak,
            first.start,
            first.start + 10 * 3600,
            h(14) % 4,
            25.0,
        );
    }
    if u(15) < 0.04 {
        let at = first.start;
        let drop = -(0.6 * model.odometer(days, v, at)).round();
        ep(Kind::OdometerRollback, at, i64::MAX, 0, drop);
    }
    if u(16) < 0.04 {
        ep(Kind::OdometerJump, up5(last.drive0 + 600), i64::MAX, 0, 500_000.0);
    }
    out
}

/// Episodes of vehicle `v` in force at `t` (those of its day and the day before).
fn active(model: &Model, days: &Days, v: usize, t: i64) -> impl Iterator<Item = Episode> {
    let d = model.day_of(v, t);
    let mut all = of_day(model, days, v, d - 1);
    all.extend(of_day(model, days, v, d));
    all.into_iter().filter(move |e| e.start <= t && t < e.end)
}

/// The fault code index active for vehicle `v` at `t` (a fault before a flap), if any.
pub(crate) fn fault_at(model: &Model, v: usize, t: i64) -> Option<u64> {
    let days = model.days(t - 2 * 86_400, t + 86_400);
    let mut found = None;
    for e in active(model, &days, v, t) {
        match e.kind {
            Kind::Fault => return Some(e.index),
            Kind::Flap => found = Some(e.index),
            _ => {}
        }
    }
    found
}

/// `batteryMilliVolts` during a low-voltage episode.
pub(crate) fn battery(model: &Model, days: &Days, v: usize, t: i64) -> Option<i64> {
    let n = model.noise(v, t, 7);
    active(model, days, v, t).find_map(|e| match e.kind {
        Kind::LowVoltageOff => Some(11_450 + (n * 250.0) as i64),
        Kind::LowVoltageOn => Some(12_350 + (n * 300.0) as i64),
        _ => None,
    })
}

/// `engineOilPressureKPa` during a low-oil-pressure episode (while driving).
pub(crate) fn oil_pressure(model: &Model, days: &Days, v: usize, t: i64) -> Option<i64> {
    if model.phase(days, v, t) != Phase::Driving {
        return None;
    }
    let n = model.noise(v, t, 6);
    active(model, days, v, t)
        .any(|e| e.kind == Kind::LowOilPressure)
        .then(|| 55 + (n * 20.0) as i64)
}

/// What the OBD odometer reads beyond the distance driven at `t` (rollbacks and jumps so far, m).
pub(crate) fn odometer_offset(model: &Model, v: usize, t: i64) -> f64 {
    let days = model.days(model.origin, t);
    let last = model.day_of(v, t);
    let first = model.day_of(v, model.origin) - 1;
    (first..=last)
        .flat_map(|d| of_day(model, &days, v, d))
        .filter(|e| matches!(e.kind, Kind::OdometerRollback | Kind::OdometerJump) && e.start <= t)
        .map(|e| e.amount)
        .sum()
}

/// Pressure lost (kPa) by tire `w` of vehicle `v` at `t` to a leak episode.
pub(crate) fn tire_loss(model: &Model, days: &Days, v: usize, w: u64, t: i64) -> f64 {
    active(model, days, v, t)
        .filter(|e| e.kind == Kind::TireLeak && e.index == w)
        .map(|e| e.amount * (t - e.start) as f64 / 3600.0)
        .sum()
}

/// `GET /__sandbox/truth/episodes?startTime=…&endTime=…`: every episode overlapping the window, with
/// the samples of the stat it changes that fall inside it (first and last) and the first after it.
pub(crate) fn truth(sb: &Sandbox, req: &Request) -> Response {
    if !sb.model.episodes {
        return Response::error(409, "episodes are off: start the sandbox with `--episodes on`");
    }
    let time = |name: &str| {
        req.param(name)
            .and_then(parse_rfc3339_ms)
            .map(|ms| ms.div_euclid(1000))
            .ok_or_else(|| Response::bad_param(name, "is required (RFC 3339)"))
    };
    let (lo, hi) = match (time("startTime"), time("endTime")) {
        (Ok(lo), Ok(hi)) => (lo, hi),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let m = &sb.model;
    let days = m.days(m.origin, hi + 2 * 86_400);
    let mut data: Vec<Value> = Vec::new();
    for v in 0..sb.fleet.vehicles.len() {
        for d in m.day_of(v, lo) - 1..=m.day_of(v, hi) {
            for e in of_day(m, &days, v, d) {
                if e.start >= hi || e.end <= lo {
                    continue;
                }
                let how = e.kind.sampling();
                let first = m.next_sample(&days, v, how, e.start - 1);
                let last = m.prev_sample(&days, v, how, e.end.min(hi) - 1);
                let after = if e.end == i64::MAX {
                    None
                } else {
                    Some(m.next_sample(&days, v, how, e.end - 1))
                };
                let mut j = json!({
                    "vehicleId": sb.fleet.vehicles[v].id,
                    "kind": e.kind.name(),
                    "start": rfc3339(e.start),
                    "end": (e.end != i64::MAX).then(|| rfc3339(e.end)),
                    "firstSample": (first < e.end).then(|| rfc3339(first)),
                    "lastSample": last.filter(|&x| x >= e.start).map(rfc3339),
                    "sampleAfter": after.map(rfc3339),
                });
                match e.kind {
                    Kind::Fault | Kind::Flap => j["code"] = crate::dtc::describe(m, v, e.index),
                    Kind::TireLeak => {
                        j["tire"] =
                            json!(["frontLeft", "frontRight", "backLeft", "backRight"][e.index as usize]);
                        j["kpaPerHour"] = json!(e.amount);
                    }
                    Kind::OdometerRollback | Kind::OdometerJump => j["meters"] = json!(e.amount),
                    _ => {}
                }
                data.push(j);
            }
        }
    }
    Response::json(200, &json!({ "data": data }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Fleet;

    #[test]
    fn episodes_are_deterministic_and_of_every_kind() {
        let fleet = Fleet::generate(7, 60, 1);
        let origin = 1_793_491_200 - 4 * 86_400;
        let mut m = Model::new(7, origin, &fleet.vehicles, false);
        m.episodes = true;
        let days = m.days(origin, origin + 6 * 86_400);
        let mut kinds = std::collections::BTreeSet::new();
        for v in 0..60 {
            for d in m.day_of(v, origin)..m.day_of(v, origin + 4 * 86_400) {
                let a = of_day(&m, &days, v, d);
                let b = of_day(&m, &days, v, d);
                assert_eq!(a.len(), b.len());
                for e in a {
                    assert!(e.end > e.start);
                    kinds.insert(e.kind.name());
                    if e.kind == Kind::Flap {
                        assert!(e.end - e.start <= 360, "a flap is short");
                        assert_eq!(fault_at(&m, v, e.start), Some(e.index), "the flap's code shows");
                    }
                    if e.kind == Kind::Fault {
                        assert!(e.end - e.start >= 3600);
                        assert_eq!(fault_at(&m, v, e.end - 1), Some(e.index));
                    }
                }
            }
        }
        assert_eq!(kinds.len(), 8, "{kinds:?}");
    }

    #[test]
    fn without_episodes_nothing_changes() {
        let fleet = Fleet::generate(7, 20, 1);
        let origin = 1_793_491_200 - 2 * 86_400;
        let m = Model::new(7, origin, &fleet.vehicles, false);
        let block = (0..20)
            .filter(|&v| m.fault_at(v, origin + 86_400).is_some())
            .count();
        let mut e = Model::new(7, origin, &fleet.vehicles, false);
        e.episodes = false;
        assert_eq!(
            block,
            (0..20)
                .filter(|&v| e.fault_at(v, origin + 86_400).is_some())
                .count()
        );
    }
}
