//! Trailers: assets with real trailer VINs, tag `assets`, DVIR defect `trailer`s and `asset` readings.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use crate::support::Sandbox;

fn trailers(sb: &Sandbox) -> Vec<Value> {
    sb.admin("GET", "/__sandbox/trailers", &Value::Null)["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn trailers_have_real_vins_plates_and_tags() {
    let sb = Sandbox::default_fleet();
    let list = trailers(&sb);
    assert_eq!(list.len(), 12, "default: vehicles / 4");
    for t in &list {
        let vin = t["vin"].as_str().unwrap();
        assert!(
            samsara_fmc::vin::check_digit::has_valid_check_digit(vin.as_bytes()),
            "{vin}"
        );
        assert!(["1GR", "1JJ", "1UY", "3H3"].contains(&&vin[..3]), "{vin}");
        assert!(!t["licensePlate"].as_str().unwrap().is_empty());
        assert!(t["name"].as_str().unwrap().starts_with("Trailer "));
        assert!(t["tractorVehicleId"].is_string());
    }
    let ids: HashSet<&str> = list.iter().map(|t| t["id"].as_str().unwrap()).collect();
    let (_, tags) = sb.get("/tags");
    let mut tagged = BTreeMap::new();
    for tag in tags["data"].as_array().unwrap() {
        for a in tag["assets"].as_array().unwrap() {
            tagged.insert(a["id"].as_str().unwrap().to_string(), a["name"].clone());
        }
    }
    assert_eq!(tagged.len(), ids.len());
    assert!(tagged.keys().all(|k| ids.contains(k.as_str())));
    assert!(tagged
        .values()
        .all(|n| n.as_str().is_some_and(|n| n.starts_with("Trailer "))));
    let first = list[0]["id"].as_str().unwrap();
    let (s, made) = sb.send("POST", "/tags", &json!({"name": "Yard A", "assets": [first]}));
    assert_eq!(s, 200, "{made}");
    assert_eq!(made["data"]["assets"][0]["id"], first);
    let (s, bad) = sb.send("POST", "/tags", &json!({"name": "Yard B", "assets": ["42"]}));
    assert_eq!(s, 400);
    assert!(bad["message"].as_str().unwrap().contains("`assets`"));
    // A trailer's external ID is taken for every entity type.
    let (s, clash) = sb.send(
        "PATCH",
        "/fleet/vehicles/281474977000011",
        &json!({"externalIds": {"maintenanceId": "T5001"}}),
    );
    assert_eq!(s, 400, "{clash}");
    let none = Sandbox::start(&["--vehicles", "4", "--trailers", "0"]);
    assert!(trailers(&none).is_empty());
}

#[test]
fn some_defects_are_on_trailers() {
    // A working week: two days over a weekend may see no trailer defect among 50 vehicles.
    let sb = Sandbox::start(&[
        "--seed",
        "7",
        "--vehicles",
        "50",
        "--days",
        "7",
        "--start",
        "2026-11-02T18:00:00Z",
    ]);
    let ids: HashSet<String> = trailers(&sb)
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    let mut on_trailers = Vec::new();
    let mut after = String::new();
    loop {
        let (s, page) = sb.get(&format!(
            "/defects/stream?startTime=2026-10-01T00:00:00Z&includeExternalIds=true{after}"
        ));
        assert_eq!(s, 200, "{page}");
        for d in page["data"].as_array().unwrap() {
            if let Some(t) = d.get("trailer") {
                on_trailers.push((d["id"].clone(), t.clone()));
            }
        }
        if page["pagination"]["hasNextPage"] != true {
            break;
        }
        after = format!("&after={}", page["pagination"]["endCursor"].as_str().unwrap());
    }
    assert!(!on_trailers.is_empty(), "no trailer defects");
    for (_, t) in &on_trailers {
        assert!(ids.contains(t["id"].as_str().unwrap()));
        assert!(t["externalIds"]["samsara.vin"].is_string(), "{t}");
    }
    let (id, t) = &on_trailers[0];
    let (_, one) = sb.get(&format!("/defects/{}", id.as_str().unwrap()));
    assert_eq!(one["trailer"]["id"], t["id"]);
}

#[test]
fn trailers_report_tire_pressures_and_reefer_temperatures() {
    let sb = Sandbox::default_fleet();
    let list = trailers(&sb);
    let reefers: HashSet<&str> = list
        .iter()
        .filter(|t| t["refrigerated"] == true)
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let (s, tires) =
        sb.get("/readings/latest?readingIds=tirePressuresFrontLeft&entityType=asset&assetTypes=trailer");
    assert_eq!(s, 200);
    let tires = tires["data"].as_array().unwrap();
    assert_eq!(tires.len(), list.len());
    for r in tires {
        let kpa = r["value"]["number"].as_f64().unwrap();
        assert!((500.0..850.0).contains(&kpa), "{r}");
    }
    let (_, reefer) = sb.get(
        "/readings/latest?readingIds=reeferSetPointZone1,reeferSupplyAirZone1,reeferReturnAirZone1&entityType=asset",
    );
    let reefer = reefer["data"].as_array().unwrap();
    assert!(!reefer.is_empty());
    let by = |id: &str, r: &str| {
        reefer
            .iter()
            .find(|x| x["entityId"] == id && x["readingId"] == r)
            .unwrap()["value"]["number"]
            .as_f64()
            .unwrap()
    };
    for id in reefers.iter().copied() {
        let sp = by(id, "reeferSetPointZone1");
        assert!((sp + 18.0).abs() < 1e-9 || (sp - 3.0).abs() < 1e-9, "{sp}");
        assert!(by(id, "reeferSupplyAirZone1") < sp);
        assert!(by(id, "reeferReturnAirZone1") > sp - 1.0);
    }
    assert!(reefer
        .iter()
        .all(|r| reefers.contains(r["entityId"].as_str().unwrap())));
    let (_, vehicles) =
        sb.get("/readings/latest?readingIds=tirePressuresFrontLeft&entityType=asset&assetTypes=vehicle");
    assert_eq!(vehicles["data"].as_array().unwrap().len(), 50);
}
