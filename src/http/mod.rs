//! The HTTP transport: configuration, retries, pacing, pagination and errors, with a profile for
//! the Samsara API and one for an FMC endpoint.

// The re-exports are the bindings' and, with `testing`, the integration tests' view of the module.
#![cfg_attr(not(feature = "testing"), allow(unused_imports))]

mod client;
mod config;
mod error;
mod pagination;
pub(crate) mod profile;
mod rate_limit;
mod retry;

pub use client::{ApiClient, Counts, Method, Request, Response};
pub use config::{
    ClientConfig, Region, Token, DEFAULT_API_VERSION, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};
pub use error::{ApiError, ApiErrorKind, ConfigError, BODY_EXCERPT_LIMIT};
pub use pagination::{Pagination, Paging, MAX_EMPTY_PAGES};
pub use profile::{Profile, FMC_MAX_BATCH, FMC_RATE};
pub use rate_limit::{RateLimiter, WouldOverrun};
pub use retry::{classify, parse_retry_after, Decision, RetryPolicy};
