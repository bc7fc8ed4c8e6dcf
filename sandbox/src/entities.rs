//! Handlers for organisation info, vehicles, drivers and tags: reads with Samsara's paging and filters,
//! and writes (merge-patch semantics, external-ID uniqueness) that later reads see.

use serde_json::{json, Map, Value};

use crate::http::{Request, Response};
use crate::model::Counter;
use crate::router::Sandbox;
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};
use crate::store::{Entity, Store};

/// Encodes a list offset as an opaque cursor.
pub(crate) fn offset_cursor(n: usize) -> String {
    format!("b2Zmc2V0{n:x}")
}

/// Decodes an offset cursor (400 naming `after` on garbage).
pub(crate) fn parse_offset(after: Option<&str>) -> Result<usize, Response> {
    match after {
        None => Ok(0),
        Some(a) => a
            .strip_prefix("b2Zmc2V0")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| Response::bad_param("after", "not a cursor returned by this endpoint")),
    }
}

/// One page of a finite list: `{"data": [...], "pagination": {...}}`, `endCursor: ""` on the last page.
pub(crate) fn paged(items: Vec<Value>, req: &Request, repeat: bool) -> Response {
    let limit = match req.int_param("limit", 1, 512) {
        Ok(l) => usize::try_from(l.unwrap_or(512)).unwrap_or(512),
        Err(e) => return e,
    };
    match parse_offset(req.param("after")) {
        Ok(s) => page_of(items, s.saturating_sub(if repeat { 2 } else { 0 }), limit),
        Err(e) => e,
    }
}

/// `items[start..start + limit]` as a page, with the offset cursor of the next one.
pub(crate) fn page_of(items: Vec<Value>, start: usize, limit: usize) -> Response {
    let end = (start + limit).min(items.len());
    let has_next = end < items.len();
    let data: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Response::json(
        200,
        &json!({"data": data, "pagination": {"endCursor": if has_next { offset_cursor(end) } else { String::new() }, "hasNextPage": has_next}}),
    )
}

/// `GET /me`.
pub(crate) fn me(sb: &Sandbox) -> Response {
    Response::data(
        json!({"id": sb.org_id, "name": format!("Sandbox Freight Co (seed {})", sb.cfg.seed),
        "carrierSettings": {"carrierName": "Sandbox Freight Co", "dotNumber": 3_141_592, "mainOfficeAddress": "100 Main St, Dallas, TX 75201"}}),
    )
}

fn vehicle_json(st: &Store, i: usize) -> Value {
    let mut v = Value::Object(st.vehicles[i].clone());
    let id = v["id"].as_str().unwrap_or("").to_string();
    v["externalIds"] = st.vehicle_external_ids(i);
    v["tags"] = Value::Array(st.tags_of("vehicles", &id));
    if let Some(d) = v
        .as_object_mut()
        .and_then(|o| o.remove("staticAssignedDriverId"))
        .and_then(|d| d.as_str().map(str::to_string))
    {
        if let Some(di) = st.find_driver(&d) {
            v["staticAssignedDriver"] = json!({"id": d, "name": st.drivers[di]["name"]});
        }
    }
    for k in ["odometerMeters", "engineHours", "gatewaySerial", "tagIds"] {
        if let Some(o) = v.as_object_mut() {
            o.remove(k);
        }
    }
    v
}

fn time_filters(req: &Request) -> Result<(Option<i64>, Option<i64>), Response> {
    Ok((
        req.time_param("updatedAfterTime")?,
        req.time_param("createdAfterTime")?,
    ))
}

fn passes_time(rec: &Map<String, Value>, upd: Option<i64>, cre: Option<i64>) -> bool {
    let t = |k: &str| {
        rec.get(k)
            .and_then(Value::as_str)
            .and_then(parse_rfc3339_ms)
            .unwrap_or(0)
    };
    upd.is_none_or(|u| t("updatedAtTime") >= u) && cre.is_none_or(|c| t("createdAtTime") >= c)
}

/// `GET /fleet/vehicles`.
pub(crate) fn list_vehicles(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let st = sb.store();
    let (upd, cre) = match time_filters(req) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let tagged = match st.tag_filter("vehicles", &req.list("tagIds"), &req.list("parentTagIds")) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let items = (0..st.vehicles.len())
        .filter(|&i| passes_time(&st.vehicles[i], upd, cre))
        .filter(|&i| {
            tagged
                .as_ref()
                .is_none_or(|t| st.vehicles[i]["id"].as_str().is_some_and(|id| t.contains(id)))
        })
        .map(|i| vehicle_json(&st, i))
        .collect();
    paged(items, req, repeat)
}

/// `GET /fleet/vehicles/{id}`.
pub(crate) fn get_vehicle(sb: &Sandbox, req: &Request) -> Response {
    let st = sb.store();
    let id = req.segment(3).unwrap_or_default();
    st.find_vehicle(&id).map_or_else(
        || Response::not_found(&format!("vehicle {id}")),
        |i| Response::data(vehicle_json(&st, i)),
    )
}

pub(crate) fn want_str<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Response> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Response::bad_param(key, "must be a string")),
    }
}

fn want_enum(body: &Map<String, Value>, key: &str, allowed: &[&str]) -> Result<(), Response> {
    match want_str(body, key)? {
        Some(v) if !allowed.contains(&v) => Err(Response::bad_param(
            key,
            &format!("must be one of {}", allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}

fn tag_ids(st: &Store, body: &Map<String, Value>, key: &str) -> Result<Option<Vec<u64>>, Response> {
    let Some(v) = body.get(key) else { return Ok(None) };
    let arr = v
        .as_array()
        .ok_or_else(|| Response::bad_param(key, "must be an array of tag IDs"))?;
    arr.iter()
        .map(|x| {
            let s = x.as_str().map_or_else(|| x.to_string(), str::to_string);
            st.find_tag(&s)
                .ok_or_else(|| Response::bad_param(key, &format!("tag `{s}` does not exist")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn merge_external_ids(rec: &mut Map<String, Value>, ext: &Map<String, Value>) {
    let cur = rec.entry("externalIds").or_insert_with(|| json!({}));
    if let Some(cur) = cur.as_object_mut() {
        for (k, v) in ext {
            // `null` or `""` deletes the key.
            let s = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if s.is_empty() {
                cur.remove(k);
            } else {
                cur.insert(k.clone(), json!(s));
            }
        }
    }
}

/// The `auxInputType1…13` request enum (camelCase, §3.3; responses echo it as a free string).
const AUX_INPUT_TYPES: &[&str] = &[
    "none",
    "emergencyLights",
    "emergencyAlarm",
    "stopPaddle",
    "powerTakeOff",
    "plow",
    "sweeper",
    "salter",
    "reefer",
    "door",
    "boom",
    "auxiliaryEngine",
    "generator",
    "eightWayLights",
    "panicButton",
    "privacyButton",
    "frontAxleDrive",
    "weightSensor",
    "other",
    "secondaryFuelSource",
    "ecuPowerTakeOff",
];

/// `PATCH /fleet/vehicles/{id}`.
pub(crate) fn patch_vehicle(sb: &Sandbox, req: &Request) -> Response {
    let body = match req.json() {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Response::error(400, "request body must be a JSON object"),
        Err(e) => return e,
    };
    let now = rfc3339_ms(sb.clock.now_ms());
    let mut st = sb.store();
    let id = req.segment(3).unwrap_or_default();
    let Some(i) = st.find_vehicle(&id) else {
        return Response::not_found(&format!("vehicle {id}"));
    };
    let vid = st.vehicles[i]["id"].as_str().unwrap_or("").to_string();
    let checks = || -> Result<Option<Vec<u64>>, Response> {
        for n in 1..=13 {
            let k = format!("auxInputType{n}");
            if want_str(&body, &k)?.is_some_and(|v| !AUX_INPUT_TYPES.contains(&v)) {
                return Err(Response::bad_param(
                    &k,
                    &format!("must be one of {}", AUX_INPUT_TYPES.join(", ")),
                ));
            }
        }
        for k in [
            "name",
            "licensePlate",
            "notes",
            "vin",
            "gatewaySerial",
            "vehicleType",
            "staticAssignedDriverId",
        ] {
            want_str(&body, k)?;
        }
        want_enum(
            &body,
            "harshAccelerationSettingType",
            &["passengerCar", "lightTruck", "heavyDuty", "off", "automatic"],
        )?;
        want_enum(
            &body,
            "vehicleRegulationMode",
            &["regulated", "unregulated", "mixed"],
        )?;
        for k in ["odometerMeters", "engineHours"] {
            if body.get(k).is_some_and(|v| v.as_i64().is_none_or(|n| n < 0)) {
                return Err(Response::bad_param(k, "must be a non-negative integer"));
            }
        }
        if let Some(vin) = want_str(&body, "vin")? {
            if vin.len() != 17 {
                return Err(Response::bad_param("vin", "must be 17 characters"));
            }
        }
        if let Some(ext) = body.get("externalIds") {
            let ext = ext
                .as_object()
                .ok_or_else(|| Response::bad_param("externalIds", "must be an object"))?;
            st.check_external_ids(ext, (Entity::Vehicle, &vid))?;
        }
        tag_ids(&st, &body, "tagIds")
    };
    let tags = match checks() {
        Ok(t) => t,
        Err(e) => return e,
    };
    if let Some(t) = tags {
        st.set_member_tags("vehicles", &vid, &t);
    }
    let t = sb.clock.now_s();
    if let Some(manual) = body.get("odometerMeters").and_then(Value::as_i64) {
        let days = sb.model.days(t - 86_400, t);
        #[allow(clippy::cast_precision_loss)]
        let entry = (t, manual as f64, sb.model.odometer(&days, i, t));
        std::sync::Arc::make_mut(&mut st.odometer_overrides).insert(i, entry);
        #[allow(clippy::cast_precision_loss)]
        sb.model.set_manual(i, Counter::Odometer, t, manual as f64);
    }
    if let Some(hours) = body.get("engineHours").and_then(Value::as_i64) {
        #[allow(clippy::cast_precision_loss)]
        sb.model
            .set_manual(i, Counter::EngineSeconds, t, (hours * 3600) as f64);
    }
    let rec = &mut st.vehicles[i];
    for (k, v) in &body {
        match k.as_str() {
            "externalIds" => merge_external_ids(rec, v.as_object().unwrap_or(&Map::new())),
            "tagIds" | "attributes" => {}
            "gatewaySerial" => {
                rec.insert("serial".into(), v.clone());
            }
            "staticAssignedDriverId" if v.as_str() == Some("0") => {
                rec.remove("staticAssignedDriverId");
            }
            _ => {
                rec.insert(k.clone(), v.clone());
            }
        }
    }
    rec.insert("updatedAtTime".into(), json!(now));
    st.refresh_header(i);
    Response::data(vehicle_json(&st, i))
}

fn driver_json(st: &Store, i: usize) -> Value {
    let mut d = Value::Object(st.drivers[i].clone());
    let id = d["id"].as_str().unwrap_or("").to_string();
    d["tags"] = Value::Array(st.tags_of("drivers", &id));
    if let Some(o) = d.as_object_mut() {
        for k in ["password", "tagIds", "profileImageBase64"] {
            o.remove(k);
        }
        if let Some(v) = o
            .remove("staticAssignedVehicleId")
            .and_then(|v| v.as_str().map(str::to_string))
        {
            if let Some(vi) = st.find_vehicle(&v) {
                o.insert(
                    "staticAssignedVehicle".into(),
                    json!({"id": v, "name": st.vehicles[vi]["name"]}),
                );
            }
        }
    }
    d
}

/// `GET /fleet/drivers`.
pub(crate) fn list_drivers(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let status = req.param("driverActivationStatus").unwrap_or("active");
    if !["active", "deactivated"].contains(&status) {
        return Response::bad_param("driverActivationStatus", "must be `active` or `deactivated`");
    }
    let (upd, cre) = match time_filters(req) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let st = sb.store();
    let tagged = match st.tag_filter("drivers", &req.list("tagIds"), &req.list("parentTagIds")) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let items = (0..st.drivers.len())
        .filter(|&i| {
            st.drivers[i]
                .get("driverActivationStatus")
                .and_then(Value::as_str)
                == Some(status)
        })
        .filter(|&i| passes_time(&st.drivers[i], upd, cre))
        .filter(|&i| {
            tagged
                .as_ref()
                .is_none_or(|t| st.drivers[i]["id"].as_str().is_some_and(|id| t.contains(id)))
        })
        .map(|i| driver_json(&st, i))
        .collect();
    paged(items, req, repeat)
}

/// `GET /fleet/drivers/{id}`.
pub(crate) fn get_driver(sb: &Sandbox, req: &Request) -> Response {
    let st = sb.store();
    let id = req.segment(3).unwrap_or_default();
    st.find_driver(&id).map_or_else(
        || Response::not_found(&format!("driver {id}")),
        |i| Response::data(driver_json(&st, i)),
    )
}

/// `POST /fleet/drivers` and `PATCH /fleet/drivers/{id}`.
pub(crate) fn write_driver(sb: &Sandbox, req: &Request, create: bool) -> Response {
    let body = match req.json() {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Response::error(400, "request body must be a JSON object"),
        Err(e) => return e,
    };
    let now = rfc3339_ms(sb.clock.now_ms());
    let mut st = sb.store();
    let idx = if create {
        None
    } else {
        let id = req.segment(3).unwrap_or_default();
        match st.find_driver(&id) {
            Some(i) => Some(i),
            None => return Response::not_found(&format!("driver {id}")),
        }
    };
    let my_id = idx.map_or_else(
        || crate::fleet::driver_id(st.drivers.len()),
        |i| st.drivers[i]["id"].as_str().unwrap_or("").to_string(),
    );
    let checks = || -> Result<Option<Vec<u64>>, Response> {
        for k in [
            "name",
            "username",
            "password",
            "licenseNumber",
            "licenseState",
            "phone",
            "notes",
            "timezone",
            "email",
            "staticAssignedVehicleId",
            "deactivatedAtTime",
        ] {
            want_str(&body, k)?;
        }
        if create {
            for k in ["name", "username", "password"] {
                if want_str(&body, k)?.is_none_or(str::is_empty) {
                    return Err(Response::bad_param(k, "is required"));
                }
            }
        }
        want_enum(&body, "driverActivationStatus", &["active", "deactivated"])?;
        if let Some(at) = want_str(&body, "deactivatedAtTime")? {
            check_deactivated_at(at, &body, idx.map(|i| &st.drivers[i]), sb.clock.now_ms())?;
        }
        want_enum(
            &body,
            "locale",
            &[
                "us", "at", "be", "ca", "gb", "fr", "de", "ie", "it", "lu", "mx", "nl", "es", "ch", "pr",
            ],
        )?;
        let others = || {
            st.drivers
                .iter()
                .filter(|d| d.get("id").and_then(Value::as_str) != Some(my_id.as_str()))
        };
        if let Some(u) = want_str(&body, "username")? {
            if u.contains(' ') || u.contains('@') {
                return Err(Response::bad_param("username", "may not contain spaces or '@'"));
            }
            if others().any(|d| d.get("username").and_then(Value::as_str) == Some(u)) {
                return Err(Response::bad_param(
                    "username",
                    &format!("`{u}` is already taken"),
                ));
            }
        }
        let cur =
            |k: &str| idx.and_then(|i| st.drivers[i].get(k).and_then(Value::as_str).map(str::to_string));
        let lic = want_str(&body, "licenseNumber")?
            .map(str::to_string)
            .or_else(|| cur("licenseNumber"));
        let state = want_str(&body, "licenseState")?
            .map(str::to_string)
            .or_else(|| cur("licenseState"));
        // Only a write that sets the licence can break its uniqueness (the stored pair was checked when
        // it was set): a PATCH of other fields skips the scan over every driver.
        let sets_licence = create || body.contains_key("licenseNumber") || body.contains_key("licenseState");
        if let (true, Some(l), Some(s)) = (sets_licence, &lic, &state) {
            if !l.is_empty()
                && others().any(|d| {
                    d.get("licenseNumber").and_then(Value::as_str) == Some(l)
                        && d.get("licenseState").and_then(Value::as_str) == Some(s)
                })
            {
                return Err(Response::bad_param(
                    "licenseNumber",
                    "the combination of licenseNumber and licenseState must be unique",
                ));
            }
        }
        if let Some(ext) = body.get("externalIds") {
            let ext = ext
                .as_object()
                .ok_or_else(|| Response::bad_param("externalIds", "must be an object"))?;
            st.check_external_ids(ext, (Entity::Driver, &my_id))?;
        }
        tag_ids(&st, &body, "tagIds")
    };
    let tags = match checks() {
        Ok(t) => t,
        Err(e) => return e,
    };
    let i = idx.unwrap_or_else(|| {
        st.drivers.push(json!({"id": my_id, "createdAtTime": now, "driverActivationStatus": "active", "isDeactivated": false, "externalIds": {}}).as_object().cloned().unwrap_or_default());
        st.drivers.len() - 1
    });
    if let Some(t) = tags {
        st.set_member_tags("drivers", &my_id, &t);
    }
    let rec = &mut st.drivers[i];
    for (k, v) in &body {
        match k.as_str() {
            "externalIds" => merge_external_ids(rec, v.as_object().unwrap_or(&Map::new())),
            "tagIds" | "password" | "profileImageBase64" => {}
            "driverActivationStatus" => {
                let off = v.as_str() == Some("deactivated");
                rec.insert("isDeactivated".into(), json!(off));
                if !off {
                    rec.remove("deactivatedAtTime");
                } else if !body.contains_key("deactivatedAtTime") {
                    rec.insert("deactivatedAtTime".into(), json!(now));
                }
                rec.insert(k.clone(), v.clone());
            }
            "deactivatedAtTime" => {
                let ms = v.as_str().and_then(parse_rfc3339_ms).unwrap_or_default();
                rec.insert(k.clone(), json!(rfc3339_ms(ms)));
            }
            _ => {
                rec.insert(k.clone(), v.clone());
            }
        }
    }
    rec.insert("updatedAtTime".into(), json!(now));
    Response::data(driver_json(&st, i))
}

/// How far back `deactivatedAtTime` may go: six months (183 days).
const MAX_DEACTIVATION_AGE_MS: i64 = 183 * 86_400_000;

/// `deactivatedAtTime` is an RFC 3339 time at most six months back, sent only for a driver who is
/// (or becomes, in the same request) deactivated: the 14.x docstring calls it an error with
/// `driverActivationStatus: active`.
fn check_deactivated_at(
    at: &str,
    body: &Map<String, Value>,
    current: Option<&Map<String, Value>>,
    now_ms: i64,
) -> Result<(), Response> {
    let ms = parse_rfc3339_ms(at).ok_or_else(|| {
        Response::bad_param("deactivatedAtTime", &format!("`{at}` is not an RFC 3339 time"))
    })?;
    let status = body
        .get("driverActivationStatus")
        .and_then(Value::as_str)
        .or_else(|| current.and_then(|d| d.get("driverActivationStatus")?.as_str()))
        .unwrap_or("active");
    if status != "deactivated" {
        return Err(Response::bad_param(
            "deactivatedAtTime",
            "applies to a deactivated driver only; send `driverActivationStatus: deactivated` with it",
        ));
    }
    if ms < now_ms - MAX_DEACTIVATION_AGE_MS {
        return Err(Response::bad_param(
            "deactivatedAtTime",
            &format!("`{at}` is more than 6 months in the past"),
        ));
    }
    Ok(())
}

/// `DELETE /fleet/drivers/{id}`.
pub(crate) fn delete_driver(sb: &Sandbox, req: &Request) -> Response {
    let mut st = sb.store();
    let id = req.segment(3).unwrap_or_default();
    let Some(i) = st.find_driver(&id) else {
        return Response::not_found(&format!("driver {id}"));
    };
    let did = st.drivers[i]["id"].as_str().unwrap_or("").to_string();
    st.set_member_tags("drivers", &did, &[]);
    st.drivers.remove(i);
    Response::no_content()
}
