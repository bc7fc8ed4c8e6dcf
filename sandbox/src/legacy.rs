//! Legacy v1 endpoints: `GET /v1/fleet/trips` (per vehicle, epoch milliseconds, no pagination) and
//! `GET|POST /v1/fleet/messages` (dispatch messages generated per driver-day, plus those sent).

use serde_json::{json, Value};

use crate::http::{Request, Response};
use crate::router::Sandbox;
use crate::streams::address;

/// Longest `/v1/fleet/trips` window.
const MAX_WINDOW_MS: i64 = 90 * 86_400_000;

fn ms_param(req: &Request, name: &str) -> Result<Option<i64>, Response> {
    req.param(name).map_or(Ok(None), |v| {
        v.parse::<i64>()
            .map(Some)
            .map_err(|_| Response::bad_param(name, "must be an integer (Unix milliseconds)"))
    })
}

/// `GET /v1/fleet/trips`.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
pub(crate) fn trips(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let vid = req
            .param("vehicleId")
            .ok_or_else(|| Response::bad_param("vehicleId", "is required"))?;
        let s = ms_param(req, "startMs")?.ok_or_else(|| Response::bad_param("startMs", "is required"))?;
        let e = ms_param(req, "endMs")?.ok_or_else(|| Response::bad_param("endMs", "is required"))?;
        if e < s || e - s > MAX_WINDOW_MS {
            return Err(Response::bad_param(
                "endMs",
                "must be after startMs and within 90 days of it",
            ));
        }
        let v = sb
            .store()
            .find_vehicle(vid)
            .ok_or_else(|| Response::not_found(&format!("vehicle {vid}")))?;
        let now = sb.clock.now_s();
        let (lo, hi) = (s.div_euclid(1000), e.div_euclid(1000).min(now));
        let days = sb.model.days(lo - 86_400, hi);
        let m = &sb.model;
        let branch = sb.fleet.vehicles[v].branch;
        let mut trips = Vec::new();
        for d in m.day_of(v, lo)..=m.day_of(v, hi) {
            for t in &days.get(v, d).trips {
                if t.start < lo || t.start > hi {
                    continue;
                }
                let done = t.end <= now;
                let end_t = if done { t.end } else { now };
                let (o0, o1) = (m.odometer(&days, v, t.start), m.odometer(&days, v, end_t));
                // The same drive as `/trips/stream` tells it: its distance as `finalDistanceMeters`
                // (cruise speed × time rolling), its odometers as the `obdOdometerMeters` stat reads at
                // the trip's start and end (rollbacks and jumps included when episodes are on).
                let dist = (t.speed * (end_t.min(t.drive1) - t.drive0).max(0) as f64).round() as i64;
                let (la0, lo0, _) = m.position(v, o0);
                let (la1, lo1, _) = m.position(v, o1);
                let city = address(branch);
                let place = format!(
                    "{}, {}",
                    city["city"].as_str().unwrap_or(""),
                    city["state"].as_str().unwrap_or("")
                );
                let driver = m
                    .driver_for(v, d, sb.fleet.drivers.len())
                    .and_then(|i| sb.fleet.drivers[i].id.parse::<i64>().ok());
                trips.push(json!({"startMs": t.start * 1000, "endMs": if done { t.end * 1000 } else { i64::MAX },
                    "distanceMeters": dist, "startOdometer": obd_odometer(sb, &days, v, t.start), "endOdometer": obd_odometer(sb, &days, v, end_t),
                    "fuelConsumedMl": ((o1 - o0) * 0.3).round() as i64, "driverId": driver, "codriverIds": [], "assetIds": [], "tollMeters": 0,
                    "startCoordinates": {"latitude": la0, "longitude": lo0}, "endCoordinates": {"latitude": la1, "longitude": lo1},
                    "startLocation": place, "endLocation": place,
                    "startAddress": {"address": place, "name": place}, "endAddress": {"address": place, "name": place}}));
            }
        }
        Ok(Response::json(200, &json!({"trips": trips})))
    };
    run().unwrap_or_else(|e| e)
}

/// The OBD odometer of vehicle `v` at `t` as the `obdOdometerMeters` stat reads it, m.
#[allow(clippy::cast_possible_truncation)]
fn obd_odometer(sb: &Sandbox, days: &crate::model::Days, v: usize, t: i64) -> i64 {
    let m = &sb.model;
    let offset = if m.episodes {
        crate::episodes::odometer_offset(m, v, t)
    } else {
        0.0
    };
    (m.odometer(days, v, t) + offset) as i64
}

/// `GET /__sandbox/truth/trips?startTime=…&endTime=…`: every drive of every vehicle starting in
/// `[startTime, endTime)` straight from the model (`/trips/stream` and `/v1/fleet/trips` both tell
/// these): vehicle, start, end (null while in progress), distance, the OBD odometer at start and end,
/// and the driver.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
pub(crate) fn truth(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let lo = req
            .time_param("startTime")?
            .ok_or_else(|| Response::bad_param("startTime", "is required (RFC 3339)"))?
            .div_euclid(1000);
        let hi = req
            .time_param("endTime")?
            .ok_or_else(|| Response::bad_param("endTime", "is required (RFC 3339)"))?
            .div_euclid(1000);
        let now = sb.clock.now_s();
        let hi = hi.min(now + 1);
        let days = sb.model.days(lo - 86_400, hi);
        let m = &sb.model;
        let ids: Vec<String> = sb
            .store()
            .vehicles
            .iter()
            .map(|v| v["id"].as_str().unwrap_or("").to_string())
            .collect();
        let mut out = Vec::new();
        for (v, id) in ids.iter().enumerate() {
            for d in m.day_of(v, lo)..=m.day_of(v, hi) {
                for t in &days.get(v, d).trips {
                    if t.start < lo || t.start >= hi {
                        continue;
                    }
                    let done = t.end <= now;
                    let end_t = if done { t.end } else { now };
                    let dist = (t.speed * (end_t.min(t.drive1) - t.drive0).max(0) as f64).round() as i64;
                    let driver = m
                        .driver_for(v, d, sb.fleet.drivers.len())
                        .map(|i| sb.fleet.drivers[i].id.clone());
                    out.push(json!({"vehicleId": id, "startTime": crate::streams::ts(t.start),
                        "endTime": if done { json!(crate::streams::ts(t.end)) } else { Value::Null },
                        "distanceMeters": dist, "startOdometerMeters": obd_odometer(sb, &days, v, t.start),
                        "endOdometerMeters": if done { json!(obd_odometer(sb, &days, v, t.end)) } else { Value::Null },
                        "driverId": driver}));
                }
            }
        }
        Ok(Response::json(200, &json!({"data": out})))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /v1/fleet/messages` and `POST /v1/fleet/messages`.
pub(crate) fn messages(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let now = sb.clock.now_ms();
        if req.method == "POST" {
            let body = req.json()?;
            let ids = body
                .get("driverIds")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| Response::bad_param("driverIds", "is required (a non-empty list)"))?;
            let text = body
                .get("text")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Response::bad_param("text", "is required"))?;
            if text.chars().count() > 2500 {
                return Err(Response::bad_param("text", "at most 2500 characters"));
            }
            let mut st = sb.store();
            let mut out = Vec::new();
            for id in ids {
                let sid = id
                    .as_i64()
                    .map(|n| n.to_string())
                    .or_else(|| id.as_str().map(str::to_string))
                    .unwrap_or_default();
                let Some(i) = st.find_driver(&sid) else {
                    return Err(Response::bad_param(
                        "driverIds",
                        &format!("driver `{sid}` does not exist"),
                    ));
                };
                let did: i64 = st.drivers[i]["id"]
                    .as_str()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0);
                st.messages.push(json!({"driverId": did, "isRead": false, "sender": {"name": "API", "type": "dispatch"}, "sentAtMs": now, "text": text}));
                out.push(json!({"driverId": did, "text": text}));
            }
            return Ok(Response::data(Value::Array(out)));
        }
        let end = ms_param(req, "endMs")?.unwrap_or(now).min(now);
        let dur = ms_param(req, "durationMs")?.unwrap_or(86_400_000);
        if !(0..=MAX_WINDOW_MS).contains(&dur) {
            return Err(Response::bad_param("durationMs", "must be between 0 and 90 days"));
        }
        let start = end - dur;
        let (lo, hi) = (start.div_euclid(1000), end.div_euclid(1000));
        let days = sb.model.days(lo - 86_400, hi);
        let mut msgs: Vec<Value> = Vec::new();
        for v in 0..sb.fleet.vehicles.len() {
            for d in sb.model.day_of(v, lo)..=sb.model.day_of(v, hi) {
                let trips = &days.get(v, d).trips;
                let (Some(first), Some(last)) = (trips.first(), trips.last()) else {
                    continue;
                };
                let Some(di) = sb.model.driver_for(v, d, sb.fleet.drivers.len()) else {
                    continue;
                };
                let did: i64 = sb.fleet.drivers[di].id.parse().unwrap_or(0);
                for (at, from_driver, text) in day_messages(sb, v, d, first, last) {
                    let at = at * 1000;
                    if at < start || at > end {
                        continue;
                    }
                    let (sender, read_after) = if from_driver {
                        (
                            json!({"name": sb.fleet.drivers[di].name, "type": "driver"}),
                            600_000,
                        )
                    } else {
                        (json!({"name": "Dispatch", "type": "dispatch"}), 3_600_000)
                    };
                    msgs.push(json!({"driverId": did, "isRead": now >= at + read_after, "sender": sender, "sentAtMs": at, "text": text}));
                }
            }
        }
        {
            let st = sb.store();
            for (i, m) in st.messages.iter().enumerate() {
                let Some(t) = m["sentAtMs"].as_i64() else { continue };
                if t >= start && t <= end {
                    let mut m = m.clone();
                    m["isRead"] = json!(now >= t + 600_000);
                    msgs.push(m);
                }
                if let Some(r) = reply(sb, &st, i).filter(|r| {
                    r["sentAtMs"]
                        .as_i64()
                        .is_some_and(|at| at >= start && at <= end && at <= now)
                }) {
                    msgs.push(r);
                }
            }
        }
        msgs.sort_by_key(|m| m["sentAtMs"].as_i64().unwrap_or(0));
        Ok(Response::json(200, &json!({"data": msgs})))
    };
    run().unwrap_or_else(|e| e)
}

/// The driver's reply to the `i`-th message sent through the API, if there is one: most drivers
/// answer within 2 to 20 minutes (the reply exists once its time has come: callers filter by now).
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
fn reply(sb: &Sandbox, st: &crate::store::Store, i: usize) -> Option<Value> {
    let m = &st.messages[i];
    let sent = m["sentAtMs"].as_i64()?;
    let did = m["driverId"].as_i64()?;
    let h = crate::rng::hash(
        sb.cfg.seed,
        &[i as u64, sent.unsigned_abs(), did.unsigned_abs(), 71],
    );
    if crate::rng::unit(h) >= 0.75 {
        return None;
    }
    let name = st
        .find_driver(&did.to_string())
        .and_then(|d| st.drivers[d]["name"].as_str().map(str::to_string))
        .unwrap_or_default();
    let texts = [
        "Copy that",
        "Will do",
        "On it",
        "Understood, thanks",
        "Can you call me?",
    ];
    let text = texts[(h >> 8) as usize % texts.len()];
    let at = sent + 120_000 + ((h >> 16) % 1_080_000) as i64;
    Some(
        json!({"driverId": did, "isRead": false, "sender": {"name": name, "type": "driver"}, "sentAtMs": at, "text": text}),
    )
}

/// The conversation of vehicle `v`'s driver on day `d` whose trips run from `first` to `last`: (time
/// s, from the driver, text). Dispatch greets every morning; most drivers acknowledge; some days bring
/// a new stop, a delay notice, an arrival, a question about the load or an end-of-day note.
#[allow(clippy::cast_possible_truncation)]
fn day_messages(
    sb: &Sandbox,
    v: usize,
    d: i64,
    first: &crate::model::Trip,
    last: &crate::model::Trip,
) -> Vec<(i64, bool, String)> {
    let h = crate::rng::hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), 61]);
    let u = |k: u64| crate::rng::unit(crate::rng::hash(h, &[k]));
    let pick = |k: u64, xs: &[&'static str]| xs[(h >> (k * 3)) as usize % xs.len()];
    let name = &sb.fleet.vehicles[v].name;
    let mut out = vec![(
        first.start - 900,
        false,
        format!("Good morning! {name} is ready for you at the depot."),
    )];
    let mid = first.drive0 + (first.drive1 - first.drive0) / 2;
    if u(1) < 0.7 {
        let ack = pick(1, &["Copy that", "On my way", "Thanks, heading out now", "👍"]);
        out.push((
            first.start - 900 + 120 + (u(2) * 600.0) as i64,
            true,
            ack.to_string(),
        ));
    }
    if u(3) < 0.3 {
        out.push((
            mid,
            false,
            format!(
                "New stop added after your current one: {}",
                pick(
                    2,
                    &[
                        "Dock 4, 1200 Commerce St",
                        "Gate B, 77 Industrial Pkwy",
                        "Back door, 9 Elm Ave"
                    ]
                )
            ),
        ));
        out.push((
            mid + 300,
            true,
            pick(3, &["Got it", "Ok, will do", "Can it wait until tomorrow?"]).to_string(),
        ));
    }
    if u(4) < 0.15 {
        out.push((
            first.drive0 + 1200,
            true,
            pick(
                4,
                &[
                    "Running 20 min late, traffic on the interstate",
                    "Stuck behind an accident, ETA +30 min",
                    "Waiting at the shipper, not loaded yet",
                ],
            )
            .to_string(),
        ));
    }
    if u(5) < 0.2 {
        out.push((
            first.drive1 + 60,
            true,
            pick(
                5,
                &[
                    "Arrived at the customer",
                    "Delivered, paperwork signed",
                    "At the receiver, they are unloading",
                ],
            )
            .to_string(),
        ));
    }
    if u(6) < 0.08 {
        out.push((
            mid + 900,
            true,
            pick(
                6,
                &[
                    "Do I need to pick up empty pallets too?",
                    "What's the door code at the next stop?",
                    "Load is 2 pallets short, please advise",
                ],
            )
            .to_string(),
        ));
    }
    if u(7) < 0.25 {
        out.push((
            last.end + 300,
            true,
            pick(
                7,
                &[
                    "Done for the day, truck is at the yard",
                    "Back at the depot, keys in the box",
                    "Shift over, fuel at 40%",
                ],
            )
            .to_string(),
        ));
    }
    out
}

/// `GET /fleet/safety-events` (legacy): events detected in `[startTime, endTime]`, lowerCamel labels.
pub(crate) fn safety_events(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let run = || -> Result<Response, Response> {
        let w = crate::streams::Window::parse(req, sb.clock.now_ms(), true)?;
        let assets = crate::events::assets(sb, req, "vehicleIds", 100_000, true)?;
        let (lo, hi) = w.secs();
        let q = crate::events::SafetyQuery {
            assets,
            lo,
            hi,
            now: w.now.div_euclid(1000),
            by_created: true,
            expand_a: true,
            expand_d: true,
            labels: Vec::new(),
            states: Vec::new(),
            drivers: Vec::new(),
        };
        let mut items = crate::events::safety_items(sb, &q);
        items.retain(|i| i.at >= w.start && i.at <= w.bound());
        items.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        let data = items.into_iter().map(|i| legacy_safety(&i.json)).collect();
        Ok(crate::entities::paged(data, req, repeat))
    };
    run().unwrap_or_else(|e| e)
}

fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_ascii_lowercase().to_string() + c.as_str())
}

fn legacy_safety(v2: &Value) -> Value {
    let labels: Vec<Value> = v2["behaviorLabels"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let name = l["label"].as_str().unwrap_or("");
            json!({"label": lower_camel(name), "name": name, "source": l["source"]})
        })
        .collect();
    let inward = v2["media"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["input"] == "dashcamDriverFacing")
        .map(|m| m["url"].clone());
    let mut j = json!({"id": v2["id"], "time": v2["startMs"], "behaviorLabels": labels, "coachingState": v2["eventState"],
        "driver": {"id": v2["driver"]["id"], "name": v2["driver"]["name"]},
        "vehicle": {"id": v2["asset"]["id"], "name": v2["asset"]["name"], "ExternalIds": v2["asset"]["externalIds"]},
        "location": {"latitude": v2["location"]["latitude"], "longitude": v2["location"]["longitude"]},
        "maxAccelerationGForce": v2["maxAccelerationGForce"], "downloadForwardVideoUrl": v2["downloadForwardVideoUrl"]});
    if let Some(url) = inward {
        j["downloadInwardVideoUrl"] = url;
    }
    j
}

/// `GET /safety-events?safetyEventIds=…` (v2 records by ID).
pub(crate) fn safety_by_ids(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let run = || -> Result<Response, Response> {
        let ids = req.list("safetyEventIds");
        if ids.is_empty() {
            return Err(Response::bad_param("safetyEventIds", "is required"));
        }
        let assets = crate::events::assets(sb, req, "assetIds", 100_000, false)?;
        let (expand_a, expand_d) = (
            crate::streams::flag(req, "includeAsset")?,
            crate::streams::flag(req, "includeDriver")?,
        );
        let now = sb.clock.now_s();
        let q = crate::events::SafetyQuery {
            assets,
            lo: sb.model.origin,
            hi: now,
            now,
            by_created: true,
            expand_a,
            expand_d,
            labels: Vec::new(),
            states: Vec::new(),
            drivers: Vec::new(),
        };
        let data = crate::events::safety_items(sb, &q)
            .into_iter()
            .filter(|i| ids.contains(&i.key))
            .map(|i| i.json)
            .collect();
        Ok(crate::entities::paged(data, req, repeat))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /fleet/reports/vehicle/idling` (legacy): idling events that start in `[startTime, endTime]`.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn idling_report(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let run = || -> Result<Response, Response> {
        let w = crate::streams::Window::parse(req, sb.clock.now_ms(), true)?;
        let assets = crate::events::assets(sb, req, "vehicleIds", 100_000, true)?;
        let min = req.int_param("minIdlingDurationMinutes", 0, 1440)?.unwrap_or(0) * 60_000;
        let pto = crate::streams::flag(req, "isPtoActive")?;
        let (lo, hi) = w.secs();
        let now = sb.clock.now_s();
        let days = sb.model.days(lo - 86_400, hi);
        let mut rows = Vec::new();
        for a in &assets {
            for d in sb.model.day_of(a.v, lo)..=sb.model.day_of(a.v, hi) {
                for t in &days.get(a.v, d).trips {
                    for (s, e) in [(t.start, t.drive0), (t.drive1, t.end)] {
                        let dur = (e - s) * 1000;
                        if s < lo || s > hi || e > now || dur < 120_000 || dur < min || pto {
                            continue;
                        }
                        let (lat, lon, _) = sb.model.position(a.v, sb.model.odometer(&days, a.v, s));
                        let litres = dur as f64 / 3_600_000.0
                            * if sb.fleet.vehicles[a.v].kind == crate::fleet::Kind::Heavy {
                                3.2
                            } else {
                                1.1
                            };
                        let city = address(a.branch);
                        rows.push((s, a.v, json!({"vehicle": {"id": a.id, "name": a.name, "externalIds": a.ext}, "startTime": crate::streams::ts(s), "endTime": crate::streams::ts(e),
                            "durationMs": dur, "fuelConsumptionMl": (litres * 1000.0).round(), "isPtoActive": false,
                            "address": {"formatted": format!("{}, {}", city["city"].as_str().unwrap_or(""), city["state"].as_str().unwrap_or("")), "latitude": (lat * 1e6).round() / 1e6, "longitude": (lon * 1e6).round() / 1e6}})));
                    }
                }
            }
        }
        rows.sort_by_key(|r| (r.0, r.1));
        let page = crate::entities::paged(rows.into_iter().map(|r| r.2).collect(), req, repeat);
        if page.status != 200 {
            return Ok(page);
        }
        let mut v: Value = serde_json::from_slice(&page.body).unwrap_or(Value::Null);
        v["requestStartTime"] = json!(crate::simtime::rfc3339_ms(w.start));
        v["requestEndTime"] = json!(crate::simtime::rfc3339_ms(w.end.unwrap_or(w.start)));
        Ok(Response::json(200, &v))
    };
    run().unwrap_or_else(|e| e)
}
