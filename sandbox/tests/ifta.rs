//! IFTA reports: the fuel types add up to the whole report and to the truth, vehicles without a fuel
//! type are `Unspecified` and counted in the troubleshooting notes, and the late fuel purchase changes
//! its closed month (and quarter) once, at its simulated time, and nothing else.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::Sandbox;

fn sandbox() -> Sandbox {
    Sandbox::start(&[
        "--seed",
        "7",
        "--vehicles",
        "30",
        "--days",
        "100",
        "--start",
        "2027-01-03T12:00:00Z",
        "--rate-limits",
        "off",
    ])
}

/// Jurisdiction → (metres, litres) of a jurisdiction report.
fn figures(report: &Value) -> BTreeMap<String, (f64, f64)> {
    report["data"]["jurisdictionReports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["jurisdiction"].as_str().unwrap().to_string(),
                (
                    j["totalMeters"].as_f64().unwrap(),
                    j["taxPaidLiters"].as_f64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn fuel_types_add_up_to_the_report_and_the_truth() {
    let sb = sandbox();
    let (s, whole) = sb.get("/fleet/reports/ifta/jurisdiction?year=2026&month=October");
    assert_eq!(s, 200, "{whole}");
    let truth = sb.admin(
        "GET",
        "/__sandbox/truth/ifta?year=2026&month=October",
        &Value::Null,
    );
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for fuel in ["Diesel", "Gasoline", "Electricity", "Unspecified"] {
        let (_, r) = sb.get(&format!(
            "/fleet/reports/ifta/jurisdiction?year=2026&month=October&fuelType={fuel}"
        ));
        for (j, (m, l)) in figures(&r) {
            let line = truth["data"]["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["fuelType"] == fuel && x["jurisdiction"] == j.as_str())
                .unwrap();
            assert_eq!(
                (
                    line["totalMeters"].as_f64().unwrap(),
                    line["taxPaidLiters"].as_f64().unwrap()
                ),
                (m, l)
            );
            let e = sums.entry(j).or_default();
            e.0 += m;
            e.1 += l;
        }
    }
    for (j, (m, l)) in figures(&whole) {
        let (sm, sl) = sums[&j];
        assert!(
            (sm - m).abs() < 1e-6 && (sl - l).abs() < 0.05,
            "{j}: {sm} {sl} vs {m} {l}"
        );
    }
    let untyped = truth["data"]["vehiclesWithoutFuelType"].as_array().unwrap();
    assert!(!untyped.is_empty());
    assert_eq!(
        whole["data"]["troubleshooting"]["unassignedFuelTypeVehicles"]
            .as_u64()
            .unwrap(),
        untyped.len() as u64
    );
    let (_, v) = sb.get("/fleet/reports/ifta/vehicle?year=2026&month=October&fuelType=Unspecified");
    let ids: Vec<&Value> = v["data"]["vehicleReports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["vehicle"]["id"])
        .collect();
    assert!(untyped.iter().all(|u| ids.contains(&u)));
    // A neighbouring jurisdiction where nobody buys fuel: miles and no litres.
    assert!(figures(&whole).values().any(|(m, l)| *m > 0.0 && *l == 0.0));
}

#[test]
fn the_late_purchase_changes_its_closed_month_once() {
    let sb = sandbox();
    let truth = sb.admin(
        "GET",
        "/__sandbox/truth/ifta?year=2026&month=November",
        &Value::Null,
    );
    let late = truth["data"]["latePurchase"].clone();
    assert_eq!(late["purchasedAt"], "2026-11-20T15:00:00Z");
    let read = |period: &str| {
        figures(
            &sb.get(&format!("/fleet/reports/ifta/jurisdiction?year=2026&{period}"))
                .1,
        )
    };
    let before: Vec<_> = ["month=October", "month=November", "quarter=Q4"]
        .iter()
        .map(|p| read(p))
        .collect();
    sb.advance(11 * 3600);
    let early: Vec<_> = ["month=October", "month=November", "quarter=Q4"]
        .iter()
        .map(|p| read(p))
        .collect();
    assert_eq!(before, early, "not known yet at --start plus 11 hours");
    sb.advance(13 * 3600);
    let after: Vec<_> = ["month=October", "month=November", "quarter=Q4"]
        .iter()
        .map(|p| read(p))
        .collect();
    assert_eq!(before[0], after[0], "October does not change");
    let j = late["jurisdiction"].as_str().unwrap();
    let litres = late["litres"].as_f64().unwrap();
    for i in [1, 2] {
        for (k, (m, l)) in &after[i] {
            let (m0, l0) = before[i][k];
            assert!((m - m0).abs() < f64::EPSILON, "{k}: distance changed");
            let want = if k == j { l0 + litres } else { l0 };
            assert!((l - want).abs() < 0.05, "{k}: {l} vs {want}");
        }
    }
    let (_, v) = sb.get(&format!(
        "/fleet/reports/ifta/vehicle?year=2026&month=November&vehicleIds={}",
        late["vehicleId"].as_str().unwrap()
    ));
    assert_eq!(v["data"]["vehicleReports"].as_array().unwrap().len(), 1);
}

#[test]
fn a_fuel_type_given_later_moves_a_closed_month_out_of_unspecified() {
    let sb = sandbox();
    let month = "/fleet/reports/ifta/jurisdiction?year=2026&month=November";
    let (_, untyped) = sb.get(&format!("{month}&fuelType=Unspecified"));
    let (_, diesel) = sb.get(&format!("{month}&fuelType=Diesel"));
    let before = figures(&untyped);
    assert!(
        before.values().any(|x| x.0 > 0.0),
        "vehicles without a fuel type drove"
    );
    let truth = sb.admin(
        "GET",
        "/__sandbox/truth/ifta?year=2026&month=November",
        &Value::Null,
    );
    let vehicles = truth["data"]["vehiclesWithoutFuelType"]
        .as_array()
        .unwrap()
        .clone();
    for v in &vehicles {
        let set = sb.admin(
            "POST",
            "/__sandbox/ifta/fuel-types",
            &serde_json::json!({"vehicleId": v, "fuelType": "Diesel"}),
        );
        assert_eq!(set["fuelType"], "Diesel");
    }
    let (_, untyped) = sb.get(&format!("{month}&fuelType=Unspecified"));
    assert!(figures(&untyped).values().all(|x| x.0 == 0.0), "{untyped}");
    let (_, after) = sb.get(&format!("{month}&fuelType=Diesel"));
    let (d0, d1) = (figures(&diesel), figures(&after));
    let metres = |f: &BTreeMap<String, (f64, f64)>| f.values().map(|x| x.0).sum::<f64>();
    let left = metres(&d1) - metres(&d0) - metres(&before);
    assert!(left.abs() < 0.5, "the miles moved to Diesel ({left} m left over)");
    let truth = sb.admin(
        "GET",
        "/__sandbox/truth/ifta?year=2026&month=November",
        &Value::Null,
    );
    assert!(truth["data"]["vehiclesWithoutFuelType"]
        .as_array()
        .unwrap()
        .is_empty());
    let (s, _) = sb.send(
        "POST",
        "/__sandbox/ifta/fuel-types",
        &serde_json::json!({"vehicleId": vehicles[0], "fuelType": "Unspecified"}),
    );
    assert_eq!(s, 400, "not back to Unspecified");
}
