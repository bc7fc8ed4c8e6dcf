//! IFTA reports (`/fleet/reports/ifta/jurisdiction` and `/fleet/reports/ifta/vehicle`): distance per
//! jurisdiction from the odometer model (mostly the home state, some in a neighbouring one), and
//! tax-paid fuel from a fuel-economy estimate, bought where the vehicle drives except in the
//! neighbouring jurisdiction of every other branch. About one vehicle in twelve has no fuel
//! type (reported under `Unspecified` and in the troubleshooting notes), and one fuel purchase in a
//! closed month becomes known only at a seeded simulated time after `--start`, so that month's and
//! its quarter's figures change once. `/__sandbox/truth/ifta` gives the ground truth.

// Distances stay far below 2^52 metres.
#![allow(clippy::cast_precision_loss)]

use std::collections::BTreeMap;

use serde_json::{json, Value};

use chrono::Datelike;

use crate::fleet::{Kind, BRANCHES};
use crate::http::{Request, Response};
use crate::rng::hash;
use crate::router::Sandbox;
use crate::simtime::rfc3339;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// A neighbouring jurisdiction per branch, in branch order.
const NEIGHBOUR: [&str; 8] = ["OK", "AL", "IN", "NM", "NV", "PA", "WY", "SC"];

/// Unix seconds at the start of `year`-`month` (1-based, may be 13).
fn month_start(year: i64, month: i64) -> i64 {
    let (y, m) = if month > 12 {
        (year + 1, month - 12)
    } else {
        (year, month)
    };
    let s = format!("{y:04}-{m:02}-01T00:00:00Z");
    crate::simtime::parse_rfc3339_ms(&s).map_or(0, |ms| ms / 1000)
}

struct Period {
    year: i64,
    month: Option<String>,
    quarter: Option<String>,
    start: i64,
    end: i64,
}

fn period(req: &Request) -> Result<Period, Response> {
    let year = req
        .int_param("year", 2000, 2100)?
        .ok_or_else(|| Response::bad_param("year", "is required"))?;
    match (req.param("month"), req.param("quarter")) {
        (Some(_), Some(_)) => Err(Response::bad_param("quarter", "cannot be combined with month")),
        (None, None) => Err(Response::bad_param(
            "month",
            "one of month or quarter is required",
        )),
        (Some(m), None) => {
            let i = MONTHS
                .iter()
                .position(|x| *x == m)
                .ok_or_else(|| Response::bad_param("month", "must be a month name such as January"))?;
            let i = i64::try_from(i).unwrap_or(0) + 1;
            Ok(Period {
                year,
                month: Some(m.to_string()),
                quarter: None,
                start: month_start(year, i),
                end: month_start(year, i + 1),
            })
        }
        (None, Some(q)) => {
            let i = ["Q1", "Q2", "Q3", "Q4"]
                .iter()
                .position(|x| *x == q)
                .ok_or_else(|| Response::bad_param("quarter", "must be Q1, Q2, Q3 or Q4"))?;
            let first = i64::try_from(i).unwrap_or(0) * 3 + 1;
            Ok(Period {
                year,
                month: None,
                quarter: Some(q.to_string()),
                start: month_start(year, first),
                end: month_start(year, first + 3),
            })
        }
    }
}

/// The IFTA fuel type of vehicle `v`, or `None` for one its fleet manager never gave a fuel type
/// (about one vehicle in twelve, seeded): such a vehicle is reported under `Unspecified`. A fuel type
/// given later (`POST /__sandbox/ifta/fuel-types`) applies to every period, closed ones included, as
/// Samsara files a vehicle's miles under its current fuel type.
pub(crate) fn fuel_type(sb: &Sandbox, v: usize) -> Option<&'static str> {
    if let Some(f) = sb.store().ifta_fuel.get(&v) {
        return Some(f);
    }
    base_fuel_type(sb, v)
}

/// The fuel type vehicle `v` was generated with (see [`fuel_type`]).
fn base_fuel_type(sb: &Sandbox, v: usize) -> Option<&'static str> {
    if hash(sb.cfg.seed, &[v as u64, 91]) % 12 == 0 {
        return None;
    }
    Some(match sb.fleet.vehicles[v].kind {
        Kind::Heavy => "Diesel",
        Kind::Light => "Gasoline",
        Kind::Ev => "Electricity",
    })
}

/// Whether a branch's drivers buy no fuel in its neighbouring jurisdiction (every other branch,
/// seeded): that jurisdiction then has miles and no tax-paid fuel.
fn dry_neighbour(seed: u64, branch: usize) -> bool {
    (branch as u64 + seed) % 2 == 1
}

/// `fuelType` values (§3.14).
const FUEL_TYPES: &[&str] = &[
    "Unspecified",
    "A55",
    "Biodiesel",
    "CompressedNaturalGas",
    "Diesel",
    "E85",
    "Electricity",
    "Ethanol",
    "Gasohol",
    "Gasoline",
    "Hydrogen",
    "LiquifiedNaturalGas",
    "M85",
    "Methanol",
    "Propane",
    "Other",
];

/// A fuel purchase Samsara learns of late (a fuel card import that lands days after the month
/// closed): it changes a closed month's (and its quarter's) figures once, at a seeded simulated time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LatePurchase {
    /// The vehicle (fleet index), a diesel truck.
    pub(crate) v: usize,
    /// When the fuel was bought (Unix s): the 20th, 15:00 UTC, of the month before the one holding
    /// `--start` less four days (a month closed at `--start`).
    pub(crate) at: i64,
    /// Litres bought, in the vehicle's home jurisdiction.
    pub(crate) litres: f64,
    /// From when the reports include it (Unix s): `--start` plus 12 to 23 hours.
    pub(crate) known_from: i64,
}

/// The late purchase of this sandbox, if its month has data.
pub(crate) fn late_purchase(sb: &Sandbox) -> Option<LatePurchase> {
    let seed = sb.cfg.seed;
    let start = sb.cfg.start_ms.div_euclid(1000);
    let closed = chrono::DateTime::from_timestamp(start - 4 * 86_400, 0)?;
    let (year, month) = (i64::from(closed.year()), i64::from(closed.month()));
    let (py, pm) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    let at = month_start(py, pm) + 19 * 86_400 + 15 * 3600;
    if at < sb.model.origin {
        return None;
    }
    let count = sb.fleet.vehicles.len();
    let first = usize::try_from(hash(seed, &[94]) % (count.max(1) as u64)).unwrap_or(0);
    let vehicle = (0..count)
        .map(|i| (first + i) % count)
        .find(|&v| sb.fleet.vehicles[v].kind == Kind::Heavy && base_fuel_type(sb, v).is_some())?;
    Some(LatePurchase {
        v: vehicle,
        at,
        litres: 180.0 + (hash(seed, &[95]) % 120) as f64,
        known_from: start + (12 + i64::try_from(seed % 12).unwrap_or(0)) * 3600,
    })
}

/// One vehicle's period: its fuel type and, per jurisdiction, (metres, litres bought).
struct Row {
    v: usize,
    fuel: Option<&'static str>,
    juris: BTreeMap<&'static str, (f64, f64)>,
}

/// Per selected vehicle: its fuel type and its jurisdictions' figures.
fn compute(sb: &Sandbox, req: &Request, p: &Period) -> Result<Vec<Row>, Response> {
    let assets = crate::events::assets(sb, req, "vehicleIds", 100_000, true)?;
    let fuels = req.enum_list("fuelType", FUEL_TYPES)?;
    let juris = req.list("jurisdictions");
    let now = sb.clock.now_s();
    let late = late_purchase(sb).filter(|l| now >= l.known_from && (p.start..p.end).contains(&l.at));
    let (lo, hi) = (p.start.max(sb.model.origin), p.end.min(now));
    let days = sb.model.days(lo, hi.max(lo));
    Ok(assets
        .iter()
        .map(|a| (a, fuel_type(sb, a.v)))
        .filter(|(_, f)| fuels.is_empty() || fuels.iter().any(|x| x == f.unwrap_or("Unspecified")))
        .map(|(a, fuel)| {
            let metres = if hi > lo {
                sb.model.odometer(&days, a.v, hi) - sb.model.odometer(&days, a.v, lo)
            } else {
                0.0
            };
            let lpm = match sb.fleet.vehicles[a.v].kind {
                Kind::Heavy => 0.00035,
                Kind::Light => 0.00013,
                Kind::Ev => 0.0,
            };
            let dry = dry_neighbour(sb.cfg.seed, a.branch);
            let home = BRANCHES[a.branch].state;
            let mut m = BTreeMap::new();
            for (j, share, bought) in [
                (home, 0.85, if dry { 1.0 } else { 0.85 }),
                (NEIGHBOUR[a.branch], 0.15, if dry { 0.0 } else { 0.15 }),
            ] {
                if juris.is_empty() || juris.iter().any(|x| x == j) {
                    let mut litres = (metres * bought * lpm * 10.0).round() / 10.0;
                    if j == home && late.is_some_and(|l| l.v == a.v) {
                        litres += late.map_or(0.0, |l| l.litres);
                    }
                    m.insert(j, ((metres * share).round(), litres));
                }
            }
            Row {
                v: a.v,
                fuel,
                juris: m,
            }
        })
        .collect())
}

fn summary(j: &str, (m, l): (f64, f64)) -> Value {
    // Litres are sums of 0.1 L amounts: rounded so that float sums do not show.
    json!({"jurisdiction": j, "totalMeters": m, "taxableMeters": (m * 0.98).round(), "taxPaidLiters": (l * 10.0).round() / 10.0})
}

/// The report's troubleshooting notes over the selected vehicles: vehicles with miles and no fuel
/// type, their purchases (one per vehicle that bought fuel), and whether any fuel was bought.
fn troubleshooting(rows: &[Row]) -> Value {
    let untyped: Vec<&Row> = rows
        .iter()
        .filter(|r| r.fuel.is_none() && r.juris.values().any(|x| x.0 > 0.0))
        .collect();
    let litres: f64 = rows.iter().flat_map(|r| r.juris.values()).map(|x| x.1).sum();
    json!({"noPurchasesFound": litres <= 0.0,
        "unassignedFuelTypePurchases": untyped.iter().filter(|r| r.juris.values().any(|x| x.1 > 0.0)).count(),
        "unassignedFuelTypeVehicles": untyped.len(),
        "unassignedVehiclePurchases": 0})
}

fn header(p: &Period, rows: &[Row]) -> Value {
    let mut d = json!({"year": p.year, "troubleshooting": troubleshooting(rows)});
    if let Some(m) = &p.month {
        d["month"] = json!(m);
    }
    if let Some(q) = &p.quarter {
        d["quarter"] = json!(q);
    }
    d
}

/// `GET /__sandbox/truth/ifta?year=…&month=…|quarter=…`: the period's figures summed per fuel type
/// and jurisdiction straight from the model (what a return for it must hold), the vehicles without a
/// fuel type that drove in it, and the late purchase (whether or not it is known yet).
pub(crate) fn truth(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let p = period(req)?;
        let rows = compute(sb, req, &p)?;
        let mut totals: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
        for r in &rows {
            for (j, (m, l)) in &r.juris {
                let e = totals.entry((r.fuel.unwrap_or("Unspecified"), j)).or_default();
                e.0 += m;
                e.1 += l;
            }
        }
        let lines: Vec<Value> = totals
            .into_iter()
            .map(|((f, j), x)| {
                let mut s = summary(j, x);
                s["fuelType"] = json!(f);
                s
            })
            .collect();
        let st = sb.store();
        let untyped: Vec<Value> = rows
            .iter()
            .filter(|r| r.fuel.is_none() && r.juris.values().any(|x| x.0 > 0.0))
            .map(|r| st.vehicles[r.v]["id"].clone())
            .collect();
        let late = late_purchase(sb).map(|l| {
            json!({"vehicleId": st.vehicles[l.v]["id"], "jurisdiction": BRANCHES[sb.fleet.vehicles[l.v].branch].state,
                "litres": l.litres, "purchasedAt": rfc3339(l.at), "knownFrom": rfc3339(l.known_from)})
        });
        drop(st);
        let mut d = header(&p, &rows);
        d["lines"] = Value::Array(lines);
        d["vehiclesWithoutFuelType"] = Value::Array(untyped);
        d["latePurchase"] = late.unwrap_or(Value::Null);
        Ok(Response::json(200, &json!({ "data": d })))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /fleet/reports/ifta/jurisdiction`.
pub(crate) fn jurisdiction(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let p = period(req)?;
        let rows = compute(sb, req, &p)?;
        let mut totals: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for r in &rows {
            for (j, (a, b)) in &r.juris {
                let e = totals.entry(j).or_default();
                e.0 += a;
                e.1 += b;
            }
        }
        let mut d = header(&p, &rows);
        d["jurisdictionReports"] = Value::Array(totals.into_iter().map(|(j, x)| summary(j, x)).collect());
        Ok(Response::json(200, &json!({"data": d})))
    };
    run().unwrap_or_else(|e| e)
}

/// `GET /fleet/reports/ifta/vehicle`.
pub(crate) fn vehicle(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let p = period(req)?;
        let rows = compute(sb, req, &p)?;
        let st = sb.store();
        let items: Vec<Value> = rows
            .iter()
            .map(|r| json!({"vehicle": {"id": st.vehicles[r.v]["id"], "name": st.vehicles[r.v]["name"], "externalIds": st.vehicle_external_ids(r.v)},
                "jurisdictions": r.juris.iter().map(|(j, x)| summary(j, *x)).collect::<Vec<_>>()}))
            .collect();
        drop(st);
        let page = crate::entities::paged(items, req, false);
        if page.status != 200 {
            return Ok(page);
        }
        let v: Value = serde_json::from_slice(&page.body).unwrap_or(Value::Null);
        let mut d = header(&p, &rows);
        d["vehicleReports"] = v["data"].clone();
        Ok(Response::json(
            200,
            &json!({"data": d, "pagination": v["pagination"]}),
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// `POST /__sandbox/ifta/fuel-types` `{"vehicleId", "fuelType"}`: the fleet manager gives a vehicle a
/// fuel type (one without, or a corrected one). Every period's reports, closed ones included, then
/// file its miles and fuel under that type, so a closed period's figures change and its lines under
/// the old type (`Unspecified`) may vanish.
pub(crate) fn set_fuel_type(sb: &Sandbox, req: &Request) -> Response {
    let body = match req.json() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(fuel) = body["fuelType"]
        .as_str()
        .and_then(|f| FUEL_TYPES.iter().find(|x| **x == f && f != "Unspecified"))
    else {
        return Response::bad_param(
            "fuelType",
            "must be one of the IFTA fuel types other than Unspecified",
        );
    };
    let id = body["vehicleId"]
        .as_str()
        .map(str::to_string)
        .or_else(|| body["vehicleId"].as_i64().map(|n| n.to_string()))
        .unwrap_or_default();
    let mut st = sb.store();
    let Some(v) = st.find_vehicle(&id) else {
        return Response::bad_param("vehicleId", "names no vehicle of the fleet");
    };
    st.ifta_fuel.insert(v, fuel);
    Response::json(200, &json!({"vehicleId": id, "fuelType": fuel}))
}
