//! Integration tests of the `samsara-sandbox` binary: each test starts its own server on a free port.

// Test helpers may unwrap (a failure is the test failing), and timing a slow fault needs real time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::many_single_char_names
)]

mod api;
mod bench;
mod conformance;
mod episodes;
mod events;
mod faults;
mod feed;
mod fmc;
mod ifta;
mod readings;
mod shape;
mod support;
mod trailers;
mod workflows;
