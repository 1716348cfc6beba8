//! OTLP/JSON's hot path as Python sees it (``sluice.hotpath.OTLP``):
//! ``Otlp.map(values, envelopes)`` with ``Mapper.map``'s contract, the mapping fixed in otlp*.rs rather than
//! declared, since OTLP's nested messages are no flat entry of members.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::otlp::Config;
use crate::severity::Severities;
use crate::{count, map_values, Env, Mapped};

/// The OTLP/JSON mapping, ready to run.
#[pyclass(frozen, module = "sluice_hot")]
pub struct Otlp {
    config: Config,
}

#[pymethods]
impl Otlp {
    /// ``Otlp(source, severities, names, time_bounds)``: ``severities`` (lower-case text, number) as
    /// schemas/severity.py derives a number from a text; ``names`` SeverityNumber's (name, number);
    /// ``time_bounds`` the (least, greatest) nanoseconds ``Timestamp`` holds.
    #[new]
    fn new(source: String, severities: Vec<(String, u8)>, names: Vec<(String, u8)>, time_bounds: (i64, i64))
           -> PyResult<Self> {
        let bytes = |v: Vec<(String, u8)>| v.into_iter().map(|(name, n)| (name.into_bytes(), n)).collect();
        Ok(Otlp {
            config: Config {
                source: source.into_bytes(),
                severities: Severities::new(severities).map_err(PyValueError::new_err)?,
                names: bytes(names),
                time_low: time_bounds.0,
                time_high: time_bounds.1,
            },
        })
    }

    /// ``entries(body) -> int | None``, as ``Mapper.entries``: the request's log records when ``map`` maps it
    /// whole, else None (declined: the dialect's decoding says whether and why it is wrong). The gateway's
    /// check: the rows are built and dropped, never copied out.
    fn entries(&self, py: Python<'_>, body: &Bound<'_, PyBytes>) -> Option<usize> {
        count(py, &self.config, body)
    }

    /// ``map(values, envelopes) -> (counts, declined, buffers)``, as ``Mapper.map``: a value's count is its log
    /// records, or -1 when it is declined (its reason in ``declined``).
    fn map<'py>(&self, py: Python<'py>, values: Vec<Bound<'py, PyBytes>>, envelopes: Vec<Env>) -> PyResult<Mapped<'py>> {
        map_values(py, &self.config, values, envelopes)
    }
}
