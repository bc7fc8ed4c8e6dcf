//! Integration tests of the sandbox binary.
