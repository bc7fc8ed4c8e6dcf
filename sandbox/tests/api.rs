//! Routing, errors, auth, entities and writes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::Sandbox;

#[test]
fn errors_have_samsara_shapes() {
    let sb = Sandbox::start(&[
        "--token",
        "full",
        "--token",
        "ro=Read Vehicles",
        "--rate-limits",
        "off",
    ]);
    let get = |path: &str, token: Option<&str>| {
        let mut r = sb.http.get(format!("{}{path}", sb.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().unwrap();
        (
            r.status().as_u16(),
            r.text()
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .unwrap_or(Value::Null),
        )
    };
    let (s, b) = get("/fleet/vehicles", None);
    assert_eq!(s, 401);
    assert!(b["message"].is_string() && b["requestId"].is_string());
    assert_eq!(get("/fleet/vehicles", Some("nope")).0, 401);
    assert_eq!(get("/fleet/vehicles", Some("ro")).0, 200);
    let (s, b) = get("/fleet/drivers", Some("ro"));
    assert_eq!(s, 403);
    assert!(b["message"].as_str().unwrap().contains("Read Drivers"), "{b}");
    assert_eq!(get("/fleet/nothing", Some("full")).0, 404);
    let r = sb
        .http
        .post(format!("{}/fleet/vehicles", sb.url))
        .bearer_auth("full")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let (s, b) = get("/fleet/vehicles?limit=513", Some("full"));
    assert_eq!(s, 400);
    assert!(b["message"].as_str().unwrap().contains("limit"));
    let (s, b) = get("/fleet/vehicles/stats/feed?types=gps&after=garbage", Some("full"));
    assert_eq!(s, 400);
    assert!(b["message"].as_str().unwrap().contains("after"));
    let (s, b) = get(
        "/fleet/vehicles/stats?types=gps,engineStates,fuelPercents,engineRpm",
        Some("full"),
    );
    assert_eq!(s, 400);
    assert!(b["message"].as_str().unwrap().contains("types"));
}

#[test]
fn vehicles_page_filter_and_resolve_external_ids() {
    let sb = Sandbox::default_fleet();
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let q = if after.is_empty() {
            "/fleet/vehicles?limit=7".to_string()
        } else {
            format!("/fleet/vehicles?limit=7&after={after}")
        };
        let (s, b) = sb.get(&q);
        assert_eq!(s, 200);
        all.extend(b["data"].as_array().unwrap().clone());
        after = b["pagination"]["endCursor"].as_str().unwrap().to_string();
        assert_eq!(
            b["pagination"]["hasNextPage"].as_bool().unwrap(),
            !after.is_empty()
        );
        if after.is_empty() {
            break;
        }
    }
    assert_eq!(all.len(), 50);
    for v in &all {
        let vin = v["vin"].as_str().unwrap();
        assert!(samsara_fmc::vin::has_valid_check_digit(vin.as_bytes()), "{vin}");
    }
    let v0 = &all[3];
    let (s, b) = sb.get(&format!(
        "/fleet/vehicles/samsara.vin:{}",
        v0["vin"].as_str().unwrap()
    ));
    assert_eq!(s, 200);
    assert_eq!(b["data"]["id"], v0["id"]);
    let tag = v0["tags"][0]["id"].as_str().unwrap();
    let parent = v0["tags"][0]["parentTagId"].as_str().unwrap();
    let (_, by_tag) = sb.get(&format!("/fleet/vehicles?tagIds={tag}"));
    let (_, by_parent) = sb.get(&format!("/fleet/vehicles?parentTagIds={parent}"));
    let n_tag = by_tag["data"].as_array().unwrap().len();
    assert!(n_tag >= 1 && by_parent["data"].as_array().unwrap().len() >= n_tag);
    assert_eq!(sb.get("/fleet/vehicles/maintenanceId:nope").0, 404);
}

#[test]
fn writes_show_up_in_reads_and_external_ids_are_unique() {
    let sb = Sandbox::default_fleet();
    let (_, list) = sb.get("/fleet/vehicles?limit=2");
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = sb.send(
        "PATCH",
        &format!("/fleet/vehicles/{id}"),
        &json!({"name": "Renamed 1", "externalIds": {"fmcId": "FMC-1"}}),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        sb.get("/fleet/vehicles/fmcId:FMC-1").1["data"]["name"],
        "Renamed 1"
    );
    let (_, feed) = sb.get(&format!("/fleet/vehicles/stats?types=gps&vehicleIds={id}"));
    assert_eq!(feed["data"][0]["name"], "Renamed 1");
    let (s, b) = sb.send("POST", "/fleet/drivers", &json!({"name": "Ann Example", "username": "annex", "password": "pw", "externalIds": {"fmcId": "FMC-1"}}));
    assert_eq!(s, 400, "{b}");
    assert!(b["message"].as_str().unwrap().contains("externalIds"));
    let (s, b) = sb.send("POST", "/fleet/drivers", &json!({"name": "Ann Example", "username": "annex", "password": "pw", "externalIds": {"fmcId": "FMC-2"}}));
    assert_eq!(s, 200, "{b}");
    let did = b["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        sb.send(
            "POST",
            "/fleet/drivers",
            &json!({"name": "B", "username": "annex", "password": "pw"})
        )
        .0,
        400
    );
    let (s, _) = sb.send(
        "PATCH",
        "/fleet/drivers/fmcId:FMC-2",
        &json!({"driverActivationStatus": "deactivated"}),
    );
    assert_eq!(s, 200);
    let (_, deact) = sb.get("/fleet/drivers?driverActivationStatus=deactivated");
    assert!(deact["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == did.as_str()));
    let (s, tag) = sb.send(
        "POST",
        "/tags",
        &json!({"name": "Sandbox Test Tag", "vehicles": [id]}),
    );
    assert_eq!(s, 200, "{tag}");
    let tid = tag["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        sb.get(&format!("/fleet/vehicles?tagIds={tid}")).1["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (s, t2) = sb.send("PATCH", &format!("/tags/{tid}"), &json!({"name": "Renamed Tag"}));
    assert_eq!(
        (s, t2["data"]["vehicles"][0]["id"].as_str()),
        (200, Some(id.as_str()))
    );
    assert_eq!(sb.get("/tags/samsara.name:Renamed Tag").0, 200);
    let r = sb.req(Method::DELETE, &format!("/tags/{tid}")).send().unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(sb.get(&format!("/tags/{tid}")).0, 404);
}

#[test]
fn same_seed_same_fleet_and_list_encodings_agree() {
    let a = Sandbox::default_fleet();
    let b = Sandbox::default_fleet();
    assert_eq!(a.get("/fleet/vehicles").1, b.get("/fleet/vehicles").1);
    assert_eq!(a.get("/fleet/drivers").1, b.get("/fleet/drivers").1);
    let csv = a.get("/fleet/vehicles/stats?types=gps,obdOdometerMeters");
    let rep = a.get("/fleet/vehicles/stats?types=gps&types=obdOdometerMeters");
    assert_eq!(csv, rep);
}

#[test]
fn rate_limits_answer_429_with_fractional_retry_after() {
    let sb = Sandbox::start(&["--vehicles", "5"]);
    let mut limited = None;
    for _ in 0..60 {
        let r = sb.req(Method::GET, "/fleet/vehicles").send().unwrap();
        if r.status().as_u16() == 429 {
            limited = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            break;
        }
    }
    let ra: f64 = limited
        .expect("a 429 within 60 requests at 25/s")
        .parse()
        .unwrap();
    assert!(ra > 0.0 && ra <= 0.04 + 1e-9, "{ra}");
    let log = sb.admin("GET", "/__sandbox/requests", &Value::Null);
    let reqs = log["requests"].as_array().unwrap();
    assert!(reqs.iter().any(|r| r["status"] == 429));
    assert!(reqs.iter().all(|r| r["token"] == "token-1"));
}

#[test]
fn manual_odometer_drives_gps_odometer_and_time_scale_moves_the_clock() {
    let sb = Sandbox::default_fleet();
    let id = "281474977000011";
    let (s, _) = sb.send(
        "PATCH",
        &format!("/fleet/vehicles/{id}"),
        &json!({"odometerMeters": 1_000_000}),
    );
    assert_eq!(s, 200);
    let gps = |sb: &Sandbox| {
        sb.get(&format!(
            "/fleet/vehicles/stats?types=gpsOdometerMeters,obdOdometerMeters&vehicleIds={id}"
        ))
        .1["data"][0]
            .clone()
    };
    sb.advance(3 * 3600);
    let after = gps(&sb);
    let g = after["gpsOdometerMeters"]["value"].as_i64().unwrap();
    assert!((1_000_000..1_400_000).contains(&g), "{after}");
    let fast = Sandbox::start(&["--time-scale", "3600", "--vehicles", "3"]);
    let t0 = fast.admin("GET", "/__sandbox/clock", &Value::Null)["now"]
        .as_str()
        .unwrap()
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let t1 = fast.admin("GET", "/__sandbox/clock", &Value::Null)["now"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(t1 > t0, "{t0} {t1}");
}

#[test]
fn oauth_code_flow_with_rotating_refresh_tokens_and_expiry() {
    let sb = Sandbox::default_fleet();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(format!("{}/oauth2/authorize?client_id=sandbox-client&state=xyz&response_type=code&redirect_uri=http://localhost/cb", sb.url)).send().unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        loc.starts_with("http://localhost/cb?code=") && loc.ends_with("&state=xyz"),
        "{loc}"
    );
    let code = loc
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let token = |body: String| -> (u16, Value) {
        let r = http
            .post(format!("{}/oauth2/token", sb.url))
            .basic_auth("sandbox-client", Some("sandbox-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        (
            r.status().as_u16(),
            serde_json::from_str(&r.text().unwrap()).unwrap(),
        )
    };
    let (s, t) = token(format!("grant_type=authorization_code&code={code}"));
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["expires_in"], 3600);
    assert_eq!(
        token(format!("grant_type=authorization_code&code={code}")).0,
        400,
        "codes are single-use"
    );
    let me = |tok: &str| {
        http.get(format!("{}/me", sb.url))
            .bearer_auth(tok)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(me(access), 200);
    let idle: Value = serde_json::from_str(
        &http
            .get(format!(
                "{}/idling/events?startTime=2026-11-02T00:00:00Z&endTime=2026-11-02T18:00:00Z&limit=1",
                sb.url
            ))
            .bearer_auth(access)
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    assert!(
        idle["data"][0]["asset"]["id"].is_i64() && idle["data"][0].get("assetId").is_none(),
        "OAuth tokens default to the latest API version: {idle}"
    );
    let refresh = t["refresh_token"].as_str().unwrap();
    let (s, t2) = token(format!("grant_type=refresh_token&refresh_token={refresh}"));
    assert_eq!(s, 200);
    assert_ne!(t2["refresh_token"], t["refresh_token"]);
    assert_eq!(
        token(format!("grant_type=refresh_token&refresh_token={refresh}")).0,
        400,
        "refresh tokens rotate"
    );
    sb.advance(3601);
    assert_eq!(me(access), 401, "access tokens expire in simulated time");
    let bad = http
        .post(format!("{}/oauth2/token", sb.url))
        .basic_auth("sandbox-client", Some("wrong"))
        .body("grant_type=refresh_token")
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
}

#[test]
fn manual_engine_hours_and_odometer_apply_from_the_patch_on() {
    let sb = Sandbox::default_fleet();
    let id = "281474977000011";
    let stats = |sb: &Sandbox, at: &str| {
        sb.get(&format!(
            "/fleet/vehicles/stats?types=gpsOdometerMeters,syntheticEngineSeconds,obdEngineSeconds&vehicleIds={id}&time={at}"
        ))
        .1["data"][0]
            .clone()
    };
    let before = stats(&sb, "2026-11-02T18:00:00Z");
    let (s, _) = sb.send(
        "PATCH",
        &format!("/fleet/vehicles/{id}"),
        &json!({"engineHours": 5000, "odometerMeters": 2_000_000}),
    );
    assert_eq!(s, 200);
    let (s, bad) = sb.send(
        "PATCH",
        &format!("/fleet/vehicles/{id}"),
        &json!({"engineHours": -1}),
    );
    assert_eq!(s, 400);
    assert!(bad["message"].as_str().unwrap().contains("`engineHours`"));
    sb.advance(86_400);
    let (s, _) = sb.send(
        "PATCH",
        &format!("/fleet/vehicles/{id}"),
        &json!({"odometerMeters": 500_000}),
    );
    assert_eq!(s, 200);
    sb.advance(86_400);
    // Points before the first PATCH are unchanged.
    assert_eq!(stats(&sb, "2026-11-02T18:00:00Z"), before);
    let (_, hist) = sb.get(&format!(
        "/fleet/vehicles/stats/history?types=syntheticEngineSeconds,obdEngineSeconds,gpsOdometerMeters&vehicleIds={id}&startTime=2026-11-02T18:00:00Z&endTime=2026-11-04T18:00:00Z"
    ));
    let v = &hist["data"][0];
    let series = |k: &str| -> Vec<(String, i64)> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["time"].as_str().unwrap().to_string(),
                    p["value"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let (syn, obd) = (series("syntheticEngineSeconds"), series("obdEngineSeconds"));
    assert_eq!(syn.len(), obd.len());
    let obd0 = obd[0].1;
    for ((t, s), (_, o)) in syn.iter().zip(&obd) {
        // 5000 h at the PATCH, then the engine-on time the ECU counts since.
        assert_eq!(*s, 5000 * 3600 + (o - obd0), "{t}");
    }
    assert!(
        syn.windows(2).all(|w| w[0].1 <= w[1].1),
        "synthetic engine seconds decreased"
    );
    let odo = series("gpsOdometerMeters");
    let (first, second): (Vec<_>, Vec<_>) =
        odo.iter().partition(|(t, _)| t.as_str() < "2026-11-03T18:00:00Z");
    assert!(
        first.iter().all(|(_, m)| (2_000_000..2_800_000).contains(m)),
        "{first:?}"
    );
    assert!(
        second.iter().all(|(_, m)| (500_000..1_300_000).contains(m)),
        "{second:?}"
    );
    assert!(first.windows(2).all(|w| w[0].1 <= w[1].1) && second.windows(2).all(|w| w[0].1 <= w[1].1));
    // The feed sees the baseline too.
    let (_, feed) = sb.get(&format!(
        "/fleet/vehicles/stats/feed?types=syntheticEngineSeconds&vehicleIds={id}"
    ));
    let now = feed["data"][0]["syntheticEngineSeconds"][0]["value"]
        .as_i64()
        .unwrap();
    assert!(now >= 5000 * 3600, "{now}");
}
