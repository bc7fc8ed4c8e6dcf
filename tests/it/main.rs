//! Rust integration tests: the client against a scripted loopback server, on a fake clock.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod support {
    pub mod server;
}

use std::sync::Arc;
use std::time::Duration;

use samsara_fmc::clock::{Clock, FakeClock};
use samsara_fmc::http::{ApiClient, ApiErrorKind, ClientConfig, Method, Paging, Request, RetryPolicy};
use samsara_fmc::stats::{convert_stats_page, UnitSystem};
use support::server::{Reply, Server};

fn client(server: &Server, clock: &Arc<FakeClock>) -> ApiClient {
    let retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(5),
        max_elapsed: Duration::from_secs(60),
    };
    let config = ClientConfig::new("samsara_api_TESTTOKEN", &server.url)
        .unwrap()
        .retry(retry)
        .unwrap();
    let clock: Arc<dyn Clock> = clock.clone();
    ApiClient::with_clock(config, clock, 7).unwrap()
}

fn page(data: &str, cursor: &str, more: bool) -> Reply {
    Reply::json(
        200,
        &format!(r#"{{"data":[{data}],"pagination":{{"endCursor":"{cursor}","hasNextPage":{more}}}}}"#),
    )
}

#[test]
fn retries_503_then_429_with_fractional_retry_after_then_succeeds() {
    let server = Server::start(vec![
        Reply {
            status: 503,
            headers: vec![],
            body: "upstream unavailable".into(),
        },
        Reply::json(429, r#"{"message":"Too many requests","requestId":"r1"}"#).header("Retry-After", "0.4"),
        Reply::json(200, r#"{"data":{"id":"42"}}"#),
    ]);
    let clock = Arc::new(FakeClock::new(1_700_000_000.0));
    let resp = client(&server, &clock).send(&Request::get("/me", &[])).unwrap();
    assert_eq!(resp.attempts, 3);
    assert_eq!(&resp.body[..], br#"{"data":{"id":"42"}}"#);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps[0] <= Duration::from_millis(200),
        "first backoff is jittered under the base: {sleeps:?}"
    );
    assert_eq!(
        sleeps[1],
        Duration::from_secs_f64(0.4),
        "Retry-After: 0.4 is honoured exactly"
    );
    let seen = server.requests();
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer samsara_api_TESTTOKEN")
    );
    assert_eq!(seen[0].header("x-samsara-version"), Some("2025-06-11"));
    assert!(seen[0].header("user-agent").unwrap().starts_with("samsara-fmc/"));
}

#[test]
fn client_errors_are_not_retried_and_name_the_scope() {
    let server = Server::start(vec![Reply::json(
        403,
        r#"{"message":"Forbidden","requestId":"abc"}"#,
    )]);
    let clock = Arc::new(FakeClock::new(0.0));
    let err = client(&server, &clock)
        .send(&Request::get("/defects/stream", &[]))
        .unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.status(), Some(403));
    let text = err.to_string();
    assert!(
        text.contains("`Read Defects`") && text.contains("request id `abc`"),
        "{text}"
    );
    assert!(!text.contains("TESTTOKEN"));
    assert!(clock.sleeps().is_empty());
}

#[test]
fn writes_are_retried_only_when_marked_idempotent() {
    for (idempotent, attempts) in [(false, 1), (true, 2)] {
        let server = Server::start(vec![
            Reply {
                status: 502,
                headers: vec![],
                body: "bad gateway".into(),
            },
            Reply::json(200, "{}"),
        ]);
        let clock = Arc::new(FakeClock::new(0.0));
        let req = Request {
            method: Method::Patch,
            path: "/fleet/defects/1",
            query: &[],
            body: Some(r#"{"isResolved":true}"#.into()),
            idempotent,
            deadline: None,
            idempotency_key: None,
            content_type: None,
        };
        let got = client(&server, &clock).send(&req);
        assert_eq!(got.map_or_else(|e| e.attempts(), |r| r.attempts), attempts);
        assert!(server.requests().iter().all(|s| s.method == "PATCH"));
    }
}

#[test]
fn gives_up_after_max_attempts_with_the_last_error() {
    let server = Server::start(vec![Reply {
        status: 500,
        headers: vec![],
        body: "boom".into(),
    }]);
    let clock = Arc::new(FakeClock::new(0.0));
    let err = client(&server, &clock)
        .send(&Request::get("/me", &[]))
        .unwrap_err();
    assert_eq!((err.attempts(), err.status()), (4, Some(500)));
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
    assert_eq!(clock.sleeps().len(), 3);
}

#[test]
fn the_deadline_stops_a_backoff_that_would_overrun_it() {
    let server = Server::start(vec![
        Reply::json(429, r#"{"message":"slow down"}"#).header("Retry-After", "3"),
        Reply::json(200, "{}"),
    ]);
    let clock = Arc::new(FakeClock::new(0.0));
    let c = client(&server, &clock);
    let deadline = Some(clock.now() + Duration::from_secs(2));
    let err = c.send(&Request::get("/me", &[]).deadline(deadline)).unwrap_err();
    assert!(matches!(err.kind(), ApiErrorKind::Deadline(_)), "{err}");
    assert!(clock.sleeps().is_empty(), "no wait ran past the deadline");
    assert_eq!(server.requests().len(), 1);
    let past = Some(clock.now());
    let err = c.send(&Request::get("/me", &[]).deadline(past)).unwrap_err();
    assert!(matches!(err.kind(), ApiErrorKind::Deadline(_)));
    assert_eq!(err.attempts(), 0);
}

#[test]
fn pages_through_an_empty_page_and_resumes_from_a_cursor() {
    let server = Server::start(vec![
        page(r#"{"id":"1"}"#, "c1", true),
        page("", "c2", true),
        page(r#"{"id":"2"}"#, "", false),
        page(r#"{"id":"3"}"#, "c4", false),
    ]);
    let clock = Arc::new(FakeClock::new(0.0));
    let c = client(&server, &clock);
    let mut paging = Paging::new(None);
    let mut ids = Vec::new();
    while let Some(after) = paging.next_after() {
        let resp = c
            .get_page("/fleet/vehicles", &[("limit".into(), "512".into())], after, None)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let p = serde_json::from_value(v["pagination"].clone()).unwrap();
        let data = v["data"].as_array().unwrap();
        ids.extend(data.iter().map(|d| d["id"].as_str().unwrap().to_owned()));
        paging.advance(Some(&p), data.len()).unwrap();
    }
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(paging.resume_cursor(), Some("c2"));
    // Resume from the stored cursor: the first request carries it.
    let resumed = Paging::new(Some("c2".into()));
    let after = resumed.next_after().unwrap();
    c.get_page("/fleet/vehicles", &[], after, None).unwrap();
    let targets: Vec<String> = server.requests().into_iter().map(|s| s.target).collect();
    assert_eq!(targets[0], "/fleet/vehicles?limit=512");
    assert_eq!(targets[1], "/fleet/vehicles?limit=512&after=c1");
    assert_eq!(targets[2], "/fleet/vehicles?limit=512&after=c2");
    assert_eq!(targets[3], "/fleet/vehicles?after=c2");
}

#[test]
fn a_stats_feed_page_converts_and_carries_its_cursor() {
    let body = r#"{"data":[{"id":"9","name":"T9","obdEngineSeconds":[{"time":"2026-11-01T00:00:00Z","value":36000}]}],
                  "pagination":{"endCursor":"next","hasNextPage":false}}"#;
    let server = Server::start(vec![Reply::json(200, body)]);
    let clock = Arc::new(FakeClock::new(0.0));
    let resp = client(&server, &clock)
        .get_page(
            "/fleet/vehicles/stats/feed",
            &[("types".into(), "obdEngineSeconds".into())],
            Some("c0"),
            None,
        )
        .unwrap();
    let (mut out, mut rejects) = (Vec::new(), Vec::new());
    let done = convert_stats_page(&resp.body, UnitSystem::Metric, &mut out, &mut rejects).unwrap();
    assert_eq!(done.records, 1);
    assert_eq!(done.pagination.unwrap().end_cursor, "next");
    let line: serde_json::Value = serde_json::from_slice(&out[..out.len() - 1]).unwrap();
    assert_eq!(
        (line["value"].as_f64(), line["unit"].as_str()),
        (Some(10.0), Some("h"))
    );
}

/// One client shared by several threads (Python threads with the GIL released): every request is
/// driven on its caller's thread and all of them complete.
#[test]
fn one_client_serves_concurrent_callers() {
    let server = Server::start(vec![Reply::json(200, r#"{"data":{"id":"1"}}"#)]);
    let clock = Arc::new(FakeClock::new(0.0));
    let api = Arc::new(client(&server, &clock));
    let callers: Vec<_> = (0..6)
        .map(|_| {
            let api = Arc::clone(&api);
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| api.send(&Request::get("/me", &[])).unwrap().status)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.join().unwrap(), vec![200; 25]);
    }
    assert_eq!(server.requests().len(), 150);
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(5),
        max_elapsed: Duration::from_secs(60),
    }
}

fn fmc_client(url: &str, clock: &Arc<FakeClock>) -> ApiClient {
    let config = ClientConfig::fmc("fmc_TESTTOKEN", url)
        .unwrap()
        .retry(retry())
        .unwrap();
    let clock: Arc<dyn Clock> = clock.clone();
    ApiClient::with_clock(config, clock, 7).unwrap()
}

/// Issue 11 §7.8: a body cut short under a valid `Content-Length` on a GET is retried.
#[test]
fn a_json_body_cut_short_is_retried_when_the_request_is_idempotent() {
    let whole = r#"{"data":[{"id":"1"},{"id":"2"}],"pagination":{"endCursor":"","hasNextPage":false}}"#;
    let server = Server::start(vec![
        Reply::json(200, &whole[..whole.len() / 2]),
        Reply::json(200, whole),
    ]);
    let clock = Arc::new(FakeClock::new(0.0));
    let resp = client(&server, &clock)
        .send(&Request::get("/fleet/vehicles", &[]))
        .unwrap();
    assert_eq!((resp.attempts, &resp.body[..]), (2, whole.as_bytes()));

    // A write that is not idempotent may have taken effect: its cut answer is not repeated.
    let server = Server::start(vec![Reply::json(200, r#"{"data":{"id":"#)]);
    let req = Request::post("/tags", r#"{"name":"x"}"#.into());
    let err = client(&server, &clock).send(&req).unwrap_err();
    assert!(matches!(err.kind(), ApiErrorKind::Incomplete(_)), "{err}");
    assert_eq!(err.attempts(), 1);
    assert!(err.to_string().contains("ends early"), "{err}");
}

/// A server that answers every connection with a plain-HTTP 400, as a plain server does to a TLS
/// handshake.
fn plain_http_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut hello = [0u8; 4096];
            let _ = stream.read(&mut hello);
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    format!("https://127.0.0.1:{port}")
}

#[test]
fn https_to_a_plain_http_server_fails_at_once_and_says_why() {
    let url = plain_http_server();
    let config = ClientConfig::new("samsara_api_TESTTOKEN", &url)
        .unwrap()
        .retry(retry())
        .unwrap();
    let clock = Arc::new(FakeClock::new(0.0));
    let c = ApiClient::with_clock(config, clock.clone(), 7).unwrap();
    let err = c.send(&Request::get("/me", &[])).unwrap_err();
    assert!(matches!(err.kind(), ApiErrorKind::Tls(_)), "{err}");
    assert_eq!(err.attempts(), 1, "no retry can fix it");
    assert!(clock.sleeps().is_empty());
    let text = err.to_string();
    assert!(
        text.contains("answered plain HTTP to a TLS handshake") && text.contains("`http://`"),
        "{text}"
    );
    assert!(!text.contains(&url), "no URL in transport messages: {text}");
    // The HTTP stack's error chain is kept behind the message.
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_401_says_to_check_or_replace_the_token() {
    let server = Server::start(vec![Reply::json(
        401,
        r#"{"message":"Unauthorized","requestId":"r"}"#,
    )]);
    let clock = Arc::new(FakeClock::new(0.0));
    let err = client(&server, &clock)
        .send(&Request::get("/me", &[]))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("replace it") && text.contains("`SAMSARA_API_TOKEN`"),
        "{text}"
    );
    assert!(!text.contains("TESTTOKEN"));
    let err = fmc_client(&server.url, &clock)
        .send(&Request::get("/fmc/v1/streams", &[]))
        .unwrap_err();
    assert!(err.to_string().contains("`FMC_TOKEN`"), "{err}");
}

#[test]
fn a_malformed_path_is_a_request_error_and_nothing_is_sent() {
    let server = Server::start(vec![Reply::json(200, "{}")]);
    let clock = Arc::new(FakeClock::new(0.0));
    for path in ["fleet/vehicles", "//evil.example.com/x"] {
        let err = client(&server, &clock)
            .send(&Request::get(path, &[]))
            .unwrap_err();
        assert!(matches!(err.kind(), ApiErrorKind::Invalid(_)), "{err}");
        assert_eq!(err.attempts(), 0);
    }
    for key in ["", "with space", &"k".repeat(256)] {
        let req = Request::post("/fmc/v1/streams/s/records", "{}".into()).idempotency_key(key);
        let err = fmc_client(&server.url, &clock).send(&req).unwrap_err();
        assert!(err.to_string().contains("invalid Idempotency-Key"), "{err}");
    }
    assert!(server.requests().is_empty());
}

/// The FMC profile: bearer token, the batch's `Idempotency-Key` on every attempt, no Samsara
/// version header, a 503 and a 429 with a fractional `Retry-After` retried, the replay flag read.
#[test]
fn an_fmc_batch_is_retried_under_its_idempotency_key() {
    let server = Server::start(vec![
        Reply::json(503, r#"{"message":"unavailable","requestId":"f1"}"#),
        Reply::json(429, r#"{"message":"slow down","requestId":"f2"}"#).header("Retry-After", "0.03981"),
        Reply::json(200, r#"{"stream":"trips","received":1,"inserted":0,"updated":0}"#)
            .header("Idempotent-Replayed", "true"),
    ]);
    let clock = Arc::new(FakeClock::new(0.0));
    let req = Request::post(
        "/fmc/v1/streams/trips/records",
        r#"{"records":[{"id":"1"}]}"#.into(),
    )
    .idempotency_key("org/fn/trips/e0001/00000001/p1-abc");
    let resp = fmc_client(&server.url, &clock).send(&req).unwrap();
    assert_eq!((resp.attempts, resp.replayed), (3, true));
    assert_eq!(clock.sleeps()[1], Duration::from_secs_f64(0.03981));
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(
            s.header("idempotency-key"),
            Some("org/fn/trips/e0001/00000001/p1-abc")
        );
        assert_eq!(s.header("authorization"), Some("Bearer fmc_TESTTOKEN"));
        assert_eq!(s.header("x-samsara-version"), None);
        assert_eq!(s.header("content-type"), Some("application/json"));
    }
    // Without a key the same POST is not repeated after a 5xx.
    let server = Server::start(vec![Reply::json(503, "{}")]);
    let req = Request::post("/fmc/v1/streams/trips/records", "{}".into());
    let err = fmc_client(&server.url, &clock).send(&req).unwrap_err();
    assert_eq!(err.attempts(), 1);
}
