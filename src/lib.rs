//! The Rust core of samsara-fmc.
//!
//! Pure Rust, no pyo3: the HTTP transport with its Samsara and FMC profiles (`http`), the endpoint
//! catalogue it and the sandbox share ([`endpoints`]), unit and time conversion, the stats-feed
//! converter, VIN handling ([`vin`]) and vehicle/driver matching. The Python bindings live in
//! `src/python/` behind the `python` feature and are the only code that knows Python.
//!
//! The public Rust API is what the sandbox crate shares with the product: the endpoint table, the
//! JSON string escaper and the VIN check digit. Everything else is the bindings' (and the tests'):
//! with the `testing` feature, which only this crate's dev-dependency on itself turns on, the
//! integration tests in `tests/it` also reach the client (`http`), the stats converter (`stats`)
//! and the fake clock (`clock`); the wheel is built without it.

// Without the bindings the crate is what the sandbox shares; the rest is used by the bindings and
// exercised by the tests.
#![cfg_attr(not(feature = "python"), allow(dead_code, unused_imports))]

pub mod endpoints;
pub mod json;
pub mod vin;

// Internal, except to the integration tests (`testing`); their `pub` items are the tests' API.
#[cfg(feature = "testing")]
pub mod clock;
#[cfg(not(feature = "testing"))]
#[allow(unreachable_pub)]
mod clock;
#[cfg(feature = "testing")]
pub mod http;
#[cfg(not(feature = "testing"))]
#[allow(unreachable_pub)]
mod http;
#[cfg(feature = "testing")]
pub mod stats;
#[cfg(not(feature = "testing"))]
#[allow(unreachable_pub)]
mod stats;

// Internal: the bindings' domain code.
#[allow(unreachable_pub)]
mod matching;
#[allow(unreachable_pub)]
mod time;
#[allow(unreachable_pub)]
mod units;

#[cfg(feature = "python")]
mod python;

/// The `X-Samsara-Version` the client sends and the sandbox gives a token by default.
pub use http::DEFAULT_API_VERSION;

/// The crate version, sent in the `User-Agent` and exposed as `samsara_fmc.__version__`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
