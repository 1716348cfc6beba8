//! Logstash's hot path as Python sees it (``sluice.hotpath.LOGSTASH``, used by ``workers/hot.py``):
//! ``Logstash.map(values, envelopes)`` with ``Mapper.map``'s contract, the mapping fixed in logstash*.rs rather
//! than declared, since an event's fields are found by name among arbitrary ones, not declared as members.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::logstash::Config;
use crate::severity::Severities;
use crate::{map_values, Env, Mapped};

/// The Logstash mapping, ready to run.
#[pyclass(frozen, module = "sluice_hot")]
pub struct Logstash {
    config: Config,
}

#[pymethods]
impl Logstash {
    /// ``Logstash(source, severities)``: ``severities`` (lower-case text, number) as schemas/severity.py
    /// derives a number from a level's text.
    #[new]
    fn new(source: String, severities: Vec<(String, u8)>) -> PyResult<Self> {
        let severities = Severities::new(severities).map_err(PyValueError::new_err)?;
        Ok(Logstash { config: Config { source: source.into_bytes(), severities } })
    }

    /// ``map(values, envelopes) -> (counts, declined, buffers)``, as ``Mapper.map``: a value's count is its
    /// events, or -1 when it is declined (its reason in ``declined``).
    fn map<'py>(&self, py: Python<'py>, values: Vec<Bound<'py, PyBytes>>, envelopes: Vec<Env>) -> PyResult<Mapped<'py>> {
        map_values(py, &self.config, values, envelopes)
    }
}
