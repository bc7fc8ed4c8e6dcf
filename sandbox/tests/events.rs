//! Stream endpoints derived from the trip model: defects, assignments, trips, safety, speeding, idling.

use serde_json::{json, Value};

use crate::support::Sandbox;

/// Walks a stream from `path` (which has its query string) until `hasNextPage` is false.
fn walk(sb: &Sandbox, path: &str) -> (Vec<Value>, String) {
    let (mut out, mut after) = (Vec::new(), String::new());
    loop {
        let p = if after.is_empty() {
            path.to_string()
        } else {
            format!("{path}&after={after}")
        };
        let (s, page) = sb.get(&p);
        assert_eq!(s, 200, "{p}: {page}");
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        after = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        if page["pagination"]["hasNextPage"] == false {
            return (out, after);
        }
    }
}

#[test]
fn defects_stream_and_resolution_moves_the_defect() {
    let sb = Sandbox::default_fleet();
    let (all, cursor) = walk(&sb, "/defects/stream?startTime=2026-10-25T00:00:00Z&limit=7");
    assert!(!all.is_empty() && !cursor.is_empty());
    let open = all
        .iter()
        .find(|d| d["isResolved"] == false)
        .expect("an open defect");
    let id = open["id"].as_str().unwrap();
    assert_eq!(sb.get(&format!("/defects/{id}")).1["id"], id);
    sb.advance(60);
    let (s, b) = sb.send("PATCH", &format!("/fleet/defects/{id}"), &json!({"isResolved": true, "mechanicNotes": "fixed", "resolvedBy": {"id": "42", "type": "mechanic"}}));
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["isResolved"], true);
    let (s, page) = sb.get(&format!(
        "/defects/stream?startTime=2026-10-25T00:00:00Z&after={cursor}"
    ));
    assert_eq!(s, 200);
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "only the change since the cursor: {page}");
    assert_eq!(
        (data[0]["id"].as_str(), &data[0]["mechanicNotes"]),
        (Some(id), &json!("fixed"))
    );
    assert_eq!(
        sb.send(
            "PATCH",
            &format!("/fleet/defects/{id}"),
            &json!({"isResolved": false})
        )
        .0,
        400
    );
    assert_eq!(
        sb.send("PATCH", "/fleet/defects/123", &json!({"isResolved": true}))
            .0,
        404
    );
}

#[test]
fn assignments_are_generated_and_writable() {
    let sb = Sandbox::default_fleet();
    let (s, b) = sb.get("/fleet/driver-vehicle-assignments?filterBy=vehicles&startTime=2026-11-02T00:00:00Z&endTime=2026-11-02T18:00:00Z");
    assert_eq!(s, 200);
    assert!(b["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["assignmentType"] == "HOS"));
    assert_eq!(
        sb.get("/fleet/driver-vehicle-assignments").0,
        400,
        "filterBy is required"
    );
    let (_, drivers) = sb.get("/fleet/drivers?limit=1");
    let did = drivers["data"][0]["id"].as_str().unwrap();
    let body = json!({"driverId": did, "vehicleId": "281474977000011", "startTime": "2026-11-02T17:00:00Z", "metadata": {"sourceName": "fmc"}});
    assert_eq!(sb.send("POST", "/fleet/driver-vehicle-assignments", &body).0, 200);
    let (_, b) = sb.get(&format!(
        "/fleet/driver-vehicle-assignments?filterBy=drivers&driverIds={did}&assignmentType=external"
    ));
    assert_eq!(b["data"].as_array().unwrap().len(), 1, "{b}");
    assert!(b["data"][0].get("endTime").is_none());
    let patch = json!({"driverId": did, "vehicleId": "281474977000011", "startTime": "2026-11-02T17:00:00Z", "endTime": "2026-11-02T17:30:00Z"});
    assert_eq!(
        sb.send("PATCH", "/fleet/driver-vehicle-assignments", &patch).0,
        200
    );
    let (_, b) = sb.get(&format!("/fleet/driver-vehicle-assignments?filterBy=drivers&driverIds={did}&assignmentType=external&startTime=2026-11-02T16:00:00Z"));
    assert_eq!(b["data"][0]["endTime"], "2026-11-02T17:30:00.000Z");
    assert_eq!(
        sb.send(
            "DELETE",
            "/fleet/driver-vehicle-assignments",
            &json!({"vehicleId": "281474977000011"})
        )
        .0,
        204
    );
    let (_, b) = sb.get(&format!("/fleet/driver-vehicle-assignments?filterBy=drivers&driverIds={did}&assignmentType=external&startTime=2026-11-02T16:00:00Z"));
    assert_eq!(b["data"].as_array().unwrap().len(), 0);
}

#[test]
fn trips_move_from_in_progress_to_completed() {
    let sb = Sandbox::default_fleet();
    let (trips, cursor) = walk(&sb, "/trips/stream?startTime=2026-11-02T00:00:00Z");
    assert!(trips.len() > 20);
    let live: Vec<&Value> = trips
        .iter()
        .filter(|t| t["completionStatus"] == "inProgress")
        .collect();
    assert!(!live.is_empty(), "some trips are running at 18:00Z");
    for t in trips.iter().filter(|t| t["completionStatus"] == "completed") {
        assert!(t["finalDistanceMeters"].as_i64().unwrap() > 0 && t["endLocation"]["latitude"].is_number());
    }
    sb.advance(6 * 3600);
    let (changes, _) = walk(
        &sb,
        &format!("/trips/stream?startTime=2026-11-02T00:00:00Z&after={cursor}"),
    );
    let key = |t: &Value| (t["asset"]["id"].clone(), t["tripStartTime"].clone());
    for l in live {
        let now = changes
            .iter()
            .find(|c| key(c) == key(l))
            .expect("a running trip reappears when it completes");
        assert_eq!(now["completionStatus"], "completed");
    }
    let (s, b) = sb.get("/trips/stream?startTime=2026-11-02T00:00:00Z&endTime=2026-11-02T12:00:00Z&ids=281474977000011&includeAsset=true");
    assert_eq!(s, 200);
    assert_eq!(b["pagination"]["endCursor"], "");
    assert!(b["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["asset"]["vin"].is_string()));
}

#[test]
fn safety_speeding_and_idling_streams() {
    let sb = Sandbox::default_fleet();
    let (events, _) = walk(
        &sb,
        "/safety-events/stream?startTime=2026-11-01T00:00:00Z&includeDriver=true",
    );
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e["behaviorLabels"][0]["label"].is_string() && e["driver"]["id"].is_string()));
    let label = events[0]["behaviorLabels"][0]["label"].as_str().unwrap();
    let (only, _) = walk(
        &sb,
        &format!("/safety-events/stream?startTime=2026-11-01T00:00:00Z&behaviorLabels={label}"),
    );
    assert!(!only.is_empty() && only.iter().all(|e| e["behaviorLabels"][0]["label"] == label));
    let (trips, _) = walk(&sb, "/speeding-intervals/stream?startTime=2026-11-01T00:00:00Z");
    assert!(trips
        .iter()
        .any(|t| !t["intervals"].as_array().unwrap().is_empty()));
    assert!(trips
        .iter()
        .any(|t| t["intervals"].as_array().unwrap().is_empty()));
    let (idle, end) = walk(
        &sb,
        "/idling/events?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T18:00:00Z&limit=50",
    );
    assert!(!idle.is_empty() && end.is_empty());
    assert!(idle
        .iter()
        .all(|e| e["durationMilliseconds"].as_i64().unwrap() >= 120_000));
    assert_eq!(
        sb.get("/idling/events?startTime=2026-11-01T00:00:00Z").0,
        400,
        "endTime is required"
    );
}

#[test]
fn locations_and_legacy_v1_endpoints() {
    let sb = Sandbox::default_fleet();
    let (s, snap) = sb.get("/fleet/vehicles/locations");
    assert_eq!(s, 200);
    let l = &snap["data"][0]["location"];
    assert!(
        l["heading"].is_number() && l["speed"].is_number() && l.get("headingDegrees").is_none(),
        "{l}"
    );
    let (_, feed) = sb.get("/fleet/vehicles/locations/feed");
    assert!(feed["data"][0]["locations"].is_array());
    let (_, hist) = sb
        .get("/fleet/vehicles/locations/history?startTime=2026-11-02T14:00:00Z&endTime=2026-11-02T14:10:00Z");
    assert!(hist["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["locations"].as_array().unwrap().len() > 10));
    let (s, trips) =
        sb.get("/v1/fleet/trips?vehicleId=281474977000011&startMs=1793491200000&endMs=1793642400000");
    assert_eq!(s, 200);
    for t in trips["trips"].as_array().unwrap() {
        assert!(t["endOdometer"].as_i64() >= t["startOdometer"].as_i64());
    }
    assert_eq!(
        sb.get("/v1/fleet/trips?vehicleId=281474977000011&startMs=0&endMs=1793642400000")
            .0,
        400
    );
    let (_, d) = sb.get("/fleet/drivers?limit=1");
    let did: i64 = d["data"][0]["id"].as_str().unwrap().parse().unwrap();
    let (s, sent) = sb.send(
        "POST",
        "/v1/fleet/messages",
        &json!({"driverIds": [did], "text": "hello"}),
    );
    assert_eq!((s, &sent["data"][0]["driverId"]), (200, &json!(did)));
    let (_, msgs) = sb.get("/v1/fleet/messages");
    assert!(msgs["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["text"] == "hello" && m["driverId"] == did));
}

#[test]
fn issues_media_and_ifta() {
    let sb = Sandbox::default_fleet();
    let (issues, cursor) = walk(
        &sb,
        "/issues/stream?startTime=2026-10-20T00:00:00Z&include=externalIds",
    );
    assert!(!issues.is_empty(), "generated issues exist");
    let id = issues[0]["id"].as_str().unwrap();
    let (s, b) = sb.send(
        "PATCH",
        "/issues",
        &json!({"id": id, "status": "dismissed", "externalIds": {"fmcIssue": "I-1"}}),
    );
    assert_eq!((s, &b["data"]["status"]), (200, &json!("dismissed")), "{b}");
    let (_, got) = sb.get("/issues?ids=fmcIssue:I-1&include=externalIds");
    assert_eq!(got["data"][0]["id"], id);
    let (_, changes) = sb.get(&format!(
        "/issues/stream?startTime=2026-10-20T00:00:00Z&after={cursor}"
    ));
    assert_eq!(changes["data"][0]["status"], "dismissed");
    let (s, made) = sb.send(
        "POST",
        "/issues",
        &json!({"title": "Door latch", "asset": {"id": "281474977000011"}}),
    );
    assert_eq!((s, &made["data"]["status"]), (200, &json!("open")));
    // External IDs are unique per key across entity types, issues and trailers included (§1.6).
    let vehicle_ext =
        sb.get("/fleet/vehicles/281474977000011").1["data"]["externalIds"]["maintenanceId"].clone();
    let trailer_ext = json!("T5001");
    let clash = |method: &str, path: &str, body: Value| {
        let (s, b) = sb.send(method, path, &body);
        assert_eq!(s, 400, "{method} {path} {body}: {b}");
        assert!(b["message"].as_str().unwrap().contains("already in use"), "{b}");
    };
    for taken in [&vehicle_ext, &trailer_ext] {
        assert!(taken.is_string());
        clash(
            "PATCH",
            "/issues",
            json!({"id": id, "externalIds": {"maintenanceId": taken}}),
        );
        clash(
            "POST",
            "/issues",
            json!({"title": "Mirror", "asset": {"id": "281474977000011"}, "externalIds": {"maintenanceId": taken}}),
        );
    }
    let made_id = made["data"]["id"].as_str().unwrap();
    clash(
        "POST",
        "/issues",
        json!({"title": "Mirror", "asset": {"id": "281474977000011"}, "externalIds": {"fmcIssue": "I-1"}}),
    );
    clash(
        "PATCH",
        "/issues",
        json!({"id": made_id, "externalIds": {"fmcIssue": "I-1"}}),
    );
    clash(
        "PATCH",
        "/fleet/vehicles/281474977000011",
        json!({"externalIds": {"fmcIssue": "I-1"}}),
    );
    clash(
        "POST",
        "/tags",
        json!({"name": "Issue tag", "externalIds": {"fmcIssue": "I-1"}}),
    );
    clash(
        "POST",
        "/tags",
        json!({"name": "Trailer tag", "externalIds": {"maintenanceId": "T5001"}}),
    );
    // Re-sending an issue's own external ID is no conflict; a number is stored as a string.
    let (s, b) = sb.send(
        "PATCH",
        "/issues",
        &json!({"id": id, "externalIds": {"fmcIssue": "I-1", "seq": 7}}),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["externalIds"], json!({"fmcIssue": "I-1", "seq": "7"}));
    let (s, b) = sb.send(
        "PATCH",
        "/issues",
        &json!({"id": made_id, "externalIds": {"fmcIssue": "I-2"}}),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(sb.get("/issues?ids=fmcIssue:I-2").1["data"][0]["id"], made_id);

    let (s, m) = sb.get("/cameras/media?vehicleIds=281474977000011&startTime=2026-11-02T00:00:00Z&endTime=2026-11-02T18:00:00Z");
    assert_eq!(s, 200, "{m}");
    assert!(m["data"]["media"].is_array());
    let (s, r) = sb.send("POST", "/cameras/media/retrieval", &json!({"vehicleId": "281474977000011", "mediaType": "image", "startTime": "2026-11-02T15:00:00Z", "endTime": "2026-11-02T15:00:00Z", "inputs": ["dashcamRoadFacing"]}));
    assert_eq!(s, 200, "{r}");
    let rid = r["data"]["retrievalId"].as_str().unwrap();
    assert_eq!(
        sb.get(&format!("/cameras/media/retrieval?retrievalId={rid}")).1["data"]["media"][0]["status"],
        "pending"
    );
    sb.advance(180);
    let (_, done) = sb.get(&format!("/cameras/media/retrieval?retrievalId={rid}"));
    let status = done["data"]["media"][0]["status"].as_str().unwrap_or_default();
    assert!(
        (status == "available") == done["data"]["media"][0]["urlInfo"]["url"].is_string()
            && status != "pending",
        "{done}"
    );
    assert_eq!(sb.get("/cameras/media?vehicleIds=281474977000011&startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T18:00:00Z").0, 400, "window over 24 h");

    let (s, j) = sb.get("/fleet/reports/ifta/jurisdiction?year=2026&month=November");
    assert_eq!(s, 200, "{j}");
    assert!(j["data"]["jurisdictionReports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["totalMeters"].as_f64().unwrap() > 0.0));
    let (s, v) = sb.get("/fleet/reports/ifta/vehicle?year=2026&quarter=Q4&limit=5");
    assert_eq!(s, 200);
    assert_eq!(v["data"]["vehicleReports"].as_array().unwrap().len(), 5);
    assert_eq!(
        sb.get("/fleet/reports/ifta/vehicle?year=2026&quarter=Q4&month=May")
            .0,
        400
    );
}

#[test]
fn forms_templates_submissions_and_writes() {
    let sb = Sandbox::default_fleet();
    let (_, t) = sb.get("/form-templates");
    let tid = t["data"][0]["id"].as_str().unwrap().to_string();
    let (subs, cursor) = walk(&sb, "/form-submissions/stream?startTime=2026-11-01T00:00:00Z");
    assert!(subs.iter().all(|s| s["fields"].is_array()));
    let statuses: std::collections::BTreeSet<&str> =
        subs.iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert!(
        statuses.len() >= 4 && statuses.contains("completed"),
        "{statuses:?}"
    );
    let sid = subs[0]["id"].as_str().unwrap();
    assert_eq!(
        sb.get(&format!("/form-submissions?ids={sid}")).1["data"][0]["id"],
        sid
    );
    let (s, p) = sb.send(
        "PATCH",
        "/form-submissions",
        &json!({"id": sid, "status": "approved"}),
    );
    assert_eq!((s, &p["data"]["status"]), (200, &json!("approved")), "{p}");
    let (_, changes) = sb.get(&format!(
        "/form-submissions/stream?startTime=2026-11-01T00:00:00Z&after={cursor}"
    ));
    assert_eq!(changes["data"][0]["id"], sid);
    let (s, made) = sb.send(
        "POST",
        "/form-submissions",
        &json!({"formTemplate": {"id": tid}, "status": "notStarted", "title": "Assigned"}),
    );
    assert_eq!(
        (s, &made["data"]["status"]),
        (200, &json!("notStarted")),
        "{made}"
    );
}

#[test]
fn legacy_safety_idling_and_defect_history() {
    let sb = Sandbox::default_fleet();
    let (s, legacy) =
        sb.get("/fleet/safety-events?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T18:00:00Z");
    assert_eq!(s, 200);
    let ev = &legacy["data"][0];
    let label = ev["behaviorLabels"][0]["label"].as_str().unwrap();
    assert!(
        label.chars().next().unwrap().is_ascii_lowercase(),
        "legacy labels are lowerCamel: {label}"
    );
    let (_, by_id) = sb.get(&format!(
        "/safety-events?safetyEventIds={}",
        ev["id"].as_str().unwrap()
    ));
    assert_eq!(by_id["data"][0]["id"], ev["id"]);
    let (s, idle) =
        sb.get("/fleet/reports/vehicle/idling?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T18:00:00Z");
    assert_eq!(s, 200);
    assert!(idle["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["durationMs"].as_i64().unwrap() >= 120_000));
    assert!(idle["requestStartTime"].is_string());
    let (s, hist) =
        sb.get("/fleet/defects/history?startTime=2026-10-25T00:00:00Z&endTime=2026-11-02T18:00:00Z");
    assert_eq!(s, 200);
    assert!(hist["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["defectType"].is_string()));
    assert_eq!(
        sb.get("/fleet/defects/history?startTime=2026-09-01T00:00:00Z&endTime=2026-11-02T18:00:00Z")
            .0,
        400,
        "30-day window"
    );
}

#[test]
fn legacy_assignment_reads() {
    let sb = Sandbox::default_fleet();
    let (s, by_driver) = sb.get(
        "/fleet/drivers/vehicle-assignments?startTime=2026-11-02T00:00:00Z&endTime=2026-11-02T18:00:00Z",
    );
    assert_eq!(s, 200);
    let spans: Vec<&Value> = by_driver["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["vehicleAssignments"].as_array().unwrap())
        .collect();
    assert!(
        !spans.is_empty()
            && spans
                .iter()
                .all(|a| a["assignmentType"] == "driverApp" && a["vehicle"]["id"].is_string())
    );
    let (s, by_vehicle) = sb.get(
        "/fleet/vehicles/driver-assignments?startTime=2026-11-02T00:00:00Z&endTime=2026-11-02T18:00:00Z",
    );
    assert_eq!(s, 200);
    assert!(by_vehicle["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| !v["driverAssignments"].as_array().unwrap().is_empty()));
    assert_eq!(
        sb.get(
            "/fleet/vehicles/driver-assignments?startTime=2026-10-01T00:00:00Z&endTime=2026-11-02T18:00:00Z"
        )
        .0,
        400,
        "7-day window"
    );
}

#[test]
fn dvirs_link_to_defects() {
    let sb = Sandbox::default_fleet();
    let (dvirs, _) = walk(&sb, "/dvirs/stream?startTime=2026-10-28T00:00:00Z");
    assert!(dvirs.iter().any(|d| d["safetyStatus"] == "safe"));
    let with_defect = dvirs
        .iter()
        .find(|d| d["safetyStatus"] == "unsafe")
        .expect("an unsafe DVIR");
    let defect = with_defect["defectIds"][0].as_str().unwrap();
    assert_eq!(
        sb.get(&format!("/defects/{defect}")).1["dvirId"],
        with_defect["id"]
    );
    let (unsafe_only, _) = walk(
        &sb,
        "/dvirs/stream?startTime=2026-10-28T00:00:00Z&safetyStatus=unsafe",
    );
    assert!(unsafe_only.iter().all(|d| d["safetyStatus"] == "unsafe"));
}

/// The keys of the first idling event a token gets, with an optional `X-Samsara-Version`.
fn idling_keys(sb: &Sandbox, token: &str, version: Option<&str>) -> (u16, Value) {
    let mut r = sb
        .http
        .get(format!(
            "{}/idling/events?startTime=2026-11-02T00:00:00Z&endTime=2026-11-02T18:00:00Z&includeExternalIds=true",
            sb.url
        ))
        .bearer_auth(token);
    if let Some(v) = version {
        r = r.header("X-Samsara-Version", v);
    }
    let r = r.send().unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().unwrap()).unwrap())
}

/// Asserts every idling record has exactly one of the two shapes.
fn assert_idling_shape(page: &Value, nested: bool) {
    let data = page["data"].as_array().unwrap();
    assert!(!data.is_empty());
    for e in data {
        let flat = ["assetId", "operatorId"].iter().any(|k| e.get(*k).is_some());
        let nest = ["asset", "operator", "latitude", "longitude"]
            .iter()
            .any(|k| e.get(*k).is_some());
        assert_eq!((flat, nest), (!nested, nested), "nested={nested}: {e}");
        if nested {
            assert!(e["asset"]["id"].is_i64() && e["latitude"].is_f64());
        } else {
            assert!(e["assetId"].is_i64());
        }
    }
    if nested {
        assert!(data
            .iter()
            .any(|e| e["asset"]["externalIds"]["samsara.vin"].is_string()));
        assert!(data
            .iter()
            .any(|e| e["operator"]["externalIds"]["payrollId"].is_string()));
    }
}

#[test]
fn api_version_is_per_token_and_the_header_overrides_it() {
    let sb = Sandbox::start(&[
        "--vehicles",
        "10",
        "--start",
        "2026-11-02T18:00:00Z",
        "--rate-limits",
        "off",
        "--token",
        "old",
        "--token",
        "new@2025-10-23",
        "--token",
        "mid@2025-10-22=Read Idling",
    ]);
    // No version on the token: the documented default 2025-06-11, flat.
    let (s, page) = idling_keys(&sb, "old", None);
    assert_eq!(s, 200, "{page}");
    assert_idling_shape(&page, false);
    assert_idling_shape(&idling_keys(&sb, "new", None).1, true);
    assert_idling_shape(&idling_keys(&sb, "mid", None).1, false);
    // The header wins over the token's version, either way.
    assert_idling_shape(&idling_keys(&sb, "old", Some("2025-10-23")).1, true);
    assert_idling_shape(&idling_keys(&sb, "new", Some("2024-01-01")).1, false);
    for bad in ["latest", "2025-13-01", "2025-6-1"] {
        let (s, body) = idling_keys(&sb, "new", Some(bad));
        assert_eq!(s, 400, "{bad}: {body}");
        let msg = body["message"].as_str().unwrap();
        assert!(msg.contains("X-Samsara-Version") && msg.contains(bad), "{msg}");
    }
    // The header is checked on every endpoint, not only the versioned one.
    let r = sb
        .http
        .get(format!("{}/me", sb.url))
        .bearer_auth("old")
        .header("X-Samsara-Version", "soon")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[test]
fn a_token_with_a_malformed_version_is_a_startup_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_samsara-sandbox"))
        .args(["--token", "t@2025-02-30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2025-02-30"));
}

/// Retrievals end as `/__sandbox/truth/retrievals` says; an available one's URL is a signed loopback
/// URL of the sandbox that serves the bytes until it expires, and refuses a forged signature.
#[test]
fn retrievals_end_as_the_truth_says_and_media_urls_expire() {
    let sb = Sandbox::default_fleet();
    let (_, vehicles) = sb.get("/fleet/vehicles?limit=12");
    let ids: Vec<String> = vehicles["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    let mut rids = Vec::new();
    for (i, v) in ids.iter().enumerate() {
        let at = format!("2026-11-02T1{}:00:00Z", i % 8);
        let body = json!({"vehicleId": v, "mediaType": "image", "startTime": at, "endTime": at, "inputs": ["dashcamRoadFacing", "analog1"]});
        let (s, r) = sb.send("POST", "/cameras/media/retrieval", &body);
        assert_eq!(s, 200, "{r}");
        rids.push(r["data"]["retrievalId"].as_str().unwrap().to_string());
    }
    let truth = sb.admin("GET", "/__sandbox/truth/retrievals", &Value::Null);
    assert!(truth["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["ended"] == false));
    sb.advance(150);
    let truth = sb.admin("GET", "/__sandbox/truth/retrievals", &Value::Null);
    let (mut available, mut failed, mut unavailable) = (0, 0, 0);
    let mut url = String::new();
    for rid in &rids {
        let t = truth["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["retrievalId"] == rid.as_str())
            .unwrap();
        let (_, got) = sb.get(&format!("/cameras/media/retrieval?retrievalId={rid}"));
        for (m, want) in got["data"]["media"]
            .as_array()
            .unwrap()
            .iter()
            .zip(t["inputs"].as_array().unwrap())
        {
            assert_eq!(m["input"], want["input"]);
            assert_eq!(m["status"], want["status"], "{got} vs {t}");
            match m["status"].as_str().unwrap() {
                "available" => {
                    available += 1;
                    url = m["urlInfo"]["url"].as_str().unwrap().to_string();
                }
                "failed" => failed += 1,
                _ => unavailable += 1,
            }
        }
    }
    assert!(
        available > 0 && unavailable > 0,
        "{available} {failed} {unavailable}"
    );
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/__sandbox/media/"),
        "{url}"
    );
    let http = reqwest::blocking::Client::new();
    let r = http.get(&url).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().unwrap().starts_with(&[0xff, 0xd8, 0xff]), "a JPEG");
    let forged = url.replace("signature=", "signature=0");
    assert_eq!(http.get(&forged).send().unwrap().status().as_u16(), 403);
    sb.advance(9 * 3600);
    assert_eq!(http.get(&url).send().unwrap().status().as_u16(), 403, "expired");
}
