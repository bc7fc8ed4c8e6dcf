//! VIN normalisation, validation, repair and decoding (ISO 3779 / 49 CFR 565).

pub mod check_digit;

pub use check_digit::{compute_check_digit, has_valid_check_digit};
