//! The Samsara HTTP client: configuration, retries, pacing, pagination and errors.

mod client;
mod config;
mod error;
mod pagination;
mod rate_limit;
mod retry;

pub use client::{ApiClient, Method, Request, Response};
pub use config::{ClientConfig, Region, Token, DEFAULT_API_VERSION};
pub use error::{ApiError, ApiErrorKind, ConfigError, BODY_EXCERPT_LIMIT};
pub use pagination::{Pagination, Paging, MAX_EMPTY_PAGES};
pub use rate_limit::{RateLimiter, WouldOverrun};
pub use retry::{classify, parse_retry_after, Decision, RetryPolicy};
