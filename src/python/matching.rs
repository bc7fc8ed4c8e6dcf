//! Bindings for [`crate::matching`]: scorers, `extract_one`, unit numbers, vehicle and driver matching.
//!
//! Records cross as tuples the façade (`samsara_fmc.matching`) builds from dicts; results come back
//! as `(links, review, unmatched_left, unmatched_right)` with links as
//! `(left_index, right_index, score, reasons)`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::matching::{self, Driver, MatchOptions, MatchResult, Scorer, Vehicle};

/// `(id, vin, licensePlate, licensePlateState, name, make, model, year, externalIds)`.
type VehicleTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<u16>,
    Vec<(String, String)>,
);

/// `(id, name, licenseNumber, licenseState, email, phone, username, externalIds)`.
type DriverTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

type LinkTuple = (usize, usize, f64, Vec<&'static str>);
type ResultTuple = (Vec<LinkTuple>, Vec<LinkTuple>, Vec<usize>, Vec<usize>);

fn scorer(name: &str) -> PyResult<Scorer> {
    Ok(match name {
        "ratio" => Scorer::Ratio,
        "jaro_winkler" => Scorer::JaroWinkler,
        "token_sort_ratio" => Scorer::TokenSortRatio,
        "token_set_ratio" => Scorer::TokenSetRatio,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown scorer `{other}`; expected `ratio`, `jaro_winkler`, `token_sort_ratio` or `token_set_ratio`"
            )))
        }
    })
}

fn options(score_cutoff: f64, review_margin: f64) -> PyResult<MatchOptions> {
    if !score_cutoff.is_finite() || !review_margin.is_finite() || review_margin < 0.0 {
        return Err(PyValueError::new_err(format!(
            "score_cutoff `{score_cutoff}` and review_margin `{review_margin}` must be finite, the margin ≥ 0"
        )));
    }
    Ok(MatchOptions {
        score_cutoff,
        review_margin,
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

/// Matches vehicle tuples; see the module docs for the shapes.
#[pyfunction]
pub(crate) fn match_vehicles(
    py: Python<'_>,
    left: Vec<VehicleTuple>,
    right: Vec<VehicleTuple>,
    score_cutoff: f64,
    review_margin: f64,
) -> PyResult<ResultTuple> {
    let opts = options(score_cutoff, review_margin)?;
    let conv = |t: VehicleTuple| Vehicle {
        id: t.0,
        vin: t.1,
        license_plate: t.2,
        license_plate_state: t.3,
        name: t.4,
        make: t.5,
        model: t.6,
        year: t.7,
        external_ids: t.8,
    };
    let (l, r): (Vec<Vehicle>, Vec<Vehicle>) = (
        left.into_iter().map(conv).collect(),
        right.into_iter().map(conv).collect(),
    );
    Ok(py.detach(|| result_tuple(matching::match_vehicles(&l, &r, &opts))))
}

/// Matches driver tuples; see the module docs for the shapes.
#[pyfunction]
pub(crate) fn match_drivers(
    py: Python<'_>,
    left: Vec<DriverTuple>,
    right: Vec<DriverTuple>,
    score_cutoff: f64,
    review_margin: f64,
) -> PyResult<ResultTuple> {
    let opts = options(score_cutoff, review_margin)?;
    let conv = |t: DriverTuple| Driver {
        id: t.0,
        name: t.1,
        license_number: t.2,
        license_state: t.3,
        email: t.4,
        phone: t.5,
        username: t.6,
        external_ids: t.7,
    };
    let (l, r): (Vec<Driver>, Vec<Driver>) = (
        left.into_iter().map(conv).collect(),
        right.into_iter().map(conv).collect(),
    );
    Ok(py.detach(|| result_tuple(matching::match_drivers(&l, &r, &opts))))
}
