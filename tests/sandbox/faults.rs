//! Fault injection through `/__sandbox/faults`, and the request log.

use serde_json::json;

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
