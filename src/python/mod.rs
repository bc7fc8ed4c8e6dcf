//! The Python bindings: `samsara_fmc._core`. The only module of the crate that uses pyo3.

use pyo3::prelude::*;

/// The compiled module. Declarative: exports and `__version__`, nothing else.
#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", crate::VERSION)
    }
}
