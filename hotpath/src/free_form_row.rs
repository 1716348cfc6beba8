//! One free-form event's row, as ``schemas.rows.free_form.free_form_rows`` writes it from what
//! ``Event::read``
//! sorted: the time (else the receive time), the level's text and its severity number, service, body, scope
//! name, ``host.name`` when there is a host, and the attributes flattened.
//!
//! Contract: `Cols::free_form_row` appends exactly one value to every per-event column and returns `Ok`, or
//! returns why the record is declined, leaving a partial row that the caller truncates away.

use crate::columns::StrCol;
use crate::flatten::attributes;
use crate::json::{E, P, R};
use crate::free_form::{Config, Scratch};
use crate::free_form_event::{BODY, LEVEL, SCOPE_NAME, SERVICE};
use crate::free_form_value::text;
use crate::mapper::Cols;
use crate::time::storable_ns;

impl Cols {
    /// The row of the event `s.event` holds, read from `body` (the record).
    pub(crate) fn free_form_row(&mut self, cfg: &Config, body: &[u8], s: &mut Scratch, received_ns: i64) -> R<()> {
        let ev = &s.event;
        let stamp = match ev.stamp {
            Some(us) => storable_ns(us).map_err(|m| E::Unstorable(format!("`{}`: {m}", cfg.names.time)))?,
            None => received_ns,
        };
        self.timestamp.push(stamp);
        column(body, ev.chosen[LEVEL], &mut self.severity_text)?;
        let number = cfg.severities.number(self.severity_text.current())?;
        self.severity_number.push(number);
        for (at, col) in [(ev.chosen[SERVICE], &mut self.service), (ev.chosen[BODY], &mut self.body),
                          (ev.chosen[SCOPE_NAME], &mut self.scope_name)] {
            column(body, at, col)?;
        }
        for col in [&mut self.severity_text, &mut self.service, &mut self.body, &mut self.scope_name,
                    &mut self.trace_id, &mut self.span_id, &mut self.scope_version] {
            col.finish().map_err(E::Bad)?;
        }
        self.trace_flags.push(0);
        if !ev.host.is_empty() {
            self.resource.keys.push(b"host.name").map_err(E::Bad)?;
            self.resource.values.push(&ev.host).map_err(E::Bad)?;
        }
        self.resource.finish_row();
        // The attributes are the event's remaining members in its order: one object of their bytes, flattened
        // as any attributes object is (repeated keys with dict semantics, the tables' bounds checked).
        let members = ev.members.iter().filter(|m| m.attribute);
        let object = &mut s.attributes;
        object.clear();
        object.push(b'{');
        for (i, m) in members.enumerate() {
            if i > 0 {
                object.push(b',');
            }
            object.extend_from_slice(&body[m.start..m.end]);
        }
        object.push(b'}');
        if object.len() > 2 {
            attributes(&mut P { b: &object[..], i: 0 }, &mut self.attributes, &mut s.flat)
                .map_err(|e| match e {
                    E::Bad(m) => E::Bad(format!("in the attributes: {m}")),
                    E::Unstorable(m) => E::Unstorable(format!("in the attributes: {m}")),
                    E::Slow => E::Slow,
                })?;
        }
        self.attributes.finish_row();
        Ok(())
    }
}

/// A column's text (nothing when it has no value) written as its current value, not yet finished.
fn column(body: &[u8], at: Option<usize>, col: &mut StrCol) -> R<()> {
    match at {
        Some(i) => text(&mut P { b: body, i }, &mut col.data),
        None => Ok(()),
    }
}
