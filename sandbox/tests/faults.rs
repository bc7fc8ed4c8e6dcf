//! Fault injection through `/__sandbox/faults`, and the request log.

use serde_json::{json, Value};

use crate::support::Sandbox;

#[test]
fn scripted_faults_fire_in_order_then_clear() {
    let sb = Sandbox::default_fleet();
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [
            {"path": "/fleet/vehicles", "kind": "status", "status": 503},
            {"path": "/fleet/vehicles", "kind": "status", "status": 429, "retryAfter": "0.25"},
            {"path": "/fleet/vehicles", "kind": "truncate"},
            {"path": "/fleet/vehicles", "kind": "empty_page"},
            {"path": "/fleet/vehicles/{id}", "kind": "reset"},
        ]}),
    );
    let r = sb.req(reqwest::Method::GET, "/fleet/vehicles").send().unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.text().unwrap().starts_with("injected"), "plain-text 5xx body");
    let r = sb.req(reqwest::Method::GET, "/fleet/vehicles").send().unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()),
        (429, "0.25")
    );
    let r = sb.req(reqwest::Method::GET, "/fleet/vehicles").send().unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.text().unwrap()).is_err(),
        "truncated JSON"
    );
    let (_, b) = sb.get("/fleet/vehicles");
    assert_eq!(
        (
            b["data"].as_array().unwrap().len(),
            &b["pagination"]["hasNextPage"]
        ),
        (0, &json!(true))
    );
    assert!(
        sb.req(reqwest::Method::GET, "/fleet/vehicles/281474977000011")
            .send()
            .and_then(reqwest::blocking::Response::text)
            .is_err(),
        "reset mid-body"
    );
    assert_eq!(sb.get("/fleet/vehicles").0, 200);
    let log = sb.admin("GET", "/__sandbox/requests?since=0", &serde_json::Value::Null);
    let statuses: Vec<u64> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 429, 200, 200, 200, 200]);
}

#[test]
fn token_revocation_and_expired_cursors() {
    let sb = Sandbox::default_fleet();
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"kind": "expire_cursor", "path": "/fleet/vehicles/stats/feed"}]}),
    );
    let (s, feed) = sb.get("/fleet/vehicles/stats/feed?types=gps");
    assert_eq!(
        s, 200,
        "a request without a cursor leaves the rule for the next one"
    );
    let c = feed["pagination"]["endCursor"].as_str().unwrap().to_string();
    let (s, b) = sb.get(&format!("/fleet/vehicles/stats/feed?types=gps&after={c}"));
    assert_eq!(s, 400);
    assert!(b["message"].as_str().unwrap().contains("after"));
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"kind": "revoke_token", "at": "2026-11-02T19:00:00Z"}]}),
    );
    assert_eq!(sb.get("/me").0, 200);
    sb.advance(3600);
    assert_eq!(sb.get("/me").0, 401);
    assert_eq!(sb.get("/fleet/vehicles").0, 401);
}

#[test]
fn slow_and_probabilistic_faults() {
    let sb = Sandbox::default_fleet();
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"path": "/me", "kind": "slow", "delayMs": 300}]}),
    );
    let t = std::time::Instant::now();
    assert_eq!(sb.get("/me").0, 200);
    assert!(t.elapsed().as_millis() >= 300);
    sb.admin("DELETE", "/__sandbox/faults", &serde_json::Value::Null);
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"path": "/me", "kind": "status", "status": 500, "probability": 0.5}]}),
    );
    let fails = (0..40).filter(|_| sb.get("/me").0 == 500).count();
    assert!((5..=35).contains(&fails), "{fails}");
}

/// One page of a paged read: its records (as JSON text, feed points as `vehicle@time`), `endCursor`
/// and `hasNextPage`.
struct Page {
    records: Vec<String>,
    end: String,
    more: bool,
}

/// GETs `path` (with `after` when given) and splits the page; `key` names a feed's point arrays.
fn page(sb: &Sandbox, path: &str, after: Option<&str>, key: Option<&str>) -> Page {
    let url = match after {
        Some(c) => format!("{path}&after={c}"),
        None => path.to_string(),
    };
    let (s, b) = sb.get(&url);
    assert_eq!(s, 200, "{url}: {b}");
    let data = b["data"].as_array().unwrap();
    let records = match key {
        None => data.iter().map(ToString::to_string).collect(),
        Some(k) => data
            .iter()
            .flat_map(|v| {
                let id = v["id"].as_str().unwrap().to_string();
                v[k].as_array()
                    .into_iter()
                    .flatten()
                    .map(move |p| format!("{id}@{}", p["time"].as_str().unwrap()))
            })
            .collect(),
    };
    Page {
        records,
        end: b["pagination"]["endCursor"].as_str().unwrap().to_string(),
        more: b["pagination"]["hasNextPage"] == json!(true),
    }
}

/// Pages from `after` while `hasNextPage`; every record in order.
fn rest(sb: &Sandbox, path: &str, mut after: String, key: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..500 {
        let p = page(sb, path, Some(&after), key);
        out.extend(p.records);
        after = p.end;
        if !p.more {
            return out;
        }
    }
    panic!("{path}: no end");
}

/// After one normal page from `start`, an `empty_page` and then a `repeat_records` fault: the empty
/// page keeps `hasNextPage: true` and the cursor; the repeated records are the previous page's and
/// come first (in a feed, first in each vehicle's array, as a feed page groups points by vehicle);
/// the walk then yields exactly the records of an unfaulted walk.
fn page_faults_keep_every_record(sb: &Sandbox, path: &str, start: Option<&str>, key: Option<&str>) {
    let template = path.split('?').next().unwrap();
    let first = page(sb, path, start, key);
    assert!(!first.records.is_empty(), "{path}: nothing to repeat");
    let reference = rest(sb, path, first.end.clone(), key);
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"path": template, "kind": "empty_page"}, {"path": template, "kind": "repeat_records"}]}),
    );
    let empty = page(sb, path, Some(&first.end), key);
    assert!(
        empty.records.is_empty() && empty.more && empty.end == first.end,
        "{path}: an empty page keeps the cursor and hasNextPage: {:?} {} {} {}",
        empty.records.first(),
        empty.more,
        empty.end,
        first.end
    );
    let repeat = page(sb, path, Some(&empty.end), key);
    let group = |r: &String| key.map_or("", |_| r.split('@').next().unwrap()).to_string();
    let mut groups: Vec<(String, Vec<bool>)> = Vec::new();
    for r in &repeat.records {
        let g = group(r);
        if groups.last().is_none_or(|(last, _)| *last != g) {
            groups.push((g, Vec::new()));
        }
        groups.last_mut().unwrap().1.push(first.records.contains(r));
    }
    assert!(groups.iter().any(|(_, seen)| seen[0]), "{path}: nothing repeated");
    assert!(
        groups
            .iter()
            .all(|(_, seen)| seen.iter().skip_while(|s| **s).all(|s| !*s)),
        "{path}: repeated records come first"
    );
    let mut walked: Vec<String> = repeat
        .records
        .into_iter()
        .filter(|r| !first.records.contains(r))
        .collect();
    if repeat.more {
        walked.extend(rest(sb, path, repeat.end, key));
    }
    let mut reference = reference;
    walked.sort();
    reference.sort();
    assert_eq!(walked, reference, "{path}: nothing lost, nothing else repeated");
    assert!(sb.admin("GET", "/__sandbox/faults", &Value::Null)["rules"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn page_faults_on_stats_and_locations_feeds() {
    let sb = Sandbox::default_fleet();
    for (path, key) in [
        ("/fleet/vehicles/stats/feed?types=gps,engineStates", "gps"),
        (
            "/fleet/vehicles/locations/feed?vehicleIds=281474977000011",
            "locations",
        ),
    ] {
        let (_, latest) = sb.get(path);
        let c0 = latest["pagination"]["endCursor"]
            .as_str()
            .expect(path)
            .to_string();
        sb.advance(1800);
        // A feed's first page (no cursor) answers the latest values: page faults wait for a cursor.
        sb.admin(
            "POST",
            "/__sandbox/faults",
            &json!({"rules": [{"path": path.split('?').next().unwrap(), "kind": "empty_page"}]}),
        );
        assert!(!sb.get(path).1["data"].as_array().unwrap().is_empty());
        sb.admin("DELETE", "/__sandbox/faults", &Value::Null);
        page_faults_keep_every_record(&sb, path, Some(&c0), Some(key));
    }
    page_faults_keep_every_record(
        &sb,
        "/fleet/vehicles/stats/history?types=gps&startTime=2026-11-01T12:00:00Z&endTime=2026-11-01T20:00:00Z",
        None,
        Some("gps"),
    );
}

#[test]
fn page_faults_on_streams() {
    let sb = Sandbox::default_fleet();
    for path in [
        "/defects/stream?startTime=2026-10-25T00:00:00Z&limit=7",
        "/dvirs/stream?startTime=2026-10-25T00:00:00Z&limit=5",
        "/trips/stream?startTime=2026-11-01T00:00:00Z",
        "/safety-events/stream?startTime=2026-10-31T00:00:00Z",
        "/speeding-intervals/stream?startTime=2026-11-01T00:00:00Z",
        "/form-submissions/stream?startTime=2026-10-20T00:00:00Z",
        "/issues/stream?startTime=2026-10-20T00:00:00Z",
        "/idling/events?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T00:00:00Z&limit=20",
        "/readings/history?readingId=tirePressuresFrontLeft&entityType=asset&startTime=2026-10-31T00:00:00Z",
    ] {
        page_faults_keep_every_record(&sb, path, None, None);
    }
}

#[test]
fn page_faults_on_lists_and_snapshots() {
    let sb = Sandbox::default_fleet();
    page_faults_keep_every_record(&sb, "/fleet/vehicles?limit=7", None, None);
    page_faults_keep_every_record(&sb, "/fleet/vehicles/driver-assignments?limit=5", None, None);
    // A snapshot of 50 vehicles is one page: the empty page points back at its start.
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"path": "/fleet/vehicles/stats", "kind": "empty_page"}]}),
    );
    let empty = page(&sb, "/fleet/vehicles/stats?types=gps", None, None);
    assert!(empty.records.is_empty() && empty.more);
    let full = page(&sb, "/fleet/vehicles/stats?types=gps", Some(&empty.end), None);
    assert_eq!((full.records.len(), full.more), (50, false));
}
