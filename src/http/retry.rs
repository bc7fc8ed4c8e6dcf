//! When to retry and how long to wait: the policy is data, the decision is one function.
//!
//! Transient: connection failures, timeouts, a body cut short, 408, 429 and 5xx except 501. Never:
//! other 4xx, TLS failures (a certificate error or a plain-HTTP server stays so), bodies that are
//! not JSON, a bad request. A request is retried only when repeating it cannot duplicate an effect:
//! reads, writes the caller marked idempotent (an FMC batch carries its `Idempotency-Key`), and any
//! request the server provably did not act on (a failed connect, or a 429, which both APIs send
//! before doing anything).

use std::time::Duration;

use super::error::{ApiErrorKind, ConfigError};

/// How many times to try, and how long to wait in between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (≥ 1).
    pub max_attempts: u32,
    /// The first backoff's upper bound; each later one doubles it.
    pub base_delay: Duration,
    /// The largest single wait, server-advised waits included.
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl RetryPolicy {
    /// The policy unless configured: 5 attempts, backoff from 0.5 s doubling up to 30 s, no retry
    /// after 120 s. Python's `RetryPolicy` reads these through `_core`.
    pub const DEFAULT: Self = Self {
        max_attempts: 5,
        base_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(30),
        max_elapsed: Duration::from_secs(120),
    };

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::BadRetryPolicy(
                "`max_attempts` must be at least 1".into(),
            ));
        }
        if self.base_delay > self.max_delay {
            return Err(ConfigError::BadRetryPolicy(format!(
                "`base_delay` ({:?}) is larger than `max_delay` ({:?})",
                self.base_delay, self.max_delay
            )));
        }
        Ok(())
    }

    /// The wait before retry number `retry` (0 for the first retry), "full jitter": uniform in
    /// `[0, min(max_delay, base_delay · 2^retry)]`. `unit` is a uniform sample in `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let ceiling = self.base_delay.as_secs_f64() * 2f64.powi(i32::try_from(retry.min(30)).unwrap_or(30));
        let ceiling = ceiling.min(self.max_delay.as_secs_f64());
        Duration::from_secs_f64(ceiling * unit.clamp(0.0, 1.0))
    }

    /// The wait for a retry the server advised with `Retry-After`, capped at `max_delay`.
    pub fn advised(&self, retry_after: Duration) -> Duration {
        retry_after.min(self.max_delay)
    }
}

/// Whether a failed attempt may be repeated, and whether the server asked for a particular wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Do not retry.
    Fail,
    /// Retry after a jittered backoff, or after the server's `Retry-After` when it sent one.
    Retry {
        /// The server's advice.
        after: Option<Duration>,
    },
}

/// The one place that decides retryability.
pub fn classify(kind: &ApiErrorKind, idempotent: bool) -> Decision {
    match kind {
        // Nothing reached the server: always safe.
        ApiErrorKind::Connect(_) => Decision::Retry { after: None },
        ApiErrorKind::Transport(_) | ApiErrorKind::Timeout(_) | ApiErrorKind::Incomplete(_) if idempotent => {
            Decision::Retry { after: None }
        }
        ApiErrorKind::Status {
            status: 429,
            retry_after,
            ..
        } => Decision::Retry { after: *retry_after },
        ApiErrorKind::Status {
            status, retry_after, ..
        } if idempotent && (*status == 408 || (*status >= 500 && *status != 501)) => {
            Decision::Retry { after: *retry_after }
        }
        _ => Decision::Fail,
    }
}

/// Parses `Retry-After`: delta-seconds, fractional ones included (Samsara sends `0.40235`).
///
/// HTTP-dates are not used by Samsara and yield `None`, as do negative or non-finite values.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, retry_after: Option<Duration>) -> ApiErrorKind {
        ApiErrorKind::Status {
            status: code,
            request_id: None,
            message: String::new(),
            body_excerpt: String::new(),
            retry_after,
            required_scope: None,
        }
    }

    #[test]
    fn classification_table() {
        let ra = Some(Duration::from_millis(400));
        let cases: &[(ApiErrorKind, bool, Decision)] = &[
            (status(429, ra), false, Decision::Retry { after: ra }),
            (status(429, None), true, Decision::Retry { after: None }),
            (status(408, None), true, Decision::Retry { after: None }),
            (status(500, None), true, Decision::Retry { after: None }),
            (status(502, None), true, Decision::Retry { after: None }),
            (status(503, ra), true, Decision::Retry { after: ra }),
            (status(504, None), true, Decision::Retry { after: None }),
            (status(500, None), false, Decision::Fail),
            (status(501, None), true, Decision::Fail),
            (status(400, None), true, Decision::Fail),
            (status(401, None), true, Decision::Fail),
            (status(403, None), true, Decision::Fail),
            (status(404, None), true, Decision::Fail),
            (status(405, None), true, Decision::Fail),
            (status(409, None), true, Decision::Fail),
            (
                ApiErrorKind::Connect("refused".into()),
                false,
                Decision::Retry { after: None },
            ),
            (
                ApiErrorKind::Transport("reset".into()),
                true,
                Decision::Retry { after: None },
            ),
            (ApiErrorKind::Transport("reset".into()), false, Decision::Fail),
            (
                ApiErrorKind::Timeout("read".into()),
                true,
                Decision::Retry { after: None },
            ),
            (ApiErrorKind::Timeout("read".into()), false, Decision::Fail),
            (ApiErrorKind::Decode("x".into()), true, Decision::Fail),
            (
                ApiErrorKind::Incomplete("eof".into()),
                true,
                Decision::Retry { after: None },
            ),
            (ApiErrorKind::Incomplete("eof".into()), false, Decision::Fail),
            (ApiErrorKind::Tls("plain HTTP".into()), true, Decision::Fail),
            (
                ApiErrorKind::Invalid(ConfigError::BadPath("x".into())),
                true,
                Decision::Fail,
            ),
            (ApiErrorKind::Deadline("x".into()), true, Decision::Fail),
        ];
        for (kind, idempotent, want) in cases {
            assert_eq!(
                classify(kind, *idempotent),
                *want,
                "{kind:?} idempotent={idempotent}"
            );
        }
    }

    #[test]
    fn retry_after_accepts_fractions() {
        assert_eq!(
            parse_retry_after("0.40235"),
            Some(Duration::from_secs_f64(0.40235))
        );
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn backoff_is_capped_full_jitter() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(10),
        };
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(4, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(40, 0.5), Duration::from_millis(500));
        assert_eq!(p.backoff(2, 0.0), Duration::ZERO);
        assert_eq!(p.advised(Duration::from_secs(5)), Duration::from_secs(1));
        assert!(RetryPolicy { max_attempts: 0, ..p }.validate().is_err());
        assert!(RetryPolicy {
            base_delay: Duration::from_secs(2),
            ..p
        }
        .validate()
        .is_err());
    }
}
