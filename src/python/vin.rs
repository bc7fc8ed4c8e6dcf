//! Bindings for [`crate::vin`]: validation, check digit, repair and decoding.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::errors::invalid_vin_error;
use super::repr::py_repr;
use crate::vin;

/// The text of a VIN argument. `None` and other non-strings are an `InvalidVinError` (reason
/// `"empty"` for `None`, `"type"` otherwise), not pyo3's bare `TypeError`: a CSV column or a JSON
/// field without a value is the usual way a `None` arrives, and callers catch the package's errors.
fn vin_arg(vin: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = vin.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    if vin.is_none() {
        return Err(invalid_vin_error(
            "no VIN: got `None`; pass the VIN as a string".to_owned(),
            "empty",
        ));
    }
    let kind = vin.get_type().name()?;
    let shown = vin.repr()?;
    Err(invalid_vin_error(
        format!("a VIN is a string, got {kind} `{shown}`: pass it as `str`"),
        "type",
    ))
}

/// A repair candidate: the VIN, the edits as text and as `(kind, position)` pairs, and its cost.
#[pyclass(name = "VinRepair", module = "samsara_fmc._core", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct PyVinRepair {
    candidate: String,
    edit: String,
    edits: Vec<(&'static str, usize)>,
    cost: f64,
}

#[pymethods]
impl PyVinRepair {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        py_repr(
            py,
            "VinRepair",
            &[
                ("candidate", self.candidate.clone().into_pyobject(py)?.into_any()),
                ("edit", self.edit.clone().into_pyobject(py)?.into_any()),
                ("edits", self.edits.clone().into_pyobject(py)?.into_any()),
                ("cost", self.cost.into_pyobject(py)?.into_any()),
            ],
        )
    }
}

/// A decoded VIN.
#[pyclass(name = "VinInfo", module = "samsara_fmc._core", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct PyVinInfo {
    vin: String,
    wmi: String,
    vds: String,
    check_digit: char,
    check_digit_valid: bool,
    model_year_code: char,
    model_year: u16,
    model_year_candidates: (u16, u16),
    plant: char,
    serial: String,
    manufacturer: Option<&'static str>,
    country: Option<&'static str>,
    north_american: bool,
    small_manufacturer: bool,
    warnings: Vec<&'static str>,
}

#[pymethods]
impl PyVinInfo {
    /// Every field, as Python writes its values (`manufacturer='Freightliner'`, `country=None`).
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        py_repr(
            py,
            "VinInfo",
            &[
                ("vin", self.vin.as_str().into_pyobject(py)?.into_any()),
                ("wmi", self.wmi.as_str().into_pyobject(py)?.into_any()),
                ("vds", self.vds.as_str().into_pyobject(py)?.into_any()),
                ("check_digit", self.check_digit.into_pyobject(py)?.into_any()),
                (
                    "check_digit_valid",
                    self.check_digit_valid.into_pyobject(py)?.to_owned().into_any(),
                ),
                (
                    "model_year_code",
                    self.model_year_code.into_pyobject(py)?.into_any(),
                ),
                ("model_year", self.model_year.into_pyobject(py)?.into_any()),
                (
                    "model_year_candidates",
                    self.model_year_candidates.into_pyobject(py)?.into_any(),
                ),
                ("plant", self.plant.into_pyobject(py)?.into_any()),
                ("serial", self.serial.as_str().into_pyobject(py)?.into_any()),
                ("manufacturer", self.manufacturer.into_pyobject(py)?.into_any()),
                ("country", self.country.into_pyobject(py)?.into_any()),
                (
                    "north_american",
                    self.north_american.into_pyobject(py)?.to_owned().into_any(),
                ),
                (
                    "small_manufacturer",
                    self.small_manufacturer.into_pyobject(py)?.to_owned().into_any(),
                ),
                ("warnings", self.warnings.clone().into_pyobject(py)?.into_any()),
            ],
        )
    }
}

/// The normalised VIN, or `InvalidVinError`.
#[pyfunction]
pub(crate) fn validate_vin(vin: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(vin::validate(&vin_arg(vin)?)?.into_string())
}

/// Whether `vin` is a valid VIN; never raises (non-strings are not VINs).
#[pyfunction]
pub(crate) fn is_valid_vin(vin: &Bound<'_, PyAny>) -> bool {
    vin.extract::<&str>().is_ok_and(vin::is_valid)
}

/// The check digit `vin` should carry at position 9.
#[pyfunction]
pub(crate) fn vin_check_digit(vin: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(vin::check_digit_of(&vin_arg(vin)?)?.to_string())
}

/// Repair candidates, best first.
#[pyfunction]
#[pyo3(signature = (vin, limit = 10))]
pub(crate) fn repair_vin(vin: &Bound<'_, PyAny>, limit: usize) -> PyResult<Vec<PyVinRepair>> {
    Ok(vin::repair(&vin_arg(vin)?, limit)
        .into_iter()
        .map(|r| PyVinRepair {
            edit: r.description(),
            edits: r
                .edits
                .iter()
                .map(|e| match *e {
                    vin::VinEdit::Substitute { position, .. }
                    | vin::VinEdit::Transpose { position }
                    | vin::VinEdit::Insert { position, .. }
                    | vin::VinEdit::Delete { position, .. } => (e.kind(), position),
                })
                .collect(),
            cost: (f64::from(r.cost) * 1000.0).round() / 1000.0,
            candidate: r.candidate,
        })
        .collect())
}

/// Validates and decodes `vin`.
#[pyfunction]
pub(crate) fn decode_vin(vin: &Bound<'_, PyAny>) -> PyResult<PyVinInfo> {
    let i = vin::decode(&vin_arg(vin)?)?;
    Ok(PyVinInfo {
        vin: i.vin,
        wmi: i.wmi,
        vds: i.vds,
        check_digit: i.check_digit,
        check_digit_valid: i.check_digit_valid,
        model_year_code: i.model_year_code,
        model_year: i.model_year,
        model_year_candidates: (i.model_year_candidates[0], i.model_year_candidates[1]),
        plant: i.plant,
        serial: i.serial,
        manufacturer: i.manufacturer,
        country: i.country,
        north_american: i.north_american,
        small_manufacturer: i.small_manufacturer,
        warnings: i.warnings,
    })
}
