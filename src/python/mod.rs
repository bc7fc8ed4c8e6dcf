//! The Python bindings: `samsara_fmc._core`. The only module of the crate that uses pyo3.

use pyo3::prelude::*;

mod matching;
mod vin;

/// The compiled module. Declarative: exports and `__version__`, nothing else.
#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::python::vin::{
        decode_vin, is_valid_vin, repair_vin, validate_vin, vin_check_digit, PyVinInfo, PyVinRepair,
    };

    #[pymodule_export]
    use crate::python::matching::{
        default_process, extract_one, jaro_winkler, levenshtein, match_drivers, match_vehicles, ratio,
        token_set_ratio, token_sort_ratio, unit_number,
    };

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", crate::VERSION)
    }
}
