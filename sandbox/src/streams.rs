//! Shared machinery for Samsara's stream endpoints: the `startTime`/`endTime` window, ordering by
//! `updatedAtTime` (or another time field), opaque position cursors, and the shared location objects.
//!
//! A record exists in one version only, its current one (as of simulated now), ordered by that
//! version's time; a later change moves it past the cursor, so polling with the last `endCursor`
//! yields exactly the changes.

use serde_json::{json, Value};

use crate::fleet::BRANCHES;
use crate::http::{Request, Response};
use crate::router::PageFault;

/// One record with its ordering time (Unix ms) and a tie-breaking key.
#[derive(Debug)]
pub(crate) struct Item {
    /// Ordering time, Unix ms.
    pub(crate) at: i64,
    /// Unique key.
    pub(crate) key: String,
    /// The record.
    pub(crate) json: Value,
}

/// The requested window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// `startTime`, Unix ms.
    pub(crate) start: i64,
    /// `endTime`, Unix ms, if given.
    pub(crate) end: Option<i64>,
    /// Simulated now, Unix ms.
    pub(crate) now: i64,
}

impl Window {
    /// Reads `startTime` (required) and `endTime` (required when `end_required`).
    pub(crate) fn parse(req: &Request, now: i64, end_required: bool) -> Result<Self, Response> {
        let start = req
            .time_param("startTime")?
            .ok_or_else(|| Response::bad_param("startTime", "is required (RFC 3339)"))?;
        let end = req.time_param("endTime")?;
        if end_required && end.is_none() {
            return Err(Response::bad_param("endTime", "is required (RFC 3339)"));
        }
        if end.is_some_and(|e| e < start) {
            return Err(Response::bad_param("endTime", "must not be before startTime"));
        }
        Ok(Self { start, end, now })
    }

    /// The last visible instant, Unix ms.
    pub(crate) fn bound(&self) -> i64 {
        self.end.map_or(self.now, |e| e.min(self.now))
    }

    /// Start and bound in Unix seconds (for model lookups); the start is clamped to 400 days before
    /// the bound, which is more than any simulated history.
    pub(crate) fn secs(&self) -> (i64, i64) {
        let hi = self.bound().div_euclid(1000);
        (self.start.div_euclid(1000).max(hi - 400 * 86_400), hi)
    }
}

fn check(at: i64, key: &str) -> u64 {
    crate::rng::hash(
        0x57,
        &[
            at.unsigned_abs(),
            key.bytes().fold(0u64, |h, b| crate::rng::mix(h ^ u64::from(b))),
        ],
    ) & 0xffff
}

fn encode(at: i64, key: &str) -> String {
    let hex: String = key.bytes().fold(String::new(), |mut acc, b| {
        use std::fmt::Write as _;
        let _ = write!(acc, "{b:02x}");
        acc
    });
    format!("U3{at:x}.{hex}.{:x}", check(at, key))
}

fn decode(s: &str) -> Option<(i64, String)> {
    let mut it = s.strip_prefix("U3")?.split('.');
    let at = i64::from_str_radix(it.next()?, 16).ok()?;
    let hex = it.next()?;
    let c = u64::from_str_radix(it.next()?, 16).ok()?;
    if it.next().is_some() || hex.len() % 2 == 1 || hex.len() > 512 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let key = String::from_utf8(bytes?).ok()?;
    (check(at, &key) == c).then_some((at, key))
}

/// One page of a stream. `limit` is `(default, max)` when the endpoint has a `limit` parameter.
pub(crate) fn page(
    mut items: Vec<Item>,
    req: &Request,
    w: &Window,
    limit: Option<(usize, usize)>,
    pf: Option<PageFault>,
) -> Response {
    let n = match limit {
        Some((def, max)) => match req.int_param("limit", 1, i64::try_from(max).unwrap_or(512)) {
            Ok(l) => l.map_or(def, |l| usize::try_from(l).unwrap_or(def)),
            Err(e) => return e,
        },
        None => 100,
    };
    let pos = match req.param("after") {
        None => None,
        Some(a) => match decode(a) {
            Some(p) => Some(p),
            None => return Response::bad_param("after", "not a cursor returned by this endpoint"),
        },
    };
    if pf == Some(PageFault::Empty) {
        let cur = req
            .param("after")
            .map_or_else(|| encode(w.start - 1, ""), str::to_string);
        return Response::json(
            200,
            &json!({"data": [], "pagination": {"endCursor": cur, "hasNextPage": true}}),
        );
    }
    let bound = w.bound();
    items.retain(|i| i.at >= w.start && i.at <= bound);
    items.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
    let mut first = pos.as_ref().map_or(0, |(at, key)| {
        items.partition_point(|i| (i.at, &i.key) <= (*at, key))
    });
    if pf == Some(PageFault::Repeat) {
        first = first.saturating_sub(2);
    }
    let last = (first + n).min(items.len());
    let has_next = last < items.len();
    let end = if has_next || w.end.is_none() {
        items[..last]
            .last()
            .map(|i| encode(i.at, &i.key))
            .or_else(|| req.param("after").map(str::to_string))
            .unwrap_or_else(|| encode(w.start - 1, ""))
    } else {
        String::new()
    };
    let data: Vec<Value> = items.drain(first.min(last)..last).map(|i| i.json).collect();
    Response::json(
        200,
        &json!({"data": data, "pagination": {"endCursor": end, "hasNextPage": has_next}}),
    )
}

/// `RFC 3339` with milliseconds for Unix seconds.
pub(crate) fn ts(t: i64) -> String {
    crate::simtime::rfc3339(t)
}

/// An address object near a branch.
pub(crate) fn address(branch: usize) -> Value {
    let b = BRANCHES[branch];
    json!({"city": b.city, "state": b.state, "country": "United States"})
}

/// A `LocationResponse` object.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn location(lat: f64, lon: f64, heading: f64, branch: usize) -> Value {
    json!({"latitude": (lat * 1e6).round() / 1e6, "longitude": (lon * 1e6).round() / 1e6, "headingDegrees": heading.round() as i64, "address": address(branch)})
}

/// A boolean query flag (`true`/`false`).
pub(crate) fn flag(req: &Request, name: &str) -> Result<bool, Response> {
    match req.param(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Response::bad_param(name, "must be `true` or `false`")),
    }
}

/// A deterministic UUID-shaped ID from two hashes.
pub(crate) fn uuid(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}
