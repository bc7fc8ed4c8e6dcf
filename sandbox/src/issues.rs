//! Issues: `GET /issues` (by IDs), `GET /issues/stream`, `PATCH /issues` (ID in the body) and
//! `POST /issues`. Generated issues come from drivers' post-trip reports in the trip model and move
//! from `open` to `inProgress`/`resolved` over the following days; writes overlay them.

use serde_json::{json, Map, Value};

use crate::entities::want_str;
use crate::http::{Request, Response};
use crate::rng::hash;
use crate::router::{PageFault, Sandbox};
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};
use crate::store::Entity;
use crate::streams::{page, ts, Item, Window};

const TITLES: [&str; 6] = [
    "Check engine light on",
    "Tire pressure low",
    "Broken side mirror",
    "Reefer not cooling",
    "Liftgate inoperative",
    "Seat belt frayed",
];
const STATUSES: [&str; 4] = ["open", "inProgress", "resolved", "dismissed"];
const PRIORITIES: [&str; 3] = ["low", "medium", "high"];

/// A generated issue's identity: vehicle, local day, creation time (s) and hash.
struct Gen {
    v: usize,
    d: i64,
    created: i64,
    h: u64,
}

fn id_of(g: &Gen) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        g.d,
        g.v,
        g.h & 0xfff,
        (g.h >> 12) & 0xfff,
        g.h >> 16 & 0xffff_ffff_ffff
    )
}

fn generate(sb: &Sandbox, v: usize, d: i64, last_trip_end: i64) -> Option<Gen> {
    let h = hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), 61]);
    (crate::rng::unit(h) < 0.08).then_some(Gen {
        v,
        d,
        created: last_trip_end + 300,
        h,
    })
}

fn find(sb: &Sandbox, id: &str) -> Option<Gen> {
    let mut parts = id.split('-');
    let d = i64::from_str_radix(parts.next()?, 16).ok()?;
    let v = usize::from_str_radix(parts.next()?, 16).ok()?;
    if v >= sb.fleet.vehicles.len() {
        return None;
    }
    let days = sb.model.days(d * 86_400 - 86_400, d * 86_400 + 86_400);
    let last = days.get(v, d).trips.last()?.end;
    generate(sb, v, d, last).filter(|g| id_of(g) == id && g.created <= sb.clock.now_s())
}

/// The current version of a generated issue and its `updatedAtTime` (Unix ms).
fn current(sb: &Sandbox, g: &Gen, ext: bool) -> (Value, i64) {
    let now = sb.clock.now_s();
    let st = sb.store();
    let id = id_of(g);
    let (mut status, mut updated) = ("open", g.created);
    if now >= g.created + 86_400 && g.h % 2 == 0 {
        (status, updated) = ("inProgress", g.created + 86_400);
    }
    if now >= g.created + 2 * 86_400 && g.h % 3 == 0 {
        (status, updated) = ("resolved", g.created + 2 * 86_400);
    }
    let driver = sb
        .model
        .driver_for(g.v, g.d, sb.fleet.drivers.len())
        .map_or_else(|| "0".to_string(), |i| sb.fleet.drivers[i].id.clone());
    let mut asset = json!({"entryType": "tracked", "id": st.vehicles[g.v]["id"]});
    if ext {
        asset["externalIds"] = st.vehicle_external_ids(g.v);
    }
    let title = TITLES[usize::try_from(g.h % 6).unwrap_or(0)];
    let source = if g.h % 4 == 0 {
        json!({"type": "ad-hoc"})
    } else {
        json!({"type": "form", "id": format!("fs-{id}")})
    };
    let mut j = json!({"id": id, "title": title, "description": format!("{title} reported after trip"), "status": status,
        "priority": PRIORITIES[usize::try_from((g.h >> 4) % 3).unwrap_or(0)], "createdAtTime": ts(g.created), "submittedAtTime": ts(g.created),
        "submittedBy": {"id": driver, "type": "driver"}, "asset": asset, "issueSource": source});
    let mut updated_ms = updated * 1000;
    if let Some(Value::Object(p)) = st.issue_patches.get(&id) {
        for (k, v) in p {
            if k == "updatedAtMs" {
                updated_ms = v.as_i64().unwrap_or(updated_ms);
            } else if k != "externalIds" || ext {
                j[k] = v.clone();
            }
        }
    }
    j["updatedAtTime"] = json!(rfc3339_ms(updated_ms));
    (j, updated_ms)
}

fn include_ext(req: &Request) -> Result<bool, Response> {
    let inc = req.list("include");
    if let Some(bad) = inc.iter().find(|x| *x != "externalIds") {
        return Err(Response::bad_param(
            "include",
            &format!("unknown value `{bad}` (valid: externalIds)"),
        ));
    }
    Ok(!inc.is_empty())
}

/// All issues whose current version exists now, with ordering times.
fn all(sb: &Sandbox, lo: i64, hi: i64, ext: bool) -> Vec<Item> {
    let days = sb.model.days(lo - 3 * 86_400, hi);
    let mut items = Vec::new();
    let now = sb.clock.now_s();
    for v in 0..sb.fleet.vehicles.len() {
        for d in sb.model.day_of(v, lo) - 3..=sb.model.day_of(v, hi) {
            let Some(last) = days.get(v, d).trips.last() else {
                continue;
            };
            let Some(g) = generate(sb, v, d, last.end).filter(|g| g.created <= now) else {
                continue;
            };
            let (j, at) = current(sb, &g, ext);
            items.push(Item {
                at,
                key: id_of(&g),
                json: j,
            });
        }
    }
    for i in &sb.store().issues {
        let mut j = i.clone();
        if !ext {
            if let Some(o) = j.as_object_mut() {
                o.remove("externalIds");
            }
        }
        let at = i["updatedAtTime"]
            .as_str()
            .and_then(parse_rfc3339_ms)
            .unwrap_or(0);
        items.push(Item {
            at,
            key: i["id"].as_str().unwrap_or("").to_string(),
            json: j,
        });
    }
    items
}

/// `GET /issues/stream`.
pub(crate) fn stream(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let w = Window::parse(req, sb.clock.now_ms(), false)?;
        let ext = include_ext(req)?;
        let statuses = req.list("status");
        if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
            return Err(Response::bad_param("status", &format!("unknown status `{bad}`")));
        }
        let mut assets = req.capped_list("assetIds", 50)?;
        let by_ext = req.capped_list("assetExternalIds", 50)?;
        if let Some(bad) = by_ext.iter().find(|x| !x.contains(':')) {
            return Err(Response::bad_param(
                "assetExternalIds",
                &format!("`{bad}` is not `key:value`"),
            ));
        }
        assets.extend(by_ext);
        req.capped_list("assignedToRouteStopIds", 50)?;
        let wanted: Vec<String> = {
            let st = sb.store();
            assets
                .iter()
                .filter(|a| *a != "untracked")
                .map(|a| {
                    st.find_vehicle(a)
                        .map(|i| st.vehicles[i]["id"].as_str().unwrap_or("").to_string())
                        .ok_or_else(|| {
                            Response::bad_param("assetIds", &format!("asset `{a}` does not exist"))
                        })
                })
                .collect::<Result<_, _>>()?
        };
        let (lo, hi) = w.secs();
        let mut items = all(sb, lo, hi, ext);
        items.retain(|i| statuses.is_empty() || statuses.iter().any(|s| i.json["status"] == s.as_str()));
        items.retain(|i| {
            wanted.is_empty()
                || i.json["asset"]["id"]
                    .as_str()
                    .is_some_and(|a| wanted.iter().any(|w| w == a))
        });
        Ok(page(items, req, &w, None, pf))
    };
    run().unwrap_or_else(|e| e)
}

fn resolve(sb: &Sandbox, id: &str) -> Option<String> {
    if find(sb, id).is_some() || sb.store().issues.iter().any(|i| i["id"] == id) {
        return Some(id.to_string());
    }
    let (k, v) = id.split_once(':')?;
    let st = sb.store();
    st.issue_patches
        .iter()
        .find(|(_, p)| p["externalIds"][k] == v)
        .map(|(i, _)| i.clone())
        .or_else(|| {
            st.issues
                .iter()
                .find(|i| i["externalIds"][k] == v)
                .and_then(|i| i["id"].as_str().map(str::to_string))
        })
}

/// The current JSON of the issue `id` (a Samsara ID or `key:value`), with its external IDs.
pub(crate) fn current_of(sb: &Sandbox, id: &str) -> Option<Value> {
    let id = resolve(sb, id)?;
    if let Some(g) = find(sb, &id) {
        return Some(current(sb, &g, true).0);
    }
    sb.store().issues.iter().find(|i| i["id"] == id.as_str()).cloned()
}

/// How many issues carry the external ID `key:value` (an FMC create applied more than once shows 2).
pub(crate) fn count_with_external_id(sb: &Sandbox, key: &str, value: &str) -> usize {
    let st = sb.store();
    st.issues
        .iter()
        .filter(|i| i["externalIds"][key] == value)
        .count()
        + st.issue_patches
            .values()
            .filter(|p| p["externalIds"][key] == value)
            .count()
}

/// `GET /issues?ids=…`.
pub(crate) fn by_ids(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let ext = include_ext(req)?;
        let ids = req.list("ids");
        if ids.len() > 100 {
            return Err(Response::bad_param("ids", "at most 100 IDs"));
        }
        let mut out = Vec::new();
        for id in &ids {
            let Some(id) = resolve(sb, id) else { continue };
            if let Some(g) = find(sb, &id) {
                out.push(current(sb, &g, ext).0);
            } else if let Some(i) = sb.store().issues.iter().find(|i| i["id"] == id.as_str()) {
                out.push(i.clone());
            }
        }
        Ok(Response::json(200, &json!({"data": out})))
    };
    run().unwrap_or_else(|e| e)
}

fn validate(body: &Map<String, Value>) -> Result<(), Response> {
    for k in ["title", "description", "dueDate"] {
        want_str(body, k)?;
    }
    if let Some(s) = want_str(body, "status")? {
        if !STATUSES.contains(&s) {
            return Err(Response::bad_param(
                "status",
                "must be open, inProgress, resolved or dismissed",
            ));
        }
    }
    if let Some(p) = want_str(body, "priority")? {
        if !PRIORITIES.contains(&p) {
            return Err(Response::bad_param("priority", "must be low, medium or high"));
        }
    }
    if want_str(body, "dueDate")?.is_some_and(|d| parse_rfc3339_ms(d).is_none()) {
        return Err(Response::bad_param("dueDate", "must be an RFC 3339 timestamp"));
    }
    if body.get("externalIds").is_some_and(|e| !e.is_object()) {
        return Err(Response::bad_param("externalIds", "must be an object"));
    }
    Ok(())
}

/// `PATCH /issues` and `POST /issues`.
pub(crate) fn write(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let Value::Object(body) = req.json()? else {
            return Err(Response::error(400, "request body must be a JSON object"));
        };
        validate(&body)?;
        // A write moves the simulated clock on by a millisecond (as `PATCH /fleet/defects` does), so
        // the new version is stamped after everything a stream read has served: with the clock
        // standing still it could otherwise sort behind a stream cursor and never be read.
        sb.clock.advance_ms(1);
        let now = sb.clock.now_ms();
        let patched = if req.method == "POST" {
            None
        } else {
            let raw = want_str(&body, "id")?.ok_or_else(|| Response::bad_param("id", "is required"))?;
            Some(resolve(sb, raw).ok_or_else(|| Response::not_found(&format!("issue {raw}")))?)
        };
        let ext = match body.get("externalIds") {
            Some(Value::Object(ext)) => {
                let me = patched.as_deref().unwrap_or("");
                sb.store().check_external_ids(ext, (Entity::Issue, me))?;
                // Values are stored as strings, as for every other entity.
                // `null` or `""` deletes the key.
                let strings: Map<String, Value> = ext
                    .iter()
                    .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| json!(v.to_string()), |x| json!(x)),
                        )
                    })
                    .collect();
                Some(Value::Object(strings))
            }
            _ => None,
        };
        let mut fields = Map::new();
        for k in [
            "title",
            "description",
            "status",
            "priority",
            "dueDate",
            "externalIds",
            "assignedTo",
        ] {
            if let Some(v) = body.get(k) {
                let v = if k == "externalIds" {
                    ext.clone().unwrap_or_default()
                } else {
                    v.clone()
                };
                fields.insert(k.to_string(), v);
            }
        }
        if let Some(Value::Array(media)) = body.get("media") {
            let list: Vec<Value> = media
                .iter()
                .enumerate()
                .map(|(i, _)| json!({"id": format!("m{now}-{i}"), "processingStatus": "processing"}))
                .collect();
            fields.insert("mediaList".into(), Value::Array(list));
        }
        if req.method == "POST" {
            let title = want_str(&body, "title")?
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Response::bad_param("title", "is required"))?;
            let aid = body
                .get("asset")
                .and_then(|a| a.get("id"))
                .and_then(Value::as_str)
                .ok_or_else(|| Response::bad_param("asset", "is required: {\"id\": …}"))?;
            let mut st = sb.store();
            let vi = st
                .find_vehicle(aid)
                .ok_or_else(|| Response::bad_param("asset", &format!("asset `{aid}` does not exist")))?;
            let id = crate::streams::uuid(
                hash(sb.cfg.seed, &[now.unsigned_abs(), st.issues.len() as u64, 62]),
                hash(sb.cfg.seed, &[63, st.issues.len() as u64]),
            );
            let mut j = json!({"id": id, "title": title, "status": "open", "createdAtTime": rfc3339_ms(now), "submittedAtTime": rfc3339_ms(now),
                "updatedAtTime": rfc3339_ms(now), "submittedBy": {"id": "1", "type": "user"}, "issueSource": {"type": "ad-hoc"},
                "asset": {"entryType": "tracked", "id": st.vehicles[vi]["id"]}});
            for (k, v) in fields {
                j[k] = v;
            }
            st.issues.push(j.clone());
            return Ok(Response::data(j));
        }
        let id = patched.unwrap_or_default();
        {
            let mut st = sb.store();
            if let Some(i) = st.issues.iter_mut().find(|i| i["id"] == id.as_str()) {
                for (k, v) in fields {
                    i[k] = v;
                }
                i["updatedAtTime"] = json!(rfc3339_ms(now));
                return Ok(Response::data(i.clone()));
            }
            let p = st.issue_patches.entry(id.clone()).or_insert_with(|| json!({}));
            if let Some(o) = p.as_object_mut() {
                o.extend(fields);
                o.insert("updatedAtMs".into(), json!(now));
            }
        }
        let g = find(sb, &id).ok_or_else(|| Response::not_found(&format!("issue {id}")))?;
        Ok(Response::data(current(sb, &g, true).0))
    };
    run().unwrap_or_else(|e| e)
}
