//! The free-form hot path as Python sees it (``sluice.hotpath.FREE_FORM``, one per declaration):
//! ``FreeForm.map(values, envelopes)`` with ``Mapper.map``'s contract, built from the dialect's declaration
//! (``schemas.free_form.FreeForm``): which names fill which column, found by name among arbitrary members.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::free_form::Config;
use crate::free_form_event::Names;
use crate::severity::Severities;
use crate::{map_values, Env, Mapped};

/// A free-form mapping, ready to run.
#[pyclass(frozen, module = "sluice_hot")]
pub struct FreeForm {
    config: Config,
}

#[pymethods]
impl FreeForm {
    /// ``FreeForm(source, severities, dropped, time, host, columns)``: ``severities`` (lower-case text,
    /// number) as schemas/severity.py derives a number from a level's text; the rest a ``FreeForm``'s fields,
    /// ``columns`` as (role, names) pairs.
    #[new]
    fn new(source: String, severities: Vec<(String, u8)>, dropped: Vec<String>, time: String, host: String,
           columns: Vec<(String, Vec<String>)>) -> PyResult<Self> {
        let severities = Severities::new(severities).map_err(PyValueError::new_err)?;
        let names = Names::new(dropped, time, host, columns).map_err(PyValueError::new_err)?;
        Ok(FreeForm { config: Config { source: source.into_bytes(), names, severities } })
    }

    /// ``map(values, envelopes) -> (counts, declined, buffers)``, as ``Mapper.map``: a value's count is its
    /// events, or -1 when it is declined (its reason in ``declined``).
    fn map<'py>(&self, py: Python<'py>, values: Vec<Bound<'py, PyBytes>>, envelopes: Vec<Env>) -> PyResult<Mapped<'py>> {
        map_values(py, &self.config, values, envelopes)
    }
}
