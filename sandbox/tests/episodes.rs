//! `--episodes on`: what `/__sandbox/truth/episodes` says happened is what the stats history shows.

use serde_json::Value;

use crate::support::Sandbox;

fn with_episodes() -> Sandbox {
    Sandbox::start(&[
        "--seed",
        "7",
        "--vehicles",
        "50",
        "--days",
        "2",
        "--start",
        "2026-11-02T18:00:00Z",
        "--rate-limits",
        "off",
        "--episodes",
        "on",
    ])
}

/// The points of one stat of one vehicle in `[start, end]`, by time.
fn points(sb: &Sandbox, stat: &str, vehicle: &str, from: &str, to: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let (status, body) = sb.get(&format!(
            "/fleet/vehicles/stats/history?types={stat}&vehicleIds={vehicle}&startTime={from}&endTime={to}{after}"
        ));
        assert_eq!(status, 200, "{body}");
        for v in body["data"].as_array().unwrap() {
            out.extend(v[stat].as_array().cloned().unwrap_or_default());
        }
        let cursor = body["pagination"]["endCursor"].as_str().unwrap_or("").to_string();
        if !body["pagination"]["hasNextPage"].as_bool().unwrap_or(false) || cursor.is_empty() {
            return out;
        }
        after = format!("&after={cursor}");
    }
}

fn at<'a>(pts: &'a [Value], time: &str) -> &'a Value {
    pts.iter()
        .find(|p| p["time"] == time)
        .unwrap_or_else(|| panic!("no point at {time}"))
}

fn shows(point: &Value, code: &Value) -> bool {
    let text = point.to_string();
    match code["protocol"].as_str() {
        Some("j1939") => text.contains(&format!("\"spnId\":{}", code["spn"])),
        _ => text.contains(code["dtcShortCode"].as_str().unwrap()),
    }
}

#[test]
fn the_history_shows_each_episode_as_the_truth_says() {
    let sb = with_episodes();
    let (status, truth) =
        sb.get("/__sandbox/truth/episodes?startTime=2026-10-31T18:00:00Z&endTime=2026-11-02T18:00:00Z");
    assert_eq!(status, 200, "{truth}");
    let episodes = truth["data"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        episodes.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.len() >= 6, "{kinds:?}");
    let mut checked = 0;
    for e in episodes {
        let (Some(first), Some(last)) = (e["firstSample"].as_str(), e["lastSample"].as_str()) else {
            continue;
        };
        let v = e["vehicleId"].as_str().unwrap();
        let after = e["sampleAfter"].as_str().unwrap_or(last);
        match e["kind"].as_str().unwrap() {
            "fault" | "flap" => {
                let pts = points(&sb, "faultCodes", v, "2026-10-31T00:00:00Z", after);
                assert!(
                    shows(at(&pts, first), &e["code"]) && shows(at(&pts, last), &e["code"]),
                    "{e}"
                );
                if e["sampleAfter"].is_string() {
                    assert!(
                        !shows(at(&pts, after), &e["code"]),
                        "cleared at the sample after: {e}"
                    );
                }
                let i = pts.iter().position(|p| p["time"] == first).unwrap();
                assert!(i == 0 || !shows(&pts[i - 1], &e["code"]), "absent before: {e}");
                checked += 1;
            }
            kind @ ("lowVoltageEngineOff" | "lowVoltageEngineOn") => {
                let pts = points(&sb, "batteryMilliVolts", v, first, after);
                let limit = if kind == "lowVoltageEngineOff" {
                    12_000
                } else {
                    13_000
                };
                assert!(at(&pts, first)["value"].as_i64().unwrap() < limit, "{e}");
                assert!(at(&pts, last)["value"].as_i64().unwrap() < limit, "{e}");
                checked += 1;
            }
            "lowOilPressure" => {
                let pts = points(&sb, "engineOilPressureKPa", v, first, after);
                assert!(at(&pts, first)["value"].as_i64().unwrap() < 100, "{e}");
                checked += 1;
            }
            "odometerRollback" | "odometerJump" => {
                let pts = points(&sb, "obdOdometerMeters", v, "2026-10-31T00:00:00Z", first);
                let n = pts.len();
                let delta = pts[n - 1]["value"].as_f64().unwrap() - pts[n - 2]["value"].as_f64().unwrap();
                let meters = e["meters"].as_f64().unwrap();
                assert!((delta - meters).abs() < 100_000.0, "{e}: {delta}");
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= 20, "{checked}");
}

#[test]
fn without_episodes_there_is_no_truth_and_faults_keep_their_blocks() {
    let sb = Sandbox::default_fleet();
    let (status, _) =
        sb.get("/__sandbox/truth/episodes?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T00:00:00Z");
    assert_eq!(status, 409);
    let (_, body) = sb.get("/fleet/vehicles/stats/history?types=faultCodes&startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T00:00:00Z");
    for v in body["data"].as_array().unwrap() {
        let n = v["faultCodes"].as_array().map_or(0, Vec::len);
        assert!(n <= 5, "one point per 6-hour block: {n}");
    }
}
