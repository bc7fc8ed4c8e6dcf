//! The shape of a simulated working day (issue 16 §3): counts and distributions of every stream for
//! 100 vehicles on a Wednesday, each within the range `docs/sandbox.md` documents ("The shape of a
//! day"), so a later change cannot quietly thin the data out again.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::Sandbox;

const DAY: &str = "2026-10-28";
const FROM: &str = "2026-10-28T00:00:00Z";
const TO: &str = "2026-10-29T00:00:00Z";

fn walk(sb: &Sandbox, path: &str) -> Vec<Value> {
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
            return out;
        }
    }
}

fn on_day(v: &Value, key: &str) -> bool {
    v[key].as_str().is_some_and(|t| t.starts_with(DAY))
}

fn secs(a: &Value, b: &Value) -> i64 {
    let p = |v: &Value| {
        let s = v.as_str().unwrap();
        let (d, t) = s.split_once('T').unwrap();
        let day: i64 = d[8..10].parse().unwrap();
        let hms: Vec<i64> = t[..8].split(':').map(|x| x.parse().unwrap()).collect();
        ((day * 24 + hms[0]) * 60 + hms[1]) * 60 + hms[2]
    };
    p(b) - p(a)
}

fn share(part: usize, whole: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let r = part as f64 / whole.max(1) as f64;
    r
}

#[track_caller]
fn within(what: &str, x: f64, lo: f64, hi: f64) {
    assert!((lo..=hi).contains(&x), "{what} = {x:.3}, expected {lo}..={hi}");
}

#[test]
fn a_working_day_has_the_documented_shape() {
    let sb = Sandbox::start(&[
        "--seed",
        "7",
        "--vehicles",
        "100",
        "--days",
        "7",
        "--start",
        "2026-11-02T18:00:00Z",
        "--rate-limits",
        "off",
    ]);
    let w = format!("startTime={FROM}&endTime={TO}");

    // Trips: most vehicles work on a weekday, heavy trucks 1-2 long trips, the others 2-4 short ones.
    let trips = walk(&sb, &format!("/trips/stream?{w}&queryBy=tripStartTime"));
    let active: BTreeSet<&str> = trips.iter().map(|t| t["asset"]["id"].as_str().unwrap()).collect();
    within("active vehicles", share(active.len(), 100), 0.8, 1.0);
    within(
        "trips per active vehicle",
        share(trips.len(), active.len()),
        1.5,
        3.5,
    );

    // Nothing before the simulated window (it starts 2026-10-26T18:00Z).
    let early = walk(
        &sb,
        "/trips/stream?startTime=2026-10-20T00:00:00Z&endTime=2026-10-27T00:00:00Z&queryBy=tripStartTime",
    );
    assert!(early
        .iter()
        .all(|t| t["tripStartTime"].as_str().unwrap() >= "2026-10-26T18:00:00Z"));

    // Safety events: under one per trip, every label present over the fleet.
    let safety: Vec<Value> = walk(
        &sb,
        &format!("/safety-events/stream?startTime={FROM}&queryByTimeField=createdAtTime"),
    )
    .into_iter()
    .filter(|e| on_day(e, "startMs"))
    .collect();
    within(
        "safety events per trip",
        share(safety.len(), trips.len()),
        0.2,
        1.2,
    );

    // Speeding: most trips clean, light far more common than severe, some long stretches.
    let speeding = walk(
        &sb,
        &format!("/speeding-intervals/stream?{w}&queryBy=tripStartTime"),
    );
    let intervals: Vec<&Value> = speeding
        .iter()
        .flat_map(|t| t["intervals"].as_array().unwrap())
        .collect();
    let with = speeding
        .iter()
        .filter(|t| !t["intervals"].as_array().unwrap().is_empty())
        .count();
    within("trips with speeding", share(with, speeding.len()), 0.2, 0.5);
    let by_level = |l: &str| intervals.iter().filter(|i| i["severityLevel"] == l).count();
    within(
        "light share",
        share(by_level("light"), intervals.len()),
        0.45,
        0.75,
    );
    within(
        "severe share",
        share(by_level("severe"), intervals.len()),
        0.0,
        0.1,
    );
    let long = intervals
        .iter()
        .filter(|i| secs(&i["startTime"], &i["endTime"]) > 300)
        .count();
    within("intervals over 5 min", share(long, intervals.len()), 0.05, 0.3);

    // Idling: mostly short, some long (lunch, warm-ups, sleeper cabs), PTO on work trucks.
    let idling = walk(&sb, &format!("/idling/events?{w}&limit=200"));
    let minutes: Vec<i64> = idling
        .iter()
        .map(|e| e["durationMilliseconds"].as_i64().unwrap() / 60_000)
        .collect();
    within(
        "idles over 30 min",
        share(minutes.iter().filter(|&&m| m > 30).count(), minutes.len()),
        0.03,
        0.25,
    );
    assert!(minutes.iter().any(|&m| m >= 60), "no idle of an hour or more");
    let pto = idling.iter().filter(|e| e["ptoState"] == "active").count();
    within("PTO idles", share(pto, idling.len()), 0.02, 0.25);

    // DVIRs: a pre-trip inspection per active vehicle-day, post-trip on most, a few mechanic's.
    let dvirs: Vec<Value> = walk(&sb, &format!("/dvirs/stream?startTime={FROM}"))
        .into_iter()
        .filter(|d| on_day(d, "dvirSubmissionBeginTime"))
        .collect();
    let kinds: BTreeMap<&str, usize> = dvirs.iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(d["type"].as_str().unwrap()).or_default() += 1;
        m
    });
    within(
        "post/pre-trip",
        share(kinds["postTrip"], kinds["preTrip"]),
        0.7,
        0.95,
    );
    within(
        "mechanic/pre-trip",
        share(kinds["mechanic"], kinds["preTrip"]),
        0.02,
        0.2,
    );
    let defects: Vec<Value> = walk(&sb, &format!("/defects/stream?startTime={FROM}"))
        .into_iter()
        .filter(|d| on_day(d, "createdAtTime"))
        .collect();
    within("defects per DVIR", share(defects.len(), dvirs.len()), 0.08, 0.35);
    let photographed = defects
        .iter()
        .filter(|d| !d["defectPhotos"].as_array().unwrap().is_empty())
        .count();
    within(
        "defects with photos",
        share(photographed, defects.len()),
        0.35,
        0.85,
    );
    let resolved = defects.iter().filter(|d| d["isResolved"] == true).count();
    within(
        "defects resolved (days later)",
        share(resolved, defects.len()),
        0.3,
        0.9,
    );

    // Forms: several templates and states.
    let forms: Vec<Value> = walk(&sb, &format!("/form-submissions/stream?startTime={FROM}"))
        .into_iter()
        .filter(|f| on_day(f, "createdAtTime"))
        .collect();
    let templates: BTreeSet<&str> = forms
        .iter()
        .map(|f| f["formTemplate"]["id"].as_str().unwrap())
        .collect();
    let statuses: BTreeSet<&str> = forms.iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert!(templates.len() >= 3, "{templates:?}");
    assert!(statuses.len() >= 4, "{statuses:?}");

    // Messages: dispatch and driver replies.
    let (_, msgs) = sb.get("/v1/fleet/messages?endMs=1793232000000&durationMs=86400000");
    let msgs = msgs["data"].as_array().unwrap();
    let from_drivers = msgs.iter().filter(|m| m["sender"]["type"] == "driver").count();
    within("messages from drivers", share(from_drivers, msgs.len()), 0.3, 0.7);

    // Camera media: safety-event clips next to the trip stills for a vehicle with events.
    let v = safety[0]["asset"]["id"].as_str().unwrap();
    let (_, media) = sb.get(&format!("/cameras/media?vehicleIds={v}&{w}"));
    let media = media["data"]["media"].as_array().unwrap();
    assert!(media
        .iter()
        .any(|m| m["triggerReason"] == "safetyEvent" && m["mediaType"] == "videoHighRes"));
    assert!(media.iter().any(|m| m["triggerReason"] == "tripStartStill"));
}
