//! Record values of one JSON dialect (``{"<entries>": [...]}``) into ``logs`` columns, as the dialect's
//! ``Spec`` says, with the semantics of the worker's reference mapping (``schemas.columns.reference_rows``):
//! msgspec's grammar and dict semantics (a repeated member keeps its last value), missing strings are "",
//! a missing or null optional time is the receive time.
//!
//! A record this path cannot map exactly as the reference would (it does not decode, a required member is
//! missing, a value is out of the tables' bounds, an extra attribute collides with a flattened one) is
//! declined whole, its rows taken back: the worker judges it with the reference mapping, which stores it or
//! dead-letters it with the reason.

use crate::columns::{MapCol, StrCol};
use crate::flatten::{attributes, Flat};
use crate::json::{bad, E, P, R};
use crate::spec::{Role, Spec};
use crate::time::{parse_us, storable_ns};

/// Entries one attribute set may hold (schemas/storable.py MAX_ENTRIES), extra attributes included.
const MAX_ENTRIES: usize = 1000;

pub struct Envelope<'a> {
    pub tenant: &'a [u8],
    pub environment: &'a [u8],
    pub request_id: &'a [u8],
    pub received_ns: i64,
}

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
}

/// Per-entry scratch, reused: what is known only once the entry's object closes.
struct Entry {
    seen: Vec<bool>,
    stamp: Option<i64>,
    /// A severity number the entry gives (else derived from the level).
    number: Option<u8>,
    flags: u8,
    text: Vec<u8>,
    /// One slot per member: a resource value, or an extra attribute's value.
    slots: Vec<Option<Vec<u8>>>,
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
    }

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
        let mut entry = Entry {
            seen: vec![false; spec.members.len()],
            stamp: None,
            number: None,
            flags: 0,
            text: Vec::new(),
            slots: vec![None; spec.members.len()],
        };
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

    fn entry(&mut self, spec: &Spec, p: &mut P, key: &mut Vec<u8>, e: &mut Entry, received_ns: i64,
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
            None => severity(spec, self.severity_text.current())?,
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

    /// The value being written of a string column's role (choices are declared for those only).
    fn current(&self, role: Role) -> &[u8] {
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
    fn member(&mut self, spec: &Spec, m: usize, p: &mut P, e: &mut Entry, firsts: (usize, usize),
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
fn small_int(p: &mut P, member: &crate::spec::Member) -> R<u8> {
    let at = p.i;
    match p.number()? {
        crate::json::Num::Int(start, end) => {
            let text = unsafe { std::str::from_utf8_unchecked(&p.b[start..end]) };
            match text.parse::<i64>() {
                Ok(n) if n >= member.low && n <= member.high && (0..=255).contains(&n) => Ok(n as u8),
                _ => bad("an integer outside the member's bounds", at),
            }
        }
        crate::json::Num::Float(..) => bad("Expected `int`", at),
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

/// Python's ``str.isspace`` (what ``str.strip()`` removes).
fn py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x20' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

/// ``schemas.severity.severity_number``: the spec's table looked up after ``strip().lower()``; 0 when
/// unknown. A non-ASCII level is unknown, unless it holds U+212A (the only character Python lowers to
/// ASCII, `k`): that entry is left to the reference mapping.
fn severity(spec: &Spec, level: &[u8]) -> R<u8> {
    let text = unsafe { std::str::from_utf8_unchecked(level) };
    let name = text.trim_matches(py_space);
    if !name.is_ascii() {
        return if name.contains('\u{212A}') { bad("a level Python lowers to ASCII", 0) } else { Ok(0) };
    }
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return Ok(0);
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    Ok(spec.severity(lower))
}
