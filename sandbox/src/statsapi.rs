//! `GET /fleet/vehicles/stats`, `/stats/feed` and `/stats/history`.
//!
//! Feed and history pages hold at most [`PAGE_POINTS`] points, ordered by (time, vehicle, type); a
//! vehicle's arrays may continue on the next page. A cursor is the position of the last point served
//! (time, vehicle, type), so the same cursor always yields the same page and a checkpointed cursor
//! resumes exactly. Without `after` the feed returns the latest point per vehicle and type, 512
//! vehicles a page (`hasNextPage` while more remain), then continues from the time of that first call.

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

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::http::{Request, Response};
use crate::jsonw::{envelope, string};
use crate::model::Model;
use crate::router::{PageFault, Sandbox};
use crate::stattypes::{Render, Stat};

/// Points per feed/history page.
pub(crate) const PAGE_POINTS: usize = 512;
/// Vehicles per snapshot page.
pub(crate) const PAGE_VEHICLES: usize = 512;
const END: u32 = u32::MAX;
/// The `k` of a cursor inside the feed's first walk (the latest values, [`PAGE_VEHICLES`] vehicles a
/// page): `t` is the time of those values and `v` the offset of the next vehicle in the selection.
const LATEST: u32 = u32::MAX - 1;

/// A feed/history position: everything up to and including (t, v, k, p) has been served, in the
/// order (ingest time, vehicle, type, point time); ingest time is the point time unless `--gaps on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// Ingest time, Unix seconds (the point time for history).
    pub(crate) t: i64,
    /// Vehicle index, or `END` when every vehicle at `t` was served.
    pub(crate) v: u32,
    /// Index into the requested types, or `END`.
    pub(crate) k: u32,
    /// Point time of the last point served, Unix seconds.
    pub(crate) p: i64,
}

fn check(t: i64, v: u32, k: u32, p: i64) -> u64 {
    crate::rng::hash(
        0x5a4d,
        &[t.unsigned_abs(), u64::from(v), u64::from(k), p.unsigned_abs()],
    ) & 0xffff
}

impl Cursor {
    /// The opaque string form.
    pub(crate) fn encode(self) -> String {
        format!(
            "MTY{:x}.{:x}.{:x}.{:x}.{:x}",
            self.t,
            self.v,
            self.k,
            self.p,
            check(self.t, self.v, self.k, self.p)
        )
    }

    /// Parses a cursor (None on garbage).
    pub(crate) fn decode(s: &str) -> Option<Self> {
        let mut it = s.strip_prefix("MTY")?.split('.');
        let t = i64::from_str_radix(it.next()?, 16).ok()?;
        let v = u32::from_str_radix(it.next()?, 16).ok()?;
        let k = u32::from_str_radix(it.next()?, 16).ok()?;
        let p = i64::from_str_radix(it.next()?, 16).ok()?;
        let c = u64::from_str_radix(it.next()?, 16).ok()?;
        (it.next().is_none() && c == check(t, v, k, p)).then_some(Self { t, v, k, p })
    }
}

struct Query {
    types: Vec<Stat>,
    decorations: Vec<Stat>,
    vehicles: Vec<usize>,
    headers: Arc<Vec<Arc<str>>>,
    overrides: Arc<std::collections::BTreeMap<usize, (i64, f64, f64)>>,
}

/// How many of the request's 3 `types` a list uses: `auxInput3`…`auxInput13` count as one.
fn weight(raw: &[String]) -> usize {
    let wide_aux = |s: &str| {
        s.strip_prefix("auxInput")
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (3..=13).contains(&n))
    };
    let aux = raw.iter().any(|s| wide_aux(s));
    raw.iter().filter(|s| !wide_aux(s)).count() + usize::from(aux)
}

fn stat_list(req: &Request, name: &str, max: usize, decorations: bool) -> Result<Vec<Stat>, Response> {
    let raw = req.list(name);
    let used = if decorations { raw.len() } else { weight(&raw) };
    if used > max {
        return Err(Response::bad_param(
            name,
            &format!(
                "at most {max} values are allowed (in `types`, `auxInput3` to `auxInput13` count as one)"
            ),
        ));
    }
    raw.iter()
        .map(|s| {
            let st = Stat::parse(s)
                .ok_or_else(|| Response::bad_param(name, &format!("unknown stat type `{s}`")))?;
            if decorations && !st.decoration_allowed() {
                return Err(Response::bad_param(
                    name,
                    &format!("`{s}` cannot be used as a decoration"),
                ));
            }
            Ok(st)
        })
        .collect()
}

fn parse_query(
    sb: &Sandbox,
    req: &Request,
    with_decorations: bool,
    locations: bool,
) -> Result<Query, Response> {
    let types = if locations {
        vec![Stat("location")]
    } else {
        stat_list(req, "types", 3, false)?
    };
    if types.is_empty() {
        return Err(Response::bad_param("types", "at least one stat type is required"));
    }
    let decorations = if with_decorations && !locations {
        stat_list(req, "decorations", 2, true)?
    } else {
        Vec::new()
    };
    let st = sb.store();
    let mut vehicles: Vec<usize> = (0..st.vehicles.len()).collect();
    let ids = req.list("vehicleIds");
    if !ids.is_empty() {
        let mut picked = ids
            .iter()
            .map(|id| {
                st.find_vehicle(id).ok_or_else(|| {
                    Response::bad_param("vehicleIds", &format!("vehicle `{id}` does not exist"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        picked.sort_unstable();
        picked.dedup();
        vehicles = picked;
    }
    if let Some(set) = st.tag_filter("vehicles", &req.list("tagIds"), &req.list("parentTagIds"))? {
        vehicles.retain(|&i| {
            st.vehicles[i]
                .get("id")
                .and_then(|x| x.as_str())
                .is_some_and(|id| set.contains(id))
        });
    }
    let headers = Arc::clone(&st.stat_headers);
    let overrides = Arc::clone(&st.odometer_overrides);
    Ok(Query {
        types,
        decorations,
        vehicles,
        headers,
        overrides,
    })
}

/// `GET /fleet/vehicles/stats`: the last value per vehicle and type at `time` (default now).
pub(crate) fn snapshot(sb: &Sandbox, req: &Request, locations: bool, fault: Option<PageFault>) -> Response {
    let q = match parse_query(sb, req, false, locations) {
        Ok(q) => q,
        Err(e) => return e,
    };
    let now = sb.clock.now_s();
    let at = match req.time_param("time") {
        Ok(t) => t.map_or(now, |ms| ms.div_euclid(1000).min(now)),
        Err(e) => return e,
    };
    let start = match crate::entities::parse_offset(req.param("after")) {
        Ok(s) if fault == Some(PageFault::Repeat) => s.saturating_sub(2),
        Ok(s) => s,
        Err(e) => return e,
    };
    if fault == Some(PageFault::Empty) {
        let mut out = b"{\"data\":[".to_vec();
        envelope(&mut out, &crate::entities::offset_cursor(start), true);
        return Response::json_bytes(200, out);
    }
    let start = start.min(q.vehicles.len());
    let end = (start + PAGE_VEHICLES).min(q.vehicles.len());
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(b"{\"data\":[");
    latest_values(
        &mut out,
        &sb.model,
        &q,
        &q.vehicles[start..end],
        at,
        Style::Snapshot,
    );
    let has_next = end < q.vehicles.len();
    envelope(
        &mut out,
        &if has_next {
            crate::entities::offset_cursor(end)
        } else {
            String::new()
        },
        has_next,
    );
    Response::json_bytes(200, out)
}

/// `GET /fleet/vehicles/stats/feed` (`history = false`) and `/stats/history`.
pub(crate) fn series(
    sb: &Sandbox,
    req: &Request,
    history: bool,
    locations: bool,
    fault: Option<PageFault>,
) -> Response {
    let q = match parse_query(sb, req, true, locations) {
        Ok(q) => q,
        Err(e) => return e,
    };
    let now = sb.clock.now_s();
    let mut upper = now;
    let mut cursor = match req.param("after") {
        Some(a) => match Cursor::decode(a) {
            Some(c) => Some(c),
            None => return Response::bad_param("after", "not a cursor returned by this endpoint"),
        },
        None => None,
    };
    if history {
        let (s, e) = match (req.time_param("startTime"), req.time_param("endTime")) {
            (Ok(Some(s)), Ok(Some(e))) => (s.div_euclid(1000), e.div_euclid(1000)),
            (Ok(None), _) => return Response::bad_param("startTime", "is required (RFC 3339)"),
            (_, Ok(None)) => return Response::bad_param("endTime", "is required (RFC 3339)"),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        if e < s {
            return Response::bad_param("endTime", "must not be before startTime");
        }
        upper = e.min(now);
        cursor.get_or_insert(Cursor {
            t: s - 1,
            v: END,
            k: END,
            p: s - 1,
        });
    }
    let model: &Model = &sb.model;
    let Some(cursor) = cursor else {
        return latest(sb, &q, now, 0);
    };
    if cursor.k == LATEST {
        if history {
            return Response::bad_param("after", "not a cursor returned by this endpoint");
        }
        return match fault {
            Some(PageFault::Empty) => {
                let mut out = b"{\"data\":[".to_vec();
                envelope(&mut out, &cursor.encode(), true);
                Response::json_bytes(200, out)
            }
            Some(PageFault::Repeat) => latest(sb, &q, cursor.t, cursor.v.saturating_sub(2) as usize),
            None => latest(sb, &q, cursor.t, cursor.v as usize),
        };
    }
    if fault == Some(PageFault::Empty) {
        let mut out = b"{\"data\":[".to_vec();
        envelope(&mut out, &cursor.encode(), true);
        return Response::json_bytes(200, out);
    }
    let cursor = if fault == Some(PageFault::Repeat) {
        Cursor {
            t: cursor.t - 5,
            v: END,
            k: END,
            p: cursor.t - 5,
        }
    } else {
        cursor
    };
    let days = model.days(cursor.t.max(model.origin) - 3 * 3600, upper.max(cursor.t));
    // The walk's ordering key of a point: its ingest time (point time for history).
    let key = |v: usize, t: i64| {
        if t == i64::MAX || history {
            t
        } else {
            model.ingest(&days, v, t)
        }
    };
    let nk = q.types.len();
    // next[vi * nk + k]: the next unserved sample time of that vehicle and type. Sequential walks reuse
    // the state the previous page ended with (a pure function of cursor, types and vehicles).
    let cache = cache_key(&cursor, &q);
    // History skips points not uploaded yet, so with gaps its state depends on now: no reuse then.
    let cacheable = fault.is_none() && !(history && model.gaps);
    let cached = if cacheable {
        sb.feed_cache_get(&cache, upper)
    } else {
        None
    };
    let mut next = cached.map_or_else(
        || {
            let mut next = vec![i64::MAX; q.vehicles.len() * nk];
            for (vi, &v) in q.vehicles.iter().enumerate() {
                let params = &model.params[v];
                for (k, st) in q.types.iter().enumerate() {
                    if !st.reported_by(params) {
                        continue;
                    }
                    let pos = (u32::try_from(v).unwrap_or(END), u32::try_from(k).unwrap_or(END));
                    // The first sample after the cursor in (ingest, vehicle, type, point) order.
                    let bound = match pos.cmp(&(cursor.v, cursor.k)) {
                        std::cmp::Ordering::Greater if history => cursor.t - 1,
                        std::cmp::Ordering::Greater => model.ingest_floor(&days, v, cursor.t) - 1,
                        std::cmp::Ordering::Equal => cursor.p,
                        std::cmp::Ordering::Less if history => cursor.t,
                        std::cmp::Ordering::Less => model.ingest_floor(&days, v, cursor.t + 1) - 1,
                    };
                    next[vi * nk + k] = model.next_sample(&days, v, model.sampling_of(*st), bound);
                }
            }
            next
        },
        |c| c.as_ref().clone(),
    );
    let mut heap = BinaryHeap::with_capacity(q.vehicles.len());
    // A vehicle's place in the walk: its earliest unserved sample.
    let earliest = |next: &[i64], vi: usize| {
        next[vi * nk..vi * nk + nk]
            .iter()
            .copied()
            .min()
            .unwrap_or(i64::MAX)
    };
    for (vi, &v) in q.vehicles.iter().enumerate() {
        let m = key(v, earliest(&next, vi));
        if m <= upper {
            heap.push(Reverse((m, vi)));
        }
    }
    // Points served: (vehicle position, type index, time), in walk order (at most a page: no
    // per-vehicle allocation, which at 50,000 vehicles would cost more than the page).
    let mut served: Vec<(usize, usize, i64)> = Vec::with_capacity(PAGE_POINTS);
    let mut count = 0;
    let mut last = cursor;
    let mut has_next = false;
    'outer: while let Some(&Reverse((i, vi))) = heap.peek() {
        if i > upper {
            break;
        }
        heap.pop();
        let v = q.vehicles[vi];
        for k in 0..nk {
            // Every point of this vehicle and type with this key (a burst after a connectivity gap).
            loop {
                let t = next[vi * nk + k];
                if t == i64::MAX || key(v, t) != i {
                    break;
                }
                if history && model.ingest(&days, v, t) > now {
                    // Not uploaded yet: history misses it (the feed delivers it later).
                    next[vi * nk + k] = model.next_sample(&days, v, model.sampling_of(q.types[k]), t);
                    continue;
                }
                if count == PAGE_POINTS {
                    has_next = true;
                    break 'outer;
                }
                served.push((vi, k, t));
                count += 1;
                last = Cursor {
                    t: i,
                    v: u32::try_from(v).unwrap_or(END),
                    k: u32::try_from(k).unwrap_or(END),
                    p: t,
                };
                next[vi * nk + k] = model.next_sample(&days, v, model.sampling_of(q.types[k]), t);
            }
        }
        let m = key(v, earliest(&next, vi));
        if m <= upper {
            heap.push(Reverse((m, vi)));
        }
    }
    if count == PAGE_POINTS && heap.peek().is_some_and(|Reverse((t, _))| *t <= upper) {
        has_next = true;
    }
    // Grouped by vehicle, then type; a stable sort keeps each array in time order.
    served.sort_by_key(|&(vi, k, _)| (vi, k));
    let r = Render {
        model,
        days: &days,
        overrides: &q.overrides,
    };
    let mut out = Vec::with_capacity(count * 220 + 256);
    out.extend_from_slice(b"{\"data\":[");
    let mut i = 0;
    while i < served.len() {
        let vi = served[i].0;
        let v = q.vehicles[vi];
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        out.extend_from_slice(q.headers[v].as_bytes());
        while i < served.len() && served[i].0 == vi {
            let k = served[i].1;
            let st = q.types[k];
            out.push(b',');
            string(&mut out, st.feed_key());
            out.extend_from_slice(b":[");
            let mut first = true;
            while i < served.len() && served[i].0 == vi && served[i].1 == k {
                if !first {
                    out.push(b',');
                }
                first = false;
                r.point(&mut out, st, v, served[i].2, &q.decorations);
                i += 1;
            }
            out.push(b']');
        }
        out.push(b'}');
    }
    if cacheable && count > 0 {
        // The state after this page; valid while later requests stay within the schedules computed here.
        sb.feed_cache_put(cache_key(&last, &q), upper.max(cursor.t) + 86_400, next);
    }
    // A finite history ends with an empty cursor; a caught-up feed keeps a cursor to poll with later.
    let end = if history && !has_next {
        String::new()
    } else {
        last.encode()
    };
    envelope(&mut out, &end, has_next);
    Response::json_bytes(200, out)
}

/// The cache key of a walk position: cursor, types and the selected vehicles.
fn cache_key(cursor: &Cursor, q: &Query) -> String {
    let vehicles = q
        .vehicles
        .iter()
        .fold(0u64, |h, &v| crate::rng::mix(h ^ v as u64));
    let types: Vec<&str> = q.types.iter().map(|t| t.0).collect();
    format!("{}|{}|{vehicles:x}", cursor.encode(), types.join(","))
}

/// How [`latest_values`] writes a vehicle's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `/fleet/vehicles/stats`: singular keys (`engineState`), bare objects, no decorations.
    Snapshot,
    /// The feed's first page: the feed's plural keys, one-point arrays, with the decorations.
    Feed,
}

/// Writes one object per vehicle of `vehicles` (comma-separated, for a `data` array) with the last
/// value visible at `at` of each requested type the vehicle reports.
fn latest_values(out: &mut Vec<u8>, model: &Model, q: &Query, vehicles: &[usize], at: i64, style: Style) {
    let days = model.days(at - 86_400 * 8, at);
    let r = Render {
        model,
        days: &days,
        overrides: &q.overrides,
    };
    let (open, close, decorations): (&[u8], &[u8], &[Stat]) = match style {
        Style::Snapshot => (b":", b"", &[]),
        Style::Feed => (b":[", b"]", &q.decorations),
    };
    for (n, &v) in vehicles.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.push(b'{');
        out.extend_from_slice(q.headers[v].as_bytes());
        for st in &q.types {
            if !st.reported_by(&model.params[v]) {
                continue;
            }
            if let Some(t) = model.prev_visible(&days, v, model.sampling_of(*st), at) {
                out.push(b',');
                string(
                    out,
                    match style {
                        Style::Snapshot => st.snapshot_key(),
                        Style::Feed => st.feed_key(),
                    },
                );
                out.extend_from_slice(open);
                r.point(out, *st, v, t, decorations);
                out.extend_from_slice(close);
            }
        }
        out.push(b'}');
    }
}

/// The feed's first walk: the latest point per vehicle and type at `at` (the time of the first call),
/// [`PAGE_VEHICLES`] vehicles a page from offset `from` of the selection, `hasNextPage: true` while
/// vehicles remain; the last page's cursor is an ordinary feed position at `at`.
fn latest(sb: &Sandbox, q: &Query, at: i64, from: usize) -> Response {
    let from = from.min(q.vehicles.len());
    let to = (from + PAGE_VEHICLES).min(q.vehicles.len());
    let mut out = Vec::with_capacity((to - from) * 300 + 256);
    out.extend_from_slice(b"{\"data\":[");
    latest_values(&mut out, &sb.model, q, &q.vehicles[from..to], at, Style::Feed);
    let more = to < q.vehicles.len();
    let next = Cursor {
        t: at,
        v: if more {
            u32::try_from(to).unwrap_or(END)
        } else {
            END
        },
        k: if more { LATEST } else { END },
        p: at,
    };
    envelope(&mut out, &next.encode(), more);
    Response::json_bytes(200, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = Cursor {
            t: 1_793_491_200,
            v: 3,
            k: END,
            p: 1_793_491_195,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("garbage"), None);
        assert_eq!(Cursor::decode(&c.encode().replace(".3.", ".4.")), None);
    }
}

#[cfg(test)]
mod latest_tests {
    use serde_json::Value;

    use super::*;
    use crate::config::Config;

    fn get(sb: &Sandbox, target: &str) -> Value {
        let req = Request::new("GET", target, Vec::new(), Vec::new());
        let resp = if target.contains("/feed") {
            series(sb, &req, false, false, None)
        } else {
            snapshot(sb, &req, false, None)
        };
        assert_eq!(resp.status, 200, "{target}");
        serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
    }

    /// The snapshot and the feed's first page render the same latest values: singular keys and bare
    /// objects without decorations in one, plural one-point arrays with decorations in the other.
    #[test]
    fn snapshot_and_feed_first_page_agree() {
        let sb = Sandbox::new(Config {
            vehicles: 12,
            start_ms: 1_793_545_200_000,
            ..Config::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let snap = get(
            &sb,
            "/fleet/vehicles/stats?types=engineStates,gps,evStateOfChargeMilliPercent",
        );
        let feed = get(
            &sb,
            "/fleet/vehicles/stats/feed?types=engineStates,gps,evStateOfChargeMilliPercent&decorations=obdOdometerMeters",
        );
        let (snap, feed) = (snap["data"].as_array(), feed["data"].as_array());
        let (Some(snap), Some(feed)) = (snap, feed) else {
            panic!("no data");
        };
        assert_eq!(snap.len(), 12);
        assert_eq!(snap.len(), feed.len());
        let mut ev = 0;
        for (s, f) in snap.iter().zip(feed) {
            assert_eq!(s["id"], f["id"]);
            for (singular, plural) in [
                ("engineState", "engineStates"),
                ("gps", "gps"),
                ("evStateOfChargeMilliPercent", "evStateOfChargeMilliPercent"),
            ] {
                let Some(points) = f[plural].as_array() else {
                    assert!(s.get(singular).is_none(), "{singular} only in the snapshot");
                    continue;
                };
                assert_eq!(points.len(), 1, "one point per type");
                let mut point = points[0].clone();
                let decorations = point.as_object_mut().and_then(|p| p.remove("decorations"));
                assert!(decorations.is_some_and(|d| d["obdOdometerMeters"]["value"].is_number()));
                assert!(s[singular].get("decorations").is_none());
                assert_eq!(s[singular], point, "{singular}");
                ev += usize::from(singular.starts_with("ev"));
            }
        }
        assert!(ev > 0 && ev < 12, "a mixed fleet: {ev} EVs");
    }
}
