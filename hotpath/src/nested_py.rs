//! Nested requests' hot path as Python sees it (``sluice.hotpath.NESTED``): ``Nested.map(values, envelopes)``
//! with ``Mapper.map``'s contract, run by the dialect's declaration of levels (schemas/nested.py, nested.rs).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::nested::{Config, Declared};
use crate::nested_pb::{DeclaredWire, Protobuf};
use crate::severity::Severities;
use crate::{count, map_values, Env, Mapped};

/// A nested mapping, ready to run: over JSON requests, or over protobuf ones.
#[pyclass(frozen, module = "sluice_hot")]
pub struct Nested {
    mapping: Encoding,
}

enum Encoding {
    Json(Config),
    Protobuf(Protobuf),
}

#[pymethods]
impl Nested {
    /// ``Nested(source, severities, names, time_bounds, messages, service_key)``: ``severities`` (lower-case
    /// text, number) as schemas/severity.py derives a number from a text; ``names`` the severity enum's
    /// (name, number); ``time_bounds`` the (least, greatest) nanoseconds ``Timestamp`` holds; ``messages`` each
    /// message's members as (JSON name, form, role or "", message index or -1, hex id size), the request
    /// first; ``service_key`` the resource attribute that is ``ServiceName``. A declaration the walk could not
    /// fill every column from is refused with ValueError.
    ///
    /// With ``protobuf`` (each message's members' (field number, protobuf type) and the numbers of its other
    /// fields, in ``messages``' order) the requests are in protobuf's binary form (nested_pb.rs).
    #[new]
    #[pyo3(signature = (source, severities, names, time_bounds, messages, service_key, protobuf=None))]
    fn new(source: String, severities: Vec<(String, u8)>, names: Vec<(String, u8)>, time_bounds: (i64, i64),
           messages: Vec<Vec<Declared>>, service_key: String, protobuf: Option<Vec<DeclaredWire>>) -> PyResult<Self> {
        let bytes = |v: Vec<(String, u8)>| v.into_iter().map(|(name, n)| (name.into_bytes(), n)).collect();
        let severities = Severities::new(severities).map_err(PyValueError::new_err)?;
        let config = Config::new(source.into_bytes(), severities, bytes(names), time_bounds, messages,
                                 service_key.into_bytes()).map_err(PyValueError::new_err)?;
        let mapping = match protobuf {
            None => Encoding::Json(config),
            Some(declared) => Encoding::Protobuf(Protobuf::new(config, declared).map_err(PyValueError::new_err)?),
        };
        Ok(Nested { mapping })
    }

    /// ``entries(body) -> int | None``, as ``Mapper.entries``: the request's rows when ``map`` maps it whole,
    /// else None (declined: the dialect's decoding says whether and why it is wrong). The gateway's check: the
    /// rows are built and dropped, never copied out.
    fn entries(&self, py: Python<'_>, body: &Bound<'_, PyBytes>) -> Option<usize> {
        match &self.mapping {
            Encoding::Json(config) => count(py, config, body),
            Encoding::Protobuf(protobuf) => count(py, protobuf, body),
        }
    }

    /// ``map(values, envelopes) -> (counts, declined, buffers)``, as ``Mapper.map``: a value's count is its
    /// rows, or -1 when it is declined (its reason in ``declined``).
    fn map<'py>(&self, py: Python<'py>, values: Vec<Bound<'py, PyBytes>>, envelopes: Vec<Env>) -> PyResult<Mapped<'py>> {
        match &self.mapping {
            Encoding::Json(config) => map_values(py, config, values, envelopes),
            Encoding::Protobuf(protobuf) => map_values(py, protobuf, values, envelopes),
        }
    }
}
