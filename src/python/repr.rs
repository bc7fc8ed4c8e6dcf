//! `__repr__` of the result classes in Python's own notation (`VinInfo(manufacturer='Freightliner',
//! country=None, …)`), not Rust's `Debug` (`Some("Freightliner")`): each value is shown by Python's
//! `repr()`.

use pyo3::prelude::*;

/// `Name(field=repr(value), …)`.
pub(crate) fn py_repr(_py: Python<'_>, name: &str, fields: &[(&str, Bound<'_, PyAny>)]) -> PyResult<String> {
    let mut out = String::with_capacity(16 * fields.len() + name.len() + 2);
    out.push_str(name);
    out.push('(');
    for (i, (field, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(field);
        out.push('=');
        out.push_str(value.repr()?.to_str()?);
    }
    out.push(')');
    Ok(out)
}
