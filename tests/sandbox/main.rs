//! Integration tests of the `samsara-sandbox` binary: each test starts its own server on a free port.

mod api;
mod bench;
mod faults;
mod feed;
mod fmc;
mod support;
