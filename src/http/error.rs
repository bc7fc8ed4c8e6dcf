//! Errors of the HTTP client.
//!
//! An [`ApiError`] is a boxed [`ApiErrorKind`] plus what every caller wants in a log line: the method
//! and path (never the query string, which can hold cursors and filters, and never the token), how
//! many attempts were made and how long they took.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::profile::Profile;

/// Bytes of an error body kept for messages.
pub const BODY_EXCERPT_LIMIT: usize = 2048;

/// What went wrong with a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiErrorKind {
    /// No connection could be made (refused, DNS). The request was not sent.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The TLS handshake failed for a reason a retry cannot fix: a certificate the client does not
    /// trust, or a server that answered plain HTTP. The request was not sent.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The connection failed after the request may have been sent (reset, closed mid-body).
    #[error("transport error: {0}")]
    Transport(String),
    /// Connect or read timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The server answered with an error status.
    #[error("HTTP {status}{}: {message}", request_id.as_deref().map(|r| format!(" (request id `{r}`)")).unwrap_or_default())]
    Status {
        /// The HTTP status.
        status: u16,
        /// Samsara's `requestId`, when the body carried one.
        request_id: Option<String>,
        /// Samsara's `message`, or the start of a plain-text body.
        message: String,
        /// The start of the body, at most [`BODY_EXCERPT_LIMIT`] bytes.
        body_excerpt: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
        /// For a 403: the scope the endpoint needs, from the endpoint catalogue.
        required_scope: Option<&'static str>,
    },
    /// The body is not the JSON the endpoint documents.
    #[error("invalid response body: {0}")]
    Decode(String),
    /// The body ended before its JSON did (cut short, e.g. under a valid `Content-Length`): a
    /// transport failure, retried when the request is idempotent.
    #[error("the body is not valid JSON: it ends early ({0})")]
    Incomplete(String),
    /// The request itself is malformed (e.g. a path without a leading `/`); nothing was sent.
    #[error("{0}")]
    Invalid(ConfigError),
    /// The run's deadline would pass before the request, backoff or rate-limit wait could finish.
    #[error("deadline reached before {0}")]
    Deadline(String),
}

/// The underlying error of a transport failure (reqwest's, with its URL removed).
pub(crate) type Source = Arc<dyn std::error::Error + Send + Sync>;

/// An error from [`ApiClient`](super::ApiClient), with the request's context.
///
/// [`source`](std::error::Error::source) is the HTTP stack's error for transport failures, so the
/// whole chain is kept; it carries no URL (reqwest's `without_url`), hence no query values.
#[derive(Debug, Clone)]
pub struct ApiError {
    kind: Box<ApiErrorKind>,
    method: String,
    path: String,
    attempts: u32,
    elapsed: Duration,
    profile: Profile,
    source: Option<Source>,
}

impl ApiError {
    pub(crate) fn new(
        kind: ApiErrorKind,
        method: &str,
        path: &str,
        attempts: u32,
        elapsed: Duration,
    ) -> Self {
        Self {
            kind: Box::new(kind),
            method: method.to_owned(),
            path: path.to_owned(),
            attempts,
            elapsed,
            profile: Profile::Samsara,
            source: None,
        }
    }

    /// Sets the API the request went to (it picks the fix a 401 suggests) and the underlying error.
    pub(crate) fn context(mut self, profile: Profile, source: Option<Source>) -> Self {
        self.profile = profile;
        self.source = source;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ApiErrorKind {
        &self.kind
    }

    /// The HTTP method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request path, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Requests made, retries included (0 when the deadline struck before the first).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time from the first attempt to the error.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The HTTP status, for [`ApiErrorKind::Status`].
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // The bindings read the kind.
    pub fn status(&self) -> Option<u16> {
        match *self.kind {
            ApiErrorKind::Status { status, .. } => Some(status),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{} {}` failed", self.method, self.path)?;
        if self.attempts > 0 {
            let s = if self.attempts == 1 { "" } else { "s" };
            write!(
                f,
                " after {} attempt{s} in {:.1} s",
                self.attempts,
                self.elapsed.as_secs_f64()
            )?;
        }
        write!(f, ": {}", self.kind)?;
        if let ApiErrorKind::Status {
            status: 403,
            required_scope: Some(scope),
            ..
        } = &*self.kind
        {
            write!(
                f,
                "; grant the token the `{scope}` scope in the Samsara dashboard"
            )?;
        }
        if let ApiErrorKind::Status { status: 401, .. } = &*self.kind {
            write!(f, "; {}", self.profile.unauthorized_fix())?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// A client that cannot be built as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The base URL (named by the first field) does not parse; the value is not shown, since it may be
    /// a secret pasted into the wrong setting.
    #[error("invalid {0}: {1}; expected an absolute URL such as `https://host.example.com`")]
    NotAUrl(&'static str, String),
    /// The base URL (named by the first field) carries what it must not.
    #[error("invalid {0} `{1}`: {2}")]
    InvalidUrl(&'static str, String, String),
    /// Plain `http://` to a host that is not loopback.
    #[error(
        "refusing plain-HTTP {0} `{1}`: use https:// (http is only allowed for 127.0.0.1, ::1 and localhost)"
    )]
    InsecureUrl(&'static str, String),
    /// An unknown region name.
    #[error("unknown region `{0}`: expected `us`, `eu` or `ca`, or pass an explicit base URL")]
    UnknownRegion(String),
    /// An empty token, or one that cannot be sent in a header.
    #[error("the {name} is {0}: {fix}", name = .1.token_name(), fix = .1.token_fix())]
    BadToken(&'static str, Profile),
    /// A malformed `X-Samsara-Version`.
    #[error("invalid API version `{0}`: expected a date such as `2025-06-11`")]
    BadApiVersion(String),
    /// A retry policy that cannot work.
    #[error("invalid retry policy: {0}")]
    BadRetryPolicy(String),
    /// The HTTP stack could not be built.
    #[error("could not build the HTTP client: {0}")]
    Http(String),
    /// A path that is not absolute.
    #[error("invalid request path `{0}`: paths start with `/`, e.g. `/fleet/vehicles`")]
    BadPath(String),
    /// An `Idempotency-Key` the contract does not take.
    #[error("invalid Idempotency-Key `{0}`: use 1 to 255 printable ASCII characters")]
    BadIdempotencyKey(String),
}

/// Cuts `body` to at most [`BODY_EXCERPT_LIMIT`] bytes on a character boundary.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(BODY_EXCERPT_LIMIT)]);
    text.trim_end_matches('\u{FFFD}').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, scope: Option<&'static str>) -> ApiErrorKind {
        ApiErrorKind::Status {
            status: code,
            request_id: Some("req-1".into()),
            message: "nope".into(),
            body_excerpt: String::new(),
            retry_after: None,
            required_scope: scope,
        }
    }

    #[test]
    fn display_names_method_path_attempts_and_scope() {
        let e = ApiError::new(
            status(403, Some("Read Defects")),
            "GET",
            "/defects/stream",
            1,
            Duration::ZERO,
        );
        assert_eq!(
            e.to_string(),
            "`GET /defects/stream` failed after 1 attempt in 0.0 s: HTTP 403 (request id `req-1`): nope; \
             grant the token the `Read Defects` scope in the Samsara dashboard"
        );
        let e = ApiError::new(status(503, None), "GET", "/me", 5, Duration::from_millis(3_250));
        assert!(
            e.to_string()
                .starts_with("`GET /me` failed after 5 attempts in 3.2 s: HTTP 503"),
            "{e}"
        );
    }

    #[test]
    fn a_401_says_which_token_to_fix() {
        let e = ApiError::new(status(401, None), "GET", "/me", 1, Duration::ZERO);
        assert!(e.to_string().contains("`SAMSARA_API_TOKEN`"), "{e}");
        let e = e.context(Profile::Fmc, None);
        assert!(
            e.to_string().contains("`FMC_TOKEN`") && !e.to_string().contains("SAMSARA"),
            "{e}"
        );
    }

    #[test]
    fn excerpt_is_bounded_and_valid_utf8() {
        let body = "é".repeat(2000);
        let cut = excerpt(body.as_bytes());
        assert!(cut.len() <= BODY_EXCERPT_LIMIT);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
