//! The Rust core of samsara-fmc.
//!
//! Pure Rust, no pyo3: the Samsara HTTP client ([`http`]), the endpoint catalogue it and the sandbox
//! share ([`endpoints`]), unit and time conversion ([`units`], [`time`]), the stats-feed converter
//! ([`stats`]), VIN handling ([`vin`]) and vehicle/driver matching ([`matching`]). The Python bindings
//! live in `src/python/` behind the `python` feature and are the only code that knows Python.

pub mod clock;
pub mod endpoints;
pub mod http;
pub mod json;
pub mod matching;
pub mod stats;
pub mod time;
pub mod units;
pub mod vin;

#[cfg(feature = "python")]
mod python;

/// The crate version, sent in the `User-Agent` and exposed as `samsara_fmc.__version__`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
