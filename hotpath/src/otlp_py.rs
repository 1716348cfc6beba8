//! OTLP/JSON's hot path as Python sees it (``sluice.hotpath.OTLP``, used by ``workers/hot.py``):
//! ``Otlp.map(values, envelopes)`` with ``Mapper.map``'s contract, the mapping fixed in otlp*.rs rather than
//! declared, since OTLP's nested messages are no flat entry of members.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::mapper::{Cols, Envelope};
use crate::otlp::{Config, Scratch};
use crate::{buffers, i32s, Env};

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
        if severities.iter().any(|(name, _)| name.len() > 32 || !name.is_ascii() || name.to_ascii_lowercase() != *name) {
            return Err(PyValueError::new_err("severity texts must be lower-case ASCII of at most 32 bytes"));
        }
        let bytes = |v: Vec<(String, u8)>| v.into_iter().map(|(name, n)| (name.into_bytes(), n)).collect();
        Ok(Otlp {
            config: Config {
                source: source.into_bytes(),
                severities: bytes(severities),
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
        let raw = [{ let s = body.as_bytes(); (s.as_ptr() as usize, s.len()) }];
        let envelope = [(String::new(), String::new(), String::new(), 0i64)];
        let config = &self.config;
        let (_, counts, _) = py.allow_threads(|| build(config, &raw, &envelope));
        usize::try_from(counts[0]).ok()
    }

    /// ``map(values, envelopes) -> (counts, declined, buffers)``, as ``Mapper.map``: a value's count is its log
    /// records, or -1 when it is declined (its reason in ``declined``).
    fn map<'py>(&self, py: Python<'py>, values: Vec<Bound<'py, PyBytes>>, envelopes: Vec<Env>)
                -> PyResult<(Bound<'py, PyBytes>, Vec<(usize, String)>, Bound<'py, PyTuple>)> {
        if values.len() != envelopes.len() {
            return Err(PyValueError::new_err("one envelope per value"));
        }
        // The bytes objects stay alive (held by `values`) and are immutable while the GIL is released.
        let raw: Vec<(usize, usize)> =
            values.iter().map(|v| { let s = v.as_bytes(); (s.as_ptr() as usize, s.len()) }).collect();
        let config = &self.config;
        let (cols, counts, declined) = py.allow_threads(|| build(config, &raw, &envelopes));
        drop(values);
        Ok((i32s(py, &counts), declined, buffers(py, &cols)?))
    }
}

fn build(config: &Config, values: &[(usize, usize)], envelopes: &[Env]) -> (Cols, Vec<i32>, Vec<(usize, String)>) {
    let total: usize = values.iter().map(|v| v.1).sum();
    let mut cols = Cols::with_capacity(total);
    let mut scratch = Scratch::default();
    let mut counts = Vec::with_capacity(values.len());
    let mut declined = Vec::new();
    for (index, (&(ptr, len), env)) in values.iter().zip(envelopes).enumerate() {
        let body = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
        let env = Envelope { tenant: env.0.as_bytes(), environment: env.1.as_bytes(), request_id: env.2.as_bytes(),
                             received_ns: env.3 };
        match cols.otlp(config, body, &env, &mut scratch) {
            Ok(n) => counts.push(n as i32),
            Err(message) => {
                counts.push(-1);
                declined.push((index, message));
            }
        }
    }
    (cols, counts, declined)
}
