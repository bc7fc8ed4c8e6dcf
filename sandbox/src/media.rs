//! Camera media: `GET /cameras/media` (stills captured at trip start and end, plus retrieved media),
//! `POST /cameras/media/retrieval` (asynchronous: `pending` for two simulated minutes, then
//! `available` with a URL valid for 7 to 8 hours, or `failed`/`unavailable`) and
//! `GET /cameras/media/retrieval?retrievalId=`.
//!
//! Media URLs are loopback URLs of the sandbox itself (`http://127.0.0.1:PORT/__sandbox/media/…`,
//! signed, with their expiry in the query), so a Function under `samsara-fn` can download them; the
//! bytes are deterministic per path (a JPEG or MP4 header and seeded filler). After its expiry (by the
//! simulated clock) or with a wrong signature a URL answers 403, as a signed URL does.
//!
//! A retrieval ends, deterministically by its ID: about one in eight `failed` (the camera did not
//! upload), analog inputs `unavailable` on vehicles without an auxiliary camera (two in three), the
//! rest `available`. `GET /__sandbox/truth/retrievals` lists every retrieval with its outcome.

use serde_json::{json, Value};

use crate::entities::{paged, want_str};
use crate::http::{Request, Response};
use crate::rng::hash;
use crate::router::Sandbox;
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};

/// `triggerReasons` filter values of `GET /cameras/media`.
const TRIGGER_REASONS: &[&str] = &[
    "api",
    "panicButton",
    "periodicStill",
    "rfidEvent",
    "safetyEvent",
    "tripEndStill",
    "tripStartStill",
    "videoRetrieval",
];

/// `cameraRoles` of `POST /cameras/media/retrieval` (14.10).
const CAMERA_ROLES: &[&str] = &[
    "leftMirrorMount",
    "leftSide",
    "rightMirrorMount",
    "rightSide",
    "rearHigh",
    "rearBumper",
    "inCab",
    "front",
    "hopper",
    "other1",
    "other2",
    "other3",
    "other4",
    "leftBev",
    "rightBev",
    "rearBev",
    "frontBev",
    "otherBev",
    "bevNotUsed",
];

const INPUTS: [&str; 6] = [
    "dashcamRoadFacing",
    "dashcamDriverFacing",
    "analog1",
    "analog2",
    "analog3",
    "analog4",
];
const TYPES: [&str; 4] = ["image", "videoHighRes", "videoLowRes", "hyperlapse"];
/// Simulated processing time of a retrieval, ms.
const UPLOAD_MS: i64 = 120_000;

fn url(sb: &Sandbox, parts: &[u64], now: i64) -> String {
    media_url(sb, &format!("{:016x}.jpeg", hash(sb.cfg.seed, parts)), now)
}

/// When a URL handed out at `now` (Unix ms) expires: the end of the hour 7 hours on (7 to 8 hours
/// later), so a URL is the same for every read within the hour.
pub(crate) fn url_expiry(now: i64) -> i64 {
    (now.div_euclid(3_600_000) + 8) * 3_600_000
}

fn signature(sb: &Sandbox, name: &str, expires: i64) -> String {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!(
        "{:016x}",
        hash(sb.cfg.seed, &[h, expires.unsigned_abs(), 0x006d_6564_6961])
    )
}

/// The signed loopback URL of media file `name` (`<hex>.jpeg`, `<event>/front.mp4`) handed out at
/// `now` (Unix ms).
pub(crate) fn media_url(sb: &Sandbox, name: &str, now: i64) -> String {
    let expires = url_expiry(now);
    format!(
        "http://127.0.0.1:{}/__sandbox/media/{name}?expires={expires}&signature={}",
        sb.cfg.port,
        signature(sb, name, expires)
    )
}

/// `GET /__sandbox/media/{name}`: the bytes of a media URL while it is valid, else 403.
pub(crate) fn serve(sb: &Sandbox, req: &Request) -> Response {
    let name = req.path.trim_start_matches("/__sandbox/media/");
    let expires = req.param("expires").and_then(|e| e.parse::<i64>().ok());
    let forbidden = |why: &str| Response::error(403, why);
    let Some(expires) = expires else {
        return forbidden("AccessDenied: the URL has no expiry");
    };
    if req.param("signature") != Some(signature(sb, name, expires).as_str()) {
        return forbidden("AccessDenied: signature does not match");
    }
    if sb.clock.now_ms() > expires {
        return forbidden("AccessDenied: request has expired");
    }
    let video = std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mp4"));
    let mut body: Vec<u8> = if video {
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec()
    } else {
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00".to_vec()
    };
    let seed = name.bytes().fold(sb.cfg.seed, |h, b| hash(h, &[u64::from(b)]));
    let words = 256 + seed % 256;
    for i in 0..words {
        body.extend_from_slice(&hash(seed, &[i]).to_le_bytes());
    }
    let mut resp = Response::json_bytes(200, body);
    resp.content_type = if video { "video/mp4" } else { "image/jpeg" };
    resp
}

/// How input `input` of retrieval `r` ends once uploaded: `available`, `failed` or `unavailable`.
fn outcome(sb: &Sandbox, r: &Value, input: &str) -> &'static str {
    let id = r["id"].as_str().unwrap_or("");
    let h = id.bytes().fold(sb.cfg.seed, |h, b| hash(h, &[u64::from(b)]));
    if h % 8 == 3 {
        return "failed";
    }
    let vid = r["vehicleId"].as_str().unwrap_or("");
    let v = vid.bytes().fold(sb.cfg.seed, |h, b| hash(h, &[u64::from(b), 17]));
    if input.starts_with("analog") && v % 3 != 0 {
        return "unavailable";
    }
    "available"
}

/// `GET /__sandbox/truth/retrievals`: every retrieval requested, with how each input ends and when.
pub(crate) fn truth(sb: &Sandbox) -> Response {
    let now = sb.clock.now_ms();
    let st = sb.store();
    let out: Vec<Value> = st
        .retrievals
        .iter()
        .map(|r| {
            let avail = r["requestedAt"].as_i64().unwrap_or(0) + UPLOAD_MS;
            let inputs: Vec<Value> = r["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|i| json!({"input": i, "status": outcome(sb, r, i)}))
                .collect();
            json!({"retrievalId": r["id"], "vehicleId": r["vehicleId"], "mediaType": r["mediaType"],
                "startTime": rfc3339_ms(r["start"].as_i64().unwrap_or(0)), "endTime": rfc3339_ms(r["end"].as_i64().unwrap_or(0)),
                "requestedAtTime": rfc3339_ms(r["requestedAt"].as_i64().unwrap_or(0)), "endsAtTime": rfc3339_ms(avail),
                "ended": now >= avail, "inputs": inputs})
        })
        .collect();
    Response::json(200, &json!({"data": out}))
}

/// `GET /cameras/media`.
pub(crate) fn list(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let ids = req.list("vehicleIds");
        if ids.is_empty() || ids.len() > 20 {
            return Err(Response::bad_param(
                "vehicleIds",
                "1 to 20 vehicle IDs are required",
            ));
        }
        let s = req
            .time_param("startTime")?
            .ok_or_else(|| Response::bad_param("startTime", "is required"))?;
        let e = req
            .time_param("endTime")?
            .ok_or_else(|| Response::bad_param("endTime", "is required"))?;
        if e < s || e - s > 86_400_000 {
            return Err(Response::bad_param(
                "endTime",
                "must be after startTime and at most 24 hours after it",
            ));
        }
        let after = req.time_param("availableAfterTime")?;
        let (inputs, types, reasons) = (
            req.enum_list("inputs", &INPUTS)?,
            req.enum_list("mediaTypes", &["image", "videoHighRes"])?,
            req.enum_list("triggerReasons", TRIGGER_REASONS)?,
        );
        let now = sb.clock.now_ms();
        let (st, vs) = {
            let st = sb.store();
            let vs: Vec<usize> = ids
                .iter()
                .map(|i| {
                    st.find_vehicle(i).ok_or_else(|| {
                        Response::bad_param("vehicleIds", &format!("vehicle `{i}` does not exist"))
                    })
                })
                .collect::<Result<_, _>>()?;
            (st.retrievals.clone(), vs)
        };
        let days = sb.model.days(s.div_euclid(1000) - 86_400, e.div_euclid(1000));
        let mut media = Vec::new();
        for &v in &vs {
            let vid = sb.fleet.vehicles[v].id.clone();
            for d in sb.model.day_of(v, s.div_euclid(1000))..=sb.model.day_of(v, e.div_euclid(1000)) {
                for t in &days.get(v, d).trips {
                    // Each safety event's clips (road-facing, and driver-facing for in-cab behaviours),
                    // 8 s before to 4 s after, uploaded a minute after the event is processed.
                    for ev in crate::events::trip_events(sb.cfg.seed, v, t) {
                        let (cs, ce, avail) = (
                            (ev.start - 8) * 1000,
                            (ev.end + 4) * 1000,
                            (ev.created + 60) * 1000,
                        );
                        if cs < s || cs > e || avail > now || !ev.has_media() {
                            continue;
                        }
                        let mut cams = vec![("dashcamForwardFacing", "front")];
                        if ev.inward() {
                            cams.push(("dashcamInwardFacing", "inward"));
                        }
                        for (input, cam) in cams {
                            media.push(json!({"vehicleId": vid, "input": input, "mediaType": "videoHighRes", "triggerReason": "safetyEvent",
                                "startTime": rfc3339_ms(cs), "endTime": rfc3339_ms(ce), "availableAtTime": rfc3339_ms(avail),
                                "urlInfo": {"url": crate::events::clip_url(sb, &ev.id, cam, now), "urlExpiryTime": rfc3339_ms(url_expiry(now))}}));
                        }
                    }
                    for (at, reason) in [(t.start * 1000, "tripStartStill"), (t.end * 1000, "tripEndStill")] {
                        let avail = at + 60_000;
                        if at < s || at > e || avail > now {
                            continue;
                        }
                        media.push(json!({"vehicleId": vid, "input": "dashcamForwardFacing", "mediaType": "image", "triggerReason": reason,
                            "startTime": rfc3339_ms(at), "endTime": rfc3339_ms(at), "availableAtTime": rfc3339_ms(avail),
                            "urlInfo": {"url": url(sb, &[v as u64, at.unsigned_abs()], now), "urlExpiryTime": rfc3339_ms(url_expiry(now))}}));
                    }
                }
            }
        }
        for r in st.iter().filter(|r| {
            vs.iter()
                .any(|&v| r["vehicleId"] == sb.fleet.vehicles[v].id.as_str())
        }) {
            let (rs, avail) = (
                r["start"].as_i64().unwrap_or(0),
                r["requestedAt"].as_i64().unwrap_or(0) + UPLOAD_MS,
            );
            if rs < s || rs > e || avail > now {
                continue;
            }
            // Only what the retrieval uploaded (an input that ended `failed` or `unavailable` has no
            // media), at the URL its retrieval's poll hands out: the same bytes either way.
            for requested in r["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if outcome(sb, r, requested) != "available" {
                    continue;
                }
                let n = INPUTS.iter().position(|x| *x == requested).unwrap_or(0) as u64;
                let input = match requested {
                    "dashcamRoadFacing" => "dashcamForwardFacing",
                    "dashcamDriverFacing" => "dashcamInwardFacing",
                    x => x,
                };
                media.push(json!({"vehicleId": r["vehicleId"], "input": input, "mediaType": r["mediaType"], "triggerReason": "api",
                    "startTime": rfc3339_ms(rs), "endTime": rfc3339_ms(r["end"].as_i64().unwrap_or(rs)), "availableAtTime": rfc3339_ms(avail),
                    "urlInfo": {"url": url(sb, &[rs.unsigned_abs(), avail.unsigned_abs(), n], now), "urlExpiryTime": rfc3339_ms(url_expiry(now))}}));
            }
        }
        let in_set = |list: &[String], v: &Value| {
            list.is_empty()
                || v.as_str().is_some_and(|x| {
                    list.iter().any(|l| {
                        l == x
                            || (l == "dashcamRoadFacing" && x == "dashcamForwardFacing")
                            || (l == "dashcamDriverFacing" && x == "dashcamInwardFacing")
                    })
                })
        };
        media.retain(|m| {
            in_set(&inputs, &m["input"])
                && in_set(&types, &m["mediaType"])
                && in_set(&reasons, &m["triggerReason"])
        });
        media.retain(|m| {
            after.is_none_or(|a| {
                m["availableAtTime"]
                    .as_str()
                    .and_then(parse_rfc3339_ms)
                    .is_some_and(|t| t > a)
            })
        });
        media.sort_by(|a, b| a["startTime"].as_str().cmp(&b["startTime"].as_str()));
        let page = paged(media, req, false);
        // Wrap the list in `{"media": [...]}` as this endpoint does.
        let v: Value = serde_json::from_slice(&page.body).unwrap_or(Value::Null);
        if page.status != 200 {
            return Ok(page);
        }
        Ok(Response::json(
            200,
            &json!({"data": {"media": v["data"]}, "pagination": v["pagination"]}),
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// `POST /cameras/media/retrieval` and `GET /cameras/media/retrieval?retrievalId=`.
pub(crate) fn retrieval(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let now = sb.clock.now_ms();
        if req.method == "GET" {
            let id = req
                .param("retrievalId")
                .ok_or_else(|| Response::bad_param("retrievalId", "is required"))?;
            let st = sb.store();
            let r = st
                .retrievals
                .iter()
                .find(|r| r["id"] == id)
                .ok_or_else(|| Response::not_found(&format!("retrieval {id}")))?;
            let avail = r["requestedAt"].as_i64().unwrap_or(0) + UPLOAD_MS;
            let media: Vec<Value> = r["inputs"].as_array().into_iter().flatten().map(|input| {
                let status = if now >= avail { outcome(sb, r, input.as_str().unwrap_or("")) } else { "pending" };
                let mut m = json!({"vehicleId": r["vehicleId"], "input": input, "mediaType": r["mediaType"], "startTime": rfc3339_ms(r["start"].as_i64().unwrap_or(0)),
                    "endTime": rfc3339_ms(r["end"].as_i64().unwrap_or(0)), "status": status});
                if status == "available" {
                    let n = input.as_str().map_or(0, |i| INPUTS.iter().position(|x| *x == i).unwrap_or(0) as u64);
                    m["availableAtTime"] = json!(rfc3339_ms(avail));
                    m["urlInfo"] = json!({"url": url(sb, &[r["start"].as_i64().unwrap_or(0).unsigned_abs(), avail.unsigned_abs(), n], now), "urlExpiryTime": rfc3339_ms(url_expiry(now))});
                }
                m
            }).collect();
            return Ok(Response::data(json!({"media": media})));
        }
        let Value::Object(body) = req.json()? else {
            return Err(Response::error(400, "request body must be a JSON object"));
        };
        let vid =
            want_str(&body, "vehicleId")?.ok_or_else(|| Response::bad_param("vehicleId", "is required"))?;
        let mt =
            want_str(&body, "mediaType")?.ok_or_else(|| Response::bad_param("mediaType", "is required"))?;
        if !TYPES.contains(&mt) {
            return Err(Response::bad_param(
                "mediaType",
                "must be image, videoHighRes, videoLowRes or hyperlapse",
            ));
        }
        let s = want_str(&body, "startTime")?
            .and_then(parse_rfc3339_ms)
            .ok_or_else(|| Response::bad_param("startTime", "is required (RFC 3339)"))?;
        let e = want_str(&body, "endTime")?
            .and_then(parse_rfc3339_ms)
            .ok_or_else(|| Response::bad_param("endTime", "is required (RFC 3339)"))?;
        if (mt == "image" && e != s) || (mt != "image" && e <= s) || s > now {
            return Err(Response::bad_param(
                "endTime",
                "must equal startTime for an image, be after it for a video, and lie in the past",
            ));
        }
        let strings = |k: &str| -> Vec<String> {
            body.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let (mut inputs, roles) = (strings("inputs"), strings("cameraRoles"));
        if let Some(bad) = inputs.iter().find(|i| !INPUTS.contains(&i.as_str())) {
            return Err(Response::bad_param("inputs", &format!("unknown input `{bad}`")));
        }
        if let Some(bad) = roles.iter().find(|r| !CAMERA_ROLES.contains(&r.as_str())) {
            return Err(Response::bad_param(
                "cameraRoles",
                &format!("unknown camera role `{bad}`"),
            ));
        }
        // A camera role resolves to an analog input of the (simulated) AHD4 auxcam at request time.
        for r in &roles {
            let n = CAMERA_ROLES.iter().position(|x| x == r).unwrap_or(0) % 4 + 1;
            let input = format!("analog{n}");
            if !inputs.contains(&input) {
                inputs.push(input);
            }
        }
        if inputs.is_empty() {
            return Err(Response::bad_param(
                "inputs",
                "at least one of inputs or cameraRoles must be provided",
            ));
        }
        let mut st = sb.store();
        let v = st
            .find_vehicle(vid)
            .ok_or_else(|| Response::bad_param("vehicleId", &format!("vehicle `{vid}` does not exist")))?;
        let id = crate::streams::uuid(
            hash(sb.cfg.seed, &[now.unsigned_abs(), st.retrievals.len() as u64, 71]),
            hash(sb.cfg.seed, &[72, s.unsigned_abs()]),
        );
        let vehicle_id = st.vehicles[v]["id"].clone();
        st.retrievals.push(json!({"id": id, "vehicleId": vehicle_id, "mediaType": mt, "start": s, "end": e, "inputs": inputs, "requestedAt": now}));
        Ok(Response::data(
            json!({"retrievalId": id, "quotaStatus": "Under quota"}),
        ))
    };
    run().unwrap_or_else(|e| e)
}
