//! Bindings for [`crate::vin`]: validation, check digit, repair and decoding.

use pyo3::prelude::*;

use crate::vin;

/// A repair candidate: the VIN, the edits as text and as `(kind, position)` pairs, and its cost.
#[pyclass(name = "VinRepair", module = "samsara_fmc._core", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct PyVinRepair {
    candidate: String,
    edit: String,
    edits: Vec<(&'static str, usize)>,
    cost: f32,
}

#[pymethods]
impl PyVinRepair {
    fn __repr__(&self) -> String {
        format!("VinRepair(candidate={:?}, edit={:?})", self.candidate, self.edit)
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
    fn __repr__(&self) -> String {
        format!(
            "VinInfo(vin={:?}, manufacturer={:?}, country={:?}, model_year={})",
            self.vin, self.manufacturer, self.country, self.model_year
        )
    }
}

/// The normalised VIN, or `InvalidVinError`.
#[pyfunction]
pub(crate) fn validate_vin(vin: &str) -> PyResult<String> {
    Ok(vin::validate(vin)?.into_string())
}

/// Whether `vin` is a valid VIN; never raises (non-strings are not VINs).
#[pyfunction]
pub(crate) fn is_valid_vin(vin: &Bound<'_, PyAny>) -> bool {
    vin.extract::<&str>().is_ok_and(vin::is_valid)
}

/// The check digit `vin` should carry at position 9.
#[pyfunction]
pub(crate) fn vin_check_digit(vin: &str) -> PyResult<String> {
    Ok(vin::check_digit_of(vin)?.to_string())
}

/// Repair candidates, best first.
#[pyfunction]
#[pyo3(signature = (vin, limit = 10))]
pub(crate) fn repair_vin(vin: &str, limit: usize) -> Vec<PyVinRepair> {
    vin::repair(vin, limit)
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
            cost: r.cost,
            candidate: r.candidate,
        })
        .collect()
}

/// Validates and decodes `vin`.
#[pyfunction]
pub(crate) fn decode_vin(vin: &str) -> PyResult<PyVinInfo> {
    let i = vin::decode(vin)?;
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
