//! IFTA reports (`/fleet/reports/ifta/jurisdiction` and `/fleet/reports/ifta/vehicle`): distance per
//! jurisdiction from the odometer model (mostly the home state, some in a neighbouring one), and
//! tax-paid fuel from a fuel-economy estimate.

// Distances stay far below 2^52 metres.
#![allow(clippy::cast_precision_loss)]

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::fleet::{Kind, BRANCHES};
use crate::http::{Request, Response};
use crate::router::Sandbox;

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

/// Per vehicle: its index and jurisdiction → (metres, litres).
type Rows = Vec<(usize, BTreeMap<&'static str, (f64, f64)>)>;

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

fn fuel_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Heavy => "Diesel",
        Kind::Light => "Gasoline",
        Kind::Ev => "Electricity",
    }
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

/// Per selected vehicle: (index, jurisdiction → (metres, litres)).
fn compute(sb: &Sandbox, req: &Request, p: &Period) -> Result<Rows, Response> {
    let assets = crate::events::assets(sb, req, "vehicleIds", 100_000, true)?;
    let fuel = req.enum_param("fuelType", FUEL_TYPES)?;
    let juris = req.list("jurisdictions");
    let now = sb.clock.now_s();
    let (lo, hi) = (p.start.max(sb.model.origin), p.end.min(now));
    let days = sb.model.days(lo, hi.max(lo));
    Ok(assets
        .iter()
        .filter(|a| fuel.is_none_or(|f| f == fuel_type(sb.fleet.vehicles[a.v].kind)))
        .map(|a| {
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
            let mut m = BTreeMap::new();
            for (j, share) in [(BRANCHES[a.branch].state, 0.85), (NEIGHBOUR[a.branch], 0.15)] {
                if juris.is_empty() || juris.iter().any(|x| x == j) {
                    m.insert(
                        j,
                        (
                            (metres * share).round(),
                            (metres * share * lpm * 10.0).round() / 10.0,
                        ),
                    );
                }
            }
            (a.v, m)
        })
        .collect())
}

fn summary(j: &str, (m, l): (f64, f64)) -> Value {
    json!({"jurisdiction": j, "totalMeters": m, "taxableMeters": (m * 0.98).round(), "taxPaidLiters": l})
}

fn header(p: &Period) -> Value {
    let mut d = json!({"year": p.year, "troubleshooting": {"noPurchasesFound": false, "unassignedFuelTypePurchases": 0, "unassignedFuelTypeVehicles": 0, "unassignedVehiclePurchases": 0}});
    if let Some(m) = &p.month {
        d["month"] = json!(m);
    }
    if let Some(q) = &p.quarter {
        d["quarter"] = json!(q);
    }
    d
}

/// `GET /fleet/reports/ifta/jurisdiction`.
pub(crate) fn jurisdiction(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let p = period(req)?;
        let mut totals: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for (_, m) in compute(sb, req, &p)? {
            for (j, (a, b)) in m {
                let e = totals.entry(j).or_default();
                e.0 += a;
                e.1 += b;
            }
        }
        let mut d = header(&p);
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
            .into_iter()
            .map(|(v, m)| json!({"vehicle": {"id": st.vehicles[v]["id"], "name": st.vehicles[v]["name"], "externalIds": st.vehicle_external_ids(v)},
                "jurisdictions": m.into_iter().map(|(j, x)| summary(j, x)).collect::<Vec<_>>()}))
            .collect();
        drop(st);
        let page = crate::entities::paged(items, req, false);
        if page.status != 200 {
            return Ok(page);
        }
        let v: Value = serde_json::from_slice(&page.body).unwrap_or(Value::Null);
        let mut d = header(&p);
        d["vehicleReports"] = v["data"].clone();
        Ok(Response::json(
            200,
            &json!({"data": d, "pagination": v["pagination"]}),
        ))
    };
    run().unwrap_or_else(|e| e)
}
