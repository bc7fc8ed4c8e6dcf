//! The sandbox's mutable state: vehicle, driver and tag records (as JSON objects, so writes can
//! merge arbitrary documented fields), tag membership, and external-ID lookup and uniqueness.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::fleet::{Fleet, BRANCHES};
use crate::http::Response;
use crate::simtime::rfc3339;

/// Entity kinds that carry external IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    /// A vehicle.
    Vehicle,
    /// A driver.
    Driver,
    /// A tag.
    Tag,
    /// A trailer (asset).
    Trailer,
    /// An issue (created by `POST /issues` or generated and patched).
    Issue,
}

/// A trailer's record: an asset of type `trailer`.
#[derive(Debug, Clone)]
pub(crate) struct Trailer {
    /// Asset ID.
    pub(crate) id: String,
    /// Name.
    pub(crate) name: String,
    /// User external IDs (`maintenanceId` on most).
    pub(crate) external_ids: BTreeMap<String, String>,
    /// VIN.
    pub(crate) vin: String,
    /// Gateway serial.
    pub(crate) serial: String,
}

/// A tag and its members.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    /// ID.
    pub(crate) id: String,
    /// Name.
    pub(crate) name: String,
    /// Parent tag ID.
    pub(crate) parent: Option<String>,
    /// User external IDs.
    pub(crate) external_ids: BTreeMap<String, String>,
    /// Member ID lists by kind (`vehicles`, `drivers`, `assets`, `addresses`, `machines`, `sensors`).
    pub(crate) members: BTreeMap<&'static str, BTreeSet<String>>,
}

/// The first tag ID: each branch's tag, then its two cost centres' (the ground truth counts on it).
pub(crate) const FIRST_TAG_ID: u64 = 3_900_001;

/// Member kinds of a tag.
pub(crate) const MEMBER_KINDS: [&str; 6] = [
    "addresses",
    "assets",
    "drivers",
    "machines",
    "sensors",
    "vehicles",
];

/// All mutable state.
#[derive(Debug)]
pub(crate) struct Store {
    /// Vehicle records, by fleet index.
    pub(crate) vehicles: Vec<Map<String, Value>>,
    /// Driver records, by creation order.
    pub(crate) drivers: Vec<Map<String, Value>>,
    /// Trailers, by fleet index.
    pub(crate) trailers: Vec<Trailer>,
    /// Tags by numeric ID.
    pub(crate) tags: BTreeMap<u64, Tag>,
    /// Pre-rendered `"id":…,"name":…,"externalIds":{…}` for stats pages, by vehicle index.
    pub(crate) stat_headers: Arc<Vec<Arc<str>>>,
    /// Writes to generated defects (`PATCH /fleet/defects/{id}`), by defect ID.
    pub(crate) defect_patches: BTreeMap<String, Value>,
    /// Driver–vehicle assignments created through the API.
    pub(crate) assignments: Vec<Value>,
    /// Messages sent through `POST /v1/fleet/messages`.
    pub(crate) messages: Vec<Value>,
    /// Manual odometer overrides (`PATCH /fleet/vehicles/{id}` `odometerMeters`), by vehicle index:
    /// (simulated time s, manual value m, model odometer at that time m).
    pub(crate) odometer_overrides: Arc<BTreeMap<usize, (i64, f64, f64)>>,
    /// Writes to generated issues (`PATCH /issues`), by issue ID.
    pub(crate) issue_patches: BTreeMap<String, Value>,
    /// Issues created through `POST /issues`.
    pub(crate) issues: Vec<Value>,
    /// Media retrievals requested through `POST /cameras/media/retrieval`.
    pub(crate) retrievals: Vec<Value>,
    /// Form submissions created through the API, and writes to generated ones, by ID.
    pub(crate) forms: BTreeMap<String, Value>,
    /// IFTA fuel types given to vehicles after the fact (`POST /__sandbox/ifta/fuel-types`), by
    /// fleet index: the reports of every period then file the vehicle under it.
    pub(crate) ifta_fuel: BTreeMap<usize, &'static str>,
    next_tag: u64,
}

/// Whether `m`'s `externalIds` hold `key: val` (a non-string value compared as its JSON text), without
/// building the map: a write checks every driver and vehicle, so at 12,000 drivers this is the cost.
fn external_id_is(m: &Map<String, Value>, key: &str, val: &str) -> bool {
    match m.get("externalIds").and_then(|e| e.get(key)) {
        Some(Value::String(s)) => s == val,
        None | Some(Value::Null) => false,
        // Stored values are strings; anything else compares as its JSON text, as the API converts it.
        #[allow(clippy::cmp_owned)]
        Some(other) => other.to_string() == val,
    }
}

impl Store {
    /// The initial state for a fleet; `created` is the fleet's creation time (Unix s).
    pub(crate) fn new(fleet: &Fleet, created: i64) -> Self {
        let mut tags = BTreeMap::new();
        let mut next_tag = FIRST_TAG_ID;
        let mut cc_ids = Vec::new();
        for (b, branch) in BRANCHES.iter().enumerate().take(fleet.branches) {
            let bid = next_tag;
            next_tag += 1;
            tags.insert(
                bid,
                Tag {
                    id: bid.to_string(),
                    name: format!("{} Branch", branch.city),
                    parent: None,
                    external_ids: BTreeMap::new(),
                    members: BTreeMap::new(),
                },
            );
            let mut ccs = Vec::new();
            for (c, what) in ["Linehaul", "Local Delivery"].iter().enumerate() {
                let id = next_tag;
                next_tag += 1;
                let code = 1000 + b * 100 + (c + 1) * 10;
                let mut ext = BTreeMap::new();
                ext.insert("costCentre".to_string(), format!("CC{code}"));
                tags.insert(
                    id,
                    Tag {
                        id: id.to_string(),
                        name: format!("CC-{code} {} {what}", branch.city),
                        parent: Some(bid.to_string()),
                        external_ids: ext,
                        members: BTreeMap::new(),
                    },
                );
                ccs.push(id);
            }
            cc_ids.push(ccs);
        }
        let trailers = fleet
            .trailers
            .iter()
            .enumerate()
            .map(|(i, tr)| {
                let tag = cc_ids[tr.branch][tr.cost_centre];
                if let Some(tg) = tags.get_mut(&tag) {
                    tg.members.entry("assets").or_default().insert(tr.id.clone());
                }
                let mut ext = BTreeMap::new();
                if i % 4 != 3 {
                    ext.insert("maintenanceId".to_string(), format!("T{}", 5001 + i));
                }
                Trailer {
                    id: tr.id.clone(),
                    name: tr.name.clone(),
                    external_ids: ext,
                    vin: tr.vin.clone(),
                    serial: tr.serial.clone(),
                }
            })
            .collect();
        let t = rfc3339(created);
        let vehicles = fleet
            .vehicles
            .iter()
            .map(|s| {
                let tag = cc_ids[s.branch][s.cost_centre];
                if let Some(tg) = tags.get_mut(&tag) {
                    tg.members.entry("vehicles").or_default().insert(s.id.clone());
                }
                let mut ext = Map::new();
                if s.idx % 3 != 2 {
                    ext.insert("maintenanceId".into(), json!(format!("M{}", 250_000 + s.unit)));
                }
                let obj = json!({
                    "id": s.id, "name": s.name, "vin": s.vin, "make": s.make, "model": s.model,
                    "year": s.year.to_string(), "licensePlate": s.plate, "serial": s.serial,
                    "gateway": {"serial": s.serial, "model": s.gateway_model},
                    "externalIds": Value::Object(ext), "notes": "",
                    "harshAccelerationSettingType": if s.kind == crate::fleet::Kind::Heavy { "heavyDuty" } else { "lightTruck" },
                    "vehicleRegulationMode": if s.kind == crate::fleet::Kind::Heavy { "regulated" } else { "unregulated" },
                    "createdAtTime": t, "updatedAtTime": t,
                });
                obj.as_object().cloned().unwrap_or_default()
            })
            .collect();
        let drivers = fleet
            .drivers
            .iter()
            .map(|d| {
                let tag = cc_ids[d.branch][usize::from(d.id.len() % 2 == 0)];
                if let Some(tg) = tags.get_mut(&tag) {
                    tg.members.entry("drivers").or_default().insert(d.id.clone());
                }
                let b = BRANCHES[d.branch];
                let mut ext = Map::new();
                if let Some(p) = &d.payroll {
                    ext.insert("payrollId".into(), json!(p));
                }
                let obj = json!({
                    "id": d.id, "name": d.name, "username": d.username, "phone": d.phone,
                    "licenseNumber": d.licence, "licenseState": b.state, "timezone": b.tz,
                    "eldExempt": false, "eldPcEnabled": true, "eldYmEnabled": true, "eldDayStartHour": 0,
                    "locale": "us", "notes": "", "externalIds": Value::Object(ext),
                    "driverActivationStatus": if d.active { "active" } else { "deactivated" },
                    "isDeactivated": !d.active,
                    "carrierSettings": {"carrierName": "Sandbox Freight Co", "dotNumber": 3_141_592, "mainOfficeAddress": "100 Main St, Dallas, TX 75201", "homeTerminalName": format!("{} Terminal", b.city), "homeTerminalAddress": format!("1 Depot Rd, {}, {}", b.city, b.state)},
                    "createdAtTime": t, "updatedAtTime": t,
                });
                obj.as_object().cloned().unwrap_or_default()
            })
            .collect();
        let mut s = Self {
            vehicles,
            drivers,
            trailers,
            tags,
            stat_headers: Arc::new(Vec::new()),
            defect_patches: BTreeMap::new(),
            assignments: Vec::new(),
            messages: Vec::new(),
            issue_patches: BTreeMap::new(),
            odometer_overrides: Arc::new(BTreeMap::new()),
            issues: Vec::new(),
            retrievals: Vec::new(),
            forms: BTreeMap::new(),
            ifta_fuel: BTreeMap::new(),
            next_tag,
        };
        s.stat_headers = Arc::new((0..s.vehicles.len()).map(|i| s.render_stat_header(i)).collect());
        s
    }

    /// Re-renders one vehicle's stats header after a write.
    pub(crate) fn refresh_header(&mut self, i: usize) {
        let h = self.render_stat_header(i);
        if let Some(slot) = Arc::make_mut(&mut self.stat_headers).get_mut(i) {
            *slot = h;
        }
    }

    fn render_stat_header(&self, i: usize) -> Arc<str> {
        let v = &self.vehicles[i];
        let mut out = Vec::new();
        out.extend_from_slice(b"\"id\":");
        crate::jsonw::string(&mut out, v.get("id").and_then(Value::as_str).unwrap_or(""));
        out.extend_from_slice(b",\"name\":");
        crate::jsonw::string(&mut out, v.get("name").and_then(Value::as_str).unwrap_or(""));
        out.extend_from_slice(b",\"externalIds\":");
        out.extend_from_slice(&serde_json::to_vec(&self.vehicle_external_ids(i)).unwrap_or_default());
        String::from_utf8(out).unwrap_or_default().into()
    }

    /// A vehicle's external IDs including the automatic `samsara.serial` and `samsara.vin`.
    pub(crate) fn vehicle_external_ids(&self, i: usize) -> Value {
        let v = &self.vehicles[i];
        let mut ext = v
            .get("externalIds")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, f) in [("samsara.serial", "serial"), ("samsara.vin", "vin")] {
            if let Some(x) = v.get(f).and_then(Value::as_str).filter(|x| !x.is_empty()) {
                ext.insert(k.into(), json!(x));
            }
        }
        Value::Object(ext)
    }

    /// Resolves a path/filter ID (Samsara ID or `key:value` external ID) to a vehicle index.
    pub(crate) fn find_vehicle(&self, id: &str) -> Option<usize> {
        match id.split_once(':') {
            None => self
                .vehicles
                .iter()
                .position(|v| v.get("id").and_then(Value::as_str) == Some(id)),
            Some((k, val)) => (0..self.vehicles.len())
                .find(|&i| self.vehicle_external_ids(i).get(k).and_then(Value::as_str) == Some(val)),
        }
    }

    /// A trailer's external IDs including the automatic `samsara.serial` and `samsara.vin`.
    pub(crate) fn trailer_external_ids(&self, i: usize) -> Value {
        let t = &self.trailers[i];
        let mut ext: Map<String, Value> = t
            .external_ids
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        ext.insert("samsara.serial".into(), json!(t.serial));
        ext.insert("samsara.vin".into(), json!(t.vin));
        Value::Object(ext)
    }

    /// Resolves a trailer asset ID or `key:value` external ID to an index.
    pub(crate) fn find_trailer(&self, id: &str) -> Option<usize> {
        match id.split_once(':') {
            None => self.trailers.iter().position(|t| t.id == id),
            Some((k, val)) => (0..self.trailers.len())
                .find(|&i| self.trailer_external_ids(i).get(k).and_then(Value::as_str) == Some(val)),
        }
    }

    /// Resolves a driver ID or `key:value` external ID to an index.
    pub(crate) fn find_driver(&self, id: &str) -> Option<usize> {
        match id.split_once(':') {
            None => self
                .drivers
                .iter()
                .position(|v| v.get("id").and_then(Value::as_str) == Some(id)),
            Some((k, val)) => self.drivers.iter().position(|d| external_id_is(d, k, val)),
        }
    }

    /// Resolves a tag ID, `key:value` external ID or `samsara.name:NAME`.
    pub(crate) fn find_tag(&self, id: &str) -> Option<u64> {
        match id.split_once(':') {
            None => id.parse::<u64>().ok().filter(|n| self.tags.contains_key(n)),
            Some(("samsara.name", name)) => self.tags.iter().find(|(_, t)| t.name == name).map(|(k, _)| *k),
            Some((k, val)) => self
                .tags
                .iter()
                .find(|(_, t)| t.external_ids.get(k).map(String::as_str) == Some(val))
                .map(|(k, _)| *k),
        }
    }

    /// A 400 when any user external ID in `ext` breaks the character rules ([`external_id_rule`]) or
    /// is already used by another entity (vehicle, driver, tag, trailer or issue): values are unique
    /// per key across entity types. A `null` or `""` value deletes the key and is always fine.
    pub(crate) fn check_external_ids(
        &self,
        ext: &Map<String, Value>,
        me: (Entity, &str),
    ) -> Result<(), Response> {
        for (k, v) in ext {
            if k.starts_with("samsara.") {
                return Err(Response::bad_param(
                    "externalIds",
                    &format!("key `{k}` is reserved for automatic external IDs"),
                ));
            }
            let val = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(Response::bad_param(
                        "externalIds",
                        &format!("the value of `{k}` must be a string, not `{other}`"),
                    ))
                }
            };
            if val.is_empty() {
                continue;
            }
            external_id_rule(k, &val)?;
            let mut users = self
                .vehicles
                .iter()
                .map(|x| (Entity::Vehicle, x))
                .chain(self.drivers.iter().map(|x| (Entity::Driver, x)));
            let clash_vd = users.find(|(kind, x)| {
                let id = x.get("id").and_then(Value::as_str).unwrap_or("");
                (*kind, id) != me && external_id_is(x, k, &val)
            });
            let clash_tag = self
                .tags
                .values()
                .find(|t| (Entity::Tag, t.id.as_str()) != me && t.external_ids.get(k) == Some(&val));
            let clash_trailer = self
                .trailers
                .iter()
                .find(|t| (Entity::Trailer, t.id.as_str()) != me && t.external_ids.get(k) == Some(&val));
            let issue_has = |id: &str, x: &Value| {
                (Entity::Issue, id) != me && x["externalIds"][k.as_str()].as_str() == Some(val.as_str())
            };
            let clash_issue = self
                .issues
                .iter()
                .any(|i| issue_has(i["id"].as_str().unwrap_or(""), i))
                || self.issue_patches.iter().any(|(id, p)| issue_has(id, p));
            if clash_vd.is_some() || clash_tag.is_some() || clash_trailer.is_some() || clash_issue {
                return Err(Response::bad_param(
                    "externalIds",
                    &format!("external ID `{k}:{val}` is already in use by another object"),
                ));
            }
        }
        Ok(())
    }

    /// Tags (as tiny objects) that have `id` among their `kind` members.
    pub(crate) fn tags_of(&self, kind: &str, id: &str) -> Vec<Value> {
        self.tags
            .values()
            .filter(|t| t.members.get(kind).is_some_and(|m| m.contains(id)))
            .map(|t| {
                let mut o = json!({"id": t.id, "name": t.name});
                if let Some(p) = &t.parent {
                    o["parentTagId"] = json!(p);
                }
                o
            })
            .collect()
    }

    /// Replaces the tags of member `id` of `kind` with `tag_ids`.
    pub(crate) fn set_member_tags(&mut self, kind: &'static str, id: &str, tag_ids: &[u64]) {
        for (tid, t) in &mut self.tags {
            let set = t.members.entry(kind).or_default();
            if tag_ids.contains(tid) {
                set.insert(id.to_string());
            } else {
                set.remove(id);
            }
        }
    }

    /// The set of IDs of `kind` matched by `tagIds` ∪ descendants of `parentTagIds`; `None` = no filter.
    pub(crate) fn tag_filter(
        &self,
        kind: &str,
        tag_ids: &[String],
        parent_ids: &[String],
    ) -> Result<Option<BTreeSet<String>>, Response> {
        if tag_ids.is_empty() && parent_ids.is_empty() {
            return Ok(None);
        }
        let mut wanted: BTreeSet<u64> = BTreeSet::new();
        for (name, list, descend) in [("tagIds", tag_ids, false), ("parentTagIds", parent_ids, true)] {
            for t in list {
                let Some(id) = self.find_tag(t).or_else(|| t.parse().ok()) else {
                    return Err(Response::bad_param(name, &format!("`{t}` is not a tag ID")));
                };
                wanted.insert(id);
                if descend {
                    let mut frontier = vec![id.to_string()];
                    while let Some(p) = frontier.pop() {
                        for (cid, c) in &self.tags {
                            if c.parent.as_deref() == Some(p.as_str()) && wanted.insert(*cid) {
                                frontier.push(c.id.clone());
                            }
                        }
                    }
                }
            }
        }
        Ok(Some(
            wanted
                .iter()
                .filter_map(|t| self.tags.get(t))
                .filter_map(|t| t.members.get(kind))
                .flatten()
                .cloned()
                .collect(),
        ))
    }

    /// A new tag ID.
    pub(crate) fn next_tag_id(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag - 1
    }

    /// A tag as the API returns it.
    pub(crate) fn tag_json(&self, t: &Tag) -> Value {
        let mut o = json!({"id": t.id, "name": t.name, "externalIds": t.external_ids});
        if let Some(p) = &t.parent {
            o["parentTagId"] = json!(p);
            let pname = p
                .parse::<u64>()
                .ok()
                .and_then(|n| self.tags.get(&n))
                .map(|x| x.name.clone());
            o["parentTag"] = json!({"id": p, "name": pname});
        }
        for kind in MEMBER_KINDS {
            let members: Vec<Value> = t
                .members
                .get(kind)
                .into_iter()
                .flatten()
                .map(|id| {
                    let name = match kind {
                        "vehicles" => self
                            .find_vehicle(id)
                            .and_then(|i| self.vehicles[i].get("name").cloned()),
                        "drivers" => self
                            .find_driver(id)
                            .and_then(|i| self.drivers[i].get("name").cloned()),
                        "assets" => self.find_trailer(id).map(|i| json!(self.trailers[i].name)),
                        _ => None,
                    };
                    json!({"id": id, "name": name.unwrap_or(Value::Null)})
                })
                .collect();
            o[kind] = Value::Array(members);
        }
        o
    }
}

/// Longest user external-ID key.
const MAX_EXTERNAL_ID_KEY: usize = 32;
/// Longest user external-ID value.
const MAX_EXTERNAL_ID_VALUE: usize = 128;

/// The character rules of a user external ID: the key is 1-32 ASCII letters and digits (the only
/// pattern Samsara's routers ever published for external IDs); the value is 1-128 printable ASCII
/// characters without spaces, `/` (it could not stand in a path segment) or `,` (it could not stand
/// in a comma-separated ID filter). The vendor's own example value `Ty_Frec-%01+27+94%` passes.
pub(crate) fn external_id_rule(key: &str, value: &str) -> Result<(), Response> {
    if key.is_empty() || key.len() > MAX_EXTERNAL_ID_KEY || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Response::bad_param(
            "externalIds",
            &format!("key `{key}` must be 1 to {MAX_EXTERNAL_ID_KEY} ASCII letters and digits"),
        ));
    }
    if value.len() > MAX_EXTERNAL_ID_VALUE {
        return Err(Response::bad_param(
            "externalIds",
            &format!(
                "the value of `{key}` has {} characters; at most {MAX_EXTERNAL_ID_VALUE} are allowed",
                value.chars().count()
            ),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '/' | ','))
    {
        return Err(Response::bad_param(
            "externalIds",
            &format!(
                "the value `{value}` of `{key}` contains `{c}`; use printable ASCII without spaces, `/` or `,`"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::external_id_rule;

    #[test]
    fn external_id_character_rules() {
        for (k, v) in [
            ("maintenanceId", "M250104"),
            ("payrollSys1", "Ty_Frec-%01+27+94%"),
            ("crm", "a.b@example.com"),
            ("k", &"x".repeat(128)),
        ] {
            assert!(external_id_rule(k, v).is_ok(), "{k}:{v}");
        }
        for (k, v) in [
            ("bad key", "v"),
            ("bad-key", "v"),
            ("", "v"),
            ("k", "has space"),
            ("k", "a/b"),
            ("k", "a,b"),
            ("k", "café"),
            ("k", &"x".repeat(129)),
        ] {
            assert!(external_id_rule(k, v).is_err(), "{k}:{v}");
        }
    }
}
