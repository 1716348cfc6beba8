//! LogFlux's hot path as Python sees it (``workers/logflux_hot.py``), in two calls around the key cache:
//! ``LogFlux.scan(values, batch)`` reads a run of records and tells each one's distinct salts; Python looks
//! their derived keys up in its cache; ``LogFlux.map(scanned, keys, envelopes)`` decrypts and maps.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::decrypt::{map, Config, Keys};
use crate::logflux::Scan;
use crate::mapper::Envelope;
use crate::{buffers, i32s, Env};

/// The mapping of LogFlux records (their declared levels and node attributes), ready to run.
#[pyclass(frozen, module = "sluice_hot")]
pub struct LogFlux {
    config: Config,
}

/// A run of records read by ``LogFlux.scan``: their entries' fields, decoded, held in Rust.
#[pyclass(frozen, module = "sluice_hot")]
pub struct Scanned {
    scan: Scan,
}

#[pymethods]
impl LogFlux {
    /// ``LogFlux(source, levels, node_keys)``: ``levels`` the (text, severity number) of loglevels 1, 2, …;
    /// ``node_keys`` the resource attributes that hold an entry's ``node``.
    #[new]
    fn new(source: String, levels: Vec<(String, u8)>, node_keys: Vec<String>) -> PyResult<Self> {
        if levels.len() < 8 {
            return Err(PyValueError::new_err("LogFlux has 8 levels: one (text, number) each"));
        }
        Ok(LogFlux {
            config: Config {
                source: source.into_bytes(),
                levels: levels.into_iter().map(|(t, n)| (t.into_bytes(), n)).collect(),
                node_keys: node_keys.into_iter().map(String::into_bytes).collect(),
            },
        })
    }

    /// ``scan(values, batch) -> Scanned``: ``batch``: the values are ``{"entries": [...]}`` (else one entry).
    fn scan(&self, py: Python<'_>, values: Vec<Bound<'_, PyBytes>>, batch: bool) -> Scanned {
        // The bytes objects stay alive (held by `values`) and are immutable while the GIL is released.
        let raw: Vec<(usize, usize)> =
            values.iter().map(|v| { let s = v.as_bytes(); (s.as_ptr() as usize, s.len()) }).collect();
        let scan = py.allow_threads(|| {
            let slices: Vec<&[u8]> =
                raw.iter().map(|&(ptr, len)| unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }).collect();
            Scan::new(&slices, batch)
        });
        Scanned { scan }
    }

    /// ``map(scanned, keys, envelopes) -> (counts, declined, buffers)`` as ``Mapper.map``; ``keys`` holds per
    /// record None (declined: a key is not cached) or, per salt of ``scanned.salts()``, the 32-byte keys to
    /// try, newest secret first.
    fn map<'py>(&self, py: Python<'py>, scanned: &Scanned, keys: Vec<Option<Vec<Vec<Bound<'py, PyBytes>>>>>,
                envelopes: Vec<Env>) -> PyResult<(Bound<'py, PyBytes>, Vec<(usize, String)>, Bound<'py, PyTuple>)> {
        let records = scanned.scan.records.len();
        if keys.len() != records || envelopes.len() != records {
            return Err(PyValueError::new_err("one key list and one envelope per scanned record"));
        }
        let mut owned: Keys = Vec::with_capacity(records);
        for (record, salts) in scanned.scan.records.iter().zip(&keys) {
            owned.push(match (record, salts) {
                (Ok(r), Some(salts)) => {
                    if salts.len() != r.salts.len() {
                        return Err(PyValueError::new_err("one key list per salt of the record"));
                    }
                    let mut per_salt = Vec::with_capacity(salts.len());
                    for candidates in salts {
                        let mut list = Vec::with_capacity(candidates.len());
                        for key in candidates {
                            list.push(<[u8; 32]>::try_from(key.as_bytes())
                                .map_err(|_| PyValueError::new_err("a derived key is 32 bytes"))?);
                        }
                        per_salt.push(list);
                    }
                    Some(per_salt)
                }
                _ => None,
            });
        }
        let config = &self.config;
        let scan = &scanned.scan;
        let (cols, counts, declined) = py.allow_threads(|| {
            let envs: Vec<Envelope> = envelopes.iter().map(|e| Envelope {
                tenant: e.0.as_bytes(), environment: e.1.as_bytes(), request_id: e.2.as_bytes(), received_ns: e.3,
            }).collect();
            map(config, scan, &owned, &envs)
        });
        Ok((i32s(py, &counts), declined, buffers(py, &cols)?))
    }
}

#[pymethods]
impl Scanned {
    /// Per record: its distinct salts in first-seen order, or None when it is declined already.
    fn salts<'py>(&self, py: Python<'py>) -> Vec<Option<Vec<Bound<'py, PyBytes>>>> {
        self.scan.records.iter()
            .map(|r| r.as_ref().ok().map(|r| r.salts.iter().map(|s| PyBytes::new(py, s)).collect()))
            .collect()
    }

    /// Per record: why it is declined, or None.
    fn declined(&self) -> Vec<Option<String>> {
        self.scan.records.iter().map(|r| r.as_ref().err().cloned()).collect()
    }
}
