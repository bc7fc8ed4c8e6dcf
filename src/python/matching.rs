//! Bindings for [`crate::matching`]: scorers, `extract_one`, unit numbers, vehicle and driver matching.
//!
//! Records cross as the Python dicts themselves: the façade (`samsara_fmc.matching`) passes a list of
//! dicts (other record types turned into dicts first) and, per field, the key aliases to try in order
//! (`samsara_fmc._matching_records.VEHICLE_FIELDS` / `DRIVER_FIELDS`); the fields are read here, where
//! it costs a fraction of building a tuple per record in Python. Results come back as
//! `(links, review, unmatched_left, unmatched_right)` with links as
//! `(left_index, right_index, score, reasons)`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping, PyString};

use super::errors::{config_error, record_type_error};
use crate::matching::{self, Driver, MatchOptions, MatchResult, Scorer, Vehicle};

type LinkTuple = (usize, usize, f64, Vec<&'static str>);
type ResultTuple = (Vec<LinkTuple>, Vec<LinkTuple>, Vec<usize>, Vec<usize>);

fn scorer(name: &str) -> PyResult<Scorer> {
    Ok(match name {
        "ratio" => Scorer::Ratio,
        "jaro_winkler" => Scorer::JaroWinkler,
        "token_sort_ratio" => Scorer::TokenSortRatio,
        "token_set_ratio" => Scorer::TokenSetRatio,
        other => {
            return Err(config_error(format!(
                "unknown scorer `{other}`; expected `ratio`, `jaro_winkler`, `token_sort_ratio` or `token_set_ratio`"
            )))
        }
    })
}

fn options(score_cutoff: f64, review_margin: f64, near_miss: Option<f64>) -> PyResult<MatchOptions> {
    if !score_cutoff.is_finite() || !review_margin.is_finite() || review_margin < 0.0 {
        return Err(config_error(format!(
            "score_cutoff `{score_cutoff}` and review_margin `{review_margin}` must be finite, the margin ≥ 0"
        )));
    }
    if let Some(n) = near_miss.filter(|n| !n.is_finite() || *n < 0.0) {
        return Err(config_error(format!(
            "near_miss `{n}` must be a finite number of points ≥ 0 (0 turns near-miss review off)"
        )));
    }
    Ok(MatchOptions {
        score_cutoff,
        review_margin,
        near_miss,
    })
}

fn result_tuple(r: MatchResult) -> ResultTuple {
    let conv = |l: &matching::Link| {
        (
            l.left,
            l.right,
            l.score,
            l.reasons.iter().map(matching::Reason::code).collect(),
        )
    };
    (
        r.links.iter().map(conv).collect(),
        r.review.iter().map(conv).collect(),
        r.unmatched_left,
        r.unmatched_right,
    )
}

/// Jaro-Winkler similarity, 0–100.
#[pyfunction]
pub(crate) fn jaro_winkler(a: &str, b: &str) -> f64 {
    matching::jaro_winkler(a, b)
}

/// Indel ratio, 0–100 (RapidFuzz `fuzz.ratio`).
#[pyfunction]
pub(crate) fn ratio(a: &str, b: &str) -> f64 {
    matching::ratio(a, b)
}

/// Token-sort ratio, 0–100.
#[pyfunction]
pub(crate) fn token_sort_ratio(a: &str, b: &str) -> f64 {
    matching::token_sort_ratio(a, b)
}

/// Token-set ratio, 0–100.
#[pyfunction]
pub(crate) fn token_set_ratio(a: &str, b: &str) -> f64 {
    matching::token_set_ratio(a, b)
}

/// Levenshtein distance.
#[pyfunction]
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    matching::levenshtein(a, b)
}

/// RapidFuzz's default processor.
#[pyfunction]
pub(crate) fn default_process(s: &str) -> String {
    matching::default_process(s)
}

/// The unit number in a vehicle name, leading zeros dropped.
#[pyfunction]
pub(crate) fn unit_number(name: &str) -> Option<String> {
    matching::normalize::unit_number(name)
}

/// A person's name with mojibake repaired and accented Latin letters folded to ASCII.
#[pyfunction]
pub(crate) fn fold_name(name: &str) -> String {
    matching::fold::fold_to_ascii(name)
}

/// A licence number as driver matching compares it (state prefix and leading zeros dropped).
#[pyfunction]
pub(crate) fn license_key(value: &str) -> Option<String> {
    matching::normalize::license_key(value)
}

/// An employee number as driver matching compares it (float exports and leading zeros undone).
#[pyfunction]
pub(crate) fn employee_key(value: &str) -> Option<String> {
    matching::normalize::employee_key(value)
}

/// A phone number's ten digits as driver matching compares them (extension cut off).
#[pyfunction]
pub(crate) fn phone_key(value: &str) -> Option<String> {
    matching::normalize::phone_key(value)
}

/// `(index, score)` of the best choice at or above `score_cutoff`, or `None`.
#[pyfunction]
#[allow(clippy::needless_pass_by_value)] // pyo3 extracts a list into a `Vec`, not a slice.
pub(crate) fn extract_one(
    py: Python<'_>,
    query: &str,
    choices: Vec<String>,
    scorer_name: &str,
    score_cutoff: f64,
) -> PyResult<Option<(usize, f64)>> {
    let s = scorer(scorer_name)?;
    Ok(py.detach(|| matching::extract_one(query, &choices, s, score_cutoff)))
}

/// One record's fields, read from a dict by key aliases.
struct Reader<'py> {
    /// Per field, its aliases as Python strings (made once per call).
    fields: Vec<Vec<Bound<'py, PyString>>>,
    /// Whether the records carry flattened `externalIds.<key>` columns (judged on the first).
    flat: bool,
    external: [Bound<'py, PyString>; 2],
}

/// The text of a value as Python's `str()` gives it, stripped; `None` for `None` or blank text.
fn text(v: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if v.is_none() {
        return Ok(None);
    }
    let t = match v.cast::<PyString>() {
        Ok(s) => s.to_str()?.trim().to_owned(),
        Err(_) => v.str()?.to_str()?.trim().to_owned(),
    };
    Ok((!t.is_empty()).then_some(t))
}

/// A model year from text: any number Python's `float()` reads, truncated, 1900–2100.
fn year(value: Option<&str>) -> Option<u16> {
    let y = value?.parse::<f64>().ok().filter(|y| y.is_finite())?.trunc();
    // The range check makes the cast exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (1900.0..=2100.0).contains(&y).then_some(y as u16)
}

/// A JSON value as text, the way Python's `str()` shows the decoded value (for scalars).
fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(true) => Some("True".into()),
        serde_json::Value::Bool(false) => Some("False".into()),
        other => Some(other.to_string()),
    }
}

impl<'py> Reader<'py> {
    fn new(py: Python<'py>, aliases: &[Vec<String>], records: &Bound<'py, PyList>) -> Self {
        let flat = match records.iter().next() {
            Some(first) => match first.cast::<PyDict>() {
                Ok(d) => d.keys().iter().any(|k| {
                    k.cast::<PyString>()
                        .ok()
                        .and_then(|s| s.to_str().ok().map(|s| s.starts_with("externalIds.")))
                        .unwrap_or(false)
                }),
                Err(_) => false,
            },
            None => false,
        };
        Self {
            fields: aliases
                .iter()
                .map(|names| names.iter().map(|n| PyString::intern(py, n)).collect())
                .collect(),
            flat,
            external: [
                PyString::intern(py, "externalIds"),
                PyString::intern(py, "external_ids"),
            ],
        }
    }

    /// The first non-blank value under one of field `i`'s aliases.
    fn pick(&self, d: &Bound<'py, PyDict>, i: usize) -> PyResult<Option<String>> {
        for name in self.fields.get(i).map_or(&[][..], Vec::as_slice) {
            if let Some(v) = d.get_item(name)? {
                if let Some(t) = text(&v)? {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }

    /// `externalIds` (or `external_ids`) as a mapping or a JSON object string, plus flattened
    /// `externalIds.<key>` entries when the records have them.
    fn external_ids(&self, d: &Bound<'py, PyDict>) -> PyResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        let raw = match d.get_item(&self.external[0])? {
            Some(v) => Some(v),
            None => d.get_item(&self.external[1])?,
        };
        if let Some(raw) = raw {
            if let Ok(s) = raw.cast::<PyString>() {
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(s.to_str()?.trim()) {
                    for (k, v) in &map {
                        if let Some(v) = json_text(v).filter(|v| !v.trim().is_empty()) {
                            out.push((k.clone(), v));
                        }
                    }
                }
            } else if let Ok(m) = raw.cast::<PyMapping>() {
                for item in m.items()?.iter() {
                    let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item.extract()?;
                    if v.is_none() {
                        continue;
                    }
                    let v = v.str()?.to_str()?.to_owned();
                    if !v.trim().is_empty() {
                        out.push((k.str()?.to_str()?.to_owned(), v));
                    }
                }
            }
        }
        if self.flat {
            for (k, v) in d.iter() {
                let Ok(k) = k.cast::<PyString>() else { continue };
                if let Some(key) = k.to_str()?.strip_prefix("externalIds.") {
                    if let Some(v) = text(&v)? {
                        out.push((key.to_owned(), v));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The records of a list, each a dict.
fn dicts<'py>(records: &Bound<'py, PyList>) -> PyResult<Vec<Bound<'py, PyDict>>> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.cast_into::<PyDict>().map_err(|e| {
                record_type_error(format!(
                    "record {i} must be a dict, not `{}`",
                    e.into_inner()
                        .get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ))
            })
        })
        .collect()
}

fn vehicles(py: Python<'_>, records: &Bound<'_, PyList>, aliases: &[Vec<String>]) -> PyResult<Vec<Vehicle>> {
    let r = Reader::new(py, aliases, records);
    dicts(records)?
        .iter()
        .map(|d| {
            Ok(Vehicle {
                id: r.pick(d, 0)?.unwrap_or_default(),
                vin: r.pick(d, 1)?,
                license_plate: r.pick(d, 2)?,
                license_plate_state: r.pick(d, 3)?,
                name: r.pick(d, 4)?,
                make: r.pick(d, 5)?,
                model: r.pick(d, 6)?,
                year: year(r.pick(d, 7)?.as_deref()),
                external_ids: r.external_ids(d)?,
            })
        })
        .collect()
}

fn drivers(py: Python<'_>, records: &Bound<'_, PyList>, aliases: &[Vec<String>]) -> PyResult<Vec<Driver>> {
    let r = Reader::new(py, aliases, records);
    dicts(records)?
        .iter()
        .map(|d| {
            Ok(Driver {
                id: r.pick(d, 0)?.unwrap_or_default(),
                name: r.pick(d, 1)?,
                license_number: r.pick(d, 2)?,
                license_state: r.pick(d, 3)?,
                email: r.pick(d, 4)?,
                phone: r.pick(d, 5)?,
                username: r.pick(d, 6)?,
                employee_id: r.pick(d, 7)?,
                external_ids: r.external_ids(d)?,
            })
        })
        .collect()
}

/// Checks the alias table has the expected number of fields.
fn check_fields(aliases: &[Vec<String>], n: usize) -> PyResult<()> {
    if aliases.len() == n {
        Ok(())
    } else {
        Err(config_error(format!(
            "expected aliases for {n} fields, got {}",
            aliases.len()
        )))
    }
}

/// Matches vehicle dicts; `fields` are the aliases of `id, vin, licensePlate, licensePlateState,
/// name, make, model, year`.
#[pyfunction]
#[pyo3(signature = (left, right, fields, score_cutoff, review_margin, near_miss=None))]
#[allow(clippy::needless_pass_by_value)] // pyo3 extracts a list into a `Vec`, not a slice.
pub(crate) fn match_vehicles(
    py: Python<'_>,
    left: &Bound<'_, PyList>,
    right: &Bound<'_, PyList>,
    fields: Vec<Vec<String>>,
    score_cutoff: f64,
    review_margin: f64,
    near_miss: Option<f64>,
) -> PyResult<ResultTuple> {
    let opts = options(score_cutoff, review_margin, near_miss)?;
    check_fields(&fields, 8)?;
    let (l, r) = (vehicles(py, left, &fields)?, vehicles(py, right, &fields)?);
    Ok(py.detach(|| result_tuple(matching::match_vehicles(&l, &r, &opts))))
}

/// Matches driver dicts; `fields` are the aliases of `id, name, licenseNumber, licenseState, email,
/// phone, username, employeeId`.
#[pyfunction]
#[pyo3(signature = (left, right, fields, score_cutoff, review_margin, near_miss=None))]
#[allow(clippy::needless_pass_by_value)] // pyo3 extracts a list into a `Vec`, not a slice.
pub(crate) fn match_drivers(
    py: Python<'_>,
    left: &Bound<'_, PyList>,
    right: &Bound<'_, PyList>,
    fields: Vec<Vec<String>>,
    score_cutoff: f64,
    review_margin: f64,
    near_miss: Option<f64>,
) -> PyResult<ResultTuple> {
    let opts = options(score_cutoff, review_margin, near_miss)?;
    check_fields(&fields, 8)?;
    let (l, r) = (drivers(py, left, &fields)?, drivers(py, right, &fields)?);
    Ok(py.detach(|| result_tuple(matching::match_drivers(&l, &r, &opts))))
}
