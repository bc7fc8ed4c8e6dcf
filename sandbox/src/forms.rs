//! Forms: `GET /form-templates`, `GET /form-submissions` (by IDs), `GET /form-submissions/stream`,
//! `POST` and `PATCH /form-submissions`. Each driver-day with trips has a completed pre-trip
//! inspection submission; API-created submissions and writes are kept in the store.

use serde_json::{json, Map, Value};

use crate::entities::{paged, want_str};
use crate::http::{Request, Response};
use crate::rng::hash;
use crate::router::{PageFault, Sandbox};
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};
use crate::streams::{page, ts, Item, Window};

/// Templates: ID, revision, title, category.
const TEMPLATES: [(&str, &str, &str, &str); 2] = [
    (
        "9b1e6a52-0000-4000-8000-000000000001",
        "rev-1",
        "Pre-trip inspection",
        "assetInspection",
    ),
    (
        "9b1e6a52-0000-4000-8000-000000000002",
        "rev-1",
        "Fuel receipt",
        "fuel",
    ),
];
const STATUSES: [&str; 8] = [
    "notStarted",
    "completed",
    "archived",
    "inProgress",
    "needsReview",
    "changesRequested",
    "approved",
    "denied",
];

fn template_json(i: usize) -> Value {
    let (id, rev, title, cat) = TEMPLATES[i];
    let fields = if i == 0 {
        json!([{"id": "f-odometer", "label": "Odometer", "type": "number", "isRequired": true},
               {"id": "f-tires", "label": "Tires OK?", "type": "multiple_choice", "isRequired": true,
                "options": [{"id": "o-yes", "label": "Yes"}, {"id": "o-no", "label": "No"}]},
               {"id": "f-notes", "label": "Notes", "type": "text", "isRequired": false}])
    } else {
        json!([{"id": "f-litres", "label": "Litres", "type": "number", "isRequired": true}, {"id": "f-station", "label": "Station", "type": "text", "isRequired": false}])
    };
    let last = fields.as_array().map_or(0, Vec::len).saturating_sub(1);
    json!({"id": id, "revisionId": rev, "title": title, "description": format!("{title} (sandbox)"), "formCategory": cat,
        "createdAtTime": "2024-01-01T00:00:00Z", "updatedAtTime": "2024-01-01T00:00:00Z",
        "createdBy": {"id": "1", "type": "user"}, "updatedBy": {"id": "1", "type": "user"}, "fields": fields,
        "sections": [{"id": "s-1", "label": "Main", "fieldIndexFirstInclusive": 0, "fieldIndexLastInclusive": last}]})
}

/// `GET /form-templates`.
pub(crate) fn templates(req: &Request) -> Response {
    let ids = match req.capped_list("ids", 100) {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    let items = (0..TEMPLATES.len())
        .filter(|&i| ids.is_empty() || ids.iter().any(|x| x == TEMPLATES[i].0))
        .map(template_json)
        .collect();
    paged(items, req, false)
}

/// A generated submission for vehicle `v` on day `d`, if that day has trips.
fn generated(sb: &Sandbox, v: usize, d: i64, first_start: i64) -> (String, Value, i64) {
    let id = format!(
        "{d:08x}-{v:04x}-4000-9000-{:012x}",
        hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), 81]) & 0xffff_ffff_ffff
    );
    let at = first_start - 600;
    let h = hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), 82]);
    let driver = sb
        .model
        .driver_for(v, d, sb.fleet.drivers.len())
        .map_or_else(|| "0".to_string(), |i| sb.fleet.drivers[i].id.clone());
    let days = sb.model.days(at - 86_400, at);
    let (lat, lon, _) = sb.model.position(v, sb.model.odometer(&days, v, at));
    #[allow(clippy::cast_possible_truncation)]
    let odo_km = (sb.model.odometer(&days, v, at) / 1000.0).round() as i64;
    let ok = h % 10 != 0;
    let j = json!({"id": id, "formTemplate": {"id": TEMPLATES[0].0, "revisionId": TEMPLATES[0].1}, "title": "Pre-trip inspection", "status": "completed",
        "isRequired": true, "createdAtTime": ts(at), "submittedAtTime": ts(at), "updatedAtTime": ts(at), "durationMs": 180_000 + (h % 240) * 1000,
        "submittedBy": {"id": driver, "type": "driver"}, "asset": {"entryType": "tracked", "id": sb.fleet.vehicles[v].id},
        "location": {"latitude": (lat * 1e6).round() / 1e6, "longitude": (lon * 1e6).round() / 1e6},
        "fields": [{"id": "f-odometer", "label": "Odometer", "type": "number", "numberValue": {"value": odo_km}},
                   {"id": "f-tires", "label": "Tires OK?", "type": "multiple_choice", "multipleChoiceValue": {"value": if ok { "Yes" } else { "No" }, "valueId": if ok { "o-yes" } else { "o-no" }}},
                   {"id": "f-notes", "label": "Notes", "type": "text", "textValue": {"value": if ok { "All good" } else { "Front left tire worn" }}}]});
    (id, j, at * 1000)
}

/// The current version of every submission (generated ones overlaid by writes), with ordering times.
fn all(sb: &Sandbox, lo: i64, hi: i64) -> Vec<Item> {
    let days = sb.model.days(lo - 86_400, hi);
    let now = sb.clock.now_ms();
    let mut items = Vec::new();
    let stored = sb.store().forms.clone();
    for v in 0..sb.fleet.vehicles.len() {
        for d in sb.model.day_of(v, lo)..=sb.model.day_of(v, hi) {
            let Some(first) = days.get(v, d).trips.first() else {
                continue;
            };
            let (id, mut j, mut at) = generated(sb, v, d, first.start);
            if at > now {
                continue;
            }
            if let Some(Value::Object(p)) = stored.get(&id) {
                for (k, x) in p {
                    j[k] = x.clone();
                }
                at = j["updatedAtTime"]
                    .as_str()
                    .and_then(parse_rfc3339_ms)
                    .unwrap_or(at);
            }
            items.push(Item { at, key: id, json: j });
        }
    }
    for (id, j) in &stored {
        if j.get("formTemplate").is_some() && !items.iter().any(|i| &i.key == id) {
            let at = j["updatedAtTime"]
                .as_str()
                .and_then(parse_rfc3339_ms)
                .unwrap_or(0);
            items.push(Item {
                at,
                key: id.clone(),
                json: j.clone(),
            });
        }
    }
    items
}

/// `GET /form-submissions/stream` (`endTime` exclusive).
pub(crate) fn stream(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let mut w = Window::parse(req, sb.clock.now_ms(), false)?;
        w.end = w.end.map(|e| e - 1);
        let (templates, drivers) = (
            req.capped_list("formTemplateIds", 50)?,
            req.capped_list("driverIds", 50)?,
        );
        req.capped_list("userIds", 50)?;
        req.capped_list("assignedToRouteStopIds", 50)?;
        let (lo, hi) = w.secs();
        let mut items = all(sb, lo, hi);
        items.retain(|i| {
            templates.is_empty()
                || templates
                    .iter()
                    .any(|t| i.json["formTemplate"]["id"] == t.as_str())
        });
        items.retain(|i| {
            drivers.is_empty() || drivers.iter().any(|d| i.json["submittedBy"]["id"] == d.as_str())
        });
        Ok(page(items, req, &w, None, pf))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /form-submissions?ids=…`.
pub(crate) fn by_ids(sb: &Sandbox, req: &Request) -> Response {
    let ids = req.list("ids");
    if ids.is_empty() || ids.len() > 100 {
        return Response::bad_param("ids", "1 to 100 form submission IDs are required");
    }
    let lo = sb.model.origin;
    let items = all(sb, lo, sb.clock.now_s());
    let data: Vec<Value> = items
        .into_iter()
        .filter(|i| ids.contains(&i.key))
        .map(|i| i.json)
        .collect();
    Response::json(200, &json!({"data": data}))
}

/// `POST /form-submissions` and `PATCH /form-submissions` (ID in the body).
pub(crate) fn write(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let Value::Object(body) = req.json()? else {
            return Err(Response::error(400, "request body must be a JSON object"));
        };
        let now = sb.clock.now_ms();
        if let Some(s) = want_str(&body, "status")? {
            if !STATUSES.contains(&s) {
                return Err(Response::bad_param("status", "unknown status"));
            }
        }
        if want_str(&body, "dueAtTime")?.is_some_and(|d| parse_rfc3339_ms(d).is_none()) {
            return Err(Response::bad_param("dueAtTime", "must be an RFC 3339 timestamp"));
        }
        let mut fields = Map::new();
        for k in [
            "title",
            "status",
            "assignedTo",
            "dueAtTime",
            "isRequired",
            "routeStopId",
            "approvalDetails",
            "fields",
        ] {
            if let Some(v) = body.get(k) {
                fields.insert(k.to_string(), v.clone());
            }
        }
        fields.insert("updatedAtTime".into(), json!(rfc3339_ms(now)));
        if req.method == "POST" {
            let tid = body
                .get("formTemplate")
                .and_then(|t| t.get("id"))
                .and_then(Value::as_str)
                .ok_or_else(|| Response::bad_param("formTemplate", "is required: {\"id\": …}"))?;
            let t = TEMPLATES.iter().find(|t| t.0 == tid).ok_or_else(|| {
                Response::bad_param("formTemplate", &format!("template `{tid}` does not exist"))
            })?;
            // Required by the 14.x SDK; the 4.1 SDK cannot send it, so a missing status means `notStarted`.
            if want_str(&body, "status")?.is_some_and(|x| x != "notStarted") {
                return Err(Response::bad_param("status", "must be `notStarted`"));
            }
            let mut st = sb.store();
            let id = crate::streams::uuid(
                hash(sb.cfg.seed, &[now.unsigned_abs(), st.forms.len() as u64, 83]),
                hash(sb.cfg.seed, &[84, st.forms.len() as u64]),
            );
            let mut j = json!({"id": id, "formTemplate": {"id": t.0, "revisionId": t.1}, "status": "notStarted", "isRequired": false, "fields": [],
                "createdAtTime": rfc3339_ms(now), "submittedAtTime": rfc3339_ms(now), "submittedBy": {"id": "1", "type": "user"}});
            for (k, v) in fields {
                j[k] = v;
            }
            st.forms.insert(id, j.clone());
            return Ok(Response::data(j));
        }
        let id = want_str(&body, "id")?
            .ok_or_else(|| Response::bad_param("id", "is required"))?
            .to_string();
        let exists = sb
            .store()
            .forms
            .get(&id)
            .is_some_and(|f| f.get("formTemplate").is_some())
            || all(sb, sb.model.origin, sb.clock.now_s())
                .iter()
                .any(|i| i.key == id);
        if !exists {
            return Err(Response::not_found(&format!("form submission {id}")));
        }
        {
            let mut st = sb.store();
            let e = st.forms.entry(id.clone()).or_insert_with(|| json!({}));
            if let Some(o) = e.as_object_mut() {
                o.extend(fields);
            }
        }
        let cur = all(sb, sb.model.origin, sb.clock.now_s())
            .into_iter()
            .find(|i| i.key == id)
            .map_or(Value::Null, |i| i.json);
        Ok(Response::data(cur))
    };
    run().unwrap_or_else(|e| e)
}
