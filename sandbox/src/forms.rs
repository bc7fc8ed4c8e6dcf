//! Forms: `GET /form-templates`, `GET /form-submissions` (by IDs), `GET /form-submissions/stream`,
//! `POST` and `PATCH /form-submissions`. Each driver-day with trips has a pre-trip inspection, and
//! some have a fuel receipt, proofs of delivery, an incident report or a form the office assigned and
//! the driver has not finished, in the states a reviewed workflow goes through. API-created
//! submissions and writes are kept in the store; submitted field inputs are checked against the
//! template ([`crate::formtemplates`]).

use serde_json::{json, Map, Value};

use crate::entities::{paged, want_str};
use crate::formtemplates::{check_inputs, find, input, merge_inputs, template_json, Template, TEMPLATES};
use crate::http::{Request, Response};
use crate::rng::{hash, unit};
use crate::router::{PageFault, Sandbox};
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};
use crate::streams::{page, ts, Item, Window};

/// The statuses `PATCH /form-submissions` may set (the request enum lacks `completed` and
/// `needsReview`: only the driver's app submits a form).
const PATCH_STATUSES: [&str; 6] = [
    "notStarted",
    "archived",
    "inProgress",
    "changesRequested",
    "approved",
    "denied",
];

/// `GET /form-templates`.
pub(crate) fn templates(req: &Request) -> Response {
    let ids = match req.capped_list("ids", 100) {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    let items = TEMPLATES
        .iter()
        .filter(|t| ids.is_empty() || ids.iter().any(|x| x == t.id))
        .map(template_json)
        .collect();
    paged(items, req, false)
}

/// One generated submission: what it is and when.
struct Gen {
    /// Template index.
    template: usize,
    /// Serial within the vehicle-day.
    n: u64,
    /// Created (s).
    at: i64,
}

/// The forms of vehicle `v` on a day whose trips start at `first` and end at `last` (s).
fn plan(sb: &Sandbox, v: usize, d: i64, first: i64, last: i64) -> Vec<Gen> {
    let h = |salt: u64| unit(hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), salt]));
    let mut out = vec![Gen {
        template: 0,
        n: 0,
        at: first - 600,
    }];
    let span = (last - first).max(3600);
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let within = |x: f64| first + (x * span as f64) as i64;
    if h(90) < 0.3 {
        out.push(Gen {
            template: 1,
            n: 1,
            at: within(h(91)),
        });
    }
    // Delivery vans and pickups run routes: one to three proofs of delivery.
    if sb.fleet.vehicles[v].kind != crate::fleet::Kind::Heavy && h(92) < 0.5 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let stops = 1 + (h(93) * 3.0) as u64;
        for s in 0..stops {
            #[allow(clippy::cast_precision_loss)]
            out.push(Gen {
                template: 2,
                n: 2 + s,
                at: within((s as f64 + h(94 + s)) / stops as f64),
            });
        }
    }
    if h(98) < 0.03 {
        out.push(Gen {
            template: 3,
            n: 9,
            at: within(h(99)),
        });
    }
    out
}

/// A later review by the office: status, delay after submission (s), comment.
type Review = Option<(&'static str, i64, &'static str)>;

const RECEIVERS: [&str; 6] = [
    "J. Ortiz",
    "Dock 4",
    "M. Chen",
    "Front desk",
    "R. Patel",
    "S. Novak",
];
const STATIONS: [&str; 4] = ["Pilot #412", "Love's #233", "TA Express", "Shell Fleet"];

/// A generated submission (`g` of vehicle `v` on day `d`) as it stands at `now` (s): its ID, JSON and
/// ordering time (ms). A review the office makes later shows only once its time has come.
#[allow(clippy::cast_precision_loss)]
fn generated(sb: &Sandbox, v: usize, d: i64, form: &Gen, now: i64) -> (String, Value, i64) {
    let tpl: &Template = &TEMPLATES[form.template];
    let salt = 81 + form.n * 16;
    let id = format!(
        "{d:08x}-{v:04x}-4{:03x}-9000-{:012x}",
        form.n,
        hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), salt]) & 0xffff_ffff_ffff
    );
    let hx = hash(sb.cfg.seed, &[v as u64, d.unsigned_abs(), salt + 1]);
    let draw = |k: u64| unit(hash(hx, &[k]));
    let driver = sb
        .model
        .driver_for(v, d, sb.fleet.drivers.len())
        .map_or_else(|| "0".to_string(), |i| sb.fleet.drivers[i].id.clone());
    let at = form.at;
    let days = sb.model.days(at - 86_400, at);
    let odo = sb.model.odometer(&days, v, at);
    let (lat, lon, _) = sb.model.position(v, odo);
    let heavy = sb.fleet.vehicles[v].kind == crate::fleet::Kind::Heavy;
    let answer = |i: usize, value: Value| input(&tpl.fields[i], value);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let pick = |k: u64, n: usize| ((draw(k) * n as f64) as usize).min(n - 1);
    // (fields, status on submission, later review: (status, delay s, comment))
    let (fields, submitted, review): (Vec<Value>, &str, Review) = match form.template {
        0 => {
            let ok = hx % 10 != 0;
            #[allow(clippy::cast_possible_truncation)]
            let km = (odo / 1000.0).round() as i64;
            let fields = vec![
                answer(0, json!({"value": km})),
                answer(
                    1,
                    if ok {
                        json!({"value": "Yes", "valueId": "o-yes"})
                    } else {
                        json!({"value": "No", "valueId": "o-no"})
                    },
                ),
                answer(
                    2,
                    json!({"value": if ok { "All good" } else { "Front left tire worn" }}),
                ),
            ];
            if ok {
                (
                    fields,
                    "completed",
                    (draw(1) < 0.12).then_some(("approved", 5400, "Reviewed")),
                )
            } else {
                (
                    fields,
                    "needsReview",
                    Some(("approved", 3 * 3600, "Tire swapped at the yard")),
                )
            }
        }
        1 => {
            let litres = if heavy {
                150.0 + 350.0 * draw(2)
            } else {
                30.0 + 60.0 * draw(2)
            };
            let fields = vec![
                answer(0, json!({"value": (litres * 10.0).round() / 10.0})),
                answer(1, json!({"value": STATIONS[pick(3, STATIONS.len())]})),
            ];
            let review = if draw(4) < 0.12 {
                ("denied", 20 * 3600, "Receipt unreadable; upload it again")
            } else {
                ("approved", 8 * 3600, "OK")
            };
            (fields, "needsReview", (draw(5) < 0.9).then_some(review))
        }
        2 => {
            let c = draw(6);
            let cond = if c < 0.94 {
                0
            } else if c < 0.98 {
                1
            } else {
                2
            };
            let opts = crate::formtemplates::CONDITIONS;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let pieces = 1 + (draw(7) * 30.0) as i64;
            let fields = vec![
                answer(0, json!({"type": "datetime", "value": ts(at)})),
                answer(1, json!({"value": opts[cond].1, "valueId": opts[cond].0})),
                answer(2, json!({"value": pieces})),
                answer(3, json!({"value": RECEIVERS[pick(8, RECEIVERS.len())]})),
            ];
            (fields, "completed", None)
        }
        _ => {
            let k = draw(9);
            let kind = if k < 0.6 {
                ("o-near-miss", "Near miss")
            } else if k < 0.9 {
                ("o-collision", "Collision")
            } else {
                ("o-injury", "Injury")
            };
            let fields = vec![
                answer(0, json!({"value": kind.1, "valueId": kind.0})),
                answer(1, json!({"value": ["Other vehicle"], "valueIds": ["o-vehicle"]})),
                answer(
                    2,
                    json!({"value": "Backing out of the dock, touched the bumper of a parked car"}),
                ),
            ];
            let review = if draw(10) < 0.4 {
                ("changesRequested", 6 * 3600, "Add photos of the damage")
            } else {
                ("approved", 26 * 3600, "Insurance notified")
            };
            (fields, "needsReview", Some(review))
        }
    };
    let base = json!({"id": id, "formTemplate": {"id": tpl.id, "revisionId": tpl.revision}, "title": tpl.title,
        "isRequired": form.template == 0, "createdAtTime": ts(at), "submittedBy": {"id": driver, "type": "driver"},
        "asset": {"entryType": "tracked", "id": sb.fleet.vehicles[v].id},
        "location": {"latitude": (lat * 1e6).round() / 1e6, "longitude": (lon * 1e6).round() / 1e6}});
    let mut j = base;
    // A proof of delivery the office assigned: ~8 % not yet opened, ~6 % half filled in.
    let open = form.template == 2 && draw(11) < 0.14;
    if open {
        let started = draw(11) >= 0.08;
        j["status"] = json!(if started { "inProgress" } else { "notStarted" });
        j["assignedTo"] = json!({"id": driver, "type": "driver"});
        j["assignedAtTime"] = json!(ts(at - 3600));
        j["dueAtTime"] = json!(ts(at + 4 * 3600));
        j["submittedAtTime"] = json!(ts(at));
        j["updatedAtTime"] = json!(ts(at));
        j["fields"] = if started { json!(fields[..2]) } else { json!([]) };
        return (id, j, at * 1000);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let took = 90_000 + (draw(12) * 600_000.0) as i64;
    j["status"] = json!(submitted);
    j["submittedAtTime"] = json!(ts(at));
    j["durationMs"] = json!(took);
    j["fields"] = json!(fields);
    let mut upd = at;
    if let Some((status, delay, comment)) = review.filter(|r| at + r.1 <= now) {
        j["status"] = json!(status);
        j["approvalDetails"] = json!({"comment": comment});
        upd = at + delay;
    }
    j["updatedAtTime"] = json!(ts(upd));
    (id, j, upd * 1000)
}

/// The current version of every submission (generated ones overlaid by writes), with ordering times.
fn all(sb: &Sandbox, lo: i64, hi: i64) -> Vec<Item> {
    let days = sb.model.days(lo - 86_400, hi);
    let now = sb.clock.now_s();
    let mut items = Vec::new();
    let stored = sb.store().forms.clone();
    for v in 0..sb.fleet.vehicles.len() {
        for d in sb.model.day_of(v, lo)..=sb.model.day_of(v, hi) {
            let trips = &days.get(v, d).trips;
            let (Some(first), Some(last)) = (trips.first(), trips.last()) else {
                continue;
            };
            for g in plan(sb, v, d, first.start, last.end) {
                if g.at > now || (g.template == 1 && sb.fleet.vehicles[v].kind == crate::fleet::Kind::Ev) {
                    continue;
                }
                let (id, mut j, mut at) = generated(sb, v, d, &g, now);
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
        // A review can come a day after the submission: look back far enough to find it.
        let mut items = all(sb, lo - 2 * 86_400, hi);
        items.retain(|i| {
            templates.is_empty()
                || templates
                    .iter()
                    .any(|t| i.json["formTemplate"]["id"] == t.as_str())
        });
        items.retain(|i| {
            drivers.is_empty() || drivers.iter().any(|d| i.json["submittedBy"]["id"] == d.as_str())
        });
        if include_ext(req)? {
            let st = sb.store();
            for i in &mut items {
                let vi = i.json["asset"]["id"].as_str().and_then(|a| st.find_vehicle(a));
                if let Some(vi) = vi {
                    i.json["asset"]["externalIds"] = st.vehicle_external_ids(vi);
                }
            }
        }
        Ok(page(items, req, &w, None, pf))
    };
    run().unwrap_or_else(|e| e)
}

/// `include`: only `externalIds` (the assets' external IDs).
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

/// The submission's current JSON, if it exists.
fn current(sb: &Sandbox, id: &str) -> Option<Value> {
    all(sb, sb.model.origin, sb.clock.now_s())
        .into_iter()
        .find(|i| i.key == id)
        .map(|i| i.json)
}

/// `POST /form-submissions` and `PATCH /form-submissions` (ID in the body).
pub(crate) fn write(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let Value::Object(body) = req.json()? else {
            return Err(Response::error(400, "request body must be a JSON object"));
        };
        // A write moves the simulated clock on by a millisecond (as `PATCH /fleet/defects` does), so
        // the new version is stamped after everything a stream read has served: with the clock
        // standing still it could otherwise sort behind a stream cursor and never be read.
        sb.clock.advance_ms(1);
        let now = sb.clock.now_ms();
        let post = req.method == "POST";
        if let Some(s) = want_str(&body, "status")? {
            // Only `notStarted` on POST (required by the 14.x SDK; the 4.1 SDK cannot send it, so a
            // missing status means `notStarted`); the PATCH request enum otherwise.
            let allowed: &[&str] = if post { &["notStarted"] } else { &PATCH_STATUSES };
            if !allowed.contains(&s) {
                let verb = if post { "POST" } else { "PATCH" };
                return Err(Response::bad_param(
                    "status",
                    &format!(
                        "`{s}` cannot be set by {verb}; use one of `{}`",
                        allowed.join("`, `")
                    ),
                ));
            }
        }
        if let Some(to) = body.get("assignedTo") {
            let id = to.get("id").and_then(Value::as_str).unwrap_or_default();
            match to.get("type").and_then(Value::as_str) {
                Some("driver") if sb.store().find_driver(id).is_none() => {
                    return Err(Response::bad_param(
                        "assignedTo",
                        &format!("driver `{id}` does not exist"),
                    ));
                }
                Some("driver" | "user") if !id.is_empty() => {}
                _ => {
                    return Err(Response::bad_param(
                        "assignedTo",
                        "must be {\"id\": …, \"type\": \"driver\" or \"user\"}",
                    ))
                }
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
        ] {
            if let Some(v) = body.get(k) {
                fields.insert(k.to_string(), v.clone());
            }
        }
        fields.insert("updatedAtTime".into(), json!(rfc3339_ms(now)));
        if post {
            let tid = body
                .get("formTemplate")
                .and_then(|t| t.get("id"))
                .and_then(Value::as_str)
                .ok_or_else(|| Response::bad_param("formTemplate", "is required: {\"id\": …}"))?;
            let t = find(tid).ok_or_else(|| {
                Response::bad_param("formTemplate", &format!("template `{tid}` does not exist"))
            })?;
            let inputs = body.get("fields").map(|f| check_inputs(t, f)).transpose()?;
            let mut st = sb.store();
            let id = crate::streams::uuid(
                hash(sb.cfg.seed, &[now.unsigned_abs(), st.forms.len() as u64, 83]),
                hash(sb.cfg.seed, &[84, st.forms.len() as u64]),
            );
            let mut j = json!({"id": id, "formTemplate": {"id": t.id, "revisionId": t.revision}, "status": "notStarted", "isRequired": false, "fields": [],
                "createdAtTime": rfc3339_ms(now), "submittedAtTime": rfc3339_ms(now), "submittedBy": {"id": "1", "type": "user"}});
            for (k, v) in fields {
                j[k] = v;
            }
            if let Some(inputs) = inputs {
                j["fields"] = merge_inputs(t, &json!([]), inputs);
            }
            st.forms.insert(id, j.clone());
            return Ok(Response::data(j));
        }
        let id = want_str(&body, "id")?
            .ok_or_else(|| Response::bad_param("id", "is required"))?
            .to_string();
        let cur = current(sb, &id).ok_or_else(|| Response::not_found(&format!("form submission {id}")))?;
        if let Some(given) = body.get("fields") {
            let tid = cur["formTemplate"]["id"].as_str().unwrap_or_default();
            let t = find(tid).ok_or_else(|| {
                Response::bad_param("fields", &format!("template `{tid}` of the submission is gone"))
            })?;
            let inputs = check_inputs(t, given)?;
            fields.insert("fields".into(), merge_inputs(t, &cur["fields"], inputs));
        }
        {
            let mut st = sb.store();
            let e = st.forms.entry(id.clone()).or_insert_with(|| json!({}));
            if let Some(o) = e.as_object_mut() {
                o.extend(fields);
            }
        }
        Ok(Response::data(current(sb, &id).unwrap_or(Value::Null)))
    };
    run().unwrap_or_else(|e| e)
}

#[cfg(test)]
mod tests {
    /// Every submission `status` a read may return.
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

    #[test]
    fn patch_statuses_are_read_statuses() {
        assert!(super::PATCH_STATUSES.iter().all(|s| STATUSES.contains(s)));
    }
}
