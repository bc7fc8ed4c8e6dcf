//! The reference FMC endpoint: idempotent batch upserts, master lists and ground truth.

use serde_json::{json, Value};

use crate::support::Sandbox;

fn post(sb: &Sandbox, key: &str, body: &Value) -> (u16, Value) {
    let r = sb
        .http
        .post(format!("{}/fmc/v1/streams/trips/records", sb.url))
        .header("Idempotency-Key", key)
        .body(serde_json::to_vec(body).unwrap())
        .header("content-type", "application/json")
        .send()
        .unwrap();
    (
        r.status().as_u16(),
        serde_json::from_str(&r.text().unwrap()).unwrap(),
    )
}

#[test]
fn upserts_are_idempotent_and_queryable() {
    let sb = Sandbox::default_fleet();
    let batch = json!({"records": [{"id": "a", "v": 1}, {"id": "b", "v": 1}]});
    let first = post(&sb, "k1", &batch);
    assert_eq!(
        first,
        (
            200,
            json!({"stream": "trips", "received": 2, "inserted": 2, "updated": 0})
        )
    );
    assert_eq!(
        post(&sb, "k1", &batch),
        first,
        "a replayed key returns the first answer"
    );
    let (s, e) = post(&sb, "k1", &json!({"records": [{"id": "zzz"}]}));
    assert_eq!(s, 422, "a reused key with another body: {e}");
    assert!(e["message"].as_str().unwrap().contains("`k1`"), "{e}");
    let second = post(&sb, "k2", &json!({"records": [{"id": "b", "v": 2}, {"id": "c"}]}));
    assert_eq!(second.1["updated"], 1);
    let (s, _) = post(&sb, "k3", &json!({"records": [{"v": 1}]}));
    assert_eq!(s, 400);
    let r = sb
        .http
        .post(format!("{}/fmc/v1/streams/trips/records", sb.url))
        .body(serde_json::to_vec(&batch).unwrap())
        .header("content-type", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "Idempotency-Key is required");
    let page: Value = sb
        .http
        .get(format!("{}/fmc/v1/streams/trips/records?limit=2", sb.url))
        .send()
        .unwrap()
        .text()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["pagination"]["hasNextPage"], true);
    let cur = page["pagination"]["endCursor"].as_str().unwrap();
    let rest: Value = sb
        .http
        .get(format!(
            "{}/fmc/v1/streams/trips/records?limit=2&after={cur}",
            sb.url
        ))
        .send()
        .unwrap()
        .text()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(rest["data"][0]["id"], "c");
    assert_eq!(rest["pagination"]["endCursor"], "");
    let b = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "b")
        .unwrap();
    assert_eq!(
        post(&sb, "k4", &json!({"records": [{"id": "c"}, {"v": 2, "id": "b"}]})).0,
        200,
        "the same records again, keys in another order"
    );
    let summary = |stream: &str| -> Value {
        let r = sb
            .http
            .get(format!("{}/fmc/v1/streams/{stream}/summary", sb.url))
            .send()
            .unwrap();
        serde_json::from_str::<Value>(&r.text().unwrap()).unwrap()["data"].clone()
    };
    assert_eq!(
        summary("trips"),
        json!({"stream": "trips", "records": 3, "deliveries": 6, "updates": 1, "duplicates": 2,
            "batches": 3, "replays": 1})
    );
    assert_eq!(summary("nothing")["records"], 0, "an unknown stream has nothing");
    assert_eq!(
        (b["deliveries"].as_i64(), b["record"]["v"].as_i64()),
        (Some(2), Some(2))
    );
}

#[test]
fn master_lists_are_a_noisy_copy_with_ground_truth() {
    let sb = Sandbox::default_fleet();
    let fleet: Value = sb.get("/fleet/vehicles").1;
    let fmc: Value = sb
        .http
        .get(format!("{}/fmc/v1/vehicles", sb.url))
        .send()
        .unwrap()
        .text()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let truth = sb.admin("GET", "/__sandbox/truth/vehicles", &Value::Null);
    let pairs = truth["data"]["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), fmc["data"].as_array().unwrap().len());
    let vin_of = |sid: &str| {
        fleet["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == sid)
            .map(|v| v["vin"].as_str().unwrap().to_string())
    };
    let (mut exact, mut noisy, mut fmc_only) = (0, 0, 0);
    for p in pairs {
        let rec = fmc["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == p["fmcId"])
            .unwrap();
        match p["samsaraId"].as_str() {
            None => fmc_only += 1,
            Some(sid) if vin_of(sid).as_deref() == rec["vin"].as_str() => exact += 1,
            Some(_) => noisy += 1,
        }
    }
    assert!(
        exact > 20 && noisy > 3 && fmc_only >= 1,
        "{exact} {noisy} {fmc_only}"
    );
    let drivers: Value = sb
        .http
        .get(format!("{}/fmc/v1/drivers", sb.url))
        .send()
        .unwrap()
        .text()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert!(drivers["data"].as_array().unwrap().len() > 40);
}

#[test]
fn fmc_changes_flow_back_and_are_scored() {
    let sb = Sandbox::default_fleet();
    let feed: Value = serde_json::from_str(
        &sb.http
            .get(format!("{}/fmc/v1/changes", sb.url))
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    let changes = feed["data"].as_array().unwrap();
    assert!(changes.len() >= 3, "{feed}");
    let cursor = feed["pagination"]["endCursor"].as_str().unwrap().to_string();
    let created = changes.iter().find(|c| c["type"] == "driver.created").unwrap();
    let d = &created["data"];
    let body = json!({"name": d["name"], "username": d["username"], "password": "x", "licenseNumber": d["licenseNumber"], "licenseState": d["licenseState"], "externalIds": {"fmcId": d["fmcId"]}});
    assert_eq!(sb.send("POST", "/fleet/drivers", &body).0, 200);
    let tag = changes.iter().find(|c| c["type"] == "tag.created").unwrap();
    let (_, parent) = sb.get(&format!(
        "/tags/samsara.name:{}",
        tag["data"]["parentName"].as_str().unwrap()
    ));
    assert_eq!(
        sb.send(
            "POST",
            "/tags",
            &json!({"name": tag["data"]["name"], "parentTagId": parent["data"]["id"]})
        )
        .0,
        200
    );
    let (_, defects) = sb.get("/defects/stream?startTime=2026-10-25T00:00:00Z&isResolved=false");
    let defect = defects["data"][0]["id"].as_str().unwrap().to_string();
    sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "defect.resolved", "data": {"defectId": defect}}),
    );
    let next: Value = serde_json::from_str(
        &sb.http
            .get(format!("{}/fmc/v1/changes?after={cursor}", sb.url))
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        next["data"].as_array().unwrap().len(),
        1,
        "only the scripted change is new: {next}"
    );
    assert_eq!(
        sb.send(
            "PATCH",
            &format!("/fleet/defects/{defect}"),
            &json!({"isResolved": true})
        )
        .0,
        200
    );
    let status = sb.admin("GET", "/__sandbox/fmc/changes", &Value::Null);
    let applied = |id: &Value| {
        status["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| &c["id"] == id)
            .unwrap()["applied"]
            .clone()
    };
    assert_eq!(applied(&created["id"]), json!(true));
    assert_eq!(applied(&tag["id"]), json!(true));
    assert_eq!(applied(&next["data"][0]["id"]), json!(true));
    let deact = changes
        .iter()
        .find(|c| c["type"] == "driver.deactivated")
        .unwrap();
    assert_eq!(applied(&deact["id"]), json!(false));
}

#[test]
fn a_reset_after_storing_is_healed_by_the_idempotency_key() {
    let sb = Sandbox::default_fleet();
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"method": "POST", "path": "/fmc/v1/streams/{stream}/records", "kind": "reset"}]}),
    );
    let batch = json!({"records": [{"id": "x1"}, {"id": "x2"}]});
    let send = || {
        sb.http
            .post(format!("{}/fmc/v1/streams/gps/records", sb.url))
            .header("Idempotency-Key", "batch-1")
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&batch).unwrap())
            .send()
            .and_then(reqwest::blocking::Response::text)
    };
    assert!(send().is_err(), "the answer is lost");
    let again = sb
        .http
        .post(format!("{}/fmc/v1/streams/gps/records", sb.url))
        .header("Idempotency-Key", "batch-1")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&batch).unwrap())
        .send()
        .unwrap();
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let page: Value = serde_json::from_str(
        &sb.http
            .get(format!("{}/fmc/v1/streams/gps/records", sb.url))
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    assert!(page["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["deliveries"] == 1));
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"path": "/fmc/v1/vehicles", "kind": "status", "status": 503}]}),
    );
    assert_eq!(
        sb.http
            .get(format!("{}/fmc/v1/vehicles", sb.url))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        503
    );
}

/// A sandbox whose FMC endpoint requires one of two tokens (rate limits on).
fn with_fmc_tokens() -> Sandbox {
    Sandbox::start(&[
        "--vehicles",
        "5",
        "--fmc-token",
        "fmc-secret-1",
        "--fmc-token=fmc-secret-2",
    ])
}

fn fmc_get(sb: &Sandbox, path: &str, token: Option<&str>) -> reqwest::blocking::Response {
    let r = sb.http.get(format!("{}{path}", sb.url));
    match token {
        Some(t) => r.bearer_auth(t),
        None => r,
    }
    .send()
    .unwrap()
}

#[test]
fn fmc_tokens_are_required_when_configured() {
    let sb = with_fmc_tokens();
    for token in [None, Some("fmc-secret-3"), Some("sandbox-token")] {
        let r = fmc_get(&sb, "/fmc/v1/vehicles", token);
        assert_eq!(r.status().as_u16(), 401, "{token:?}");
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let e: Value = serde_json::from_str(&r.text().unwrap()).unwrap();
        assert!(
            e["message"].as_str().unwrap().starts_with("Unauthorized") && e["requestId"].is_string(),
            "{e}"
        );
    }
    let r = sb
        .http
        .post(format!("{}/fmc/v1/streams/trips/records", sb.url))
        .header("Idempotency-Key", "k")
        .body(r#"{"records":[{"id":1}]}"#)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "writes too");
    assert_eq!(
        fmc_get(&sb, "/fmc/v1/vehicles", Some("fmc-secret-1"))
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        fmc_get(&sb, "/fmc/v1/changes", Some("fmc-secret-2"))
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        sb.get("/fleet/vehicles").0,
        200,
        "Samsara routes keep their own tokens"
    );
    let log = sb.admin("GET", "/__sandbox/requests?since=0", &Value::Null);
    let fmc: Vec<(u64, Value)> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/fmc/"))
        .map(|r| (r["status"].as_u64().unwrap(), r["token"].clone()))
        .collect();
    assert_eq!(
        fmc,
        [
            (401, Value::Null),
            (401, Value::Null),
            (401, Value::Null),
            (401, Value::Null),
            (200, json!("fmc-token-1")),
            (200, json!("fmc-token-2")),
        ]
    );
    assert!(!log.to_string().contains("fmc-secret"), "no token in the log");
}

#[test]
fn fmc_rate_limit_is_per_token() {
    let sb = with_fmc_tokens();
    let statuses: Vec<(u16, Option<f64>)> = (0..60)
        .map(|_| {
            let r = fmc_get(&sb, "/fmc/v1/streams", Some("fmc-secret-1"));
            let wait = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<f64>().unwrap());
            (r.status().as_u16(), wait)
        })
        .collect();
    let limited: Vec<f64> = statuses
        .iter()
        .filter(|(s, _)| *s == 429)
        .map(|(_, w)| w.expect("429 carries Retry-After"))
        .collect();
    assert!(
        statuses[..25].iter().all(|(s, _)| *s == 200),
        "a full bucket allows one second's requests: {statuses:?}"
    );
    assert!(!limited.is_empty(), "{statuses:?}");
    assert!(
        limited.iter().all(|w| *w > 0.0 && *w <= 1.0 / 25.0 + 1e-9),
        "Retry-After is the time until the next request is allowed: {limited:?}"
    );
    assert_eq!(
        fmc_get(&sb, "/fmc/v1/streams", Some("fmc-secret-2"))
            .status()
            .as_u16(),
        200,
        "another token has its own bucket"
    );
    // `--rate-limits off` (the default fixture) turns the FMC limit off too.
    let open = Sandbox::default_fleet();
    assert!((0..60).all(|_| fmc_get(&open, "/fmc/v1/streams", None).status().as_u16() == 200));
}

/// Delivers `batch` under `key` the way a careful client does: retry on transport errors, lost or
/// truncated answers, 429 and 5xx, with the same key. Returns the final answer and the attempts it took.
fn deliver(sb: &Sandbox, stream: &str, key: &str, batch: &Value) -> (Value, u32) {
    for attempt in 1..=20 {
        let r = sb
            .http
            .post(format!("{}/fmc/v1/streams/{stream}/records", sb.url))
            .header("Idempotency-Key", key)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(batch).unwrap())
            .send();
        let Ok(r) = r else { continue };
        let status = r.status().as_u16();
        let Ok(text) = r.text() else { continue };
        match (status, serde_json::from_str(&text)) {
            (200, Ok(v)) => return (v, attempt),
            // A truncated answer is a lost answer: retry.
            (200 | 429 | 500..=599, _) => {}
            (other, _) => panic!("unexpected {other}: {text}"),
        }
    }
    panic!("batch {key} never delivered");
}

#[test]
fn failures_after_commit_neither_lose_nor_duplicate() {
    let sb = Sandbox::default_fleet();
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [
            {"method": "POST", "path": "/fmc/v1/streams/{stream}/records", "kind": "fail_after_commit", "status": 503},
            {"path": "/fmc/v1/*", "kind": "status", "status": 429, "retryAfter": "0.01"},
            {"path": "/fmc/v1/streams/trips/records", "kind": "truncate"},
        ]}),
    );
    let batch = json!({"records": [{"id": "t1", "v": 1}, {"id": "t2", "v": 1}]});
    let stored = || -> Value {
        let page = fmc_get(&sb, "/fmc/v1/streams/trips/records?limit=1000", None);
        serde_json::from_str(&page.text().unwrap()).unwrap()
    };
    let (answer, attempts) = deliver(&sb, "trips", "b-1", &batch);
    assert_eq!(attempts, 4, "503 after commit, 429, truncated, then the replay");
    assert_eq!(
        answer,
        json!({"stream": "trips", "received": 2, "inserted": 2, "updated": 0})
    );
    let log = sb.admin("GET", "/__sandbox/requests?since=0", &Value::Null);
    let statuses: Vec<u64> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 429, 200, 200]);
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"path": "/fmc/v1/streams/{stream}/records", "kind": "fail_after_commit"}]}),
    );
    let r = sb
        .http
        .post(format!("{}/fmc/v1/streams/trips/records", sb.url))
        .header("Idempotency-Key", "b-2")
        .body(r#"{"records":[{"id":"t3"}]}"#)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert_eq!(stored()["data"][2]["id"], "t3", "stored before the failure");
    // Seeded-random failures after commit, on every batch of a larger delivery.
    sb.admin(
        "POST",
        "/__sandbox/faults",
        &json!({"rules": [{"method": "POST", "path": "/fmc/v1/*", "kind": "fail_after_commit", "probability": 0.5}]}),
    );
    let mut retried = 0;
    for b in 0..20 {
        let records: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("r{b}-{i}"), "b": b}))
            .collect();
        let (answer, attempts) = deliver(&sb, "trips", &format!("k-{b}"), &json!({"records": records}));
        assert_eq!(answer["inserted"], 10, "the replay is the first answer");
        retried += attempts - 1;
    }
    assert!(retried >= 3, "the fault fired: {retried}");
    let page = stored();
    let rows = page["data"].as_array().unwrap();
    assert_eq!(rows.len(), 203);
    assert!(rows.iter().all(|r| r["deliveries"] == 1), "nothing applied twice");
    let summary: Value = serde_json::from_str(
        &fmc_get(&sb, "/fmc/v1/streams/trips/summary", None)
            .text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        summary["data"],
        json!({"stream": "trips", "records": 203, "deliveries": 203, "updates": 0, "duplicates": 0,
            "batches": 22, "replays": retried + 2}),
        "every retry after a commit was a replay (two of them for batch b-1)"
    );
}

#[test]
fn a_stream_name_outside_its_pattern_is_a_400_naming_it() {
    let sb = Sandbox::start(&["--vehicles", "2"]);
    let long = "x".repeat(65);
    for name in ["bad%20name!", long.as_str(), "a%2Fb"] {
        for (method, tail) in [("POST", "records"), ("GET", "records"), ("GET", "summary")] {
            let url = format!("{}/fmc/v1/streams/{name}/{tail}", sb.url);
            let r = if method == "POST" {
                sb.http
                    .post(&url)
                    .header("Idempotency-Key", "k1")
                    .body("{\"records\":[]}")
                    .send()
            } else {
                sb.http.get(&url).send()
            }
            .unwrap();
            assert_eq!(r.status().as_u16(), 400, "{method} {name}/{tail}");
            let body: Value = serde_json::from_str(&r.text().unwrap()).unwrap();
            let msg = body["message"].as_str().unwrap();
            assert!(
                msg.starts_with("invalid stream name `") && msg.contains("1 to 64"),
                "{msg}"
            );
        }
    }
    // A valid name with a method the route does not take is still a 405.
    let r = sb
        .http
        .delete(format!("{}/fmc/v1/streams/trips/records", sb.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[test]
fn scripted_vehicle_changes_change_the_master_list_and_are_scored() {
    let sb = Sandbox::default_fleet();
    let (_, list) = sb.get("/fmc/v1/vehicles");
    let list = list["data"].as_array().unwrap().clone();
    let (kept, gone) = (list[0]["id"].clone(), list[1]["id"].clone());
    let updated = sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "vehicle.updated", "data": {"fmcId": kept, "unitNumber": "UNIT 7001", "licensePlate": "ZZZ-0001"}}),
    );
    sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "vehicle.removed", "data": {"fmcId": gone}}),
    );
    let (_, now) = sb.get("/fmc/v1/vehicles");
    let now = now["data"].as_array().unwrap();
    assert_eq!(now.len(), list.len() - 1, "the removed vehicle left the list");
    let rec = now.iter().find(|v| v["id"] == kept).unwrap();
    assert_eq!(
        (&rec["unitNumber"], &rec["licensePlate"]),
        (&json!("UNIT 7001"), &json!("ZZZ-0001"))
    );
    assert_eq!(rec["vin"], list[0]["vin"], "fields the change does not name stay");
    let (_, feed) = sb.get("/fmc/v1/changes?limit=500");
    assert!(feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == updated["id"]));

    let applied = |sb: &Sandbox| {
        let status = sb.admin("GET", "/__sandbox/fmc/changes", &Value::Null);
        status["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == updated["id"])
            .unwrap()["applied"]
            .clone()
    };
    assert_eq!(applied(&sb), json!(false));
    let (_, vehicles) = sb.get("/fleet/vehicles?limit=1");
    let vid = vehicles["data"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"externalIds": {"fmcId": kept}, "name": "UNIT 7001", "licensePlate": "ZZZ-0001"});
    assert_eq!(sb.send("PATCH", &format!("/fleet/vehicles/{vid}"), &body).0, 200);
    assert_eq!(
        applied(&sb),
        json!(true),
        "the linked vehicle shows the FMC's fields"
    );
    let (s, e) = sb.send(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "vehicle.sold", "data": {}}),
    );
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("vehicle.updated"), "{e}");
}

#[test]
fn the_fmc_organisation_mirrors_the_branches_and_scripted_tag_changes_apply() {
    let sb = Sandbox::default_fleet();
    let (_, tags) = sb.get("/fmc/v1/tags");
    let tags = tags["data"].as_array().unwrap().clone();
    let (_, samsara) = sb.get("/tags");
    let names: Vec<&str> = samsara["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for t in &tags {
        let in_samsara = names.contains(&t["name"].as_str().unwrap());
        assert_eq!(
            in_samsara,
            t["kind"] != "businessUnit",
            "only business units are new to Samsara: {t}"
        );
    }
    let bu = tags.iter().find(|t| t["kind"] == "businessUnit").unwrap();
    assert!(
        !bu["vehicles"].as_array().unwrap().is_empty(),
        "a business unit has vehicles: {bu}"
    );
    let cc = tags.iter().find(|t| t["kind"] == "costCentre").unwrap();
    assert!(cc["externalIds"]["costCentre"]
        .as_str()
        .unwrap()
        .starts_with("CC"));
    sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "tag.updated", "data": {"fmcId": cc["id"], "name": "CC-0001 Renamed", "vehicles": []}}),
    );
    let (_, now) = sb.get("/fmc/v1/tags");
    let renamed = now["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == cc["id"])
        .unwrap()
        .clone();
    assert_eq!(
        (&renamed["name"], &renamed["vehicles"]),
        (&json!("CC-0001 Renamed"), &json!([]))
    );
    assert_eq!(
        renamed["parentId"], cc["parentId"],
        "fields the change does not name stay"
    );
}

#[test]
fn fmc_tags_list_linked_drivers_and_the_truth_names_each_tags_counterpart() {
    let sb = Sandbox::default_fleet();
    let (_, fmc) = sb.get("/fmc/v1/tags");
    let fmc = fmc["data"].as_array().unwrap().clone();
    let (_, truth) = sb.get("/__sandbox/truth/drivers");
    let samsara_of = |fid: &Value| {
        truth["data"]["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| &p["fmcId"] == fid && p["expect"] == "link")
            .map(|p| p["samsaraId"].as_str().unwrap().to_string())
    };
    let (_, tt) = sb.get("/__sandbox/truth/tags");
    let pairs = tt["data"]["pairs"].as_array().unwrap().clone();
    assert_eq!(pairs.len(), fmc.len(), "one pair per FMC tag");
    let mut cc_drivers = 0;
    for t in &fmc {
        let p = pairs.iter().find(|p| p["fmcId"] == t["id"]).unwrap();
        let drivers = t["drivers"].as_array().cloned().unwrap_or_default();
        match t["kind"].as_str().unwrap() {
            "businessUnit" => {
                assert_eq!(p["expect"], "create");
                assert!(!drivers.is_empty(), "a business unit has drivers: {t}");
                assert!(
                    drivers.iter().all(|d| samsara_of(d).is_some()),
                    "linked drivers: {t}"
                );
            }
            kind => {
                assert_eq!(p["expect"], "link");
                let (s, tag) = sb.get(&format!("/tags/{}", p["samsaraId"].as_str().unwrap()));
                assert_eq!(
                    (s, &tag["data"]["name"]),
                    (200, &t["name"]),
                    "the counterpart: {t}"
                );
                if kind == "costCentre" {
                    // The cost centre's drivers are the Samsara cost centre's (those on the roster).
                    cc_drivers += drivers.len();
                    let members: Vec<&str> = tag["data"]["drivers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|m| m["id"].as_str())
                        .collect();
                    for d in &drivers {
                        let sid = samsara_of(d).unwrap();
                        assert!(members.contains(&sid.as_str()), "{d} of {t}");
                    }
                }
            }
        }
    }
    assert!(cc_drivers > 0, "cost centres list drivers");
    sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "tag.updated", "data": {"fmcId": "FMC-BU1", "drivers": []}}),
    );
    let (_, now) = sb.get("/fmc/v1/tags");
    let bu = now["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "FMC-BU1")
        .unwrap()
        .clone();
    assert_eq!(
        bu["drivers"],
        json!([]),
        "a scripted change re-members drivers too"
    );
}

#[test]
fn the_request_log_digests_write_bodies() {
    let sb = Sandbox::default_fleet();
    let (_, tags) = sb.get("/tags");
    let id = tags["data"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/tags/{id}");
    for name in ["Digest A", "Digest A", "Digest B"] {
        let (s, _) = sb.send("PATCH", &path, &json!({"name": name}));
        assert_eq!(s, 200);
    }
    let log = sb.admin("GET", "/__sandbox/requests?since=0", &Value::Null);
    let entries: Vec<&Value> = log["requests"].as_array().unwrap().iter().collect();
    let digests: Vec<&str> = entries
        .iter()
        .filter(|r| r["method"] == "PATCH" && r["path"] == path.as_str())
        .map(|r| r["bodyDigest"].as_str().unwrap())
        .collect();
    assert_eq!(digests.len(), 3);
    assert!(
        digests[0] == digests[1] && digests[1] != digests[2],
        "{digests:?}"
    );
    assert!(
        entries
            .iter()
            .filter(|r| r["method"] == "GET")
            .all(|r| r.get("bodyDigest").is_none()),
        "reads carry none"
    );
}

#[test]
fn the_driver_roster_follows_the_changes_feed() {
    let sb = Sandbox::default_fleet();
    let roster =
        |sb: &Sandbox| -> Vec<Value> { sb.get("/fmc/v1/drivers").1["data"].as_array().unwrap().clone() };
    let find = |r: &[Value], id: &Value| r.iter().find(|d| &d["id"] == id).cloned().unwrap();
    let changes = sb.admin("GET", "/__sandbox/fmc/changes", &Value::Null)["data"]
        .as_array()
        .unwrap()
        .clone();
    let of = |t: &str| {
        changes
            .iter()
            .filter(|c| c["type"] == t)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (hires, gone) = (of("driver.created"), of("driver.deactivated"));
    assert!(!hires.is_empty() && !gone.is_empty());
    let r = roster(&sb);
    assert!(r
        .iter()
        .all(|d| d["status"] == "active" || d["status"] == "terminated"));
    for c in &hires {
        let d = find(&r, &c["data"]["fmcId"]);
        assert_eq!((&d["name"], &d["status"]), (&c["data"]["name"], &json!("active")));
    }
    for c in &gone {
        let d = find(&r, &c["data"]["fmcId"]);
        assert_eq!(
            (&d["status"], &d["terminatedAt"]),
            (&json!("terminated"), &c["at"])
        );
    }
    let truth = sb.admin("GET", "/__sandbox/truth/drivers", &Value::Null)["data"]["pairs"]
        .as_array()
        .unwrap()
        .clone();
    for c in &hires {
        let p = truth.iter().find(|p| p["fmcId"] == c["data"]["fmcId"]).unwrap();
        assert_eq!((&p["expect"], &p["kind"]), (&json!("none"), &json!("newHire")));
    }

    // A scripted driver.updated changes the roster from then on, and is applied once Samsara's
    // driver carrying `fmcId:<id>` shows it.
    let id = r.iter().find(|d| d["status"] == "active").unwrap()["id"].clone();
    let upd = sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "driver.updated", "data": {"fmcId": id, "name": "Casey Newname", "status": "terminated"}}),
    );
    let d = find(&roster(&sb), &id);
    assert_eq!(
        (&d["name"], &d["status"]),
        (&json!("Casey Newname"), &json!("terminated"))
    );
    let applied = |sb: &Sandbox| {
        sb.admin("GET", "/__sandbox/fmc/changes", &Value::Null)["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == upd["id"])
            .unwrap()["applied"]
            .clone()
    };
    assert_eq!(applied(&sb), json!(false));
    let body = json!({"name": "Casey Newname", "username": "cnewname", "password": "pw-1", "externalIds": {"fmcId": id}});
    let (status, created) = sb.send("POST", "/fleet/drivers", &body);
    assert_eq!(status, 200);
    assert_eq!(applied(&sb), json!(false), "still active in Samsara");
    let path = format!("/fleet/drivers/{}", created["data"]["id"].as_str().unwrap());
    assert_eq!(
        sb.send("PATCH", &path, &json!({"driverActivationStatus": "deactivated"}))
            .0,
        200
    );
    assert_eq!(applied(&sb), json!(true));
    // A second driver with the same external ID is refused (400), as the API documents.
    let again = json!({"name": "Casey Newname", "username": "cnewname2", "password": "pw-2", "externalIds": {"fmcId": id}});
    let (status, err) = sb.send("POST", "/fleet/drivers", &again);
    assert_eq!(status, 400, "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("already in use"),
        "{err}"
    );
    sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": "driver.updated", "data": {"fmcId": id, "status": "active"}}),
    );
    let d = find(&roster(&sb), &id);
    assert_eq!(d["status"], "active");
    assert!(d.get("terminatedAt").is_none());
}
