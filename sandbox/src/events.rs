//! Event streams derived from the trip model: `/trips/stream`, `/speeding-intervals/stream`,
//! `/safety-events/stream` and `/idling/events`. Every record is a pure function of (seed, vehicle,
//! trip) and of simulated now (which decides whether it exists yet and which version is current).

// Distances and durations stay far below 2^52.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]

use serde_json::{json, Value};

use crate::http::{Request, Response};
use crate::model::{Days, Trip};
use crate::rng::hash;
use crate::router::{PageFault, Sandbox};
use crate::streams::{flag, location, page, ts, uuid, Item, Window};

/// Delay between an event and its appearance in Samsara, seconds.
const PROCESSING: i64 = 60;

/// What a handler needs to know about each selected vehicle.
pub(crate) struct Asset {
    /// Fleet index.
    pub(crate) v: usize,
    /// Samsara ID.
    pub(crate) id: String,
    /// Current name.
    pub(crate) name: String,
    /// VIN.
    pub(crate) vin: String,
    /// External IDs.
    pub(crate) ext: Value,
    /// Branch index.
    pub(crate) branch: usize,
}

/// Resolves an ID list parameter (Samsara or external IDs, at most `max`), plus optional tag filters.
pub(crate) fn assets(
    sb: &Sandbox,
    req: &Request,
    param: &str,
    max: usize,
    tags: bool,
) -> Result<Vec<Asset>, Response> {
    let st = sb.store();
    let ids = req.list(param);
    if ids.len() > max {
        return Err(Response::bad_param(
            param,
            &format!("at most {max} IDs are allowed"),
        ));
    }
    let mut idx: Vec<usize> = if ids.is_empty() {
        (0..st.vehicles.len()).collect()
    } else {
        ids.iter()
            .map(|id| {
                st.find_vehicle(id)
                    .ok_or_else(|| Response::bad_param(param, &format!("vehicle `{id}` does not exist")))
            })
            .collect::<Result<_, _>>()?
    };
    if tags {
        if let Some(set) = st.tag_filter("vehicles", &req.list("tagIds"), &req.list("parentTagIds"))? {
            idx.retain(|&i| st.vehicles[i]["id"].as_str().is_some_and(|id| set.contains(id)));
        }
    }
    idx.sort_unstable();
    idx.dedup();
    Ok(idx
        .into_iter()
        .map(|v| Asset {
            v,
            id: st.vehicles[v]["id"].as_str().unwrap_or("").to_string(),
            name: st.vehicles[v]["name"].as_str().unwrap_or("").to_string(),
            vin: st.vehicles[v]["vin"].as_str().unwrap_or("").to_string(),
            ext: st.vehicle_external_ids(v),
            branch: sb.fleet.vehicles[v].branch,
        })
        .collect())
}

fn asset_json(a: &Asset, expand: bool) -> Value {
    if expand {
        json!({"id": a.id, "name": a.name, "type": "vehicle", "vin": a.vin, "externalIds": a.ext})
    } else {
        json!({"id": a.id})
    }
}

/// Each selected vehicle's trips whose local day overlaps `[lo, hi]` (Unix s), with the day index.
fn each_trip<'a>(
    sb: &'a Sandbox,
    days: &'a Days,
    assets: &'a [Asset],
    lo: i64,
    hi: i64,
) -> impl Iterator<Item = (&'a Asset, i64, &'a Trip)> + 'a {
    assets.iter().flat_map(move |a| {
        let (d0, d1) = (sb.model.day_of(a.v, lo), sb.model.day_of(a.v, hi));
        (d0..=d1).flat_map(move |d| days.get(a.v, d).trips.iter().map(move |t| (a, d, t)))
    })
}

fn driver_id(sb: &Sandbox, v: usize, d: i64) -> Option<String> {
    sb.model
        .driver_for(v, d, sb.fleet.drivers.len())
        .map(|i| sb.fleet.drivers[i].id.clone())
}

fn loc_at(sb: &Sandbox, days: &Days, a: &Asset, t: i64) -> Value {
    let (lat, lon, heading) = sb.model.position(a.v, sb.model.odometer(days, a.v, t));
    location(lat, lon, heading, a.branch)
}

/// `GET /trips/stream`.
pub(crate) fn trips(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let w = Window::parse(req, sb.clock.now_ms(), false)?;
        let assets = assets(sb, req, "ids", 50, false)?;
        let expand = flag(req, "includeAsset")?;
        let by_start = match req.param("queryBy") {
            None | Some("updatedAtTime") => false,
            Some("tripStartTime") => true,
            Some(_) => {
                return Err(Response::bad_param(
                    "queryBy",
                    "must be `updatedAtTime` or `tripStartTime`",
                ))
            }
        };
        let status = req.param("completionStatus").unwrap_or("all");
        if !["inProgress", "completed", "all"].contains(&status) {
            return Err(Response::bad_param(
                "completionStatus",
                "must be `inProgress`, `completed` or `all`",
            ));
        }
        let now = w.now.div_euclid(1000);
        let (lo, hi) = w.secs();
        let days = sb.model.days(lo - 86_400, hi);
        let mut items = Vec::new();
        for (a, _, t) in each_trip(sb, &days, &assets, lo - 86_400, hi) {
            if t.start + PROCESSING > now {
                continue;
            }
            let done = t.end + PROCESSING <= now;
            if (status == "inProgress" && done) || (status == "completed" && !done) {
                continue;
            }
            let updated = if done {
                t.end + PROCESSING
            } else {
                t.start + PROCESSING
            };
            let mut j = json!({"asset": asset_json(a, expand), "completionStatus": if done { "completed" } else { "inProgress" },
                "createdAtTime": ts(t.start + PROCESSING), "startLocation": loc_at(sb, &days, a, t.start),
                "tripStartTime": ts(t.start), "updatedAtTime": ts(updated)});
            if done {
                j["endLocation"] = loc_at(sb, &days, a, t.end);
                j["tripEndTime"] = json!(ts(t.end));
                #[allow(clippy::cast_possible_truncation)]
                let dist = (t.speed * (t.drive1 - t.drive0) as f64).round() as i64;
                j["finalDistanceMeters"] = json!(dist);
                j["tripPurpose"] = json!("business");
            }
            items.push(Item {
                at: if by_start { t.start } else { updated } * 1000,
                key: format!("{}:{}", a.id, t.start),
                json: j,
            });
        }
        Ok(page(items, req, &w, None, pf))
    };
    run().unwrap_or_else(|e| e)
}

/// How many speeding intervals a trip has: none on about 65 % of trips, one on 22 %, two on 9 %,
/// three on 4 %.
fn speeding_count(h: u64) -> u64 {
    match crate::rng::unit(h) {
        x if x < 0.65 => 0,
        x if x < 0.87 => 1,
        x if x < 0.96 => 2,
        _ => 3,
    }
}

/// An interval's severity (index into [`SEVERITIES`]): light 60 %, moderate 25 %, heavy 11 %, severe 4 %.
fn severity_of(h: u64) -> usize {
    match crate::rng::unit(crate::rng::mix(h ^ 0x5e)) {
        x if x < 0.60 => 0,
        x if x < 0.85 => 1,
        x if x < 0.96 => 2,
        _ => 3,
    }
}

/// An interval's length, s: mostly 30 s to 3 min, one in six a long stretch of 5-20 min.
fn speeding_secs(h: u64) -> i64 {
    let u = crate::rng::unit(crate::rng::mix(h ^ 0x1e));
    #[allow(clippy::cast_possible_truncation)]
    let secs = if u < 0.83 {
        30.0 + 150.0 * (u / 0.83)
    } else {
        300.0 + 900.0 * ((u - 0.83) / 0.17)
    };
    (secs as i64) / 5 * 5
}

const SEVERITIES: [(&str, f64); 4] = [
    ("light", 1.08),
    ("moderate", 1.16),
    ("heavy", 1.26),
    ("severe", 1.38),
];

/// `behaviorLabels` filter values of `/safety-events/stream` (upper camel case, §3.7.2, with 14.10's additions).
const V2_LABELS: &[&str] = &[
    "Acceleration",
    "AggressiveDriving",
    "BluetoothHeadset",
    "Braking",
    "ContextConstructionOrWorkZone",
    "ContextSnowyOrIcy",
    "ContextVulnerableRoadUser",
    "ContextWet",
    "Crash",
    "DefensiveDriving",
    "DidNotYield",
    "Drinking",
    "Drowsy",
    "Eating",
    "EatingDrinking",
    "EdgeDistractedDriving",
    "EdgeRailroadCrossingViolation",
    "FollowingDistance",
    "FollowingDistanceModerate",
    "FollowingDistanceSevere",
    "ForwardCollisionWarning",
    "GenericDistraction",
    "GenericTailgating",
    "HarshImpact",
    "HarshTurn",
    "HeavySpeeding",
    "HighSpeedSuddenDisconnect",
    "HosViolation",
    "Idling",
    "ImproperEgress",
    "Invalid",
    "LaneDeparture",
    "LateResponse",
    "LeftTurn",
    "LightSpeeding",
    "MaxSpeed",
    "MobileUsage",
    "ModerateSpeeding",
    "NearCollison",
    "NearPedestrianCollision",
    "NoSeatbelt",
    "ObstructedCamera",
    "OperationalEvent",
    "OtherViolation",
    "Passenger",
    "PolicyViolationMask",
    "ProtectiveEquipment",
    "ProximityWarning",
    "RanRedLight",
    "RearCollisionWarning",
    "Reversing",
    "RollingStop",
    "RolloverProtection",
    "SevereSpeeding",
    "Smoking",
    "Speeding",
    "UTurn",
    "UnsafeManeuver",
    "UnsafeParking",
    "VehicleInBlindSpotWarning",
    "VulnerableRoadUserCollisionWarning",
    "YawControl",
];

/// `eventStates` filter values of `/safety-events/stream`.
const EVENT_STATES: &[&str] = &[
    "needsReview",
    "reviewed",
    "needsCoaching",
    "coached",
    "dismissed",
    "needsRecognition",
    "recognized",
];

/// `GET /speeding-intervals/stream`.
pub(crate) fn speeding(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let w = Window::parse(req, sb.clock.now_ms(), false)?;
        let assets = assets(sb, req, "assetIds", 50, false)?;
        let expand = flag(req, "includeAsset")?;
        let with_driver = flag(req, "includeDriverId")?;
        let by_start =
            req.enum_param("queryBy", &["updatedAtTime", "tripStartTime"])? == Some("tripStartTime");
        let levels = req.list("severityLevels");
        if let Some(bad) = levels
            .iter()
            .find(|l| !SEVERITIES.iter().any(|s| s.0 == l.as_str()))
        {
            return Err(Response::bad_param(
                "severityLevels",
                &format!("unknown severity `{bad}`"),
            ));
        }
        let now = w.now.div_euclid(1000);
        let (lo, hi) = w.secs();
        let days = sb.model.days(lo - 86_400, hi);
        let mut items = Vec::new();
        for (a, d, t) in each_trip(sb, &days, &assets, lo - 86_400, hi) {
            if t.end + PROCESSING > now {
                continue;
            }
            let h = hash(sb.cfg.seed, &[a.v as u64, t.start.unsigned_abs(), 41]);
            let drive = (t.drive1 - t.drive0).max(1);
            let intervals: Vec<Value> = (0..speeding_count(h))
                .filter_map(|i| {
                    let hi_ = crate::rng::mix(h ^ i);
                    let (sev, factor) = SEVERITIES[severity_of(hi_)];
                    if !levels.is_empty() && !levels.iter().any(|l| l == sev) {
                        return None;
                    }
                    let s = t.drive0 + (i64::try_from(hi_ >> 8).unwrap_or(0) % drive) / 5 * 5;
                    let e = (s + speeding_secs(hi_)).min(t.drive1);
                    let posted = if t.speed > 20.0 { 104.6 } else { 72.4 };
                    Some(json!({"startTime": ts(s), "endTime": ts(e), "isDismissed": hi_ % 10 == 0, "location": loc_at(sb, &days, a, s),
                        "maxSpeedKilometersPerHour": (posted * factor * 10.0_f64).round() / 10.0, "postedSpeedLimitKilometersPerHour": posted, "severityLevel": sev}))
                })
                .collect();
            // The speeding stream's asset (TripAsset) has no external IDs, unlike a safety event's.
            let mut asset = asset_json(a, expand);
            if let Some(o) = asset.as_object_mut() {
                o.remove("externalIds");
            }
            let mut j = json!({"asset": asset, "createdAtTime": ts(t.start + PROCESSING), "intervals": intervals,
                "tripStartTime": ts(t.start), "updatedAtTime": ts(t.end + PROCESSING)});
            if with_driver {
                j["driverId"] = json!(driver_id(sb, a.v, d));
            }
            items.push(Item {
                at: if by_start { t.start } else { t.end + PROCESSING } * 1000,
                key: format!("{}:{}", a.id, t.start),
                json: j,
            });
        }
        Ok(page(items, req, &w, None, pf))
    };
    run().unwrap_or_else(|e| e)
}

const BEHAVIOURS: [&str; 9] = [
    "Braking",
    "Acceleration",
    "HarshTurn",
    "FollowingDistance",
    "MobileUsage",
    "Speeding",
    "NoSeatbelt",
    "RollingStop",
    "LaneDeparture",
];

/// `GET /safety-events/stream`.
pub(crate) fn safety(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let w = Window::parse(req, sb.clock.now_ms(), false)?;
        let assets = assets(sb, req, "assetIds", 2000, true)?;
        let (expand_a, expand_d) = (flag(req, "includeAsset")?, flag(req, "includeDriver")?);
        let by_created = match req.param("queryByTimeField") {
            None | Some("updatedAtTime") => false,
            Some("createdAtTime") => true,
            Some(_) => {
                return Err(Response::bad_param(
                    "queryByTimeField",
                    "must be `updatedAtTime` or `createdAtTime`",
                ))
            }
        };
        let (labels, states, drivers) = (
            req.enum_list("behaviorLabels", V2_LABELS)?,
            req.enum_list("eventStates", EVENT_STATES)?,
            req.capped_list("driverIds", 2000)?,
        );
        req.capped_list("tagIds", 2000)?;
        req.capped_list("assignedCoaches", 2000)?;
        let (lo, hi) = w.secs();
        let q = SafetyQuery {
            assets,
            lo,
            hi,
            now: w.now.div_euclid(1000),
            by_created,
            expand_a,
            expand_d,
            labels,
            states,
            drivers,
        };
        let items = safety_items(sb, &q);
        Ok(page(items, req, &w, None, pf))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /idling/events`: selected by start time (`startTime <= start < endTime`), completed events only.
/// The record has exactly one shape, the one of the request's API `version` (`shared/samsara-api.md`
/// §3.13.1): from 2025-10-23 nested `asset`/`operator` objects plus `latitude`/`longitude`, before
/// that flat `assetId`/`operatorId` (and no external IDs: `includeExternalIds` came with the nesting).
pub(crate) fn idling(sb: &Sandbox, req: &Request, pf: Option<PageFault>, version: &str) -> Response {
    let run = || -> Result<Response, Response> {
        let mut w = Window::parse(req, sb.clock.now_ms(), true)?;
        w.end = w.end.map(|e| e - 1);
        let assets = assets(sb, req, "assetIds", 100_000, true)?;
        let operators = req.list("operatorIds");
        let min_d = req.int_param("minDurationMilliseconds", 120_000, 86_400_000)?;
        let max_d = req.int_param("maxDurationMilliseconds", 120_000, 86_400_000)?;
        let min_t = req.int_param("minAirTemperatureMillicelsius", -20_000, 50_000)?;
        let max_t = req.int_param("maxAirTemperatureMillicelsius", -20_000, 50_000)?;
        // Every simulated event knows its air temperature, so the unknown-temperature filter only validates.
        flag(req, "excludeEventsWithUnknownAirTemperature")?;
        let pto = req.param("ptoState");
        if pto.is_some_and(|p| p != "active" && p != "inactive") {
            return Err(Response::bad_param("ptoState", "must be `active` or `inactive`"));
        }
        let ext = flag(req, "includeExternalIds")?;
        let nested = version >= crate::version::IDLING_NESTED;
        let driver_ext: Vec<Value> = if ext && nested {
            let st = sb.store();
            st.drivers.iter().map(|d| d["externalIds"].clone()).collect()
        } else {
            Vec::new()
        };
        let now = w.now.div_euclid(1000);
        let (lo, hi) = w.secs();
        let days = sb.model.days(lo - 86_400, hi);
        let mut items = Vec::new();
        for (a, d, t) in each_trip(sb, &days, &assets, lo - 86_400, hi) {
            for (s, e, pto_on) in [(t.start, t.drive0, false), (t.drive1, t.end, t.pto)] {
                let dur = (e - s) * 1000;
                let pto_state = if pto_on { "active" } else { "inactive" };
                if dur < 120_000
                    || e > now
                    || min_d.is_some_and(|m| dur < m)
                    || max_d.is_some_and(|m| dur > m)
                    || pto.is_some_and(|p| p != pto_state)
                {
                    continue;
                }
                let air = 15_000 + i64::try_from(a.v % 10).unwrap_or(0) * 500;
                if min_t.is_some_and(|m| air < m) || max_t.is_some_and(|m| air > m) {
                    continue;
                }
                let op_idx = sb.model.driver_for(a.v, d, sb.fleet.drivers.len());
                let op = op_idx.map(|i| sb.fleet.drivers[i].id.clone());
                if !operators.is_empty() && !op.as_ref().is_some_and(|o| operators.contains(o)) {
                    continue;
                }
                let litres = dur as f64 / 3_600_000.0
                    * if sb.fleet.vehicles[a.v].kind == crate::fleet::Kind::Heavy {
                        3.2
                    } else {
                        1.1
                    };
                let (lat, lon, _) = sb.model.position(a.v, sb.model.odometer(&days, a.v, s));
                let uuid_ = uuid(
                    hash(sb.cfg.seed, &[a.v as u64, s.unsigned_abs(), 47]),
                    hash(sb.cfg.seed, &[a.v as u64, e.unsigned_abs(), 48]),
                );
                let aid: i64 = a.id.parse().unwrap_or(0);
                let oid: Option<i64> = op.as_ref().and_then(|o| o.parse().ok());
                let mut j = json!({"eventUuid": uuid_, "startTime": ts(s), "durationMilliseconds": dur, "fuelConsumedMilliliters": (litres * 1000.0).round(),
                    "fuelCost": {"amount": format!("{:.2}", litres * 1.05), "currency": "usd"}, "gaseousFuelConsumedGrams": 0.0,
                    "gaseousFuelCost": {"amount": "0.00", "currency": "usd"}, "ptoState": pto_state, "airTemperatureMillicelsius": air});
                if nested {
                    j["asset"] = if ext {
                        json!({"id": aid, "externalIds": a.ext})
                    } else {
                        json!({"id": aid})
                    };
                    if let Some(o) = oid {
                        j["operator"] = match op_idx.and_then(|i| driver_ext.get(i)) {
                            Some(x) if x.as_object().is_some_and(|m| !m.is_empty()) => {
                                json!({"id": o, "externalIds": x})
                            }
                            _ => json!({"id": o}),
                        };
                    }
                    j["latitude"] = json!((lat * 1e6).round() / 1e6);
                    j["longitude"] = json!((lon * 1e6).round() / 1e6);
                } else {
                    j["assetId"] = json!(aid);
                    if let Some(o) = oid {
                        j["operatorId"] = json!(o);
                    }
                }
                items.push(Item {
                    at: s * 1000,
                    key: uuid_,
                    json: j,
                });
            }
        }
        Ok(page(items, req, &w, Some((200, 200)), pf))
    };
    run().unwrap_or_else(|e| e)
}

/// The safety-event query, shared by the v2 stream and the legacy endpoint.
pub(crate) struct SafetyQuery {
    /// Selected vehicles.
    pub(crate) assets: Vec<Asset>,
    /// Window start and end (Unix s).
    pub(crate) lo: i64,
    /// Window end (Unix s).
    pub(crate) hi: i64,
    /// Simulated now (Unix s).
    pub(crate) now: i64,
    /// Order by detection time instead of `updatedAtTime`.
    pub(crate) by_created: bool,
    /// Expand asset and driver objects.
    pub(crate) expand_a: bool,
    /// Expand the driver object.
    pub(crate) expand_d: bool,
    /// Behaviour-label filter.
    pub(crate) labels: Vec<String>,
    /// Event-state filter.
    pub(crate) states: Vec<String>,
    /// Driver filter.
    pub(crate) drivers: Vec<String>,
}

/// One safety event of a trip, as the model draws it.
#[derive(Debug, Clone)]
pub(crate) struct TripEvent {
    /// The event's own hash (drives its details).
    pub(crate) h: u64,
    /// Start and end, Unix s.
    pub(crate) start: i64,
    /// End, Unix s.
    pub(crate) end: i64,
    /// Created (processed), Unix s.
    pub(crate) created: i64,
    /// Event ID.
    pub(crate) id: String,
    /// Behaviour label (v2 spelling).
    pub(crate) label: &'static str,
}

impl TripEvent {
    /// Whether the camera clip of this event also faces the driver (behaviours seen in the cab).
    pub(crate) fn inward(&self) -> bool {
        matches!(self.label, "MobileUsage" | "NoSeatbelt")
    }

    /// Whether the camera recorded the event: about one in seven has no clip (the camera was
    /// offline or obstructed), so its `media` is empty.
    pub(crate) fn has_media(&self) -> bool {
        self.h % 7 != 5
    }
}

/// The safety events of trip `t` of vehicle `v`.
pub(crate) fn trip_events(seed: u64, v: usize, t: &crate::model::Trip) -> Vec<TripEvent> {
    let h = hash(seed, &[v as u64, t.start.unsigned_abs(), 43]);
    (0..(h % 5).saturating_sub(2))
        .map(|i| {
            let hh = crate::rng::mix(h ^ (i + 1));
            let start =
                t.drive0 + (i64::try_from(hh >> 8).unwrap_or(0) % (t.drive1 - t.drive0).max(1)) / 5 * 5;
            TripEvent {
                h: hh,
                start,
                end: start + 5 + i64::try_from(hh % 20).unwrap_or(0),
                created: start + 2 * PROCESSING,
                id: uuid(hh, crate::rng::mix(hh)),
                label: BEHAVIOURS[usize::try_from(hh % BEHAVIOURS.len() as u64).unwrap_or(0)],
            }
        })
        .collect()
}

/// The clip URL of a safety event's camera (`front` or `inward`), handed out at `now` (Unix ms): a
/// signed loopback URL of the sandbox that expires (see `media`).
pub(crate) fn clip_url(sb: &Sandbox, id: &str, camera: &str, now: i64) -> String {
    crate::media::media_url(sb, &format!("{id}.{camera}.mp4"), now)
}

/// Safety events (v2 shape) of the selected vehicles around the window, ordered by the query's time.
pub(crate) fn safety_items(sb: &Sandbox, q: &SafetyQuery) -> Vec<Item> {
    let days = sb.model.days(q.lo - 2 * 86_400, q.hi);
    let mut items = Vec::new();
    for (a, d, t) in each_trip(sb, &days, &q.assets, q.lo - 2 * 86_400, q.hi) {
        for ev in trip_events(sb.cfg.seed, a.v, t) {
            let (hh, s, created, label) = (ev.h, ev.start, ev.created, ev.label);
            if created > q.now {
                continue;
            }
            let reviewed = q.now >= created + 4 * 3600 && hh % 3 != 2;
            let (state, updated) = if reviewed {
                (
                    if hh % 3 == 0 { "reviewed" } else { "coached" },
                    created + 4 * 3600,
                )
            } else {
                ("needsReview", created)
            };
            let driver = driver_id(sb, a.v, d);
            if (!q.labels.is_empty() && !q.labels.iter().any(|l| l == label))
                || (!q.states.is_empty() && !q.states.iter().any(|x| x == state))
                || (!q.drivers.is_empty() && !driver.as_ref().is_some_and(|dr| q.drivers.contains(dr)))
            {
                continue;
            }
            let id = ev.id.clone();
            let mut media =
                vec![json!({"input": "dashcamRoadFacing", "url": clip_url(sb, &id, "front", q.now * 1000)})];
            if !ev.has_media() {
                media.clear();
            } else if ev.inward() {
                media.push(
                    json!({"input": "dashcamDriverFacing", "url": clip_url(sb, &id, "inward", q.now * 1000)}),
                );
            }
            let mut j = json!({"id": id, "asset": asset_json(a, q.expand_a), "behaviorLabels": [{"label": label, "source": "automated"}],
                    "contextLabels": [], "createdAtTime": ts(created), "startMs": ts(s), "endMs": ts(ev.end),
                    "eventState": state, "updatedAtTime": ts(updated), "location": loc_at(sb, &days, a, s),
                    "maxAccelerationGForce": 0.25 + f64::from(u32::try_from(hh % 40).unwrap_or(0)) / 100.0,
                    "inboxEventUrl": format!("https://cloud.samsara.com/o/{}/fleet/safety/event/{id}", sb.org_id),
                    "incidentReportUrl": format!("https://cloud.samsara.com/o/{}/fleet/reports/safety/incident/{id}", sb.org_id),
                    "tripStartTime": ts(t.start),
                    "media": media});
            if ev.has_media() {
                j["downloadForwardVideoUrl"] = json!(clip_url(sb, &id, "front", q.now * 1000));
            }
            j["driver"] = match &driver {
                Some(did) if q.expand_d => {
                    json!({"id": did, "name": sb.fleet.drivers.iter().find(|x| &x.id == did).map(|x| x.name.clone())})
                }
                Some(did) => json!({"id": did}),
                None => json!({"id": "0"}),
            };
            if t.end <= q.now {
                j["tripEndTime"] = json!(ts(t.end));
            }
            if label == "Speeding" {
                j["speedingMetadata"] =
                    json!({"maxSpeedKilometersPerHour": 121, "postedSpeedLimitKilometersPerHour": 105});
            }
            items.push(Item {
                at: if q.by_created { s } else { updated } * 1000,
                key: id.clone(),
                json: j,
            });
        }
    }
    items
}
