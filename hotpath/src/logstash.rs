//! Logstash ``json_lines`` record values (``[event, event, ...]``, one tenant's events) into ``logs`` columns,
//! with the semantics of the worker's reference path: ``schemas.dialects.logstash.decode`` (msgspec's
//! ``list[dict[str, Any]]``, each event split by ``wire.split`` and checked by ``wire.unstorable``), then
//! ``workers.logstash.normalize_logstash``.
//!
//! An event is any JSON object; a few of its fields fill columns, the rest are attributes. It is read in two
//! steps: its members sorted by what ``wire.split`` makes of them (logstash_event.rs: dropped, the time, the
//! host, a column's candidates, attributes), then its row written (logstash_row.rs) from what the sorting
//! kept, the values read as the reference reads them (logstash_value.rs). The attributes are the event's
//! own members, in its order, so they are flattened by flatten.rs over an object made of their bytes.
//!
//! Contract: ``Cols::logstash`` appends all of a record's rows and returns their number, or returns why it is
//! declined with every column as it was before: a record is mapped whole or not at all. Declined is whatever
//! the reference refuses (not an array of objects, a time or attributes the tables cannot hold) and whatever
//! it might read otherwise than this path (a time in a form other than plain RFC 3339, a column's field given
//! twice, a host ``str()`` would spell its own way).

use crate::flatten::Flat;
use crate::json::{bad, E, P, R};
use crate::logstash_event::Event;
use crate::mapper::{Cols, Envelope};

/// The mapping's fixed data, from Python (sluice/hotpath.py).
pub struct Config {
    pub source: Vec<u8>,
    /// Lower-case severity texts to numbers (schemas/severity.py), none longer than 32 bytes.
    pub severities: Vec<(Vec<u8>, u8)>,
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

impl Cols {
    /// One record's rows appended, with the envelope's columns: their number, or why the record is declined
    /// (the columns are then as before).
    pub fn logstash(&mut self, cfg: &Config, body: &[u8], env: &Envelope, s: &mut Scratch) -> Result<usize, String> {
        let before = self.rows();
        let mut p = P { b: body, i: 0 };
        p.ws();
        let mut read = self.events(cfg, &mut p, s, env.received_ns);
        if read.is_ok() {
            p.ws();
            if p.i != body.len() {
                read = bad("trailing characters", p.i);
            }
        }
        if let Err(e) = read {
            self.truncate(before);
            return Err(match e {
                E::Bad(message) | E::Unstorable(message) => message,
                E::Slow => "a value the Logstash mapper does not read".into(),
            });
        }
        let n = self.rows() - before;
        self.tenant.repeat(env.tenant, n)?;
        self.environment.repeat(env.environment, n)?;
        self.source.repeat(&cfg.source, n)?;
        self.request_id.repeat(env.request_id, n)?;
        self.received.extend(std::iter::repeat(env.received_ns).take(n));
        Ok(n)
    }

    /// The array of events at `p`, one row each.
    fn events(&mut self, cfg: &Config, p: &mut P, s: &mut Scratch, received_ns: i64) -> R<()> {
        if p.peek() != b'[' {
            return if p.i >= p.b.len() { bad("Input data was truncated", p.i) } else { bad("Expected `array`", p.i) };
        }
        p.i += 1;
        p.ws();
        if p.peek() == b']' {
            p.i += 1;
            return Ok(());
        }
        loop {
            s.event.read(p, &mut s.key, &mut s.text)?;
            self.logstash_row(cfg, p.b, s, received_ns)?;
            if !p.next_or_close(b']')? {
                return Ok(());
            }
        }
    }
}
