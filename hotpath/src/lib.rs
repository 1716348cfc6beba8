//! sluice_hot: the worker's hot path. Kafka record values of a JSON dialect become the ``logs`` columns as
//! Arrow buffers, without a Python object per entry and without the GIL; the worker wraps the buffers
//! into a pyarrow table. What a dialect's entries mean is not here: each dialect declares it as data
//! (``schemas/dialects/<name>/columns.py``) and hands it to ``Mapper``. LogFlux's encrypted entries are
//! decrypted under the worker's cached keys and mapped too (``LogFlux``, logflux_py.rs); free-form events
//! (Logstash's) by their dialect's declaration of names (``FreeForm``, free_form_py.rs); OTLP/JSON requests by
//! a fixed mapping of the OpenTelemetry data model onto the same columns (``Otlp``, otlp_py.rs).

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
mod otlp;
mod otlp_attributes;
mod otlp_py;
mod otlp_record;
mod otlp_scan;
mod otlp_value;
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
    Ok((i32s(py, &counts), declined, buffers(py, &cols)?))
}

/// Little-endian int32s as bytes.
fn i32s<'py>(py: Python<'py>, v: &[i32]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 4) })
}

/// The columns' Arrow buffers, in the order the worker reads them.
fn buffers<'py>(py: Python<'py>, cols: &Cols) -> PyResult<Bound<'py, PyTuple>> {
    let b = |data: &[u8]| PyBytes::new(py, data).into_any();
    let i64s = |v: &[i64]| b(unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 8) });
    let s = |c: &StrCol| [i32s(py, &c.offsets).into_any(), b(&c.data)];
    let m = |c: &MapCol| [i32s(py, &c.offsets).into_any(), i32s(py, &c.keys.offsets).into_any(), b(&c.keys.data),
                          i32s(py, &c.values.offsets).into_any(), b(&c.values.data)];
    let mut out = Vec::with_capacity(40);
    for c in [&cols.tenant, &cols.environment, &cols.source, &cols.request_id] {
        out.extend(s(c));
    }
    out.push(i64s(&cols.received));
    out.push(i64s(&cols.timestamp));
    out.extend(s(&cols.severity_text));
    out.push(b(&cols.severity_number));
    for c in [&cols.service, &cols.body, &cols.trace_id, &cols.span_id] {
        out.extend(s(c));
    }
    out.extend(m(&cols.resource));
    out.extend(m(&cols.attributes));
    out.push(b(&cols.trace_flags));
    out.extend(s(&cols.scope_name));
    out.extend(s(&cols.scope_version));
    if cols.scope_attributes.offsets.len() == cols.rows() + 1 {
        out.extend(m(&cols.scope_attributes));
    } else {
        // a mapper without scope attributes: every row has none
        let none = vec![0i32; cols.rows() + 1];
        out.extend([i32s(py, &none).into_any(), i32s(py, &[0]).into_any(), b(b""), i32s(py, &[0]).into_any(), b(b"")]);
    }
    PyTuple::new(py, out)
}

#[pymodule]
fn sluice_hot(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Mapper>()?;
    m.add_class::<logflux_py::LogFlux>()?;
    m.add_class::<logflux_py::Scanned>()?;
    m.add_class::<otlp_py::Otlp>()?;
    m.add_class::<free_form_py::FreeForm>()
}
