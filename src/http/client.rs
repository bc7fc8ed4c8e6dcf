//! [`ApiClient`]: one reused HTTP client per token, with retries, pacing and deadlines. Calls block
//! their thread (the Python bindings release the GIL around them); I/O runs on the calling thread.
//!
//! One transport for both sides: the config's [`Profile`] says whether it talks to the Samsara API
//! or to an FMC endpoint; everything else (retries, buckets, deadline, redaction) is shared.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use super::config::ClientConfig;
use super::error::{excerpt, ApiError, ApiErrorKind, ConfigError, Source};
use super::profile::Profile;
use super::rate_limit::RateLimiter;
use super::retry::{classify, parse_retry_after, Decision};
use crate::clock::{Clock, SystemClock};
use crate::endpoints::Endpoint;

/// An HTTP method the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Method {
    /// The method's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Self::Get => reqwest::Method::GET,
            Self::Post => reqwest::Method::POST,
            Self::Patch => reqwest::Method::PATCH,
            Self::Put => reqwest::Method::PUT,
            Self::Delete => reqwest::Method::DELETE,
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(Self::Get),
            "POST" => Ok(Self::Post),
            "PATCH" => Ok(Self::Patch),
            "PUT" => Ok(Self::Put),
            "DELETE" => Ok(Self::Delete),
            _ => Err(format!(
                "unsupported HTTP method `{s}`: use GET, POST, PATCH, PUT or DELETE"
            )),
        }
    }
}

/// One request. Query values are sent as given; join lists with commas before (see [`Query`]).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path, starting with `/`.
    pub path: &'a str,
    /// Query parameters, in order.
    pub query: &'a [(String, String)],
    /// A JSON body.
    pub body: Option<Bytes>,
    /// A write that is safe to repeat (PATCH to a fixed state, PUT, DELETE, an upsert with an
    /// idempotency key). Reads are always idempotent.
    pub idempotent: bool,
    /// No request, backoff or rate-limit wait runs past this instant.
    pub deadline: Option<Instant>,
    /// Sent as `Idempotency-Key` (FMC batches); every attempt of the request repeats it.
    pub idempotency_key: Option<&'a str>,
    /// The body's `Content-Type` when it is not JSON (an FMC file upload); `None`: JSON.
    pub content_type: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A GET of `path` with `query`.
    pub fn get(path: &'a str, query: &'a [(String, String)]) -> Self {
        Self {
            method: Method::Get,
            path,
            query,
            body: None,
            idempotent: true,
            deadline: None,
            idempotency_key: None,
            content_type: None,
        }
    }

    /// A POST of a JSON `body` to `path`; not retried after it may have reached the server unless
    /// marked idempotent (see [`Request::idempotency_key`]).
    pub fn post(path: &'a str, body: Bytes) -> Self {
        Self {
            method: Method::Post,
            path,
            query: &[],
            body: Some(body),
            idempotent: false,
            deadline: None,
            idempotency_key: None,
            content_type: None,
        }
    }

    /// Sends `key` as `Idempotency-Key`, which makes the request safe to repeat.
    #[must_use]
    pub fn idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self.idempotent = true;
        self
    }

    /// A PUT of raw `body` bytes of `content_type` to `path` (an FMC file upload); retried only when
    /// marked idempotent (see [`Request::idempotency_key`]).
    pub fn put_bytes(path: &'a str, body: Bytes, content_type: &'a str) -> Self {
        Self {
            method: Method::Put,
            path,
            query: &[],
            body: Some(body),
            idempotent: false,
            deadline: None,
            idempotency_key: None,
            content_type: Some(content_type),
        }
    }

    /// Sets the deadline.
    #[must_use]
    pub fn deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status (2xx or 3xx).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // The bindings need only the body.
    pub status: u16,
    /// The body.
    pub body: Bytes,
    /// Requests made, retries included.
    pub attempts: u32,
    /// The server answered from an earlier request with the same `Idempotency-Key`
    /// (`Idempotent-Replayed: true`).
    pub replayed: bool,
}

/// A failed attempt: what went wrong, and the HTTP stack's error behind it.
struct Failure {
    kind: Box<ApiErrorKind>,
    source: Option<Source>,
}

impl From<ApiErrorKind> for Failure {
    fn from(kind: ApiErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
            source: None,
        }
    }
}

/// The Samsara API client. Cheap to share: build one per token and reuse it, so connections are.
#[derive(Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    /// Drives `http` on whichever thread calls: requests run on the caller's thread, so a response
    /// body is read where it is used instead of being handed across threads chunk by chunk.
    runtime: tokio::runtime::Runtime,
    config: ClientConfig,
    limiter: RateLimiter,
    clock: Arc<dyn Clock>,
    rng: Mutex<fastrand::Rng>,
    counters: Counters,
}

/// What a client has done since it was built, for a run's health: attempts sent, retries, 429s,
/// and the time spent waiting (microseconds) on its own pacing and between retries.
#[derive(Debug, Default)]
struct Counters {
    attempts: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    paced_us: AtomicU64,
    backoff_us: AtomicU64,
}

/// A snapshot of a client's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Requests sent, every attempt counted.
    pub attempts: u64,
    /// Attempts that were retries of a failed one.
    pub retries: u64,
    /// Answers that were 429 (rate limited), retried or not.
    pub rate_limited: u64,
    /// Time spent waiting for the client's own rate-limit buckets before sending.
    pub paced: Duration,
    /// Time spent waiting between a failed attempt and its retry (backoff or `Retry-After`).
    pub backoff: Duration,
}

fn add_micros(counter: &AtomicU64, d: Duration) {
    if !d.is_zero() {
        counter.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

impl ApiClient {
    /// What the client has done since it was built.
    pub fn counts(&self) -> Counts {
        Counts {
            attempts: self.counters.attempts.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            rate_limited: self.counters.rate_limited.load(Ordering::Relaxed),
            paced: Duration::from_micros(self.counters.paced_us.load(Ordering::Relaxed)),
            backoff: Duration::from_micros(self.counters.backoff_us.load(Ordering::Relaxed)),
        }
    }

    /// A client on the system clock. Use one per token: it holds the connection pool and the
    /// token's rate-limit buckets.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, Arc::new(SystemClock), fastrand::u64(..))
    }

    /// A client on `clock`, with backoff jitter drawn from a generator seeded with `seed`.
    pub fn with_clock(config: ClientConfig, clock: Arc<dyn Clock>, seed: u64) -> Result<Self, ConfigError> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose()))
            .map_err(|_| ConfigError::BadToken("not printable ASCII", config.profile))?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if config.profile == Profile::Samsara {
            headers.insert(
                "X-Samsara-Version",
                HeaderValue::from_str(&config.api_version)
                    .map_err(|_| ConfigError::BadApiVersion(config.api_version.clone()))?,
            );
        }
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            // The API does not redirect; refusing keeps the token on the configured host.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| ConfigError::Http(format!("cannot start the I/O runtime: {e}")))?;
        let limiter = RateLimiter::new(config.profile.client_rate());
        Ok(Self {
            http,
            runtime,
            config,
            limiter,
            clock,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            counters: Counters::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// `deadline_unix` (seconds since the epoch, as Python's `time.time()`) as a monotonic instant.
    pub fn deadline_from_unix(&self, deadline_unix: f64) -> Instant {
        let remaining = (deadline_unix - self.clock.unix_now()).max(0.0);
        self.clock.now() + Duration::from_secs_f64(remaining.min(1e9))
    }

    /// Sends `req`, retrying transient failures as the policy allows.
    pub fn send(&self, req: &Request<'_>) -> Result<Response, ApiError> {
        let method = req.method.as_str();
        let profile = self.config.profile;
        let endpoint = profile.endpoint(method, req.path);
        let idempotent = req.idempotent || req.method == Method::Get;
        let policy = self.config.retry;
        let start = self.clock.now();
        let fail_with = |failure: Failure, attempts, clock: &dyn Clock| {
            ApiError::new(
                *failure.kind,
                method,
                req.path,
                attempts,
                clock.now().saturating_duration_since(start),
            )
            .context(profile, failure.source)
        };
        let fail = |kind: ApiErrorKind, attempts, clock: &dyn Clock| fail_with(kind.into(), attempts, clock);
        if !req.path.starts_with('/') || req.path.starts_with("//") {
            let kind = ApiErrorKind::Invalid(ConfigError::BadPath(req.path.to_owned()));
            return Err(fail(kind, 0, &*self.clock));
        }
        if let Some(key) = req.idempotency_key {
            if !(1..=255).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
                let kind = ApiErrorKind::Invalid(ConfigError::BadIdempotencyKey(key.to_owned()));
                return Err(fail(kind, 0, &*self.clock));
            }
        }
        let url = self.url(req.path, req.query);
        let mut attempts = 0;
        loop {
            if self.config.rate_limit {
                match self.limiter.acquire(&*self.clock, endpoint, req.deadline) {
                    Ok(waited) => add_micros(&self.counters.paced_us, waited),
                    Err(over) => {
                        let what = format!("a rate-limit wait of {:.2} s", over.wait.as_secs_f64());
                        return Err(fail(ApiErrorKind::Deadline(what), attempts, &*self.clock));
                    }
                }
            }
            let now = self.clock.now();
            let mut timeout = self.config.request_timeout;
            let mut clamped = false;
            if let Some(deadline) = req.deadline {
                let left = deadline.saturating_duration_since(now);
                if left < Duration::from_millis(50) {
                    let what = format!("attempt {}", attempts + 1);
                    return Err(fail(ApiErrorKind::Deadline(what), attempts, &*self.clock));
                }
                if left < timeout {
                    timeout = left;
                    clamped = true;
                }
            }
            attempts += 1;
            self.counters.attempts.fetch_add(1, Ordering::Relaxed);
            if attempts > 1 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let failure = match self.attempt(req, &url, timeout, endpoint) {
                Ok((status, body, replayed)) => {
                    return Ok(Response {
                        status,
                        body,
                        attempts,
                        replayed,
                    })
                }
                Err(mut failure) => {
                    if let (true, ApiErrorKind::Timeout(what)) = (clamped, &*failure.kind) {
                        let what = format!("a response (the request timed out: {what})");
                        *failure.kind = ApiErrorKind::Deadline(what);
                    }
                    failure
                }
            };
            if matches!(&*failure.kind, ApiErrorKind::Status { status: 429, .. }) {
                self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            let Decision::Retry { after } = classify(&failure.kind, idempotent) else {
                return Err(fail_with(failure, attempts, &*self.clock));
            };
            let elapsed = self.clock.now().saturating_duration_since(start);
            if attempts >= policy.max_attempts || elapsed >= policy.max_elapsed {
                return Err(fail_with(failure, attempts, &*self.clock));
            }
            let kind = &failure.kind;
            let wait = if let Some(advised) = after {
                policy.advised(advised)
            } else {
                let unit = self
                    .rng
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .f64();
                policy.backoff(attempts - 1, unit)
            };
            if req.deadline.is_some_and(|d| self.clock.now() + wait > d) {
                let what = format!(
                    "retry {attempts} (waiting {:.2} s after: {kind})",
                    wait.as_secs_f64()
                );
                return Err(fail(ApiErrorKind::Deadline(what), attempts, &*self.clock));
            }
            self.clock.sleep(wait);
            add_micros(&self.counters.backoff_us, wait);
        }
    }

    /// GETs one page of `path`: `query` plus `after` when given.
    pub fn get_page(
        &self,
        path: &str,
        query: &[(String, String)],
        after: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<Response, ApiError> {
        let with_after;
        let query = match after {
            Some(cursor) => {
                with_after = query
                    .iter()
                    .filter(|(k, _)| k != "after")
                    .cloned()
                    .chain(std::iter::once(("after".to_owned(), cursor.to_owned())))
                    .collect::<Vec<_>>();
                &with_after[..]
            }
            None => query,
        };
        self.send(&Request::get(path, query).deadline(deadline))
    }

    fn url(&self, path: &str, query: &[(String, String)]) -> reqwest::Url {
        let mut url = self.config.base_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        url
    }

    /// One attempt: the status, body and replay flag of a success, or what went wrong.
    fn attempt(
        &self,
        req: &Request<'_>,
        url: &reqwest::Url,
        timeout: Duration,
        endpoint: Option<&'static Endpoint>,
    ) -> Result<(u16, Bytes, bool), Failure> {
        let mut builder = self
            .http
            .request(req.method.to_reqwest(), url.clone())
            .timeout(timeout);
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, req.content_type.unwrap_or("application/json"))
                .body(body.clone());
        }
        if let Some(key) = req.idempotency_key {
            let value = HeaderValue::from_str(key).map_err(|_| {
                Failure::from(ApiErrorKind::Invalid(ConfigError::BadIdempotencyKey(
                    key.to_owned(),
                )))
            })?;
            builder = builder.header("Idempotency-Key", value);
        }
        let (status, retry_after, replayed, json, body) = self.runtime.block_on(async {
            let resp = builder.send().await.map_err(transport_failure)?;
            let status = resp.status().as_u16();
            let headers = resp.headers();
            let retry_after = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let replayed = headers
                .get("Idempotent-Replayed")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            let json = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("json"));
            let body = resp.bytes().await.map_err(transport_failure)?;
            Ok::<_, Failure>((status, retry_after, replayed, json, body))
        })?;
        if status < 400 {
            if json {
                check_complete(&body)?;
            }
            return Ok((status, body, replayed));
        }
        let (message, request_id) = error_body(&body);
        Err(Failure::from(ApiErrorKind::Status {
            status,
            request_id,
            message,
            body_excerpt: excerpt(&body),
            retry_after,
            required_scope: if status == 403 {
                endpoint.map(|e| e.scope)
            } else {
                None
            },
        }))
    }
}

/// Checks that a body sent as JSON is whole. One that ends before its document does was cut short in
/// transit (a proxy, or a reset under a valid `Content-Length`): retryable. The check only follows
/// the nesting (outside strings, escapes skipped), one pass over the bytes with no parsing, so the
/// stats path keeps its speed; a body that is whole but not valid JSON fails where it is read, as
/// the server's answer that no retry changes.
fn check_complete(body: &[u8]) -> Result<(), Failure> {
    let Some(&first) = body.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Ok(());
    };
    if !matches!(
        first,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    ) {
        // An HTML error page from a proxy, say: the server's answer, which no retry changes.
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        return Err(
            ApiErrorKind::Decode(format!("the body is not JSON (it starts `{}`)", shown.trim())).into(),
        );
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if depth == 0 && !in_string {
        return Ok(());
    }
    let open = if in_string {
        "inside a string".to_owned()
    } else {
        format!("{depth} levels deep")
    };
    Err(ApiErrorKind::Incomplete(format!(
        "the body ends {open}, before its JSON document does; {} bytes received",
        body.len()
    ))
    .into())
}

#[cfg(test)]
mod complete_tests {
    use super::check_complete;

    #[test]
    fn whole_documents_pass_and_cut_ones_do_not() {
        for whole in [
            &br#"{"data":[{"a":"x}]\"y"}],"pagination":{"endCursor":"c","hasNextPage":false}}"#[..],
            b"",
            b"  ",
            b"[]",
            b"null",
        ] {
            assert!(
                check_complete(whole).is_ok(),
                "{}",
                String::from_utf8_lossy(whole)
            );
        }
        let doc = br#"{"data":[{"id":"1","v":"a\"}b"},{"id":"2"}],"pagination":{"endCursor":"c"}}"#;
        for cut in 1..doc.len() {
            assert!(check_complete(&doc[..cut]).is_err(), "cut at {cut} passed");
        }
    }
}

/// Maps a reqwest error to a failure. The URL is dropped from the error itself (`without_url`: it
/// may carry filters and cursors), so neither the message nor the kept source chain shows it.
fn transport_failure(e: reqwest::Error) -> Failure {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    let mut tls = None;
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.ends_with(&text) {
            msg = format!("{msg}: {text}");
        }
        tls = tls.or_else(|| tls_failure(s));
        source = s.source();
    }
    let kind = if let Some(why) = tls {
        ApiErrorKind::Tls(format!("{why} ({msg})"))
    } else if e.is_timeout() {
        ApiErrorKind::Timeout(msg)
    } else if e.is_connect() {
        ApiErrorKind::Connect(msg)
    } else {
        ApiErrorKind::Transport(msg)
    };
    Failure {
        kind: Box::new(kind),
        source: Some(std::sync::Arc::new(e)),
    }
}

/// What to tell a user about a TLS error no retry fixes, when `e` is one.
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    // tokio-rustls wraps rustls' error in an `io::Error`, which the connector wraps in another.
    let mut cur = e;
    let tls = loop {
        if let Some(tls) = cur.downcast_ref::<rustls::Error>() {
            break tls;
        }
        cur = cur.downcast_ref::<std::io::Error>()?.get_ref()?;
    };
    Some(match tls {
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            "the server answered plain HTTP to a TLS handshake: use `http://` only for loopback, or check the port".to_owned()
        }
        rustls::Error::InvalidCertificate(why) => {
            format!("the server's certificate is not trusted ({why:?}): check the host name in the URL")
        }
        other => format!("the TLS handshake failed: {other}"),
    })
}

/// Samsara's `{"message", "requestId"}`, or the first line of a plain-text body.
fn error_body(body: &[u8]) -> (String, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Wire {
        message: Option<String>,
        #[serde(rename = "requestId")]
        request_id: Option<String>,
    }
    if let Ok(w) = serde_json::from_slice::<Wire>(body) {
        if w.message.is_some() || w.request_id.is_some() {
            return (w.message.unwrap_or_default(), w.request_id);
        }
    }
    let text = excerpt(body);
    let line = text.lines().next().unwrap_or("").trim();
    let line: String = line.chars().take(200).collect();
    (
        if line.is_empty() {
            "(empty body)".to_owned()
        } else {
            line
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_body(br#"{"message":"Invalid token","requestId":"r-9"}"#),
            ("Invalid token".to_owned(), Some("r-9".to_owned()))
        );
        assert_eq!(
            error_body(b"upstream connect error\nmore"),
            ("upstream connect error".to_owned(), None)
        );
        assert_eq!(error_body(b""), ("(empty body)".to_owned(), None));
    }

    #[test]
    fn urls_join_base_path_and_encode_query() {
        let cfg = ClientConfig::new("t", "http://127.0.0.1:9/prefix/").unwrap();
        let client = ApiClient::new(cfg).unwrap();
        let q = vec![
            ("types".to_owned(), "gps,engineStates".to_owned()),
            ("after".to_owned(), "a b&c".to_owned()),
        ];
        assert_eq!(
            client.url("/fleet/vehicles/samsara.vin:1M8GDM9AXKP042788", &q).as_str(),
            "http://127.0.0.1:9/prefix/fleet/vehicles/samsara.vin:1M8GDM9AXKP042788?types=gps%2CengineStates&after=a+b%26c"
        );
    }

    #[test]
    fn methods_parse() {
        assert_eq!("patch".parse::<Method>(), Ok(Method::Patch));
        assert!("TRACE".parse::<Method>().unwrap_err().contains("`TRACE`"));
    }
}
