//! Connectivity gaps (`--gaps on`): while a vehicle is in a dead zone its device keeps logging, and
//! the points reach Samsara when it reconnects. A point's *ingest* time is then the gap's end, and the
//! feed orders by ingest time, so a caught-up client receives those points late, with old timestamps.
//! With gaps off, ingest time equals point time everywhere.

use crate::model::{Days, Model, Sampling};

impl Model {
    fn gaps_near<'a>(&self, days: &'a Days, v: usize, t: i64) -> impl Iterator<Item = (i64, i64)> + 'a {
        let d = self.day_of(v, t);
        [d - 1, d].into_iter().filter_map(move |d| days.get(v, d).gap)
    }

    /// When point time `t` of vehicle `v` reaches Samsara.
    pub(crate) fn ingest(&self, days: &Days, v: usize, t: i64) -> i64 {
        if !self.gaps {
            return t;
        }
        self.gaps_near(days, v, t)
            .find(|&(s, e)| s <= t && t < e)
            .map_or(t, |(_, e)| e)
    }

    /// The earliest point time whose ingest time is at least `x`.
    pub(crate) fn ingest_floor(&self, days: &Days, v: usize, x: i64) -> i64 {
        if !self.gaps {
            return x;
        }
        self.gaps_near(days, v, x)
            .find(|&(s, e)| s < x && x <= e)
            .map_or(x, |(s, _)| s)
    }

    /// The last sample at or before `t` that Samsara has received by `t`.
    pub(crate) fn prev_visible(&self, days: &Days, v: usize, how: Sampling, t: i64) -> Option<i64> {
        let p = self.prev_sample(days, v, how, t)?;
        if self.ingest(days, v, p) <= t {
            return Some(p);
        }
        self.prev_sample(days, v, how, self.ingest_floor(days, v, t + 1) - 1)
    }
}
