//! The local Samsara sandbox: a deterministic simulator of the Samsara REST API on 127.0.0.1.

fn main() {}
