//! `convert` and the RFC 3339 helpers.

use pyo3::prelude::*;

use super::errors::CoreErr;
use crate::units::Unit;

/// Converts `value` between two units of the same quantity.
#[pyfunction]
pub(crate) fn convert(value: f64, from_unit: &str, to_unit: &str) -> PyResult<f64> {
    let from: Unit = from_unit.parse().map_err(CoreErr::from)?;
    let to: Unit = to_unit.parse().map_err(CoreErr::from)?;
    Ok(crate::units::convert(value, from, to).map_err(CoreErr::from)?)
}

/// Every unit symbol `convert` accepts.
#[pyfunction]
pub(crate) fn unit_symbols() -> Vec<&'static str> {
    Unit::ALL.iter().map(|u| u.symbol()).collect()
}

/// An RFC 3339 timestamp with any offset, as UTC with milliseconds.
#[pyfunction]
pub(crate) fn normalize_rfc3339(value: &str) -> PyResult<String> {
    Ok(crate::time::format_rfc3339(
        crate::time::parse_rfc3339(value).map_err(CoreErr::from)?,
    ))
}

/// An RFC 3339 timestamp as milliseconds since the Unix epoch.
#[pyfunction]
pub(crate) fn rfc3339_to_unix_ms(value: &str) -> PyResult<i64> {
    Ok(crate::time::unix_millis(
        crate::time::parse_rfc3339(value).map_err(CoreErr::from)?,
    ))
}

/// Milliseconds since the Unix epoch as an RFC 3339 UTC timestamp.
#[pyfunction]
pub(crate) fn unix_ms_to_rfc3339(ms: i64) -> PyResult<String> {
    Ok(crate::time::format_rfc3339(
        crate::time::from_unix_millis(ms).map_err(CoreErr::from)?,
    ))
}
