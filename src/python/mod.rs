//! The Python bindings: `samsara_fmc._core`. The only module of the crate that uses pyo3.

mod errors;
mod http;
mod matching;
mod repr;
mod units;
mod vin;

use pyo3::prelude::*;

/// The compiled module. Declarative: exports and `__version__`, nothing else.
#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::http::{
        convert_stats, PageIter, PyApiClient, PyFmcClient, PyPage, PyStatsPage, StatsPageIter,
    };
    #[pymodule_export]
    use super::matching::{
        default_process, employee_key, extract_one, fold_name, jaro_winkler, levenshtein, license_key,
        match_drivers, match_vehicles, phone_key, ratio, token_set_ratio, token_sort_ratio, unit_number,
    };
    #[pymodule_export]
    use super::units::{convert, normalize_rfc3339, rfc3339_to_unix_ms, unit_symbols, unix_ms_to_rfc3339};
    #[pymodule_export]
    use super::vin::{
        decode_vin, is_valid_vin, repair_vin, validate_vin, vin_check_digit, PyVinInfo, PyVinRepair,
    };

    /// `__version__` and the defaults defined once in the core, which `samsara_fmc.client` and the
    /// sinks read from here.
    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        use crate::http::{RetryPolicy, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
        let retry = RetryPolicy::DEFAULT;
        m.add("__version__", crate::VERSION)?;
        m.add("DEFAULT_API_VERSION", crate::http::DEFAULT_API_VERSION)?;
        m.add("DEFAULT_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT.as_secs_f64())?;
        m.add("DEFAULT_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT.as_secs_f64())?;
        m.add("DEFAULT_MAX_ATTEMPTS", retry.max_attempts)?;
        m.add("DEFAULT_BASE_DELAY", retry.base_delay.as_secs_f64())?;
        m.add("DEFAULT_MAX_DELAY", retry.max_delay.as_secs_f64())?;
        m.add("DEFAULT_MAX_ELAPSED", retry.max_elapsed.as_secs_f64())?;
        m.add("FMC_MAX_BATCH", crate::http::FMC_MAX_BATCH)?;
        Ok(())
    }
}
