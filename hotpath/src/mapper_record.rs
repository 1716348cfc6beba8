//! A declared dialect's record framed: its entries found (the body's entries' array, or the body itself when
//! the dialect's entries member is empty), each appended as one row (mapper_entry.rs). ``Spec`` is a
//! ``Mapping`` (record.rs): a record is mapped whole or not at all, the envelope's columns on every row.

use crate::flatten::Flat;
use crate::json::{array, bad, object, R};
use crate::mapper::Cols;
use crate::record::{whole, Mapping};
use crate::mapper_member::Entry;
use crate::spec::Spec;

impl Mapping for Spec {
    type Scratch = Flat;
    const SLOW: &'static str = "attributes the fast flattening left unfinished";

    fn source(&self) -> &[u8] {
        &self.source
    }

    fn rows(&self, cols: &mut Cols, body: &[u8], received_ns: i64, fl: &mut Flat) -> R<()> {
        cols.entries(self, body, received_ns, fl)
    }
}

impl Cols {
    fn entries(&mut self, spec: &Spec, body: &[u8], received_ns: i64, fl: &mut Flat) -> R<()> {
        let mut key = Vec::with_capacity(16);
        let mut entry = Entry::new(spec.members.len());
        if spec.entries.is_empty() {
            // the body is one entry
            return whole(body, |p| self.entry(spec, p, &mut key, &mut entry, received_ns, fl));
        }
        let start = self.rows();
        let mut seen_entries = false;
        whole(body, |p| {
            object(p, |p, member| {
                if member != spec.entries.as_slice() {
                    return p.skip(1);
                }
                self.truncate(start); // a repeated member: the last one wins
                seen_entries = true;
                array(p, |p| self.entry(spec, p, &mut key, &mut entry, received_ns, fl))
            })
        })?;
        if !seen_entries {
            return bad("Object missing the entries' member", 0);
        }
        Ok(())
    }
}
