//! The FMC's workflow changes (issues, forms, driver messages): what each produced (`copies`), the
//! drivers' replies to messages sent through the API, and the checks of form assignees.

use serde_json::{json, Value};

use crate::support::Sandbox;

const POD: &str = "9b1e6a52-0000-4000-8000-000000000003";

fn status(sb: &Sandbox, id: &Value) -> Value {
    let all = sb.admin("GET", "/__sandbox/fmc/changes", &Value::Null);
    all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| &c["id"] == id)
        .unwrap()
        .clone()
}

fn script(sb: &Sandbox, kind: &str, data: &Value) -> Value {
    sb.advance(1);
    sb.admin(
        "POST",
        "/__sandbox/fmc/changes",
        &json!({"type": kind, "data": data}),
    )["id"]
        .clone()
}

#[test]
fn workflow_changes_count_the_objects_they_produced() {
    let sb = Sandbox::default_fleet();
    let (_, vehicles) = sb.get("/fleet/vehicles?limit=1");
    let vehicle = vehicles["data"][0]["id"].as_str().unwrap().to_string();
    let (_, drivers) = sb.get("/fleet/drivers?limit=2");
    let driver = drivers["data"][0]["id"].as_str().unwrap().to_string();
    let did: i64 = driver.parse().unwrap();

    let issue = script(
        &sb,
        "issue.created",
        &json!({"title": "Oil leak", "assetId": vehicle}),
    );
    let form = script(
        &sb,
        "form.assigned",
        &json!({"formTemplateId": POD, "driverId": driver, "title": "Stop 9"}),
    );
    let msg = script(
        &sb,
        "message.sent",
        &json!({"driverId": driver, "text": "Door 7 please"}),
    );
    for id in [&issue, &form, &msg] {
        let s = status(&sb, id);
        assert_eq!(
            (s["applied"].clone(), s["copies"].clone()),
            (json!(false), json!(0)),
            "{s}"
        );
    }
    let body = json!({"title": "Oil leak", "asset": {"id": vehicle}, "externalIds": {"fmcChangeId": issue}});
    let (code, created) = sb.send("POST", "/issues", &body);
    assert_eq!(code, 200, "{created}");
    let body = json!({"formTemplate": {"id": POD}, "status": "notStarted", "title": "Stop 9", "assignedTo": {"id": driver, "type": "driver"}});
    assert_eq!(sb.send("POST", "/form-submissions", &body).0, 200);
    let body = json!({"driverIds": [did], "text": "Door 7 please"});
    assert_eq!(sb.send("POST", "/v1/fleet/messages", &body).0, 200);
    for id in [&issue, &form, &msg] {
        let s = status(&sb, id);
        assert_eq!(
            (s["applied"].clone(), s["copies"].clone()),
            (json!(true), json!(1)),
            "{s}"
        );
    }
    // A second send of the same message is a second copy: what the ledger must never do.
    assert_eq!(sb.send("POST", "/v1/fleet/messages", &body).0, 200);
    assert_eq!(status(&sb, &msg)["copies"], json!(2));

    let upd = script(
        &sb,
        "issue.updated",
        &json!({"issueId": format!("fmcChangeId:{}", issue.as_str().unwrap()), "status": "resolved"}),
    );
    assert_eq!(status(&sb, &upd)["applied"], json!(false));
    let patch = json!({"id": created["data"]["id"], "status": "resolved"});
    assert_eq!(sb.send("PATCH", "/issues", &patch).0, 200);
    assert_eq!(status(&sb, &upd)["applied"], json!(true));
    assert!(
        status(&sb, &upd).get("copies").is_none(),
        "an update produces no object"
    );
}

#[test]
fn forms_refuse_unknown_assignees_and_include_asset_external_ids() {
    let sb = Sandbox::default_fleet();
    let body = json!({"formTemplate": {"id": POD}, "status": "notStarted", "assignedTo": {"id": "999999", "type": "driver"}});
    let (code, err) = sb.send("POST", "/form-submissions", &body);
    assert_eq!(code, 400);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("driver `999999` does not exist"),
        "{err}"
    );
    let body = json!({"formTemplate": {"id": POD}, "assignedTo": {"id": "1", "type": "robot"}});
    assert_eq!(sb.send("POST", "/form-submissions", &body).0, 400);

    let (_, plain) = sb.get("/form-submissions/stream?startTime=2026-11-01T00:00:00Z");
    let (_, ext) = sb.get("/form-submissions/stream?startTime=2026-11-01T00:00:00Z&include=externalIds");
    assert!(plain["data"][0]["asset"].get("externalIds").is_none());
    assert!(
        ext["data"][0]["asset"]["externalIds"]["samsara.vin"].is_string(),
        "{}",
        ext["data"][0]
    );
    let (code, _) = sb.get("/form-submissions/stream?startTime=2026-11-01T00:00:00Z&include=everything");
    assert_eq!(code, 400);
}

#[test]
fn drivers_reply_to_messages_sent_through_the_api() {
    let sb = Sandbox::default_fleet();
    let (_, drivers) = sb.get("/fleet/drivers?limit=8");
    let ids: Vec<i64> = drivers["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().parse().unwrap())
        .collect();
    for id in &ids {
        assert_eq!(
            sb.send(
                "POST",
                "/v1/fleet/messages",
                &json!({"driverIds": [id], "text": "Status?"})
            )
            .0,
            200
        );
    }
    let (_, now) = sb.get("/v1/fleet/messages?durationMs=60000");
    let replies = |v: &Value| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["sender"]["type"] == "driver" && ids.contains(&m["driverId"].as_i64().unwrap()))
            .count()
    };
    assert_eq!(replies(&now), 0, "no reply before its time");
    sb.advance(30 * 60);
    let (_, later) = sb.get("/v1/fleet/messages?durationMs=1800000");
    let n = replies(&later);
    assert!(
        n >= 3 && n <= ids.len(),
        "most drivers replied within 20 minutes: {n}"
    );
    let mine: Vec<&Value> = later["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"] == "Status?")
        .collect();
    assert_eq!(mine.len(), ids.len());
    assert!(
        mine.iter().all(|m| m["isRead"] == json!(true)),
        "read after ten minutes"
    );
    let (_, again) = sb.get("/v1/fleet/messages?durationMs=1800000");
    assert_eq!(later, again, "replies are stable across reads");
}

#[test]
fn assignment_changes_count_copies_and_show_when_applied() {
    let sb = Sandbox::default_fleet();
    let (_, vehicles) = sb.get("/fleet/vehicles?limit=1");
    let vehicle = vehicles["data"][0]["id"].as_str().unwrap().to_string();
    let (_, drivers) = sb.get("/fleet/drivers?limit=1");
    let driver = drivers["data"][0]["id"].as_str().unwrap().to_string();
    let (code, _) = sb.send(
        "PATCH",
        &format!("/fleet/vehicles/{vehicle}"),
        &json!({"externalIds": {"fmcId": "UNIT-1"}}),
    );
    assert_eq!(code, 200);
    let start = "2026-11-02T12:00:00.000Z";
    let named = json!({"fmcVehicleId": "UNIT-1", "driverId": driver, "startTime": start});
    let created = script(&sb, "assignment.created", &named);
    let mut ended = named.clone();
    ended["endTime"] = json!("2026-11-02T14:00:00.000Z");
    let end = script(&sb, "assignment.ended", &ended);
    for id in [&created, &end] {
        assert_eq!(status(&sb, id)["applied"], json!(false));
    }
    assert_eq!(status(&sb, &created)["copies"], json!(0));

    let body = json!({"vehicleId": "fmcId:UNIT-1", "driverId": driver, "startTime": start});
    for _ in 0..2 {
        assert_eq!(sb.send("POST", "/fleet/driver-vehicle-assignments", &body).0, 200);
    }
    let s = status(&sb, &created);
    assert_eq!(
        (s["applied"].clone(), s["copies"].clone()),
        (json!(true), json!(2)),
        "{s}"
    );
    assert_eq!(
        status(&sb, &end)["applied"],
        json!(false),
        "two match: not one assignment"
    );

    let mut other = body.clone();
    other["startTime"] = json!("2026-11-02T11:00:00.000Z");
    assert_eq!(
        sb.send(
            "DELETE",
            "/fleet/driver-vehicle-assignments",
            &json!({"vehicleId": vehicle})
        )
        .0,
        204
    );
    assert_eq!(sb.send("POST", "/fleet/driver-vehicle-assignments", &body).0, 200);
    assert_eq!(
        sb.send("POST", "/fleet/driver-vehicle-assignments", &other).0,
        200
    );
    assert_eq!(
        status(&sb, &created)["copies"],
        json!(1),
        "another start is another assignment"
    );
    let patch =
        json!({"vehicleId": vehicle, "driverId": driver, "startTime": start, "endTime": ended["endTime"]});
    assert_eq!(
        sb.send("PATCH", "/fleet/driver-vehicle-assignments", &patch).0,
        200
    );
    assert_eq!(status(&sb, &end)["applied"], json!(true));
}

/// Every page of a stream from `start` to its end: (items, the last cursor).
fn drain(sb: &Sandbox, path: &str, start: &str, after: Option<&str>) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    let mut cursor = after.map(str::to_string);
    loop {
        let q = cursor.as_deref().map_or(String::new(), |c| format!("&after={c}"));
        let (s, page) = sb.get(&format!("{path}?startTime={start}{q}"));
        assert_eq!(s, 200, "{page}");
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        let end = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        if !page["pagination"]["hasNextPage"].as_bool().unwrap() {
            return (out, end);
        }
        cursor = Some(end);
    }
}

#[test]
fn a_write_at_the_instant_of_a_stream_read_is_after_its_cursor() {
    // The clock stands still between the read and the write (as in the convergence harness): the
    // write must still sort after the cursor the read returned, or a follower never reads it.
    let sb = Sandbox::default_fleet();
    let (_, vehicles) = sb.get("/fleet/vehicles?limit=1");
    let vehicle = vehicles["data"][0]["id"].as_str().unwrap().to_string();
    let (_, drivers) = sb.get("/fleet/drivers?limit=1");
    let driver = drivers["data"][0]["id"].as_str().unwrap().to_string();
    let start = "2026-11-01T00:00:00Z";
    for _ in 0..3 {
        let (_, cursor) = drain(&sb, "/issues/stream", start, None);
        let (s, b) = sb.send(
            "POST",
            "/issues",
            &json!({"title": "Mirror cracked", "asset": {"id": vehicle}}),
        );
        assert_eq!(s, 200, "{b}");
        let (new, _) = drain(&sb, "/issues/stream", start, Some(&cursor));
        assert_eq!(new.len(), 1, "the new issue after the cursor: {new:?}");
        assert_eq!(new[0]["id"], b["data"]["id"]);

        let (_, cursor) = drain(&sb, "/form-submissions/stream", start, None);
        let (s, b) = sb.send(
            "POST",
            "/form-submissions",
            &json!({"formTemplate": {"id": POD}, "assignedTo": {"id": driver, "type": "driver"}, "status": "notStarted"}),
        );
        assert_eq!(s, 200, "{b}");
        let (new, _) = drain(&sb, "/form-submissions/stream", start, Some(&cursor));
        assert!(
            new.iter().any(|f| f["id"] == b["data"]["id"]),
            "the new submission after the cursor: {new:?}"
        );
    }
}
