//! The Readings API: definitions, latest, history and feed mode; parameter errors; agreement with the
//! stats endpoints (one telemetry model behind both).

use std::collections::HashSet;

use serde_json::Value;

use crate::support::Sandbox;

const V: &str = "281474977000011";

fn error_names(sb: &Sandbox, path: &str, param: &str) {
    let (s, body) = sb.get(path);
    assert_eq!(s, 400, "{path}: {body}");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains(&format!("`{param}`")), "{path}: {msg}");
}

#[test]
fn parameters_are_enforced_with_400s_naming_them() {
    let sb = Sandbox::default_fleet();
    error_names(&sb, "/readings/latest?entityType=asset", "readingIds");
    error_names(
        &sb,
        "/readings/latest?entityType=asset&readingIds=engineState,oilPressure,coolantTemp,defLevel,batteryVoltage,odometerEcu",
        "readingIds",
    );
    error_names(&sb, "/readings/latest?readingIds=engineState", "entityType");
    error_names(
        &sb,
        "/readings/latest?readingIds=engineState&entityType=truck",
        "entityType",
    );
    error_names(
        &sb,
        "/readings/latest?readingIds=oilLife&entityType=asset",
        "readingIds",
    );
    error_names(
        &sb,
        "/readings/latest?readingIds=engineState&entityType=asset&entityIds=42",
        "entityIds",
    );
    error_names(
        &sb,
        "/readings/latest?readingIds=engineState&entityType=asset&externalIds=nokey",
        "externalIds",
    );
    error_names(
        &sb,
        "/readings/latest?readingIds=engineState&entityType=asset&asOfTime=yesterday",
        "asOfTime",
    );
    error_names(
        &sb,
        "/readings/latest?readingIds=engineState&entityType=asset&assetTypes=boat",
        "assetTypes",
    );
    error_names(
        &sb,
        "/readings/history?entityType=asset&startTime=2026-11-02T10:00:00Z",
        "readingId",
    );
    error_names(
        &sb,
        "/readings/history?readingId=engineState,oilPressure&entityType=asset&startTime=2026-11-02T10:00:00Z",
        "readingId",
    );
    error_names(
        &sb,
        "/readings/history?readingId=engineState&entityType=asset",
        "startTime",
    );
    error_names(
        &sb,
        "/readings/history?readingId=engineState&entityType=asset&startTime=2026-11-02T10:00:00Z&endTime=2026-11-02T09:00:00Z",
        "endTime",
    );
    error_names(
        &sb,
        "/readings/history?readingId=engineState&entityType=asset&startTime=2026-11-02T10:00:00Z&after=nope",
        "after",
    );
    error_names(
        &sb,
        "/readings/history?readingId=engineState&entityType=asset&feed=maybe",
        "feed",
    );
    error_names(
        &sb,
        &format!("/readings/definitions?ids={}", vec!["x"; 51].join(",")),
        "ids",
    );
    // Scope: a token without Read Readings gets a 403 that names it.
    let scoped = Sandbox::start(&["--vehicles", "3", "--token", "t=Read Vehicles"]);
    let r = scoped
        .http
        .get(format!("{}/readings/definitions", scoped.url))
        .bearer_auth("t")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().unwrap().contains("Read Readings"));
}

#[test]
fn definitions_describe_the_value_layout() {
    let sb = Sandbox::default_fleet();
    let (s, defs) = sb.get("/readings/definitions");
    assert_eq!(s, 200);
    assert_eq!(defs["pagination"]["endCursor"], "");
    let defs = defs["data"].as_array().unwrap();
    let ids: HashSet<&str> = defs.iter().map(|d| d["readingId"].as_str().unwrap()).collect();
    for id in [
        "tirePressuresFrontLeft",
        "tirePressuresFrontRight",
        "tirePressuresBackLeft",
        "tirePressuresBackRight",
        "engineLoadPercent",
        "oilPressure",
        "engineOilTemperature",
        "evChargingStatus",
        "fuelLevelPerc",
        "odometerEcu",
        "engineHours",
        "coolantTemp",
        "engineState",
        "batteryVoltage",
        "defLevel",
        "evChargingEnergy",
        "evHighCapacityBatteryVoltage",
        "faultCodes",
    ] {
        assert!(ids.contains(id), "{id} missing");
    }
    let tire = defs
        .iter()
        .find(|d| d["readingId"] == "tirePressuresBackRight")
        .unwrap();
    assert_eq!(tire["type"]["dataType"], "continuous");
    assert_eq!(
        tire["type"]["unit"],
        serde_json::json!({"baseUnit": "kilopascal", "measurementType": "pressure"})
    );
    assert_eq!(tire["grouping"]["id"], "tirePressures");
    let ev = defs
        .iter()
        .find(|d| d["readingId"] == "evChargingStatus")
        .unwrap();
    let symbols: Vec<&str> = ev["enumValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["unknown", "notCharging", "charging"]);
    assert_eq!(ev["type"]["enumValues"][1]["symbol"], "notCharging");
    let (_, two) = sb.get("/readings/definitions?ids=engineState,defLevel");
    assert_eq!(two["data"].as_array().unwrap().len(), 2);
    let (_, none) = sb.get("/readings/definitions?entityTypes=sensor");
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
}

#[test]
fn latest_agrees_with_the_stats_snapshot() {
    let sb = Sandbox::default_fleet();
    let (s, stats) = sb.get(&format!(
        "/fleet/vehicles/stats?types=obdOdometerMeters,engineCoolantTemperatureMilliC,obdEngineSeconds&vehicleIds={V}"
    ));
    assert_eq!(s, 200);
    let stats = &stats["data"][0];
    let (s, csv) = sb.get(&format!(
        "/readings/latest?readingIds=odometerEcu,coolantTemp,engineHours&entityType=asset&entityIds={V}&includeExternalIds=true"
    ));
    assert_eq!(s, 200, "{csv}");
    let (_, repeated) = sb.get(&format!(
        "/readings/latest?readingIds=odometerEcu&readingIds=coolantTemp&readingIds=engineHours&entityType=asset&entityIds={V}&includeExternalIds=true"
    ));
    assert_eq!(csv["data"], repeated["data"]);
    let by_id = |id: &str| {
        csv["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["readingId"] == id)
            .unwrap()
            .clone()
    };
    let odo = by_id("odometerEcu");
    assert_eq!(odo["entityId"], V);
    assert_eq!(odo["value"]["unit"], "meter");
    assert_eq!(odo["happenedAtTime"], stats["obdOdometerMeters"]["time"]);
    assert_eq!(odo["value"]["number"], stats["obdOdometerMeters"]["value"]);
    assert!(odo["externalIds"]["samsara.vin"].is_string(), "{odo}");
    let coolant = by_id("coolantTemp")["value"]["number"].as_f64().unwrap();
    let milli = stats["engineCoolantTemperatureMilliC"]["value"].as_f64().unwrap();
    assert!((coolant - milli / 1000.0).abs() < 0.051, "{coolant} vs {milli}");
    assert_eq!(
        by_id("engineHours")["value"]["number"],
        stats["obdEngineSeconds"]["value"]
    );
    // External-ID filter and asset-type filter select the same vehicle; no sensors in this org.
    let vin = odo["externalIds"]["samsara.vin"].as_str().unwrap();
    let (_, by_vin) = sb.get(&format!(
        "/readings/latest?readingIds=odometerEcu&entityType=asset&externalIds=samsara.vin:{vin}&assetTypes=vehicle"
    ));
    assert_eq!(by_vin["data"][0]["entityId"], V);
    let (_, sensors) = sb.get("/readings/latest?readingIds=odometerEcu&entityType=sensor");
    assert_eq!(sensors["data"].as_array().unwrap().len(), 0);
    // EV-only and heavy-only readings come from the right vehicles, with enum values.
    let (_, ev) = sb.get("/readings/latest?readingIds=evChargingStatus,defLevel&entityType=asset");
    let ev = ev["data"].as_array().unwrap();
    assert!(ev.iter().any(|r| r["readingId"] == "evChargingStatus"));
    assert!(ev
        .iter()
        .filter(|r| r["readingId"] == "evChargingStatus")
        .all(|r| ["notCharging", "charging"].contains(&r["value"]["symbol"].as_str().unwrap())));
    let evs: HashSet<&str> = ev
        .iter()
        .filter(|r| r["readingId"] == "evChargingStatus")
        .map(|r| r["entityId"].as_str().unwrap())
        .collect();
    assert!(ev
        .iter()
        .filter(|r| r["readingId"] == "defLevel")
        .all(|r| !evs.contains(r["entityId"].as_str().unwrap())));
}

fn walk_history(sb: &Sandbox, query: &str) -> (Vec<Value>, usize) {
    let mut all = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let path = if after.is_empty() {
            format!("/readings/history?{query}")
        } else {
            format!("/readings/history?{query}&after={after}")
        };
        let (s, page) = sb.get(&path);
        assert_eq!(s, 200, "{page}");
        pages += 1;
        all.extend(page["data"].as_array().unwrap().iter().cloned());
        let cursor = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        assert_eq!(page["pagination"]["hasNextPage"], !cursor.is_empty());
        if cursor.is_empty() {
            return (all, pages);
        }
        after = cursor;
    }
}

#[test]
fn history_pages_in_time_order_with_an_exclusive_end() {
    let sb = Sandbox::default_fleet();
    let q = "readingId=tirePressuresFrontLeft&entityType=asset&startTime=2026-11-02T12:00:00Z&endTime=2026-11-02T16:00:00Z";
    let (points, pages) = walk_history(&sb, q);
    assert!(pages > 1, "{pages} pages");
    let keys: Vec<(String, String)> = points
        .iter()
        .map(|p| {
            (
                p["happenedAtTime"].as_str().unwrap().to_string(),
                p["entityId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let unique: HashSet<&(String, String)> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "duplicates across pages");
    assert!(keys.windows(2).all(|w| w[0].0 <= w[1].0), "not in time order");
    assert!(keys.first().unwrap().0.as_str() >= "2026-11-02T12:00:00Z");
    assert!(keys.last().unwrap().0.as_str() < "2026-11-02T16:00:00Z");
    for p in &points {
        let kpa = p["value"]["number"].as_f64().unwrap();
        assert!((150.0..950.0).contains(&kpa), "{p}");
        assert!(p.get("readingId").is_none());
    }
    // The same cursor yields the same page.
    let (_, first) = sb.get(&format!("/readings/history?{q}"));
    let c = first["pagination"]["endCursor"].as_str().unwrap();
    let a = sb.get(&format!("/readings/history?{q}&after={c}")).1;
    let b = sb.get(&format!("/readings/history?{q}&after={c}")).1;
    assert_eq!(a, b);
    // A single vehicle's tire warms up while it drives.
    let (mine, _) = walk_history(
        &sb,
        &format!("readingId=tirePressuresBackRight&entityType=asset&entityIds={V}&startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T18:00:00Z"),
    );
    let kpa: Vec<f64> = mine
        .iter()
        .map(|p| p["value"]["number"].as_f64().unwrap())
        .collect();
    let (lo, hi) = kpa
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
    assert!(hi - lo > 20.0, "no warm-up: {lo}..{hi}");
}

#[test]
fn feed_mode_never_ends_and_delivers_each_point_once() {
    let sb = Sandbox::default_fleet();
    let q = "readingId=engineState&entityType=asset&feed=true";
    let (s, first) = sb.get(&format!("/readings/history?{q}"));
    assert_eq!(s, 200);
    assert!(!first["data"].as_array().unwrap().is_empty());
    assert_eq!(first["pagination"]["hasNextPage"], false);
    let mut cursor = first["pagination"]["endCursor"].as_str().unwrap().to_string();
    assert!(!cursor.is_empty());
    sb.advance(6 * 3600);
    let mut seen = HashSet::new();
    let mut last_time = String::new();
    loop {
        let (s, page) = sb.get(&format!("/readings/history?{q}&after={cursor}"));
        assert_eq!(s, 200);
        for p in page["data"].as_array().unwrap() {
            let t = p["happenedAtTime"].as_str().unwrap().to_string();
            assert!(t >= last_time);
            assert!(
                t.as_str() > "2026-11-02T18:00:00Z",
                "{t} is older than the feed start"
            );
            assert!(seen.insert((t.clone(), p["entityId"].to_string())));
            last_time = t;
        }
        let next = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        assert!(!next.is_empty(), "a feed always has a cursor");
        cursor = next;
        if page["pagination"]["hasNextPage"] == false {
            break;
        }
    }
    assert!(seen.len() > 20, "{} transitions in 6 h", seen.len());
    let (_, caught_up) = sb.get(&format!("/readings/history?{q}&after={cursor}"));
    assert_eq!(caught_up["data"].as_array().unwrap().len(), 0);
    assert_eq!(caught_up["pagination"]["endCursor"], cursor.as_str());
}
