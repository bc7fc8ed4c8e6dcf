//! The Samsara HTTP client.
