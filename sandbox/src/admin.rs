//! The admin API under `/__sandbox/` (no auth): health, the simulated clock, fault rules, the
//! request log and the FMC matching ground truth.

use serde_json::{json, Value};

use crate::faults::Rule;
use crate::http::{Request, Response};
use crate::router::Sandbox;
use crate::simtime::rfc3339_ms;

/// Routes one admin request.
pub(crate) fn handle(sb: &Sandbox, req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/__sandbox/health") => Response::json(
            200,
            &json!({"status": "ok", "vehicles": sb.fleet.vehicles.len(), "drivers": sb.fleet.drivers.len(), "seed": sb.cfg.seed}),
        ),
        ("GET", "/__sandbox/clock") => clock(sb),
        ("POST", "/__sandbox/clock/advance") => {
            let secs = match req.json() {
                Ok(v) => v.get("seconds").and_then(Value::as_f64),
                Err(e) => return e,
            };
            match secs {
                #[allow(clippy::cast_possible_truncation)]
                Some(s) if (0.0..=366.0 * 86_400.0).contains(&s) => {
                    sb.clock.advance_ms((s * 1000.0).round() as i64);
                    clock(sb)
                }
                _ => Response::bad_param("seconds", "must be a number from 0 to 31622400"),
            }
        }
        ("POST", "/__sandbox/faults") => {
            let body = match req.json() {
                Ok(v) => v,
                Err(e) => return e,
            };
            match serde_json::from_value::<Vec<Rule>>(body.get("rules").cloned().unwrap_or(Value::Null)) {
                Ok(rules) => {
                    let n = rules.len();
                    sb.faults.add(rules);
                    Response::json(200, &json!({"added": n}))
                }
                Err(e) => Response::bad_param("rules", &e.to_string()),
            }
        }
        ("GET", "/__sandbox/faults") => Response::json(200, &json!({"rules": sb.faults.list()})),
        ("DELETE", "/__sandbox/faults") => {
            sb.faults.clear();
            Response::no_content()
        }
        ("GET", "/__sandbox/requests") => {
            let since = req.param("since").and_then(|s| s.parse().ok()).unwrap_or(0);
            Response::json(200, &json!({"requests": sb.requests_since(since)}))
        }
        ("GET", "/__sandbox/trailers") => trailers(sb),
        ("GET", p) if p.starts_with("/__sandbox/media/") => crate::media::serve(sb, req),
        ("GET", "/__sandbox/truth/retrievals") => crate::media::truth(sb),
        ("GET", "/__sandbox/truth/vehicles") => {
            Response::json(200, &json!({"data": sb.fmc.truth_vehicles(&sb.fleet)}))
        }
        ("GET", "/__sandbox/truth/episodes") => crate::episodes::truth(sb, req),
        ("POST", "/__sandbox/fmc/changes") => crate::fmc_changes::script(sb, req),
        ("GET", "/__sandbox/fmc/changes") => crate::fmc_changes::status(sb),
        ("GET", "/__sandbox/truth/ifta") => crate::ifta::truth(sb, req),
        ("GET", "/__sandbox/truth/trips") => crate::legacy::truth(sb, req),
        ("POST", "/__sandbox/ifta/fuel-types") => crate::ifta::set_fuel_type(sb, req),
        ("GET", "/__sandbox/truth/drivers") => {
            let mut truth = sb.fmc.truth_drivers(&sb.fleet);
            let hires = crate::fmc_changes::new_hires(sb, &truth);
            if let Some(p) = truth["pairs"].as_array_mut() {
                p.extend(hires);
            }
            Response::json(200, &json!({"data": truth}))
        }
        ("GET", "/__sandbox/truth/tags") => {
            Response::json(200, &json!({"data": crate::fmc_changes::truth_tags(sb)}))
        }
        (_, p)
            if [
                "/__sandbox/health",
                "/__sandbox/clock",
                "/__sandbox/clock/advance",
                "/__sandbox/faults",
                "/__sandbox/requests",
                "/__sandbox/truth/vehicles",
                "/__sandbox/truth/drivers",
                "/__sandbox/truth/tags",
                "/__sandbox/truth/episodes",
                "/__sandbox/truth/ifta",
                "/__sandbox/truth/trips",
                "/__sandbox/ifta/fuel-types",
                "/__sandbox/truth/retrievals",
                "/__sandbox/fmc/changes",
            ]
            .contains(&p) =>
        {
            Response::error(405, &format!("Method {} not allowed for {p}", req.method))
        }
        _ => Response::not_found(&format!("admin route {}", req.path)),
    }
}

fn clock(sb: &Sandbox) -> Response {
    Response::json(200, &json!({"now": rfc3339_ms(sb.clock.now_ms())}))
}

/// The simulated trailers (Samsara exposes them only as tag `assets`, defect `trailer`s and readings
/// entities, so tests and demos read their identity here).
fn trailers(sb: &Sandbox) -> Response {
    let data: Vec<Value> = sb
        .fleet
        .trailers
        .iter()
        .map(|t| {
            json!({"id": t.id, "name": t.name, "make": t.make, "model": t.model, "year": t.year,
                "vin": t.vin, "licensePlate": t.plate, "refrigerated": t.reefer,
                "tractorVehicleId": t.tractor.map(|v| sb.fleet.vehicles[v].id.clone())})
        })
        .collect();
    Response::json(200, &json!({ "data": data }))
}
