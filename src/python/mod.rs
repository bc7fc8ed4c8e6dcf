//! The Python bindings: `samsara_fmc._core`. The only module of the crate that uses pyo3.

mod errors;
mod http;
mod matching;
mod units;
mod vin;

use pyo3::prelude::*;

/// The compiled module. Declarative: exports and `__version__`, nothing else.
#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::http::{convert_stats, PageIter, PyApiClient, PyPage, PyStatsPage, StatsPageIter};
    #[pymodule_export]
    use super::matching::{
        default_process, extract_one, jaro_winkler, levenshtein, match_drivers, match_vehicles, ratio,
        token_set_ratio, token_sort_ratio, unit_number,
    };
    #[pymodule_export]
    use super::units::{convert, normalize_rfc3339, rfc3339_to_unix_ms, unit_symbols, unix_ms_to_rfc3339};
    #[pymodule_export]
    use super::vin::{
        decode_vin, is_valid_vin, repair_vin, validate_vin, vin_check_digit, PyVinInfo, PyVinRepair,
    };

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", crate::VERSION)
    }
}
