//! DVIR defects (`/defects/stream`, `/defects/{id}`, `/defect-types`, `PATCH /fleet/defects/{id}`)
//! and driver–vehicle assignments (`/fleet/driver-vehicle-assignments`, all four verbs).
//!
//! Defects come from the inspections of each vehicle-day in the trip model (pre-trip, post-trip and
//! now and then a mechanic's), at a rate per defect type; mechanics resolve most major ones within a
//! day and some minor ones over days, the rest stay open. `PATCH` resolutions are kept in the store
//! and move the defect in the stream.

use serde_json::{json, Map, Value};

use crate::entities::{paged, want_str};
use crate::http::{Request, Response};
use crate::rng::hash;
use crate::router::{PageFault, Sandbox};
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};
use crate::streams::{flag, page, ts, Item, Window};

/// Defect types: ID, label, section, severity.
const TYPES: [(&str, &str, &str, &str); 8] = [
    ("101", "Brakes", "exteriorSideUnderneath", "major"),
    ("102", "Tires", "exteriorSideUnderneath", "major"),
    ("103", "Lights - Head/Stop/Turn", "exteriorFront", "major"),
    ("104", "Windshield Wipers", "exteriorFront", "minor"),
    ("105", "Mirrors", "exteriorSideUnderneath", "minor"),
    ("106", "Horn", "interiorDriverCab", "minor"),
    ("107", "Coupling Devices", "exteriorRear", "major"),
    ("108", "Fluid Leaks", "exteriorSideUnderneath", "major"),
];

/// Per inspection, the chance of a defect of each type (index as [`TYPES`]): lights and tires are
/// what drivers find most, horns and coupling devices least; a mechanic's inspection finds about four
/// times as much. Coupling devices only on heavy trucks.
const DEFECT_RATE: [f64; 8] = [0.008, 0.025, 0.035, 0.012, 0.008, 0.003, 0.006, 0.010];
/// Defect types a trailer can have (brakes, tires, lights, coupling devices).
const TRAILER_TYPES: [usize; 4] = [0, 1, 2, 6];
/// What a mechanic's inspection finds, relative to a driver's.
const MECHANIC_FACTOR: f64 = 4.0;
/// What the driver wrote, by defect type.
const COMMENTS: [[&str; 2]; 8] = [
    ["Brakes pulling to the left", "Air brake slow to release"],
    [
        "Front left tire worn to the cords",
        "Low tread on the drive tires",
    ],
    ["Left turn signal out", "Right brake light out"],
    ["Wipers streaking", "Washer fluid pump not working"],
    ["Right mirror cracked", "Mirror bracket loose"],
    ["Horn not working", "Horn intermittent"],
    ["Fifth wheel jaw worn", "Kingpin lock loose"],
    ["Oil drip under the engine", "Coolant leak at the radiator hose"],
];
/// Mechanics who resolve defects in the dashboard: ID, name.
const MECHANICS: [(&str, &str); 3] = [
    ("7001", "Dana Ruiz"),
    ("7002", "Lee Okafor"),
    ("7003", "Sam Whitfield"),
];

/// An inspection: pre-trip, post-trip or a mechanic's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inspection {
    /// Before the day's first trip.
    PreTrip = 0,
    /// After the day's last trip.
    PostTrip = 1,
    /// A mechanic's periodic inspection at the yard, after the last trip.
    Mechanic = 2,
}

impl Inspection {
    /// The DVIR `type`.
    fn wire(self) -> &'static str {
        match self {
            Self::PreTrip => "preTrip",
            Self::PostTrip => "postTrip",
            Self::Mechanic => "mechanic",
        }
    }
}

/// The inspections of vehicle `v` on local day `d` whose trips run from `first` to `last` (s):
/// kind and start time. Every day with trips has a pre-trip inspection, 85 % a post-trip one, and
/// one in twelve a mechanic's.
fn inspections(sb: &Sandbox, v: usize, d: i64, first: i64, last: i64) -> Vec<(Inspection, i64)> {
    let h = hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), 54]);
    let mut out = vec![(Inspection::PreTrip, first - 600)];
    if crate::rng::unit(h) < 0.85 {
        out.push((Inspection::PostTrip, last + 120));
    }
    if (h >> 20) % 12 == 0 {
        out.push((Inspection::Mechanic, last + 3600));
    }
    out
}

/// A generated defect.
struct Gen {
    id: String,
    v: usize,
    /// Local day.
    d: i64,
    /// The inspection that found it.
    found_by: Inspection,
    created: i64,
    ty: usize,
    /// When a mechanic resolved it in the dashboard, if they did.
    auto_resolved: Option<i64>,
}

/// The DVIR ID of an inspection.
fn dvir_id(v: usize, d: i64, kind: Inspection) -> String {
    format!(
        "9{}",
        (d * 100_000 + i64::try_from(v).unwrap_or(0)) * 10 + kind as i64
    )
}

/// The defects an inspection found (at `at`, s). Major defects are mostly repaired within a day or
/// so; about half the minor ones wait for days and many stay open.
fn found(sb: &Sandbox, v: usize, d: i64, kind: Inspection, at: i64) -> Vec<Gen> {
    let heavy = sb.fleet.vehicles[v].kind == crate::fleet::Kind::Heavy;
    // A tractor's inspection covers its trailer too: twice the brakes, tires, lights and coupling.
    let tractor = sb.fleet.trailers.iter().any(|t| t.tractor == Some(v));
    let factor = if kind == Inspection::Mechanic {
        MECHANIC_FACTOR
    } else {
        1.0
    };
    (0..TYPES.len())
        .filter(|&ty| ty != 6 || heavy)
        .filter_map(|ty| {
            let h = hash(
                sb.cfg.seed,
                &[v as u64, d.unsigned_abs(), 55 + kind as u64, ty as u64],
            );
            let trailer_too = if tractor && TRAILER_TYPES.contains(&ty) {
                2.0
            } else {
                1.0
            };
            (crate::rng::unit(h) < DEFECT_RATE[ty] * factor * trailer_too).then(|| {
                let major = TYPES[ty].3 == "major";
                let r = crate::rng::unit(crate::rng::mix(h ^ 0x2e));
                let delay = if major {
                    (r < 0.85).then(|| 2 * 3600 + i64::try_from((h >> 24) % (28 * 3600)).unwrap_or(0))
                } else {
                    (r < 0.45).then(|| 86_400 + i64::try_from((h >> 24) % (4 * 86_400)).unwrap_or(0))
                };
                Gen {
                    id: ((d * 100_000 + i64::try_from(v).unwrap_or(0)) * 100
                        + kind as i64 * 10
                        + i64::try_from(ty).unwrap_or(0))
                    .to_string(),
                    v,
                    d,
                    found_by: kind,
                    created: at + 120,
                    ty,
                    auto_resolved: delay.map(|x| (at + 120 + x) / 5 * 5),
                }
            })
        })
        .collect()
}

/// Every defect found on vehicle `v`'s day `d` (none without trips).
fn day_defects(sb: &Sandbox, days: &crate::model::Days, v: usize, d: i64) -> Vec<Gen> {
    let trips = &days.get(v, d).trips;
    let (Some(first), Some(last)) = (trips.first(), trips.last()) else {
        return Vec::new();
    };
    inspections(sb, v, d, first.start, last.end)
        .into_iter()
        .flat_map(|(kind, at)| found(sb, v, d, kind, at))
        .collect()
}

fn find(sb: &Sandbox, id: &str) -> Option<Gen> {
    let n: i64 = id.parse().ok()?;
    let base = n.div_euclid(100);
    let (d, v) = (
        base.div_euclid(100_000),
        usize::try_from(base.rem_euclid(100_000)).ok()?,
    );
    if v >= sb.fleet.vehicles.len() {
        return None;
    }
    let days = sb.model.days(d * 86_400 - 86_400, d * 86_400 + 86_400);
    day_defects(sb, &days, v, d)
        .into_iter()
        .find(|g| g.id == id)
        .filter(|g| g.created <= sb.clock.now_s())
}

/// The trailer a defect was found on, if any: about half of the brake, tire, light and coupling
/// defects of a truck that hauls trailers are on one of its trailers.
fn trailer_of(sb: &Sandbox, g: &Gen) -> Option<usize> {
    if !TRAILER_TYPES.contains(&g.ty) {
        return None;
    }
    let hauled: Vec<usize> = (0..sb.fleet.trailers.len())
        .filter(|&i| sb.fleet.trailers[i].tractor == Some(g.v))
        .collect();
    let h = hash(sb.cfg.seed, &[g.id.parse::<u64>().unwrap_or(0), 59]);
    (!hauled.is_empty() && h % 2 == 0).then(|| hauled[usize::try_from(h >> 8).unwrap_or(0) % hauled.len()])
}

/// The current version of a defect (stream model) and its `updatedAtTime` (Unix ms).
fn current(sb: &Sandbox, g: &Gen, ext: bool) -> (Value, i64) {
    let st = sb.store();
    let now = sb.clock.now_ms();
    let vid = st.vehicles[g.v]["id"].as_str().unwrap_or("").to_string();
    let mut vehicle = json!({"id": vid});
    if ext {
        vehicle["externalIds"] = st.vehicle_external_ids(g.v);
    }
    let (_, _, _, sev) = TYPES[g.ty];
    let h = hash(sb.cfg.seed, &[g.id.parse::<u64>().unwrap_or(0), 57]);
    // Most drivers photograph what they report: one or two photos on about 60 % of defects.
    let photos: Vec<Value> = (0..[0, 0, 1, 1, 1, 2, 2, 1, 0, 1][usize::try_from(h % 10).unwrap_or(0)])
        .map(|n| {
            json!({"createdAtTime": ts(g.created - 60 + n * 20),
                "url": crate::media::media_url(sb, &format!("defect-{}-{n}.jpeg", g.id), sb.clock.now_ms())})
        })
        .collect();
    let mut j = json!({"id": g.id, "dvirId": dvir_id(g.v, g.d, g.found_by), "comment": COMMENTS[g.ty][usize::try_from((h >> 8) % 2).unwrap_or(0)], "createdAtTime": ts(g.created),
        "defectTypeId": TYPES[g.ty].0, "defectSafetyStatus": if sev == "major" { "unsafe" } else { "safe" }, "isResolved": false,
        "defectPhotos": photos, "vehicle": vehicle});
    if let Some(i) = trailer_of(sb, g) {
        let mut trailer = json!({"id": st.trailers[i].id});
        if ext {
            trailer["externalIds"] = st.trailer_external_ids(i);
        }
        j["trailer"] = trailer;
    }
    let mut updated = g.created * 1000;
    if let Some(r) = g.auto_resolved.filter(|r| r * 1000 <= now) {
        j["isResolved"] = json!(true);
        j["resolvedAtTime"] = json!(ts(r));
        let (mid, name) = MECHANICS[usize::try_from((h >> 16) % 3).unwrap_or(0)];
        j["resolvedBy"] = json!({"id": mid, "name": name, "type": "mechanic"});
        j["mechanicNotes"] = json!(
            ["Repaired in shop", "Part replaced", "Adjusted and tested"]
                [usize::try_from((h >> 20) % 3).unwrap_or(0)]
        );
        j["mechanicNotesUpdatedAtTime"] = json!(ts(r));
        updated = r * 1000;
    }
    if let Some(Value::Object(p)) = st.defect_patches.get(&g.id) {
        for (k, v) in p {
            if k == "updatedAtMs" {
                updated = v.as_i64().unwrap_or(updated);
            } else {
                j[k] = v.clone();
            }
        }
    }
    j["updatedAtTime"] = json!(rfc3339_ms(updated));
    (j, updated)
}

/// `GET /defects/stream`.
pub(crate) fn stream(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let w = Window::parse(req, sb.clock.now_ms(), false)?;
        let ext = flag(req, "includeExternalIds")?;
        let resolved = match req.param("isResolved") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(Response::bad_param("isResolved", "must be `true` or `false`")),
        };
        let (lo, hi) = w.secs();
        let days = sb.model.days(lo - 4 * 86_400, hi);
        let mut items = Vec::new();
        for v in 0..sb.fleet.vehicles.len() {
            let (d0, d1) = (sb.model.day_of(v, lo) - 3, sb.model.day_of(v, hi));
            for g in (d0..=d1).flat_map(|d| day_defects(sb, &days, v, d)) {
                if g.created * 1000 > w.now {
                    continue;
                }
                let (j, at) = current(sb, &g, ext);
                if resolved.is_some_and(|r| j["isResolved"].as_bool() != Some(r)) {
                    continue;
                }
                items.push(Item {
                    at,
                    key: g.id,
                    json: j,
                });
            }
        }
        Ok(page(items, req, &w, Some((200, 200)), pf))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /defects/{id}`: the defect at top level (no `data` wrapper, as the SDK model says).
pub(crate) fn get(sb: &Sandbox, req: &Request) -> Response {
    let id = req.segment(2).unwrap_or_default();
    let ext = match flag(req, "includeExternalIds") {
        Ok(e) => e,
        Err(e) => return e,
    };
    find(sb, &id).map_or_else(
        || Response::not_found(&format!("defect {id}")),
        |g| Response::json(200, &current(sb, &g, ext).0),
    )
}

/// `GET /defect-types`.
pub(crate) fn types(req: &Request) -> Response {
    let ids = req.list("ids");
    let items = TYPES
        .iter()
        .filter(|t| ids.is_empty() || ids.iter().any(|i| i == t.0))
        .map(|(id, label, section, sev)| json!({"id": id, "label": label, "sectionType": section, "severity": sev, "createdAtTime": "2024-01-01T00:00:00Z"}))
        .collect();
    paged(items, req, false)
}

/// `PATCH /fleet/defects/{id}`: resolve and/or annotate; answers with the legacy defect model.
pub(crate) fn patch(sb: &Sandbox, req: &Request) -> Response {
    let id = req.segment(3).unwrap_or_default();
    let body = match req.json() {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Response::error(400, "request body must be a JSON object"),
        Err(e) => return e,
    };
    let Some(g) = find(sb, &id) else {
        return Response::not_found(&format!("defect {id}"));
    };
    // A write moves the simulated clock on by a millisecond, so the change is stamped after
    // everything a stream read has served (a stream cursor ends at most at the read's now): with the
    // clock standing still, a second write at the same instant could otherwise sort behind a cursor.
    sb.clock.advance_ms(1);
    let now = sb.clock.now_ms();
    let mut p = Map::new();
    if body.get("resolvedBy").is_some_and(|b| {
        b.get("type").and_then(Value::as_str) != Some("mechanic")
            || !b.get("id").is_some_and(Value::is_string)
    }) {
        return Response::bad_param("resolvedBy", "must be {\"id\": string, \"type\": \"mechanic\"}");
    }
    if let Some(r) = body.get("isResolved") {
        if r != &json!(true) {
            return Response::bad_param("isResolved", "must be true");
        }
        let at = match want_str(&body, "resolvedAtTime") {
            Ok(None) => now,
            Ok(Some(s)) => match parse_rfc3339_ms(s) {
                Some(t) => t,
                None => return Response::bad_param("resolvedAtTime", "must be an RFC 3339 timestamp"),
            },
            Err(e) => return e,
        };
        let by = body.get("resolvedBy");
        let by_id = by.and_then(|b| b["id"].as_str()).unwrap_or("0").to_string();
        p.insert("isResolved".into(), json!(true));
        p.insert("resolvedAtTime".into(), json!(rfc3339_ms(at)));
        p.insert(
            "resolvedBy".into(),
            json!({"id": by_id, "name": format!("User {by_id}"), "type": "mechanic"}),
        );
    }
    match want_str(&body, "mechanicNotes") {
        Ok(Some(n)) => {
            p.insert("mechanicNotes".into(), json!(n));
            p.insert("mechanicNotesUpdatedAtTime".into(), json!(rfc3339_ms(now)));
        }
        Ok(None) => {}
        Err(e) => return e,
    }
    p.insert("updatedAtMs".into(), json!(now));
    {
        let mut st = sb.store();
        let entry = st.defect_patches.entry(id.clone()).or_insert_with(|| json!({}));
        if let Some(o) = entry.as_object_mut() {
            o.extend(p);
        }
    }
    let (cur, _) = current(sb, &g, false);
    let st = sb.store();
    let mut legacy = json!({"id": cur["id"], "comment": cur["comment"], "createdAtTime": cur["createdAtTime"], "defectType": TYPES[g.ty].1,
        "isResolved": cur["isResolved"], "vehicle": {"id": cur["vehicle"]["id"], "name": st.vehicles[g.v]["name"]}});
    for k in [
        "mechanicNotes",
        "mechanicNotesUpdatedAtTime",
        "resolvedAtTime",
        "resolvedBy",
    ] {
        if let Some(v) = cur.get(k) {
            legacy[k] = v.clone();
        }
    }
    Response::data(legacy)
}

/// `GET /fleet/defects/history` (legacy): defects created in `[startTime, endTime]` (≤ 30 days), legacy model.
pub(crate) fn history(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let run = || -> Result<Response, Response> {
        let w = Window::parse(req, sb.clock.now_ms(), true)?;
        if w.end.is_some_and(|e| e - w.start > 30 * 86_400_000) {
            return Err(Response::bad_param(
                "endTime",
                "the window may span at most 30 days",
            ));
        }
        let resolved = match req.param("isResolved") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(Response::bad_param("isResolved", "must be `true` or `false`")),
        };
        let (lo, hi) = w.secs();
        let days = sb.model.days(lo - 86_400, hi);
        let mut rows = Vec::new();
        for v in 0..sb.fleet.vehicles.len() {
            let (d0, d1) = (sb.model.day_of(v, lo) - 1, sb.model.day_of(v, hi));
            for g in (d0..=d1).flat_map(|d| day_defects(sb, &days, v, d)) {
                if g.created < lo || g.created > hi {
                    continue;
                }
                let (cur, _) = current(sb, &g, false);
                if resolved.is_some_and(|r| cur["isResolved"].as_bool() != Some(r)) {
                    continue;
                }
                let name = sb.store().vehicles[g.v]["name"].clone();
                let mut legacy = json!({"id": cur["id"], "comment": cur["comment"], "createdAtTime": cur["createdAtTime"], "defectType": TYPES[g.ty].1,
                    "isResolved": cur["isResolved"], "vehicle": {"id": cur["vehicle"]["id"], "name": name}});
                if let Some(i) = trailer_of(sb, &g) {
                    let t = &sb.fleet.trailers[i];
                    legacy["trailer"] = json!({"id": t.id, "name": t.name});
                }
                for k in [
                    "mechanicNotes",
                    "mechanicNotesUpdatedAtTime",
                    "resolvedAtTime",
                    "resolvedBy",
                ] {
                    if let Some(x) = cur.get(k) {
                        legacy[k] = x.clone();
                    }
                }
                rows.push((g.created, legacy));
            }
        }
        rows.sort_by_key(|r| r.0);
        Ok(paged(rows.into_iter().map(|r| r.1).collect(), req, repeat))
    };
    run().unwrap_or_else(|e| e)
}

/// Whether defect `id` exists now and is resolved (`None` when it does not exist).
pub(crate) fn is_resolved(sb: &Sandbox, id: &str) -> Option<bool> {
    let g = find(sb, id)?;
    current(sb, &g, false).0["isResolved"].as_bool()
}

/// `GET /dvirs/stream`: the pre-trip, post-trip and mechanic's inspections of each vehicle-day with
/// trips; `unsafe` while a major defect is open, `resolved` once every defect is resolved (which also
/// moves it in the stream), `safe` otherwise.
pub(crate) fn dvirs(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let w = Window::parse(req, sb.clock.now_ms(), false)?;
        let ext = flag(req, "includeExternalIds")?;
        let statuses = req.list("safetyStatus");
        if let Some(bad) = statuses
            .iter()
            .find(|s| !["safe", "unsafe", "resolved"].contains(&s.as_str()))
        {
            return Err(Response::bad_param(
                "safetyStatus",
                &format!("unknown status `{bad}`"),
            ));
        }
        let (lo, hi) = w.secs();
        let days = sb.model.days(lo - 4 * 86_400, hi);
        let mut items = Vec::new();
        for v in 0..sb.fleet.vehicles.len() {
            for d in sb.model.day_of(v, lo) - 3..=sb.model.day_of(v, hi) {
                let trips = &days.get(v, d).trips;
                let (Some(first), Some(last)) = (trips.first(), trips.last()) else {
                    continue;
                };
                for (kind, created) in inspections(sb, v, d, first.start, last.end) {
                    let took = if kind == Inspection::Mechanic { 1800 } else { 240 };
                    if (created + took) * 1000 > w.now {
                        continue;
                    }
                    let mut updated = (created + took) * 1000;
                    let (mut open_major, mut open, mut ids) = (false, false, Vec::new());
                    for g in found(sb, v, d, kind, created) {
                        let (cur, at) = current(sb, &g, false);
                        if cur["isResolved"] != json!(true) {
                            open = true;
                            open_major |= TYPES[g.ty].3 == "major";
                        }
                        updated = updated.max(at);
                        ids.push(g.id);
                    }
                    let status = match (ids.is_empty(), open_major, open) {
                        (false, true, _) => "unsafe",
                        (false, false, false) => "resolved",
                        _ => "safe",
                    };
                    if !statuses.is_empty() && !statuses.iter().any(|s| s == status) {
                        continue;
                    }
                    let st = sb.store();
                    let mut vehicle = json!({"id": st.vehicles[v]["id"]});
                    if ext {
                        vehicle["externalIds"] = st.vehicle_external_ids(v);
                    }
                    drop(st);
                    let driver = sb
                        .model
                        .driver_for(v, d, sb.fleet.drivers.len())
                        .map_or_else(|| "0".to_string(), |i| sb.fleet.drivers[i].id.clone());
                    #[allow(clippy::cast_possible_truncation)]
                    let odo = sb.model.odometer(&days, v, created).round() as i64;
                    let b = crate::fleet::BRANCHES[sb.fleet.vehicles[v].branch];
                    let id = dvir_id(v, d, kind);
                    let signature = if kind == Inspection::Mechanic {
                        let (mid, _) = MECHANICS[v % MECHANICS.len()];
                        json!({"signatoryUser": {"id": mid}, "signedAtTime": ts(created + took), "type": "mechanic"})
                    } else {
                        json!({"signatoryUser": {"id": driver}, "signedAtTime": ts(created + took), "type": "driver"})
                    };
                    let mut j = json!({"id": id, "type": kind.wire(), "safetyStatus": status, "defectIds": ids, "vehicle": vehicle,
                        "authorSignature": signature, "dvirSubmissionBeginTime": ts(created), "dvirSubmissionTime": ts(created + took),
                        "updatedAtTime": rfc3339_ms(updated), "odometerMeters": odo, "formattedAddress": format!("1 Depot Rd, {}, {}", b.city, b.state)});
                    if kind == Inspection::Mechanic {
                        j["mechanicNotes"] = json!("Periodic inspection at the yard");
                    }
                    items.push(Item {
                        at: updated,
                        key: id,
                        json: j,
                    });
                }
            }
        }
        Ok(page(items, req, &w, Some((200, 200)), pf))
    };
    run().unwrap_or_else(|e| e)
}
