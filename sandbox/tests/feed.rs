//! Stats snapshot, feed and history: shapes, paging, repeatable cursors, physical consistency.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::support::Sandbox;

fn points(page: &Value, key: &str) -> Vec<(String, String, Value)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| {
            let id = v["id"].as_str().unwrap().to_string();
            v[key]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |p| (id.clone(), p["time"].as_str().unwrap().to_string(), p))
        })
        .collect()
}

#[test]
fn snapshot_uses_singular_keys_and_feed_plural_arrays() {
    let sb = Sandbox::default_fleet();
    let (s, snap) = sb.get("/fleet/vehicles/stats?types=engineStates,fuelPercents,gps");
    assert_eq!(s, 200);
    let v = &snap["data"][0];
    assert!(
        v["engineState"]["value"].is_string() && v["gps"]["latitude"].is_number(),
        "{v}"
    );
    assert!(v.get("engineStates").is_none());
    assert_eq!(snap["pagination"]["endCursor"], "");
    let (_, feed) = sb
        .get("/fleet/vehicles/stats/feed?types=engineStates,fuelPercents&decorations=gps,obdOdometerMeters");
    let v = &feed["data"][0];
    assert!(v["engineStates"].is_array(), "{v}");
    assert!(
        v["engineStates"][0]["decorations"]["gps"]["latitude"].is_number(),
        "{v}"
    );
    assert!(!feed["pagination"]["endCursor"].as_str().unwrap().is_empty());
    assert_eq!(feed["pagination"]["hasNextPage"], false);
    let (_, ev) = sb.get("/fleet/vehicles/stats?types=evStateOfChargeMilliPercent,evChargingStatus");
    assert!(ev["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["evStateOfChargeMilliPercent"]["value"].is_i64()));
}

#[test]
fn feed_pages_are_complete_repeatable_and_consistent() {
    let sb = Sandbox::default_fleet();
    let (_, first) = sb.get("/fleet/vehicles/stats/feed?types=gps,obdOdometerMeters,obdEngineSeconds");
    let mut cursor = first["pagination"]["endCursor"].as_str().unwrap().to_string();
    sb.advance(2 * 3600);
    let mut seen = HashSet::new();
    let mut odo: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let mut pages = 0;
    loop {
        let path =
            format!("/fleet/vehicles/stats/feed?types=gps,obdOdometerMeters,obdEngineSeconds&after={cursor}");
        let (s, page) = sb.get(&path);
        assert_eq!(s, 200);
        assert_eq!(sb.get(&path).1, page, "the same cursor yields the same page");
        let mut n = 0;
        for key in ["gps", "obdOdometerMeters", "obdEngineSeconds"] {
            for (id, t, p) in points(&page, key) {
                n += 1;
                assert!(
                    seen.insert((id.clone(), key, t.clone())),
                    "duplicate {id} {key} {t}"
                );
                if key == "obdOdometerMeters" {
                    let val = p["value"].as_i64().unwrap();
                    if let Some((pt, pv)) = odo.get(&id) {
                        assert!(t > *pt && val >= *pv, "odometer of {id} went back");
                    }
                    odo.insert(id, (t, val));
                }
            }
        }
        assert!(n <= 512);
        pages += 1;
        cursor = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        assert!(!cursor.is_empty());
        if page["pagination"]["hasNextPage"] == false {
            break;
        }
        assert_eq!(n, 512);
    }
    assert!(pages > 3, "{pages} pages");
    let gps = seen.iter().filter(|(_, k, _)| *k == "gps").count();
    assert!(gps > 1000, "{gps} gps points in 2 h");
    let (_, empty) = sb.get(&format!(
        "/fleet/vehicles/stats/feed?types=gps,obdOdometerMeters,obdEngineSeconds&after={cursor}"
    ));
    assert_eq!(empty["data"].as_array().unwrap().len(), 0);
    assert_eq!(empty["pagination"]["endCursor"].as_str().unwrap(), cursor);
}

#[test]
fn history_matches_feed_and_ends_with_empty_cursor() {
    let sb = Sandbox::default_fleet();
    let path = "/fleet/vehicles/stats/history?types=engineStates,fuelPercents&startTime=2026-11-02T12:00:00Z&endTime=2026-11-02T14:00:00Z";
    let mut after = String::new();
    let mut n = 0;
    loop {
        let p = if after.is_empty() {
            path.to_string()
        } else {
            format!("{path}&after={after}")
        };
        let (s, page) = sb.get(&p);
        assert_eq!(s, 200);
        for (_, t, p) in points(&page, "fuelPercents") {
            assert!(("2026-11-02T12:00:00Z".to_string()..="2026-11-02T14:00:00Z".to_string()).contains(&t));
            let f = p["value"].as_i64().unwrap();
            assert!((0..=100).contains(&f));
            n += 1;
        }
        after = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        if page["pagination"]["hasNextPage"] == false {
            break;
        }
    }
    assert_eq!(after, "");
    assert!(n > 50);
    assert_eq!(
        sb.get("/fleet/vehicles/stats/history?types=gps&startTime=2026-11-02T12:00:00Z")
            .0,
        400
    );
}

#[test]
fn cached_sequential_walk_equals_fresh_computation() {
    let walk_server = Sandbox::default_fleet();
    let fresh_server = Sandbox::default_fleet();
    let types = "types=gps,engineStates,fuelPercents";
    let first = walk_server.get(&format!("/fleet/vehicles/stats/feed?{types}")).1;
    assert_eq!(
        first,
        fresh_server.get(&format!("/fleet/vehicles/stats/feed?{types}")).1
    );
    walk_server.advance(3 * 3600);
    fresh_server.advance(3 * 3600);
    let mut cursor = first["pagination"]["endCursor"].as_str().unwrap().to_string();
    let mut pages = Vec::new();
    loop {
        let (_, page) = walk_server.get(&format!("/fleet/vehicles/stats/feed?{types}&after={cursor}"));
        pages.push((cursor.clone(), page.clone()));
        cursor = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        if page["pagination"]["hasNextPage"] == false {
            break;
        }
    }
    assert!(pages.len() > 3);
    for (cursor, page) in pages.iter().rev() {
        let (_, again) = fresh_server.get(&format!("/fleet/vehicles/stats/feed?{types}&after={cursor}"));
        assert_eq!(&again, page, "page after {cursor}");
    }
}

#[test]
fn connectivity_gaps_deliver_late_points_exactly_once() {
    let sb = Sandbox::start(&[
        "--seed",
        "11",
        "--vehicles",
        "20",
        "--days",
        "1",
        "--start",
        "2026-11-02T12:00:00Z",
        "--rate-limits",
        "off",
        "--gaps",
        "on",
    ]);
    let types = "types=gps,obdOdometerMeters";
    let (_, first) = sb.get(&format!("/fleet/vehicles/stats/feed?{types}"));
    let mut cursor = first["pagination"]["endCursor"].as_str().unwrap().to_string();
    let mut seen: HashSet<(String, &str, String)> = HashSet::new();
    let (mut late, mut newest) = (0, String::new());
    for _ in 0..12 {
        sb.advance(1800);
        let mut poll_newest = newest.clone();
        loop {
            let path = format!("/fleet/vehicles/stats/feed?{types}&after={cursor}");
            let (_, page) = sb.get(&path);
            assert_eq!(sb.get(&path).1, page, "repeatable");
            for key in ["gps", "obdOdometerMeters"] {
                for (id, t, _) in points(&page, key) {
                    if t < newest {
                        late += 1;
                    }
                    poll_newest = poll_newest.max(t.clone());
                    assert!(seen.insert((id, key, t)), "delivered twice");
                }
            }
            cursor = page["pagination"]["endCursor"].as_str().unwrap().to_string();
            if page["pagination"]["hasNextPage"] == false {
                break;
            }
        }
        newest = poll_newest;
    }
    assert!(late > 0, "some points arrive after newer ones were delivered");
    // Long after every gap closed, history over the same span has exactly the points the feed delivered.
    sb.advance(6 * 3600);
    loop {
        let (_, page) = sb.get(&format!("/fleet/vehicles/stats/feed?{types}&after={cursor}"));
        for key in ["gps", "obdOdometerMeters"] {
            for (id, t, _) in points(&page, key) {
                assert!(seen.insert((id, key, t)), "delivered twice");
            }
        }
        cursor = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        if page["pagination"]["hasNextPage"] == false {
            break;
        }
    }
    let end = crate::support::rfc3339_after("2026-11-02T12:00:00Z", 12 * 1800);
    let mut hist = HashSet::new();
    let mut after = String::new();
    loop {
        let base =
            format!("/fleet/vehicles/stats/history?{types}&startTime=2026-11-02T12:00:01Z&endTime={end}");
        let path = if after.is_empty() {
            base
        } else {
            format!("{base}&after={after}")
        };
        let (_, page) = sb.get(&path);
        for key in ["gps", "obdOdometerMeters"] {
            for (id, t, _) in points(&page, key) {
                hist.insert((id, key, t));
            }
        }
        after = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        if page["pagination"]["hasNextPage"] == false {
            break;
        }
    }
    let start = "2026-11-02T12:00:01Z".to_string();
    let delivered: HashSet<_> = seen
        .iter()
        .filter(|(_, _, t)| *t >= start && *t <= end)
        .cloned()
        .collect();
    assert_eq!(hist.len(), delivered.len());
    assert!(hist == delivered);
}

#[test]
fn feed_first_walk_pages_at_512_vehicles_then_continues() {
    let sb = Sandbox::start(&[
        "--vehicles",
        "1100",
        "--days",
        "1",
        "--start",
        "2026-11-02T15:00:00Z",
    ]);
    for base in [
        "/fleet/vehicles/stats/feed?types=gps,engineStates",
        "/fleet/vehicles/locations/feed?",
    ] {
        let sep = if base.ends_with('?') { "" } else { "&" };
        let (s, mut page) = sb.get(base);
        assert_eq!(s, 200, "{page}");
        let mut sizes = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let rows = page["data"].as_array().unwrap();
            sizes.push(rows.len());
            for r in rows {
                assert!(
                    seen.insert(r["id"].as_str().unwrap().to_string()),
                    "{base}: {} twice",
                    r["id"]
                );
            }
            if page["pagination"]["hasNextPage"] == false {
                break;
            }
            let after = page["pagination"]["endCursor"].as_str().unwrap().to_string();
            // The same cursor always yields the same page.
            let again = sb.get(&format!("{base}{sep}after={after}")).1;
            page = sb.get(&format!("{base}{sep}after={after}")).1;
            assert_eq!(again, page);
        }
        assert_eq!(sizes, [512, 512, 76], "{base}");
        assert_eq!(seen.len(), 1100);
        // After the first walk the cursor is an ordinary feed position: new points arrive after it.
        let after = page["pagination"]["endCursor"].as_str().unwrap().to_string();
        assert!(!after.is_empty());
        sb.advance(30);
        let (s, next) = sb.get(&format!("{base}{sep}after={after}"));
        assert_eq!(s, 200, "{next}");
        assert!(
            !next["data"].as_array().unwrap().is_empty(),
            "{base}: nothing new after 30 s"
        );
    }
}
