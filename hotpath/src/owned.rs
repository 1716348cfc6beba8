//! Column buffers handed to Python without a copy.
//!
//! The mapping builds each Arrow buffer in a `Vec`; copying it into a `bytes` object held the
//! chunk's rows twice while they were handed over (a 32 MiB chunk's columns are about as large
//! again). An `Owned` keeps the `Vec` and lends its memory through the buffer protocol, which
//! `pyarrow.py_buffer` wraps as it wraps `bytes`: the memory is freed when Arrow drops the last
//! slice of the table. Read-only: nothing writes through a view.

use std::os::raw::{c_int, c_void};
use std::ptr;

// The integer columns are lent as their memory, which Arrow reads as little-endian.
#[cfg(target_endian = "big")]
compile_error!("sluice_hot lends integer columns as their memory: little-endian targets only");

use pyo3::ffi;
use pyo3::prelude::*;

pub(crate) enum Store {
    U8(Vec<u8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Store {
    /// The column with its spare capacity given back: the columns are reserved from the input's size
    /// (mapper.rs), and a lent column is held as long as the table, where a copied one was freed at once.
    /// glibc shrinks a block in place (or remaps it), without copying.
    pub(crate) fn fitted(mut self) -> Self {
        match &mut self {
            Store::U8(v) => v.shrink_to_fit(),
            Store::I32(v) => v.shrink_to_fit(),
            Store::I64(v) => v.shrink_to_fit(),
        }
        self
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Store::U8(v) => v,
            Store::I32(v) => unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 4) },
            Store::I64(v) => unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 8) },
        }
    }
}

#[pyclass(frozen, module = "sluice_hot")]
pub(crate) struct Owned {
    store: Store,
}

impl Owned {
    pub(crate) fn new(py: Python<'_>, store: Store) -> PyResult<Bound<'_, PyAny>> {
        Ok(Bound::new(py, Owned { store: store.fitted() })?.into_any())
    }
}

#[pymethods]
impl Owned {
    fn __len__(&self) -> usize {
        self.store.bytes().len()
    }

    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        let data = slf.get().store.bytes();
        // Fills a read-only view (a writable one is refused) holding a reference to `slf`, released with the
        // view: the Vec outlives every view.
        if ffi::PyBuffer_FillInfo(view, slf.as_ptr(), data.as_ptr() as *mut c_void, data.len() as ffi::Py_ssize_t, 1,
                                  flags) == -1 {
            (*view).obj = ptr::null_mut(); // the protocol's rule for a refused request
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }
}
