//! Per-column writers: one member's value, read at the cursor, written where its role says (a string column's
//! current value, a map column's entries, or the entry's scratch for what is known only when the entry
//! closes, ``Entry``). A repeated member replaces what its earlier occurrence wrote, as msgspec's dict keeps
//! the last.
//!
//! Contract: `Cols::member` reads exactly the member's value (`P.i` just past it on `Ok`) or returns why the
//! record is declined: the value's JSON type or bounds differ from what the dialect's schema accepts.

use crate::columns::StrCol;
use crate::flatten::{attributes, Flat};
use crate::json::{bad, Num, E, P, R};
use crate::mapper::Cols;
use crate::spec::{Member, Role, Spec};
use crate::time::parse_us;

/// Per-entry scratch, reused: what is known only once the entry's object closes.
pub(crate) struct Entry {
    pub(crate) seen: Vec<bool>,
    pub(crate) stamp: Option<i64>,
    /// A severity number the entry gives (else derived from the level).
    pub(crate) number: Option<u8>,
    pub(crate) flags: u8,
    pub(crate) text: Vec<u8>,
    /// One slot per member: a resource value, or an extra attribute's value.
    pub(crate) slots: Vec<Option<Vec<u8>>>,
}

impl Entry {
    /// Scratch for a spec of ``members`` members.
    pub(crate) fn new(members: usize) -> Self {
        Entry { seen: vec![false; members], stamp: None, number: None, flags: 0, text: Vec::new(),
                slots: vec![None; members] }
    }
}

impl Cols {
    /// The value being written of a string column's role (choices are declared for those only).
    pub(crate) fn current(&self, role: Role) -> &[u8] {
        match role {
            Role::Level => self.severity_text.current(),
            Role::ScopeName => self.scope_name.current(),
            Role::ScopeVersion => self.scope_version.current(),
            Role::Service => self.service.current(),
            Role::Body => self.body.current(),
            Role::TraceId => self.trace_id.current(),
            Role::SpanId => self.span_id.current(),
            _ => b"",
        }
    }

    /// The value of member ``m`` at ``p``, into its column or the entry's scratch.
    pub(crate) fn member(&mut self, spec: &Spec, m: usize, p: &mut P, e: &mut Entry, firsts: (usize, usize),
                         fl: &mut Flat) -> R<()> {
        let member = &spec.members[m];
        let (first, first_resource) = firsts;
        match member.role {
            Role::Time => {
                if p.peek() == b'n' && member.nullable {
                    p.literal(b"null")?;
                    e.stamp = None;
                    return Ok(());
                }
                if p.peek() != b'"' {
                    return bad("Expected `datetime`", p.i);
                }
                e.text.clear();
                p.string_into(&mut e.text)?;
                e.stamp = Some(parse_us(&e.text).map_err(|m| E::Bad(m.to_string()))?);
            }
            Role::Level => string(p, &mut self.severity_text)?,
            Role::Service => string(p, &mut self.service)?,
            Role::Body => string(p, &mut self.body)?,
            Role::TraceId => string(p, &mut self.trace_id)?,
            Role::SpanId => string(p, &mut self.span_id)?,
            Role::ScopeName => string(p, &mut self.scope_name)?,
            Role::ScopeVersion => string(p, &mut self.scope_version)?,
            Role::SeverityNumber => {
                if p.peek() == b'n' && member.nullable {
                    p.literal(b"null")?;
                    e.number = None;
                } else {
                    e.number = Some(small_int(p, member)?);
                }
            }
            Role::TraceFlags => e.flags = small_int(p, member)?,
            Role::ResourceAttributes => {
                self.resource.truncate_entries(first_resource); // a repeated member: the last one wins
                match p.peek() {
                    b'n' if member.nullable => p.literal(b"null")?,
                    b'{' => attributes(p, &mut self.resource, fl)?,
                    _ => return bad("Expected `object`", p.i),
                }
            }
            Role::Resource | Role::ResourceIfSet => {
                if p.peek() != b'"' {
                    return bad("Expected `str`", p.i);
                }
                let slot = e.slots[m].get_or_insert_with(Vec::new);
                slot.clear();
                p.string_into(slot)?;
            }
            Role::Attribute => {
                if p.peek() == b'n' {
                    p.literal(b"null")?;
                    e.slots[m] = None;
                    return Ok(());
                }
                if p.peek() != b'"' {
                    return bad("Expected `str | null`", p.i);
                }
                let slot = e.slots[m].get_or_insert_with(Vec::new);
                slot.clear();
                p.string_into(slot)?;
            }
            Role::Attributes => {
                self.attributes.truncate_entries(first); // a repeated member: the last one wins
                match p.peek() {
                    b'n' if member.nullable => p.literal(b"null")?,
                    b'{' => attributes(p, &mut self.attributes, fl)?,
                    _ => return bad("Expected `object`", p.i),
                }
            }
        }
        Ok(())
    }
}

/// An integer member within its bounds, as a byte (the roles' columns are UInt8). Anything msgspec
/// might read otherwise (a float, an exponent, a bool) is declined.
fn small_int(p: &mut P, member: &Member) -> R<u8> {
    let at = p.i;
    match p.number()? {
        Num::Int(start, end) => {
            let text = unsafe { std::str::from_utf8_unchecked(&p.b[start..end]) };
            match text.parse::<i64>() {
                Ok(n) if n >= member.low && n <= member.high && (0..=255).contains(&n) => Ok(n as u8),
                _ => bad("an integer outside the member's bounds", at),
            }
        }
        Num::Float(..) => bad("Expected `int`", at),
    }
}

/// A ``str`` member: the value replaces what an earlier occurrence of the member wrote.
#[inline]
fn string(p: &mut P, col: &mut StrCol) -> R<()> {
    col.reset_current();
    if p.peek() != b'"' {
        return bad("Expected `str`", p.i);
    }
    p.string_into(&mut col.data)
}
