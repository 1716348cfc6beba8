//! Record values of one JSON dialect (``{"<entries>": [...]}``) into ``logs`` columns, as the dialect's
//! ``Spec`` says, with the semantics of the worker's reference mapping (``schemas.columns.reference_rows``):
//! msgspec's grammar and dict semantics (a repeated member keeps its last value), missing strings are "",
//! a missing or null optional time is the receive time.
//!
//! A record this path cannot map exactly as the reference would (it does not decode, a required member is
//! missing, a value is out of the tables' bounds, an extra attribute collides with a flattened one) is
//! declined whole, its rows taken back: the worker judges it with the reference mapping, which stores it or
//! dead-letters it with the reason.
//!
//! This file holds the columns being built (``Cols``) and the envelope a record's rows repeat; the mapping
//! adds to ``Cols``, from the top: a record framed (mapper_record.rs: the entries' array found, a declined
//! record's rows taken back), one entry becoming one row (mapper_entry.rs), one member's value written to its
//! column (mapper_member.rs).

use crate::columns::{MapCol, StrCol};

/// The envelope's values, repeated on every row of a record.
pub struct Envelope<'a> {
    pub tenant: &'a [u8],
    pub environment: &'a [u8],
    pub request_id: &'a [u8],
    pub received_ns: i64,
}

/// The ``logs`` columns being built, one value per row (``Cols::rows``) once a record is appended whole.
pub struct Cols {
    pub tenant: StrCol,
    pub environment: StrCol,
    pub source: StrCol,
    pub request_id: StrCol,
    pub received: Vec<i64>,
    pub timestamp: Vec<i64>,
    pub severity_text: StrCol,
    pub severity_number: Vec<u8>,
    pub service: StrCol,
    pub body: StrCol,
    pub trace_id: StrCol,
    pub span_id: StrCol,
    pub resource: MapCol,
    pub attributes: MapCol,
    pub trace_flags: Vec<u8>,
    pub scope_name: StrCol,
    pub scope_version: StrCol,
    /// Filled by the nested mapper only (nested_walk.rs); the other mappers leave it without rows, and ``buffers``
    /// (lib.rs) gives their rows no scope attributes.
    pub scope_attributes: MapCol,
}

impl Cols {
    pub fn with_capacity(bytes: usize) -> Self {
        let rows = bytes / 200 + 16;
        Cols {
            tenant: StrCol::with_capacity(rows, rows * 8),
            environment: StrCol::with_capacity(rows, rows * 10),
            source: StrCol::with_capacity(rows, rows * 8),
            request_id: StrCol::with_capacity(rows, rows * 36),
            received: Vec::with_capacity(rows),
            timestamp: Vec::with_capacity(rows),
            severity_text: StrCol::with_capacity(rows, rows * 5),
            severity_number: Vec::with_capacity(rows),
            service: StrCol::with_capacity(rows, rows * 12),
            body: StrCol::with_capacity(rows, bytes / 4),
            trace_id: StrCol::with_capacity(rows, rows * 32),
            span_id: StrCol::with_capacity(rows, rows * 16),
            resource: MapCol::with_capacity(rows, rows, rows * 16),
            attributes: MapCol::with_capacity(rows, rows * 8, bytes / 2),
            trace_flags: Vec::with_capacity(rows),
            scope_name: StrCol::with_capacity(rows, 0),
            scope_version: StrCol::with_capacity(rows, 0),
            scope_attributes: MapCol::with_capacity(0, 0, 0),
        }
    }

    pub fn rows(&self) -> usize {
        self.timestamp.len()
    }

    /// Back to ``rows`` rows, dropping any value being written.
    pub(crate) fn truncate(&mut self, rows: usize) {
        self.timestamp.truncate(rows);
        self.severity_number.truncate(rows);
        self.trace_flags.truncate(rows);
        for c in [&mut self.severity_text, &mut self.service, &mut self.body, &mut self.trace_id, &mut self.span_id,
                  &mut self.scope_name, &mut self.scope_version] {
            c.truncate(rows);
        }
        self.resource.truncate_rows(rows);
        self.attributes.truncate_rows(rows);
        if self.scope_attributes.offsets.len() > rows {
            self.scope_attributes.truncate_rows(rows);
        }
    }
}
