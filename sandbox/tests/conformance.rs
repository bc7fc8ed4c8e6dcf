//! A pass over every `shared/samsara-api.md` §3 endpoint: enums, ID caps and ranges that the doc
//! states and the sandbox once let through. Each case is a request Samsara refuses (400) or a filter
//! it applies.

use serde_json::{json, Value};

use crate::support::Sandbox;

const WINDOW: &str = "startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T00:00:00Z";

/// `n` comma-separated copies of real vehicle IDs (so only the count can be wrong).
fn vehicle_ids(sb: &Sandbox, n: usize) -> String {
    let (_, v) = sb.get("/fleet/vehicles");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    (0..n).map(|i| ids[i % ids.len()]).collect::<Vec<_>>().join(",")
}

fn assert_400(sb: &Sandbox, path: &str, names: &str) {
    let (s, b) = sb.get(path);
    assert_eq!(s, 400, "{path}: {b}");
    assert!(b["message"].as_str().unwrap().contains(names), "{path}: {b}");
}

#[test]
fn query_enums_and_id_caps_are_enforced() {
    let sb = Sandbox::default_fleet();
    let (v51, v21, v50) = (vehicle_ids(&sb, 51), vehicle_ids(&sb, 21), vehicle_ids(&sb, 50));
    let x51 = (0..51).map(|i| format!("x{i}")).collect::<Vec<_>>().join(",");
    let x101 = (0..101).map(|i| format!("x{i}")).collect::<Vec<_>>().join(",");
    let s = "startTime=2026-11-01T00:00:00Z";
    for (path, name) in [
        (
            format!("/safety-events/stream?{s}&behaviorLabels=harshBrake"),
            "behaviorLabels",
        ),
        (
            format!("/safety-events/stream?{s}&eventStates=open"),
            "eventStates",
        ),
        (
            format!("/speeding-intervals/stream?{s}&queryBy=startTime"),
            "queryBy",
        ),
        (format!("/trips/stream?{s}&ids={v51}"), "ids"),
        (
            format!("/speeding-intervals/stream?{s}&assetIds={v51}"),
            "assetIds",
        ),
        (format!("/form-submissions/stream?{s}&userIds={x51}"), "userIds"),
        (
            format!("/form-submissions/stream?{s}&assignedToRouteStopIds={x51}"),
            "assignedToRouteStopIds",
        ),
        (format!("/form-templates?ids={x101}"), "ids"),
        (
            format!("/issues/stream?{s}&assetExternalIds={x51}"),
            "assetExternalIds",
        ),
        (
            format!("/issues/stream?{s}&assignedToRouteStopIds={x51}"),
            "assignedToRouteStopIds",
        ),
        (
            format!("/idling/events?{WINDOW}&minAirTemperatureMillicelsius=-20001"),
            "minAirTemperatureMillicelsius",
        ),
        (
            format!("/idling/events?{WINDOW}&maxAirTemperatureMillicelsius=50001"),
            "maxAirTemperatureMillicelsius",
        ),
        (
            format!("/idling/events?{WINDOW}&excludeEventsWithUnknownAirTemperature=maybe"),
            "excludeEventsWithUnknownAirTemperature",
        ),
        (
            "/fleet/reports/ifta/jurisdiction?year=2026&quarter=Q4&fuelType=Kerosene".into(),
            "fuelType",
        ),
        (
            "/fleet/reports/ifta/vehicle?year=2026&quarter=Q4&fuelType=Kerosene".into(),
            "fuelType",
        ),
        (
            format!("/fleet/drivers/vehicle-assignments?{WINDOW}&driverActivationStatus=gone"),
            "driverActivationStatus",
        ),
        (format!("/cameras/media?vehicleIds={v21}&{WINDOW}"), "vehicleIds"),
        (
            format!("/cameras/media?vehicleIds=281474977000011&{WINDOW}&inputs=dashcamForwardFacing"),
            "inputs",
        ),
        (
            format!("/cameras/media?vehicleIds=281474977000011&{WINDOW}&mediaTypes=video"),
            "mediaTypes",
        ),
        (
            format!("/cameras/media?vehicleIds=281474977000011&{WINDOW}&triggerReasons=manual"),
            "triggerReasons",
        ),
    ] {
        assert_400(&sb, &path, name);
    }
    // The limits themselves are fine.
    for ok in [
        format!("/trips/stream?{s}&ids={v50}"),
        format!("/safety-events/stream?{s}&behaviorLabels=Braking,NearCollison&eventStates=needsReview"),
        format!("/speeding-intervals/stream?{s}&queryBy=tripStartTime"),
        "/fleet/reports/ifta/vehicle?year=2026&quarter=Q4&fuelType=Diesel".into(),
    ] {
        assert_eq!(sb.get(&ok).0, 200, "{ok}");
    }
}

#[test]
fn idling_air_temperature_filters_apply() {
    let sb = Sandbox::default_fleet();
    let (s, all) = sb.get(&format!("/idling/events?{WINDOW}"));
    assert_eq!(s, 200);
    let temps = |v: &Value| -> Vec<i64> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["airTemperatureMillicelsius"].as_i64().unwrap())
            .collect()
    };
    assert!(temps(&all).iter().any(|&t| t != 17_000));
    let (_, some) = sb.get(&format!(
        "/idling/events?{WINDOW}&minAirTemperatureMillicelsius=17000&maxAirTemperatureMillicelsius=17000"
    ));
    assert!(
        !temps(&some).is_empty() && temps(&some).iter().all(|&t| t == 17_000),
        "{some}"
    );
}

#[test]
fn issues_filter_by_asset_external_ids() {
    let sb = Sandbox::default_fleet();
    let path = "/issues/stream?startTime=2026-10-20T00:00:00Z&limit=512";
    let (_, all) = sb.get(path);
    let asset = all["data"][0]["asset"]["id"].as_str().unwrap().to_string();
    let (_, v) = sb.get(&format!("/fleet/vehicles/{asset}"));
    let vin = v["data"]["vin"].as_str().unwrap();
    let (s, some) = sb.get(&format!("{path}&assetExternalIds=samsara.vin:{vin}"));
    assert_eq!(s, 200, "{some}");
    let got = some["data"].as_array().unwrap();
    assert!(!got.is_empty() && got.iter().all(|i| i["asset"]["id"] == asset.as_str()));
    assert_400(
        &sb,
        &format!("{path}&assetExternalIds={asset}"),
        "assetExternalIds",
    );
}

#[test]
fn write_enums_are_enforced() {
    let sb = Sandbox::default_fleet();
    let (s, b) = sb.send(
        "PATCH",
        "/fleet/vehicles/281474977000011",
        &json!({"auxInputType1": "Emergency Lights"}),
    );
    assert_eq!(s, 400, "display names are not the request enum: {b}");
    assert!(b["message"].as_str().unwrap().contains("auxInputType1"));
    let (s, b) = sb.send(
        "PATCH",
        "/fleet/vehicles/281474977000011",
        &json!({"auxInputType13": "ecuPowerTakeOff"}),
    );
    assert_eq!(s, 200, "{b}");
    let (_, d) = sb.get("/defects/stream?startTime=2026-10-01T00:00:00Z&limit=1");
    let defect = d["data"][0]["id"].as_str().unwrap();
    let (s, b) = sb.send(
        "PATCH",
        &format!("/fleet/defects/{defect}"),
        &json!({"resolvedBy": {"id": "1", "type": "driver"}, "mechanicNotes": "n"}),
    );
    assert_eq!(
        s, 400,
        "resolvedBy.type must be mechanic even without isResolved: {b}"
    );
    let base = json!({"vehicleId": "281474977000011", "startTime": "2026-11-02T10:00:00Z", "endTime": "2026-11-02T10:00:00Z", "mediaType": "image"});
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sb.send("POST", "/cameras/media/retrieval", &b)
    };
    assert_eq!(with(json!({})).0, 400, "inputs or cameraRoles");
    assert_eq!(with(json!({"cameraRoles": ["roof"]})).0, 400);
    let (s, b) = with(json!({"cameraRoles": ["front"]}));
    assert_eq!(s, 200, "camera roles alone are enough (14.10): {b}");
    let (_, got) = sb.get(&format!(
        "/cameras/media/retrieval?retrievalId={}",
        b["data"]["retrievalId"].as_str().unwrap()
    ));
    assert!(
        got["data"]["media"][0]["input"]
            .as_str()
            .unwrap()
            .starts_with("analog"),
        "{got}"
    );
}
