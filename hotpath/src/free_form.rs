//! Free-form record values (``[event, event, ...]``, one tenant's events; Logstash's ``json_lines``) into ``logs``
//! columns, with the semantics of the worker's reference path: ``schemas.dialects.logstash.decode`` (msgspec's
//! ``list[dict[str, Any]]``, each event split and checked by the declaration, ``schemas.free_form.FreeForm``), then
//! ``schemas.rows.free_form.free_form_rows``.
//!
//! An event is any JSON object; a few of its fields fill columns, the rest are attributes. It is read in two
//! steps: its members sorted by what the declaration makes of them (free_form_event.rs: dropped, the time, the
//! host, a column's candidates, attributes), then its row written (free_form_row.rs) from what the sorting
//! kept, the values read as the reference reads them (free_form_value.rs). The attributes are the event's
//! own members, in its order, so they are flattened by flatten.rs over an object made of their bytes.
//!
//! Contract: ``Config`` is a ``Mapping`` (record.rs): a record's rows are appended all or none. Declined is whatever
//! the reference refuses (not an array of objects, a time or attributes the tables cannot hold) and whatever
//! it might read otherwise than this path (a time in a form other than plain RFC 3339, a column's field given
//! twice, a host ``str()`` would spell its own way).

use crate::flatten::Flat;
use crate::json::{array, bad, P, R};
use crate::free_form_event::{Event, Names};
use crate::mapper::Cols;
use crate::record::{whole, Mapping};
use crate::severity::Severities;

/// The mapping's fixed data, from Python (sluice/hotpath.py).
pub struct Config {
    pub source: Vec<u8>,
    /// Which member fills which column (schemas/free_form.py).
    pub names: Names,
    /// Severity texts to numbers (schemas/severity.py).
    pub severities: Severities,
}

/// Scratch reused across events and records.
#[derive(Default)]
pub struct Scratch {
    pub(crate) event: Event,
    pub(crate) key: Vec<u8>,
    pub(crate) text: Vec<u8>,
    /// The attributes' object, made of the event's attribute members.
    pub(crate) attributes: Vec<u8>,
    pub(crate) flat: Flat,
}

impl Mapping for Config {
    type Scratch = Scratch;
    const SLOW: &'static str = "a value the free-form mapper does not read";

    fn source(&self) -> &[u8] {
        &self.source
    }

    fn rows(&self, cols: &mut Cols, body: &[u8], received_ns: i64, s: &mut Scratch) -> R<()> {
        whole(body, |p| cols.events(self, p, s, received_ns))
    }
}

impl Cols {
    /// The array of events at `p`, one row each.
    fn events(&mut self, cfg: &Config, p: &mut P, s: &mut Scratch, received_ns: i64) -> R<()> {
        if p.i >= p.b.len() {
            return bad("Input data was truncated", p.i);
        }
        array(p, |p| {
            s.event.read(p, &cfg.names, &mut s.key, &mut s.text)?;
            self.free_form_row(cfg, p.b, s, received_ns)
        })
    }
}
