//! sluice_hot: the worker's hot path. Kafka record values of a JSON dialect become the ``logs`` columns as
//! Arrow buffers, without a Python object per entry and without the GIL; the worker wraps the buffers
//! into a pyarrow table. What a dialect's entries mean is not here: each dialect declares it as data
//! (``schemas/dialects/<name>/columns.py``) and hands it to ``Mapper``. LogFlux's encrypted entries are
//! decrypted under the worker's cached keys and mapped too (``LogFlux``, logflux_py.rs); free-form events
//! (Logstash's) by their dialect's declaration of names (``FreeForm``, free_form_py.rs); nested requests
//! (OTLP/JSON's resource → scope → record) by their dialect's declaration of levels (``Nested``, nested_py.rs).

mod b64;
mod columns;
mod decrypt;
mod flatten;
mod json;
mod json_scan;
mod json_string;
mod json_value;
mod json_write;
mod logflux;
mod logflux_py;
mod free_form;
mod free_form_event;
mod free_form_py;
mod free_form_row;
mod free_form_value;
mod mapper;
mod mapper_entry;
mod mapper_member;
mod mapper_record;
mod num;
mod nested;
mod nested_pb;
mod nested_py;
mod nested_value;
mod nested_walk;
mod otlp_attributes;
mod otlp_scan;
mod otlp_value;
mod owned;
mod pb;
mod plaintext;
mod record;
mod severity;
mod spec;
mod time;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use columns::{MapCol, StrCol};
use mapper::Cols;
use owned::{Owned, Store};
use record::{build, Mapping};
use spec::Spec;

/// One dialect's mapping, ready to run.
#[pyclass(frozen, module = "sluice_hot")]
struct Mapper {
    spec: Spec,
}

/// (tenant, environment, request id, receive time in ns) of one record.
pub(crate) type Env = (String, String, String, i64);

#[pymethods]
impl Mapper {
    /// ``Mapper(source, entries, members, severities)``: ``members`` lists (member, role, key, required, nullable, choices, low, high);
    /// ``severities`` (lower-case name, number). ``ValueError`` names what is inconsistent.
    #[new]
    fn new(source: String, entries: String, members: Vec<spec::MemberTuple>,
           severities: Vec<(String, u8)>) -> PyResult<Self> {
        Spec::new(source, entries, members, severities).map(|spec| Mapper { spec }).map_err(PyValueError::new_err)
    }

    /// ``entries(value)``: how many entries ``value`` holds when it maps whole, else None (declined). The
    /// gateway's check: the rows are built and dropped, never copied out.
    fn entries(&self, py: Python<'_>, value: &Bound<'_, PyBytes>) -> Option<usize> {
        count(py, &self.spec, value)
    }

    /// ``map(values, envelopes) -> (counts, declined, buffers)``: the rows of every value, in order.
    ///
    /// ``counts`` holds one little-endian int32 per value: its rows, or -1 when it is declined (its reason
    /// is in ``declined``, a list of (index, message)); ``buffers`` are the columns' Arrow buffers in the
    /// order the worker reads them.
    fn map<'py>(&self, py: Python<'py>, values: Vec<Bound<'py, PyBytes>>, envelopes: Vec<Env>) -> PyResult<Mapped<'py>> {
        map_values(py, &self.spec, values, envelopes)
    }
}

/// ``entries`` of every mapping: the rows of one value when it maps whole, else None.
pub(crate) fn count<M: Mapping>(py: Python<'_>, mapping: &M, value: &Bound<'_, PyBytes>) -> Option<usize> {
    let raw = [{ let s = value.as_bytes(); (s.as_ptr() as usize, s.len()) }];
    let envelope = [(String::new(), String::new(), String::new(), 0i64)];
    let (_, counts, _) = py.allow_threads(|| build(mapping, &raw, &envelope));
    usize::try_from(counts[0]).ok()
}

/// What ``map`` answers: (counts as int32 bytes, declined (index, reason), the columns' buffers).
pub(crate) type Mapped<'py> = (Bound<'py, PyBytes>, Vec<(usize, String)>, Bound<'py, PyTuple>);

/// ``map`` of every mapping: the rows of every value, mapped without the GIL.
pub(crate) fn map_values<'py, M: Mapping>(py: Python<'py>, mapping: &M, values: Vec<Bound<'py, PyBytes>>,
                                          envelopes: Vec<Env>) -> PyResult<Mapped<'py>> {
    if values.len() != envelopes.len() {
        return Err(PyValueError::new_err("one envelope per value"));
    }
    // The bytes objects stay alive (held by `values`) and are immutable while the GIL is released.
    let raw: Vec<(usize, usize)> = values.iter().map(|v| { let s = v.as_bytes(); (s.as_ptr() as usize, s.len()) }).collect();
    let (cols, counts, declined) = py.allow_threads(|| build(mapping, &raw, &envelopes));
    drop(values);
    Ok((i32s(py, &counts), declined, buffers(py, cols)?))
}

/// Little-endian int32s as bytes.
fn i32s<'py>(py: Python<'py>, v: &[i32]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 4) })
}

/// The columns' Arrow buffers, in the order the worker reads them, each lending the column's own memory
/// (owned.rs): the columns move into them, nothing is copied.
fn buffers(py: Python<'_>, cols: Cols) -> PyResult<Bound<'_, PyTuple>> {
    let rows = cols.rows();
    let s = |c: StrCol| [Store::I32(c.offsets), Store::U8(c.data)];
    let m = |c: MapCol| [Store::I32(c.offsets), Store::I32(c.keys.offsets), Store::U8(c.keys.data),
                         Store::I32(c.values.offsets), Store::U8(c.values.data)];
    let Cols { tenant, environment, source, request_id, received, timestamp, severity_text, severity_number,
               service, body, trace_id, span_id, resource, attributes, trace_flags, scope_name, scope_version,
               scope_attributes } = cols;
    let mut stores: Vec<Store> = Vec::with_capacity(40);
    for c in [tenant, environment, source, request_id] {
        stores.extend(s(c));
    }
    stores.push(Store::I64(received));
    stores.push(Store::I64(timestamp));
    stores.extend(s(severity_text));
    stores.push(Store::U8(severity_number));
    for c in [service, body, trace_id, span_id] {
        stores.extend(s(c));
    }
    stores.extend(m(resource));
    stores.extend(m(attributes));
    stores.push(Store::U8(trace_flags));
    stores.extend(s(scope_name));
    stores.extend(s(scope_version));
    if scope_attributes.offsets.len() == rows + 1 {
        stores.extend(m(scope_attributes));
    } else {
        // a mapper without scope attributes: every row has none
        stores.extend([Store::I32(vec![0; rows + 1]), Store::I32(vec![0]), Store::U8(Vec::new()), Store::I32(vec![0]),
                       Store::U8(Vec::new())]);
    }
    let out = stores.into_iter().map(|store| Owned::new(py, store)).collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, out)
}

#[pymodule]
fn sluice_hot(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Mapper>()?;
    m.add_class::<Owned>()?;
    m.add_class::<logflux_py::LogFlux>()?;
    m.add_class::<logflux_py::Scanned>()?;
    m.add_class::<nested_py::Nested>()?;
    m.add_class::<free_form_py::FreeForm>()
}
