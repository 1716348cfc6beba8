//! One entry of a record becoming one row: the entry's object read member by member, then the row finished
//! as the reference mapping finishes it (required members present, the receive time for a missing time, the
//! severity number from the spec's level table when the entry gives none, resource and extra attributes
//! from their slots).
//!
//! Contract: `Cols::entry` either appends exactly one row to every per-entry column and returns `Ok`, or
//! returns the reason the record is declined, leaving a partial row that `Cols::record` truncates away.

use crate::columns::StrCol;
use crate::flatten::Flat;
use crate::json::{bad, E, P, R};
use crate::mapper::Cols;
use crate::mapper_member::Entry;
use crate::spec::{Role, Spec};
use crate::time::storable_ns;

/// Entries one attribute set may hold (schemas/storable.py MAX_ENTRIES), extra attributes included.
const MAX_ENTRIES: usize = 1000;

impl Cols {
    /// The entry object at ``p`` appended as one row; ``key`` and ``e`` are scratch reused across entries.
    pub(crate) fn entry(&mut self, spec: &Spec, p: &mut P, key: &mut Vec<u8>, e: &mut Entry, received_ns: i64,
                        fl: &mut Flat) -> R<()> {
        if p.peek() != b'{' {
            return bad("Expected `object` in the entries", p.i);
        }
        p.i += 1;
        p.ws();
        let first = self.attributes.entries();
        let first_resource = self.resource.entries();
        e.seen.iter_mut().for_each(|s| *s = false);
        e.slots.iter_mut().for_each(|s| *s = None);
        e.stamp = None;
        e.number = None;
        e.flags = 0;
        if p.peek() == b'}' {
            p.i += 1;
        } else {
            loop {
                p.member_key(key)?;
                match spec.find(key) {
                    Some(m) => {
                        e.seen[m] = true;
                        self.member(spec, m, p, e, (first, first_resource), fl)?;
                        // msgspec checks each occurrence as it reads it, not only the one that is kept
                        let member = &spec.members[m];
                        if !member.choices.is_empty() && !member.choices.iter().any(|c| c == self.current(member.role)) {
                            return bad("a value outside the member's choices", p.i);
                        }
                    }
                    None => p.skip(1)?,
                }
                if !p.next_or_close(b'}')? {
                    break;
                }
            }
        }
        for (m, member) in spec.members.iter().enumerate() {
            if member.required && !e.seen[m] {
                return bad("Object missing a required member", p.i);
            }
        }
        let stamp = match e.stamp {
            Some(us) => storable_ns(us).map_err(|m| E::Unstorable(m.to_string()))?,
            None => received_ns,
        };
        self.timestamp.push(stamp);
        let number = match e.number {
            Some(n) => n,
            None => spec.severities.number(self.severity_text.current())?,
        };
        self.severity_number.push(number);
        self.trace_flags.push(e.flags);
        let fin = |c: &mut StrCol| c.finish().map_err(E::Bad);
        fin(&mut self.severity_text)?;
        fin(&mut self.service)?;
        fin(&mut self.body)?;
        fin(&mut self.trace_id)?;
        fin(&mut self.span_id)?;
        fin(&mut self.scope_name)?;
        fin(&mut self.scope_version)?;
        for (m, member) in spec.members.iter().enumerate() {
            let value = e.slots[m].as_deref();
            match member.role {
                Role::Resource => {
                    self.resource.keys.push(&member.key).map_err(E::Bad)?;
                    self.resource.values.push(value.unwrap_or(b"")).map_err(E::Bad)?;
                }
                Role::ResourceIfSet => {
                    if let Some(v) = value.filter(|v| !v.is_empty()) {
                        self.resource.keys.push(&member.key).map_err(E::Bad)?;
                        self.resource.values.push(v).map_err(E::Bad)?;
                    }
                }
                Role::Attribute => {
                    if let Some(v) = value {
                        if self.attributes.has_key(first, &member.key) {
                            return bad("an extra attribute's key is also a flattened one", p.i);
                        }
                        self.attributes.keys.push(&member.key).map_err(E::Bad)?;
                        self.attributes.values.push(v).map_err(E::Bad)?;
                    }
                }
                _ => {}
            }
        }
        if self.attributes.entries() - first > MAX_ENTRIES {
            return Err(E::Unstorable("more attributes than the tables hold".into()));
        }
        self.resource.finish_row();
        self.attributes.finish_row();
        Ok(())
    }
}
