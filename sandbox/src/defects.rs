//! DVIR defects (`/defects/stream`, `/defects/{id}`, `/defect-types`, `PATCH /fleet/defects/{id}`)
//! and driver–vehicle assignments (`/fleet/driver-vehicle-assignments`, all four verbs).
//!
//! Defects come from pre-trip inspections in the trip model; some are resolved by a mechanic a day or
//! two later, and `PATCH` resolutions are kept in the store and move the defect in the stream.

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

/// A generated defect: (id, vehicle, created, type index, auto-resolution time).
struct Gen {
    id: String,
    v: usize,
    created: i64,
    ty: usize,
    auto_resolved: Option<i64>,
}

fn generate(sb: &Sandbox, v: usize, d: i64, first_trip: i64) -> Option<Gen> {
    let h = hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), 53]);
    (crate::rng::unit(h) < 0.15).then(|| Gen {
        id: (d * 100_000 + i64::try_from(v).unwrap_or(0)).to_string(),
        v,
        created: first_trip - 600,
        ty: usize::try_from(h % 8).unwrap_or(0),
        auto_resolved: (h % 2 == 0)
            .then(|| first_trip - 600 + 86_400 + i64::try_from((h >> 8) % 86_400).unwrap_or(0) / 5 * 5),
    })
}

fn find(sb: &Sandbox, id: &str) -> Option<Gen> {
    let n: i64 = id.parse().ok()?;
    let (d, v) = (
        n.div_euclid(100_000),
        usize::try_from(n.rem_euclid(100_000)).ok()?,
    );
    if v >= sb.fleet.vehicles.len() {
        return None;
    }
    let days = sb.model.days(d * 86_400 - 86_400, d * 86_400 + 86_400);
    let first = days.get(v, d).trips.first()?.start;
    generate(sb, v, d, first).filter(|g| g.created <= sb.clock.now_s())
}

/// The trailer a defect was found on, if any: about half of the brake, tire, light and coupling
/// defects of a truck that hauls trailers are on one of its trailers.
fn trailer_of(sb: &Sandbox, g: &Gen) -> Option<usize> {
    if ![0, 1, 2, 6].contains(&g.ty) {
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
    let (_, label, _, sev) = TYPES[g.ty];
    let mut j = json!({"id": g.id, "dvirId": format!("9{}", g.id), "comment": format!("{label}: needs attention"), "createdAtTime": ts(g.created),
        "defectTypeId": TYPES[g.ty].0, "defectSafetyStatus": if sev == "major" { "unsafe" } else { "safe" }, "isResolved": false,
        "defectPhotos": [], "vehicle": vehicle});
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
        j["resolvedBy"] = json!({"id": "7001", "name": "Sandbox Mechanic", "type": "mechanic"});
        j["mechanicNotes"] = json!("Repaired in shop");
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
            for d in d0..=d1 {
                let Some(first) = days.get(v, d).trips.first() else {
                    continue;
                };
                let Some(g) = generate(sb, v, d, first.start).filter(|g| g.created * 1000 <= w.now) else {
                    continue;
                };
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
            for d in sb.model.day_of(v, lo)..=sb.model.day_of(v, hi) {
                let Some(first) = days.get(v, d).trips.first() else {
                    continue;
                };
                let Some(g) = generate(sb, v, d, first.start).filter(|g| g.created >= lo && g.created <= hi)
                else {
                    continue;
                };
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

/// `GET /dvirs/stream`: one pre-trip DVIR per vehicle-day with trips; `unsafe` while its defect is
/// open, `resolved` once the defect is resolved (which also moves it in the stream).
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
                let Some(first) = days.get(v, d).trips.first() else {
                    continue;
                };
                let created = first.start - 600;
                if created * 1000 > w.now {
                    continue;
                }
                let id = format!("9{}", d * 100_000 + i64::try_from(v).unwrap_or(0));
                let (status, defects, updated) = match generate(sb, v, d, first.start) {
                    Some(g) => {
                        let (cur, at) = current(sb, &g, false);
                        let resolved = cur["isResolved"].as_bool() == Some(true);
                        (if resolved { "resolved" } else { "unsafe" }, json!([g.id]), at)
                    }
                    None => ("safe", json!([]), created * 1000),
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
                let j = json!({"id": id, "type": "preTrip", "safetyStatus": status, "defectIds": defects, "vehicle": vehicle,
                    "authorSignature": {"signatoryUser": {"id": driver}, "signedAtTime": ts(created + 240), "type": "driver"},
                    "dvirSubmissionBeginTime": ts(created), "dvirSubmissionTime": ts(created + 240), "updatedAtTime": rfc3339_ms(updated.max((created + 240) * 1000)),
                    "odometerMeters": odo, "formattedAddress": format!("1 Depot Rd, {}, {}", b.city, b.state)});
                items.push(Item {
                    at: updated.max((created + 240) * 1000),
                    key: id,
                    json: j,
                });
            }
        }
        Ok(page(items, req, &w, Some((200, 200)), pf))
    };
    run().unwrap_or_else(|e| e)
}
