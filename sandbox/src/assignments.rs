//! Driver–vehicle assignments on `/fleet/driver-vehicle-assignments` (no `{id}`: PATCH and DELETE
//! identify assignments in the JSON body). Reads combine HOS assignments generated from the trip
//! model (one per vehicle-day with trips) with those created through the API.

use serde_json::{json, Value};

use crate::entities::{paged, want_str};
use crate::http::{Request, Response};
use crate::router::Sandbox;
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};

/// One assignment row: start ms, driver ID, vehicle ID, end ms, type, source name, passenger, assigned-at ms.
type Row<'a> = (
    i64,
    String,
    String,
    Option<i64>,
    &'a str,
    Option<String>,
    bool,
    i64,
);

const TYPES: [&str; 13] = [
    "HOS",
    "idCard",
    "static",
    "faceId",
    "tachograph",
    "safetyManual",
    "RFID",
    "trailer",
    "external",
    "qrCode",
    "driverApp",
    "voiceSignIn",
    "smartAssign",
];

fn time_field(body: &serde_json::Map<String, Value>, key: &str) -> Result<Option<i64>, Response> {
    match want_str(body, key)? {
        None => Ok(None),
        Some(s) => parse_rfc3339_ms(s)
            .map(Some)
            .ok_or_else(|| Response::bad_param(key, "must be an RFC 3339 timestamp")),
    }
}

/// `GET /fleet/driver-vehicle-assignments`.
#[allow(clippy::many_single_char_names)]
pub(crate) fn list(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let run = || -> Result<Response, Response> {
        let by = req
            .param("filterBy")
            .ok_or_else(|| Response::bad_param("filterBy", "is required (`drivers` or `vehicles`)"))?;
        if by != "drivers" && by != "vehicles" {
            return Err(Response::bad_param("filterBy", "must be `drivers` or `vehicles`"));
        }
        let now = sb.clock.now_ms();
        let s = req.time_param("startTime")?.unwrap_or(now);
        let e = req.time_param("endTime")?.unwrap_or(now);
        if e < s {
            return Err(Response::bad_param("endTime", "must not be before startTime"));
        }
        let ty = req.param("assignmentType");
        if ty.is_some_and(|t| !TYPES.contains(&t)) {
            return Err(Response::bad_param("assignmentType", "unknown assignment type"));
        }
        let source = req.param("sourceName");
        let st = sb.store();
        let drivers: Vec<String> = req
            .list("driverIds")
            .iter()
            .map(|d| {
                st.find_driver(d)
                    .map(|i| st.drivers[i]["id"].as_str().unwrap_or("").to_string())
                    .ok_or_else(|| Response::bad_param("driverIds", &format!("driver `{d}` does not exist")))
            })
            .collect::<Result<_, _>>()?;
        let vehicles: Vec<usize> = req
            .list("vehicleIds")
            .iter()
            .map(|v| {
                st.find_vehicle(v).ok_or_else(|| {
                    Response::bad_param("vehicleIds", &format!("vehicle `{v}` does not exist"))
                })
            })
            .collect::<Result<_, _>>()?;
        let mut rows: Vec<Row<'_>> = Vec::new();
        let (lo, hi) = (
            s.div_euclid(1000).max(sb.model.origin - 86_400),
            e.div_euclid(1000),
        );
        let days = sb.model.days(lo - 86_400, hi);
        for v in 0..sb.fleet.vehicles.len() {
            for d in sb.model.day_of(v, lo)..=sb.model.day_of(v, hi) {
                let trips = &days.get(v, d).trips;
                let (Some(f), Some(l)) = (trips.first(), trips.last()) else {
                    continue;
                };
                let Some(di) = sb.model.driver_for(v, d, sb.fleet.drivers.len()) else {
                    continue;
                };
                if f.start * 1000 > now {
                    continue;
                }
                let end = (l.end * 1000 <= now).then_some(l.end * 1000);
                rows.push((
                    f.start * 1000,
                    sb.fleet.drivers[di].id.clone(),
                    sb.fleet.vehicles[v].id.clone(),
                    end,
                    "HOS",
                    None,
                    false,
                    f.start * 1000,
                ));
            }
        }
        for a in &st.assignments {
            rows.push((
                a["start"].as_i64().unwrap_or(0),
                a["driverId"].as_str().unwrap_or("").into(),
                a["vehicleId"].as_str().unwrap_or("").into(),
                a["end"].as_i64(),
                "external",
                a["sourceName"].as_str().map(str::to_string),
                a["isPassenger"].as_bool().unwrap_or(false),
                a["assignedAt"].as_i64().unwrap_or(0),
            ));
        }
        rows.sort_by(|a, b| (a.0, &a.2, &a.1).cmp(&(b.0, &b.2, &b.1)));
        let items = rows
            .into_iter()
            .filter(|r| r.0 <= e && r.3.is_none_or(|x| x >= s))
            .filter(|r| ty.is_none_or(|t| t == r.4) && source.is_none_or(|src| r.5.as_deref() == Some(src)))
            .filter(|r| drivers.is_empty() || drivers.contains(&r.1))
            .filter(|r| vehicles.is_empty() || st.find_vehicle(&r.2).is_some_and(|i| vehicles.contains(&i)))
            .map(|(start, did, vid, end, ty, src, pass, assigned)| {
                let d = st.find_driver(&did).map(|i| (st.drivers[i]["name"].clone(), st.drivers[i].get("externalIds").cloned().unwrap_or(json!({}))));
                let v = st.find_vehicle(&vid).map(|i| (st.vehicles[i]["name"].clone(), st.vehicle_external_ids(i)));
                let mut j = json!({"driver": {"id": did}, "vehicle": {"id": vid}, "startTime": rfc3339_ms(start), "assignedAtTime": rfc3339_ms(assigned),
                    "assignmentType": ty, "isPassenger": pass});
                if let Some((n, x)) = d {
                    j["driver"]["name"] = n;
                    j["driver"]["externalIds"] = x;
                }
                if let Some((n, x)) = v {
                    j["vehicle"]["name"] = n;
                    j["vehicle"]["externalIds"] = x;
                }
                if let Some(e) = end {
                    j["endTime"] = json!(rfc3339_ms(e));
                }
                if let Some(s) = src {
                    j["metadata"] = json!({"sourceName": s});
                }
                j
            })
            .collect();
        Ok(paged(items, req, repeat))
    };
    run().unwrap_or_else(|e| e)
}

/// `POST`, `PATCH` and `DELETE /fleet/driver-vehicle-assignments`.
pub(crate) fn write(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let Value::Object(body) = req.json()? else {
            return Err(Response::error(400, "request body must be a JSON object"));
        };
        let now = sb.clock.now_ms();
        let mut st = sb.store();
        let resolve_v = |st: &crate::store::Store, req_: bool| -> Result<Option<String>, Response> {
            match want_str(&body, "vehicleId")? {
                Some(v) => st
                    .find_vehicle(v)
                    .map(|i| Some(st.vehicles[i]["id"].as_str().unwrap_or("").to_string()))
                    .ok_or_else(|| {
                        Response::bad_param("vehicleId", &format!("vehicle `{v}` does not exist"))
                    }),
                None if req_ => Err(Response::bad_param("vehicleId", "is required")),
                None => Ok(None),
            }
        };
        let resolve_d = |st: &crate::store::Store, req_: bool| -> Result<Option<String>, Response> {
            match want_str(&body, "driverId")? {
                Some(d) => st
                    .find_driver(d)
                    .map(|i| Some(st.drivers[i]["id"].as_str().unwrap_or("").to_string()))
                    .ok_or_else(|| Response::bad_param("driverId", &format!("driver `{d}` does not exist"))),
                None if req_ => Err(Response::bad_param("driverId", "is required")),
                None => Ok(None),
            }
        };
        let source = body
            .get("metadata")
            .and_then(|m| m.get("sourceName"))
            .and_then(Value::as_str)
            .map(str::to_string);
        match req.method.as_str() {
            "POST" => {
                let v = resolve_v(&st, true)?;
                let d = resolve_d(&st, true)?;
                let start = time_field(&body, "startTime")?.unwrap_or(now);
                let end = time_field(&body, "endTime")?;
                if end.is_some_and(|e| e < start) {
                    return Err(Response::bad_param("endTime", "must not be before startTime"));
                }
                st.assignments.push(json!({"vehicleId": v, "driverId": d, "start": start, "end": end, "isPassenger": body.get("isPassenger").and_then(Value::as_bool).unwrap_or(false),
                    "assignedAt": time_field(&body, "assignedAtTime")?.unwrap_or(now), "sourceName": source}));
                Ok(Response::data(json!({"message": "assignment created"})))
            }
            "PATCH" => {
                let (v, d, start) = (
                    resolve_v(&st, false)?,
                    resolve_d(&st, false)?,
                    time_field(&body, "startTime")?,
                );
                if source.is_none() && (v.is_none() || d.is_none() || start.is_none()) {
                    return Err(Response::bad_param(
                        "startTime",
                        "vehicleId, driverId and startTime (or metadata.sourceName) identify the assignment",
                    ));
                }
                let end = match body.get("endTime") {
                    Some(Value::Null) => Some(None),
                    Some(_) => Some(time_field(&body, "endTime")?),
                    None => None,
                };
                let found = st.assignments.iter_mut().find(|a| match (&v, &d, start) {
                    (Some(v), Some(d), Some(s)) => {
                        a["vehicleId"] == v.as_str() && a["driverId"] == d.as_str() && a["start"] == s
                    }
                    _ => source.as_deref().is_some_and(|src| a["sourceName"] == src),
                });
                let Some(a) = found else {
                    return Err(Response::not_found("assignment"));
                };
                if let Some(e) = end {
                    a["end"] = json!(e);
                }
                if let Some(p) = body.get("isPassenger").and_then(Value::as_bool) {
                    a["isPassenger"] = json!(p);
                }
                Ok(Response::data(json!({"message": "assignment updated"})))
            }
            _ => {
                let v = resolve_v(&st, true)?;
                let (s, e) = (
                    time_field(&body, "startTime")?.unwrap_or(i64::MIN),
                    time_field(&body, "endTime")?.unwrap_or(i64::MAX),
                );
                st.assignments.retain(|a| {
                    !(a["vehicleId"].as_str() == v.as_deref()
                        && a["start"].as_i64().unwrap_or(0) <= e
                        && a["end"].as_i64().is_none_or(|x| x >= s))
                });
                Ok(Response::no_content())
            }
        }
    };
    run().unwrap_or_else(|e| e)
}

/// Generated (driver-app) assignments overlapping `[s, e]` (Unix ms): (start ms, end ms, driver index, vehicle index).
fn generated(sb: &Sandbox, s: i64, e: i64) -> Vec<(i64, Option<i64>, usize, usize)> {
    let now = sb.clock.now_ms();
    let (lo, hi) = (
        s.div_euclid(1000).max(sb.model.origin - 86_400),
        e.div_euclid(1000),
    );
    let days = sb.model.days(lo - 86_400, hi);
    let mut out = Vec::new();
    for v in 0..sb.fleet.vehicles.len() {
        for d in sb.model.day_of(v, lo)..=sb.model.day_of(v, hi) {
            let trips = &days.get(v, d).trips;
            let (Some(f), Some(l)) = (trips.first(), trips.last()) else {
                continue;
            };
            let Some(di) = sb.model.driver_for(v, d, sb.fleet.drivers.len()) else {
                continue;
            };
            let end = (l.end * 1000 <= now).then_some(l.end * 1000);
            if f.start * 1000 <= e.min(now) && end.is_none_or(|x| x >= s) {
                out.push((f.start * 1000, end, di, v));
            }
        }
    }
    out
}

/// The legacy window: `startTime`/`endTime` default to now, at most 7 days apart.
fn legacy_window(sb: &Sandbox, req: &Request) -> Result<(i64, i64), Response> {
    let now = sb.clock.now_ms();
    let s = req.time_param("startTime")?.unwrap_or(now);
    let e = req.time_param("endTime")?.unwrap_or(now);
    if e < s || e - s > 7 * 86_400_000 {
        return Err(Response::bad_param(
            "endTime",
            "must be after startTime and at most 7 days after it",
        ));
    }
    Ok((s, e))
}

fn span(start: i64, end: Option<i64>) -> Value {
    let mut j = json!({"startTime": rfc3339_ms(start), "isPassenger": false, "assignmentType": "driverApp"});
    if let Some(e) = end {
        j["endTime"] = json!(rfc3339_ms(e));
    }
    j
}

/// `GET /fleet/drivers/vehicle-assignments` (legacy, driver-app assignments per driver).
pub(crate) fn legacy_by_driver(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let run = || -> Result<Response, Response> {
        let (s, e) = legacy_window(sb, req)?;
        let status = req
            .enum_param("driverActivationStatus", &["active", "deactivated"])?
            .unwrap_or("active");
        let rows = generated(sb, s, e);
        let st = sb.store();
        let wanted: Vec<usize> = req
            .list("driverIds")
            .iter()
            .map(|d| {
                st.find_driver(d)
                    .ok_or_else(|| Response::bad_param("driverIds", &format!("driver `{d}` does not exist")))
            })
            .collect::<Result<_, _>>()?;
        let tagged = st.tag_filter("drivers", &req.list("tagIds"), &req.list("parentTagIds"))?;
        let items = (0..st.drivers.len())
            .filter(|&i| wanted.is_empty() || wanted.contains(&i))
            .filter(|&i| st.drivers[i]["driverActivationStatus"] == status)
            .filter(|&i| tagged.as_ref().is_none_or(|t| st.drivers[i]["id"].as_str().is_some_and(|id| t.contains(id))))
            .map(|i| {
                let id = st.drivers[i]["id"].as_str().unwrap_or("");
                let spans: Vec<Value> = rows.iter().filter(|r| sb.fleet.drivers[r.2].id == id).map(|r| {
                    let mut j = span(r.0, r.1);
                    j["vehicle"] = json!({"id": st.vehicles[r.3]["id"], "name": st.vehicles[r.3]["name"], "externalIds": st.vehicle_external_ids(r.3)});
                    j
                }).collect();
                json!({"id": id, "name": st.drivers[i]["name"], "driverActivationStatus": status, "externalIds": st.drivers[i].get("externalIds").cloned().unwrap_or(json!({})), "vehicleAssignments": spans})
            })
            .collect();
        Ok(paged(items, req, repeat))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /fleet/vehicles/driver-assignments` (legacy, assignments per vehicle).
pub(crate) fn legacy_by_vehicle(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let run = || -> Result<Response, Response> {
        let (s, e) = legacy_window(sb, req)?;
        let assets = crate::events::assets(sb, req, "vehicleIds", 100_000, true)?;
        let rows = generated(sb, s, e);
        let st = sb.store();
        let items = assets
            .iter()
            .map(|a| {
                let spans: Vec<Value> = rows
                    .iter()
                    .filter(|r| r.3 == a.v)
                    .map(|r| {
                        let mut j = span(r.0, r.1);
                        let d = &sb.fleet.drivers[r.2];
                        let ext = st
                            .find_driver(&d.id)
                            .and_then(|i| st.drivers[i].get("externalIds").cloned())
                            .unwrap_or(json!({}));
                        j["driver"] = json!({"id": d.id, "name": d.name, "externalIds": ext});
                        j
                    })
                    .collect();
                json!({"id": a.id, "name": a.name, "externalIds": a.ext, "driverAssignments": spans})
            })
            .collect();
        Ok(paged(items, req, repeat))
    };
    run().unwrap_or_else(|e| e)
}

/// The API-created assignment an FMC assignment change names: its vehicle (`vehicleId`, or
/// `fmcVehicleId` as the external ID `fmcId`), driver (likewise) and `startTime`. Indices into
/// `st.assignments`.
fn named(st: &crate::store::Store, d: &Value) -> Vec<usize> {
    let find = |samsara: &str, fmc: &str, vehicle: bool| -> Option<String> {
        let key = d[samsara]
            .as_str()
            .map(str::to_string)
            .or_else(|| d[fmc].as_str().map(|f| format!("fmcId:{f}")))?;
        if vehicle {
            st.find_vehicle(&key)
                .map(|i| st.vehicles[i]["id"].as_str().unwrap_or("").to_string())
        } else {
            st.find_driver(&key)
                .map(|i| st.drivers[i]["id"].as_str().unwrap_or("").to_string())
        }
    };
    let (Some(v), Some(dr), Some(start)) = (
        find("vehicleId", "fmcVehicleId", true),
        find("driverId", "fmcDriverId", false),
        d["startTime"].as_str().and_then(parse_rfc3339_ms),
    ) else {
        return Vec::new();
    };
    (0..st.assignments.len())
        .filter(|&i| {
            let a = &st.assignments[i];
            a["vehicleId"] == v.as_str() && a["driverId"] == dr.as_str() && a["start"] == start
        })
        .collect()
}

/// How many API-created assignments an `assignment.created` change produced.
pub(crate) fn copies(sb: &Sandbox, d: &Value) -> usize {
    named(&sb.store(), d).len()
}

/// Whether the assignment an `assignment.changed` or `assignment.ended` change names shows its
/// `endTime` (null: ongoing) and `isPassenger`, where given.
pub(crate) fn shows(sb: &Sandbox, d: &Value) -> bool {
    let st = sb.store();
    let found = named(&st, d);
    let [i] = found[..] else {
        return false;
    };
    let a = &st.assignments[i];
    let end_ok = match d.get("endTime") {
        None => true,
        Some(Value::Null) => a["end"].is_null(),
        Some(e) => e
            .as_str()
            .and_then(parse_rfc3339_ms)
            .is_some_and(|e| a["end"] == e),
    };
    end_ok && d.get("isPassenger").is_none_or(|p| a["isPassenger"] == *p)
}
