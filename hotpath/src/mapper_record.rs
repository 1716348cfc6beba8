//! A record framed: its entries found (the body's entries' array, or the body itself when the dialect's
//! entries member is empty), each appended as one row (mapper_entry.rs), then the envelope's columns repeated
//! on every row.
//!
//! Contract: ``Cols::record`` appends all of a record's rows and returns their number, or returns why it is
//! declined with every column as it was before the record: a record is mapped whole or not at all.

use crate::flatten::Flat;
use crate::json::{bad, E, P, R};
use crate::mapper::{Cols, Envelope};
use crate::mapper_member::Entry;
use crate::spec::Spec;

impl Cols {
    /// One record's rows appended, with the envelope's columns: their number, or why the record is
    /// declined (the columns are then as before).
    pub fn record(&mut self, spec: &Spec, body: &[u8], env: &Envelope, fl: &mut Flat) -> Result<usize, String> {
        let before = self.rows();
        if let Err(e) = self.entries(spec, body, env.received_ns, fl) {
            self.truncate(before);
            return Err(match e {
                E::Bad(message) | E::Unstorable(message) => message,
                E::Slow => "attributes the fast flattening left unfinished".into(),
            });
        }
        let n = self.rows() - before;
        self.tenant.repeat(env.tenant, n)?;
        self.environment.repeat(env.environment, n)?;
        self.source.repeat(&spec.source, n)?;
        self.request_id.repeat(env.request_id, n)?;
        self.received.extend(std::iter::repeat(env.received_ns).take(n));
        Ok(n)
    }

    fn entries(&mut self, spec: &Spec, body: &[u8], received_ns: i64, fl: &mut Flat) -> R<()> {
        let start = self.rows();
        let mut p = P { b: body, i: 0 };
        let mut key = Vec::with_capacity(16);
        let mut entry = Entry::new(spec.members.len());
        p.ws();
        if spec.entries.is_empty() {
            // the body is one entry
            self.entry(spec, &mut p, &mut key, &mut entry, received_ns, fl)?;
            p.ws();
            return if p.i == body.len() { Ok(()) } else { bad("trailing characters", p.i) };
        }
        if p.peek() != b'{' {
            return bad("Expected `object`", p.i);
        }
        p.i += 1;
        p.ws();
        let mut seen_entries = false;
        if p.peek() == b'}' {
            p.i += 1;
        } else {
            loop {
                p.member_key(&mut key)?;
                if key == spec.entries {
                    self.truncate(start); // a repeated member: the last one wins
                    seen_entries = true;
                    if p.peek() != b'[' {
                        return bad("Expected `array`", p.i);
                    }
                    p.i += 1;
                    p.ws();
                    if p.peek() == b']' {
                        p.i += 1;
                    } else {
                        loop {
                            self.entry(spec, &mut p, &mut key, &mut entry, received_ns, fl)?;
                            if !p.next_or_close(b']')? {
                                break;
                            }
                        }
                    }
                } else {
                    p.skip(1)?;
                }
                if !p.next_or_close(b'}')? {
                    break;
                }
            }
        }
        p.ws();
        if p.i != body.len() {
            return bad("trailing characters", p.i);
        }
        if !seen_entries {
            return bad("Object missing the entries' member", 0);
        }
        Ok(())
    }
}
