//! Rust integration tests: one binary.
