//! FMC-side changes that must flow back to Samsara: `GET /fmc/v1/changes` is a feed of driver-roster
//! changes, new cost-centre tags and defect resolutions. Roster and tag changes are generated every
//! six simulated hours; any change can also be scripted through `POST /__sandbox/fmc/changes`.
//! `GET /__sandbox/fmc/changes` reports, per change, whether Samsara's state now reflects it, and for
//! the workflow changes (issues, forms, driver messages) and assignments created how many Samsara
//! objects it produced (`copies`: 1 when applied exactly once).

use serde_json::{json, Value};

use crate::fleet::{pattern, BRANCHES};
use crate::http::{Request, Response};
use crate::rng::Rng;
use crate::router::{PageFault, Sandbox};
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};
use crate::streams::{page, Item, Window};

/// Interval between generated changes, seconds.
const PERIOD: i64 = 6 * 3600;
/// Change types.
pub(crate) const TYPES: [&str; 8] = [
    "driver.created",
    "driver.deactivated",
    "tag.created",
    "defect.resolved",
    "issue.created",
    "issue.updated",
    "form.assigned",
    "message.sent",
];
const FIRST: [&str; 8] = [
    "Alex", "Jordan", "Priya", "Samuel", "Rosa", "Dmitri", "Keisha", "Tomas",
];
const LAST: [&str; 8] = [
    "Rivera", "Chen", "Okafor", "Schmidt", "Patel", "Kowalski", "Nguyen", "Haddad",
];

/// Every change visible at `now` (Unix s), in time order: (time ms, id, change object).
fn all(sb: &Sandbox, now: i64) -> Vec<(i64, String, Value)> {
    let pairs = sb.fmc.truth_drivers(&sb.fleet)["pairs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let linked: Vec<&Value> = pairs.iter().filter(|p| p["samsaraId"].is_string()).collect();
    let branches = sb.fleet.branches.max(1);
    let mut out = Vec::new();
    let mut k: i64 = 1;
    while sb.model.origin + k * PERIOD <= now && k < 10_000 {
        let at = sb.model.origin + k * PERIOD;
        let mut r = Rng::new(sb.cfg.seed, 900 + k.unsigned_abs());
        let b = BRANCHES[usize::try_from(r.below(branches as u64)).unwrap_or(0)];
        let id = format!("chg-{k:05}");
        let data = match k % 3 {
            1 => {
                json!({"fmcId": format!("FMC-D9{k:04}"), "name": format!("{} {}", r.pick(&FIRST), r.pick(&LAST)), "licenseNumber": pattern(&mut r, b.licence),
                "licenseState": b.state, "employeeId": format!("E9{k:04}"), "username": format!("fmc{k}")})
            }
            2 if !linked.is_empty() => {
                let p = linked[usize::try_from(r.below(linked.len() as u64)).unwrap_or(0)];
                json!({"fmcId": p["fmcId"], "samsaraId": p["samsaraId"]})
            }
            _ => {
                json!({"name": format!("CC-{} {} Special Projects", 1900 + k, b.city), "parentName": format!("{} Branch", b.city)})
            }
        };
        let kind = match (k % 3, data.get("samsaraId").is_some()) {
            (1, _) => "driver.created",
            (2, true) => "driver.deactivated",
            _ => "tag.created",
        };
        out.push((
            at * 1000,
            id.clone(),
            json!({"id": id, "type": kind, "at": rfc3339_ms(at * 1000), "data": data}),
        ));
        k += 1;
    }
    if let Ok(s) = sb.fmc.scripted.lock() {
        out.extend(s.iter().map(|c| {
            (
                c["at"].as_str().and_then(parse_rfc3339_ms).unwrap_or(0),
                c["id"].as_str().unwrap_or("").to_string(),
                c.clone(),
            )
        }));
    }
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out
}

/// `GET /fmc/v1/changes?after=…&limit=…`: the change feed (cursor kept when caught up).
pub(crate) fn feed(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let now = sb.clock.now_ms();
    let w = Window {
        start: sb.model.origin * 1000,
        end: None,
        now,
    };
    let items = all(sb, now.div_euclid(1000))
        .into_iter()
        .map(|(at, key, json)| Item { at, key, json })
        .collect();
    page(items, req, &w, Some((100, 500)), pf)
}

/// `POST /__sandbox/fmc/changes` `{"type", "data"}`: scripts a change at simulated now.
pub(crate) fn script(sb: &Sandbox, req: &Request) -> Response {
    let body = match req.json() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(kind) = body.get("type").and_then(Value::as_str).filter(|t| {
        TYPES.contains(t)
            || VEHICLE_TYPES.contains(t)
            || DRIVER_TYPES.contains(t)
            || ASSIGNMENT_TYPES.contains(t)
            || *t == "tag.updated"
    }) else {
        let all = [
            &TYPES[..],
            &VEHICLE_TYPES[..],
            &DRIVER_TYPES[..],
            &ASSIGNMENT_TYPES[..],
            &["tag.updated"][..],
        ]
        .concat();
        return Response::bad_param("type", &format!("must be one of {}", all.join(", ")));
    };
    let Some(data) = body.get("data").filter(|d| d.is_object()) else {
        return Response::bad_param("data", "must be an object");
    };
    let Ok(mut s) = sb.fmc.scripted.lock() else {
        return Response::error(500, "lock poisoned");
    };
    let c = json!({"id": format!("chg-s{:05}", s.len() + 1), "type": kind, "at": rfc3339_ms(sb.clock.now_ms()), "data": data});
    s.push(c.clone());
    Response::json(200, &c)
}

/// `GET /__sandbox/fmc/changes`: every visible change and whether Samsara reflects it.
pub(crate) fn status(sb: &Sandbox) -> Response {
    let changes = all(sb, sb.clock.now_s());
    let out: Vec<Value> = changes
        .into_iter()
        .map(|(_, _, mut c)| {
            let applied = applied(sb, &c);
            c["applied"] = json!(applied);
            if let Some(n) = copies(sb, &c) {
                c["copies"] = json!(n);
            }
            c
        })
        .collect();
    Response::json(200, &json!({"data": out}))
}

/// The Samsara objects a workflow change produced: issues carrying its `fmcChangeId`, forms of its
/// template assigned to its driver (with its title, if any) since its time, or messages with its text
/// sent to each of its drivers since its time (the fewest over its drivers); `None` for other types.
fn copies(sb: &Sandbox, c: &Value) -> Option<usize> {
    let d = &c["data"];
    let at = c["at"].as_str().and_then(parse_rfc3339_ms).unwrap_or(0);
    match c["type"].as_str() {
        Some("issue.created") => Some(crate::issues::count_with_external_id(
            sb,
            "fmcChangeId",
            c["id"].as_str().unwrap_or(""),
        )),
        Some("form.assigned") => {
            let st = sb.store();
            Some(
                st.forms
                    .values()
                    .filter(|f| {
                        f["formTemplate"]["id"] == d["formTemplateId"]
                            && f["assignedTo"]["type"] == "driver"
                            && f["assignedTo"]["id"].as_str() == id_text(&d["driverId"]).as_deref()
                            && (d["title"].is_null() || f["title"] == d["title"])
                            && f["createdAtTime"]
                                .as_str()
                                .and_then(parse_rfc3339_ms)
                                .is_some_and(|t| t >= at)
                    })
                    .count(),
            )
        }
        Some("assignment.created") => Some(crate::assignments::copies(sb, d)),
        Some("message.sent") => {
            let drivers: Vec<String> = match d.get("driverIds").and_then(Value::as_array) {
                Some(ids) => ids.iter().filter_map(id_text).collect(),
                None => id_text(&d["driverId"]).into_iter().collect(),
            };
            let st = sb.store();
            drivers
                .iter()
                .map(|id| {
                    st.messages
                        .iter()
                        .filter(|m| {
                            id_text(&m["driverId"]).as_deref() == Some(id.as_str())
                                && m["text"] == d["text"]
                                && m["sentAtMs"].as_i64().is_some_and(|t| t >= at)
                        })
                        .count()
                })
                .min()
        }
        _ => None,
    }
}

/// An ID given as a string or a number, as text.
fn id_text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::to_string)
        .or_else(|| v.as_i64().map(|n| n.to_string()))
}

fn applied(sb: &Sandbox, c: &Value) -> bool {
    let d = &c["data"];
    match c["type"].as_str() {
        Some("issue.created" | "form.assigned" | "message.sent" | "assignment.created") => {
            copies(sb, c).is_some_and(|n| n >= 1)
        }
        Some("issue.updated") => d["issueId"]
            .as_str()
            .and_then(|id| crate::issues::current_of(sb, id))
            .is_some_and(|i| {
                ["status", "priority", "title", "description"]
                    .iter()
                    .all(|k| d[*k].is_null() || i[*k] == d[*k])
                    && (d["assignedToUserId"].is_null()
                        || i["assignedTo"]["id"].as_str() == id_text(&d["assignedToUserId"]).as_deref())
            }),
        Some("defect.resolved") => d["defectId"]
            .as_str()
            .and_then(|id| crate::defects::is_resolved(sb, id))
            .unwrap_or(false),
        Some("driver.created") => sb.store().drivers.iter().any(|x| {
            (d["fmcId"].is_string() && x.get("externalIds").and_then(|e| e.get("fmcId")) == Some(&d["fmcId"]))
                || (d["licenseNumber"].is_string()
                    && x.get("licenseNumber") == Some(&d["licenseNumber"])
                    && x.get("licenseState") == Some(&d["licenseState"]))
        }),
        Some("driver.deactivated") => {
            let st = sb.store();
            d["samsaraId"]
                .as_str()
                .map(str::to_string)
                .or_else(|| d["fmcId"].as_str().map(|f| format!("fmcId:{f}")))
                .and_then(|id| st.find_driver(&id))
                .is_some_and(|i| st.drivers[i]["driverActivationStatus"] == "deactivated")
        }
        Some("driver.updated") => driver_applied(sb, d),
        Some("tag.created") => {
            let st = sb.store();
            st.tags.values().any(|t| {
                Some(t.name.as_str()) == d["name"].as_str()
                    && (d["parentName"].is_null()
                        || t.parent
                            .as_deref()
                            .and_then(|p| p.parse::<u64>().ok())
                            .and_then(|p| st.tags.get(&p))
                            .map(|p| p.name.as_str())
                            == d["parentName"].as_str())
            })
        }
        Some("vehicle.updated") => vehicle_applied(sb, d),
        Some("assignment.changed" | "assignment.ended") => crate::assignments::shows(sb, d),
        Some("vehicle.removed" | "tag.updated") => true,
        _ => false,
    }
}

/// Scripted changes to the FMC's driver roster (`driver.updated`: `fmcId` and the roster fields that
/// changed, `name`, `phone`, `email`, `licenseNumber`, `licenseState`, `status`, …), kept apart
/// from [`TYPES`] (the generated ones).
pub(crate) const DRIVER_TYPES: [&str; 1] = ["driver.updated"];

/// The roster fields Samsara takes from the FMC (the same names on both sides).
const DRIVER_FIELDS: [&str; 5] = ["name", "phone", "email", "licenseNumber", "licenseState"];

/// The FMC's driver roster as of now: `base` (every record `status: active`) with the `driver.*`
/// changes visible now applied in order: `driver.created` adds the new hire (`id` = its `fmcId`),
/// `driver.updated` changes the fields it carries, `driver.deactivated` marks the driver
/// `status: terminated` (with `terminatedAt`). So the roster moves between runs as the feed says.
pub(crate) fn drivers(sb: &Sandbox, base: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = base
        .iter()
        .map(|d| {
            let mut d = d.clone();
            d["status"] = json!("active");
            d
        })
        .collect();
    let truth = sb.fmc.truth_drivers(&sb.fleet);
    let fmc_of = |sid: &Value| -> Option<Value> {
        truth["pairs"]
            .as_array()?
            .iter()
            .find(|p| &p["samsaraId"] == sid && p["expect"] == "link")
            .map(|p| p["fmcId"].clone())
    };
    for (_, _, c) in all(sb, sb.clock.now_s()) {
        let d = &c["data"];
        match c["type"].as_str() {
            Some("driver.created")
                if d["fmcId"].is_string() && !out.iter().any(|r| r["id"] == d["fmcId"]) =>
            {
                let mut r = json!({"id": d["fmcId"], "status": "active"});
                merge_roster_fields(&mut r, d);
                out.push(r);
            }
            Some("driver.updated") => {
                if let Some(r) = out.iter_mut().find(|r| r["id"] == d["fmcId"]) {
                    merge_roster_fields(r, d);
                    if r["status"] == "active" {
                        if let Some(o) = r.as_object_mut() {
                            o.remove("terminatedAt");
                        }
                    }
                }
            }
            Some("driver.deactivated") => {
                let fid = if d["fmcId"].is_string() {
                    Some(d["fmcId"].clone())
                } else {
                    fmc_of(&d["samsaraId"])
                };
                if let Some(r) = fid.and_then(|f| out.iter_mut().find(|r| r["id"] == f)) {
                    r["status"] = json!("terminated");
                    r["terminatedAt"] = c["at"].clone();
                }
            }
            _ => {}
        }
    }
    out
}

/// Copies a change's fields (all but `fmcId` and `id`) onto a roster record.
fn merge_roster_fields(r: &mut Value, d: &Value) {
    if let Some(m) = d.as_object() {
        for (k, x) in m
            .iter()
            .filter(|(k, _)| k.as_str() != "fmcId" && k.as_str() != "id")
        {
            r[k.as_str()] = x.clone();
        }
    }
}

/// The FMC drivers added by `driver.created` changes visible now that the base roster lacks, as
/// ground-truth pairs (`expect: none`, `kind: newHire`): Samsara has no driver for them until a sync
/// creates one.
pub(crate) fn new_hires(sb: &Sandbox, base: &Value) -> Vec<Value> {
    let known: Vec<&Value> = base["pairs"]
        .as_array()
        .map(|p| p.iter().map(|p| &p["fmcId"]).collect())
        .unwrap_or_default();
    let mut out: Vec<Value> = Vec::new();
    for (_, _, c) in all(sb, sb.clock.now_s()) {
        let f = &c["data"]["fmcId"];
        if c["type"] == "driver.created"
            && f.is_string()
            && !known.contains(&f)
            && !out.iter().any(|p| &p["fmcId"] == f)
        {
            out.push(json!({"fmcId": f, "samsaraId": null, "expect": "none", "kind": "newHire"}));
        }
    }
    out
}

/// Whether the Samsara driver carrying `fmcId:<id>` shows the fields a `driver.updated` changed
/// (`status: terminated` as `driverActivationStatus: deactivated`, `active` as `active`).
fn driver_applied(sb: &Sandbox, d: &Value) -> bool {
    let Some(fmc) = d["fmcId"].as_str() else {
        return false;
    };
    let st = sb.store();
    let Some(i) = st.find_driver(&format!("fmcId:{fmc}")) else {
        return false;
    };
    let x = &st.drivers[i];
    let status = match d["status"].as_str() {
        None => true,
        Some("terminated") => x["driverActivationStatus"] == "deactivated",
        Some(_) => x["driverActivationStatus"] == "active",
    };
    status
        && DRIVER_FIELDS
            .iter()
            .all(|f| d.get(*f).is_none_or(|v| x.get(*f) == Some(v)))
}

/// Scripted changes to the FMC's driver–vehicle assignments (data: `vehicleId` or `fmcVehicleId`,
/// `driverId` or `fmcDriverId`, `startTime`, and `endTime`/`isPassenger`), kept apart from [`TYPES`].
/// `GET /__sandbox/fmc/changes` counts the assignments a `created` one produced (`copies`) and says
/// whether Samsara's assignment shows a `changed` or `ended` one (`applied`).
pub(crate) const ASSIGNMENT_TYPES: [&str; 3] =
    ["assignment.created", "assignment.changed", "assignment.ended"];

/// Scripted changes to the FMC's vehicle master list (`vehicle.updated`: `fmcId` and the FMC fields
/// that changed, `unitNumber`, `licensePlate`, …; `vehicle.removed`: `fmcId`), kept apart from
/// [`TYPES`] (the generated ones).
pub(crate) const VEHICLE_TYPES: [&str; 2] = ["vehicle.updated", "vehicle.removed"];

/// The FMC's vehicle master list as of now: `base` with the scripted `vehicle.*` changes applied in
/// order, so the list changes between runs as the changes feed says.
pub(crate) fn vehicles(sb: &Sandbox, base: &[Value]) -> Vec<Value> {
    let Ok(s) = sb.fmc.scripted.lock() else {
        return base.to_vec();
    };
    if !s
        .iter()
        .any(|c| VEHICLE_TYPES.contains(&c["type"].as_str().unwrap_or("")))
    {
        return base.to_vec();
    }
    let mut out = base.to_vec();
    for c in s.iter() {
        let id = &c["data"]["fmcId"];
        match c["type"].as_str() {
            Some("vehicle.updated") => {
                if let (Some(v), Some(d)) = (out.iter_mut().find(|v| &v["id"] == id), c["data"].as_object()) {
                    for (k, x) in d
                        .iter()
                        .filter(|(k, _)| k.as_str() != "fmcId" && k.as_str() != "id")
                    {
                        v[k.as_str()] = x.clone();
                    }
                }
            }
            Some("vehicle.removed") => out.retain(|v| &v["id"] != id),
            _ => {}
        }
    }
    out
}

/// Whether the Samsara vehicle linked to `d.fmcId` (external ID `fmcId`) shows the changed fields
/// Samsara takes from the FMC: `unitNumber` as its `name`, `licensePlate`.
fn vehicle_applied(sb: &Sandbox, d: &Value) -> bool {
    let Some(fmc) = d["fmcId"].as_str() else {
        return false;
    };
    let st = sb.store();
    let Some(i) = st.find_vehicle(&format!("fmcId:{fmc}")) else {
        return false;
    };
    let v = &st.vehicles[i];
    [("unitNumber", "name"), ("licensePlate", "licensePlate")]
        .iter()
        .all(|(f, s)| d.get(*f).is_none_or(|x| v.get(*s) == Some(x)))
}

/// The FMC's organisation (`GET /fmc/v1/tags`): per branch a root (`<City> Branch`, matched by name),
/// its two cost centres (`externalIds.costCentre` as Samsara's; `drivers`: the FMC ids of the drivers
/// Samsara has in that cost centre) and a business unit Samsara lacks (`<City> Leasing`, whose
/// `vehicles` and `drivers` are every other linked FMC vehicle and driver of the branch); then the
/// scripted `tag.updated` changes (`fmcId` and any of `name`, `parentId`, `vehicles`, `drivers`) in
/// order. Members are FMC ids, as the FMC's master lists name them.
pub(crate) fn tags(sb: &Sandbox) -> Vec<Value> {
    let pairs = sb.fmc.truth_vehicles(&sb.fleet)["pairs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let dpairs = sb.fmc.truth_drivers(&sb.fleet)["pairs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let branch_of = |sid: &str| sb.fleet.vehicles.iter().find(|v| v.id == sid).map(|v| v.branch);
    // A driver's (branch, cost centre) as Samsara's dashboard filed it (see `Store::new`).
    let driver_cc = |sid: &str| {
        sb.fleet
            .drivers
            .iter()
            .find(|d| d.id == sid)
            .map(|d| (d.branch, usize::from(d.id.len() % 2 == 0)))
    };
    let linked_drivers = |keep: &dyn Fn(usize, usize) -> bool| -> Vec<Value> {
        dpairs
            .iter()
            .filter(|p| {
                p["expect"] == "link"
                    && p["samsaraId"]
                        .as_str()
                        .and_then(driver_cc)
                        .is_some_and(|(b, c)| keep(b, c))
            })
            .map(|p| p["fmcId"].clone())
            .collect()
    };
    let mut out = Vec::new();
    for (b, br) in BRANCHES.iter().enumerate().take(sb.fleet.branches) {
        let root = format!("FMC-B{}", b + 1);
        out.push(
            json!({"id": root, "name": format!("{} Branch", br.city), "parentId": null, "kind": "branch"}),
        );
        for (c, what) in ["Linehaul", "Local Delivery"].iter().enumerate() {
            let code = 1000 + b * 100 + (c + 1) * 10;
            let drivers = linked_drivers(&|db, dc| db == b && dc == c);
            out.push(
                json!({"id": format!("FMC-CC{code}"), "name": format!("CC-{code} {} {what}", br.city),
                "parentId": root, "kind": "costCentre", "externalIds": {"costCentre": format!("CC{code}")},
                "drivers": drivers}),
            );
        }
        let members: Vec<Value> = pairs
            .iter()
            .filter(|p| p["expect"] == "link" && p["samsaraId"].as_str().and_then(branch_of) == Some(b))
            .step_by(2)
            .map(|p| p["fmcId"].clone())
            .collect();
        let drivers: Vec<Value> = linked_drivers(&|db, _| db == b).into_iter().step_by(2).collect();
        out.push(
            json!({"id": format!("FMC-BU{}", b + 1), "name": format!("{} Leasing", br.city),
            "parentId": root, "kind": "businessUnit", "vehicles": members, "drivers": drivers}),
        );
    }
    if let Ok(s) = sb.fmc.scripted.lock() {
        for c in s.iter().filter(|c| c["type"] == "tag.updated") {
            let Some(d) = c["data"].as_object() else { continue };
            if let Some(t) = out.iter_mut().find(|t| Some(&t["id"]) == d.get("fmcId")) {
                for (k, x) in d
                    .iter()
                    .filter(|(k, _)| k.as_str() != "fmcId" && k.as_str() != "id")
                {
                    t[k.as_str()] = x.clone();
                }
            }
        }
    }
    out
}

/// Ground truth for tag matching (`GET /__sandbox/truth/tags`): each FMC tag's Samsara counterpart as
/// the fleet was created (`expect: link`: branches by name, cost centres by their `costCentre`
/// external ID), or none (`expect: create`: the business units Samsara lacks).
pub(crate) fn truth_tags(sb: &Sandbox) -> Value {
    let mut pairs = Vec::new();
    for b in 0..sb.fleet.branches {
        // `Store::new` numbers each branch's tags in turn: the branch, then its two cost centres.
        let first = crate::store::FIRST_TAG_ID + 3 * b as u64;
        pairs.push(
            json!({"fmcId": format!("FMC-B{}", b + 1), "samsaraId": first.to_string(), "expect": "link"}),
        );
        for c in 0..2 {
            let code = 1000 + b * 100 + (c + 1) * 10;
            let sid = (first + 1 + c as u64).to_string();
            pairs.push(json!({"fmcId": format!("FMC-CC{code}"), "samsaraId": sid, "expect": "link"}));
        }
        pairs.push(json!({"fmcId": format!("FMC-BU{}", b + 1), "samsaraId": null, "expect": "create"}));
    }
    json!({"pairs": pairs})
}
