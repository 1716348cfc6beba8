//! LogFlux's hot path as the worker sees it, in two calls around the key cache:
//! ``LogFlux.scan(values, batch, tenants)`` reads a run of records and tells the distinct (tenant, salt) pairs
//! they use; Python looks their derived keys up in its cache, once per pair, not per record or entry;
//! ``LogFlux.map(scanned, keys, envelopes)`` decrypts and maps.

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::decrypt::{map, Config, Keys};
use crate::logflux::Scan;
use crate::mapper::Envelope;
use crate::{buffers, i32s, Env, Mapped};

/// The mapping of LogFlux records (their declared levels and node attributes), ready to run.
#[pyclass(frozen, module = "sluice_hot")]
pub struct LogFlux {
    config: Config,
}

/// A run of records read by ``LogFlux.scan``: their entries' fields, decoded, held in Rust, and the distinct
/// (tenant, salt) pairs whose keys they need.
#[pyclass(frozen, module = "sluice_hot")]
pub struct Scanned {
    scan: Scan,
    pairs: Vec<(String, [u8; 32])>,
    /// Per record, the pair of each of its salts.
    record_pairs: Vec<Vec<usize>>,
}

#[pymethods]
impl LogFlux {
    /// ``LogFlux(source, levels, node_keys, body_fields)``: ``levels`` the (text, severity number) of loglevels
    /// 1, 2, …; ``node_keys`` the resource attributes that hold an entry's ``node``; ``body_fields`` the
    /// members of a JSON plaintext that may be the body, first preferred.
    #[new]
    fn new(source: String, levels: Vec<(String, u8)>, node_keys: Vec<String>, body_fields: Vec<String>) -> PyResult<Self> {
        if levels.len() < 8 {
            return Err(PyValueError::new_err("LogFlux has 8 levels: one (text, number) each"));
        }
        Ok(LogFlux {
            config: Config {
                source: source.into_bytes(),
                levels: levels.into_iter().map(|(t, n)| (t.into_bytes(), n)).collect(),
                node_keys: node_keys.into_iter().map(String::into_bytes).collect(),
                body_fields: body_fields.into_iter().map(String::into_bytes).collect(),
            },
        })
    }

    /// ``scan(values, batch, tenants) -> Scanned``: ``batch``: the values are ``{"entries": [...]}`` (else one
    /// entry each); ``tenants``: each value's tenant.
    fn scan(&self, py: Python<'_>, values: Vec<Bound<'_, PyBytes>>, batch: bool, tenants: Vec<String>) -> PyResult<Scanned> {
        if tenants.len() != values.len() {
            return Err(PyValueError::new_err("one tenant per value"));
        }
        // The bytes objects stay alive (held by `values`) and are immutable while the GIL is released.
        let raw: Vec<(usize, usize)> =
            values.iter().map(|v| { let s = v.as_bytes(); (s.as_ptr() as usize, s.len()) }).collect();
        Ok(py.allow_threads(|| {
            let slices: Vec<&[u8]> =
                raw.iter().map(|&(ptr, len)| unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }).collect();
            let scan = Scan::new(&slices, batch);
            let mut index: HashMap<(&str, [u8; 32]), usize> = HashMap::new();
            let mut pairs = Vec::new();
            let record_pairs = scan.records.iter().zip(&tenants).map(|(record, tenant)| match record {
                Ok(r) => r.salts.iter().map(|salt| *index.entry((tenant.as_str(), *salt)).or_insert_with(|| {
                    pairs.push((tenant.clone(), *salt));
                    pairs.len() - 1
                })).collect(),
                Err(_) => Vec::new(),
            }).collect();
            Scanned { scan, pairs, record_pairs }
        }))
    }

    /// ``map(scanned, keys, envelopes) -> (counts, declined, buffers)`` as ``Mapper.map``; ``keys`` holds per
    /// pair of ``scanned.pairs()`` None (not cached: its records are declined) or the 32-byte keys to try,
    /// newest secret first.
    fn map<'py>(&self, py: Python<'py>, scanned: &Scanned, keys: Vec<Option<Vec<Bound<'py, PyBytes>>>>,
                envelopes: Vec<Env>) -> PyResult<Mapped<'py>> {
        if keys.len() != scanned.pairs.len() || envelopes.len() != scanned.scan.records.len() {
            return Err(PyValueError::new_err("one key list per pair and one envelope per scanned record"));
        }
        let mut pairs = Vec::with_capacity(keys.len());
        for candidates in &keys {
            pairs.push(match candidates {
                None => None,
                Some(list) => Some(list.iter().map(|key| <[u8; 32]>::try_from(key.as_bytes()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| PyValueError::new_err("a derived key is 32 bytes"))?),
            });
        }
        let keys = Keys { pairs, records: &scanned.record_pairs };
        let config = &self.config;
        let scan = &scanned.scan;
        let (cols, counts, declined) = py.allow_threads(|| {
            let envs: Vec<Envelope> = envelopes.iter().map(|e| Envelope {
                tenant: e.0.as_bytes(), environment: e.1.as_bytes(), request_id: e.2.as_bytes(), received_ns: e.3,
            }).collect();
            map(config, scan, &keys, &envs)
        });
        Ok((i32s(py, &counts), declined, buffers(py, cols)?))
    }
}

#[pymethods]
impl Scanned {
    /// The distinct (tenant, salt) pairs of the run's records, in first-seen order: whose keys ``map`` needs.
    fn pairs<'py>(&self, py: Python<'py>) -> Vec<(&str, Bound<'py, PyBytes>)> {
        self.pairs.iter().map(|(tenant, salt)| (tenant.as_str(), PyBytes::new(py, salt))).collect()
    }

    /// Per record: why it is declined, or None.
    fn declined(&self) -> Vec<Option<String>> {
        self.scan.records.iter().map(|r| r.as_ref().err().cloned()).collect()
    }
}
