//! ``schemas.dialects.logflux.rows.body_and_attributes`` without a Python object: a decrypted LogFlux payload that
//! is a JSON object gives as the body the string of the first of its declared body members
//! (``schemas.dialects.logflux.rows.BODY_FIELDS``, handed over as ``Config.body_fields``) and the rest of its
//! members, flattened (``flatten.rs``), as attributes; any other payload is the body as text, invalid UTF-8
//! replaced.
//!
//! A payload that starts like an object but does not read as one exactly (msgspec would call it text, or the
//! tables could not hold it), or whose body member is repeated, is an error here: the caller declines the
//! record and the reference mapping judges it.

use crate::columns::{MapCol, StrCol};
use crate::flatten::{attributes, Flat};
use crate::json::{bad, P, R};

/// Buffers reused from one payload to the next.
#[derive(Default)]
pub struct Scratch {
    key: Vec<u8>,
    /// The object's members: (key's first byte, value's first byte, value's end).
    members: Vec<(usize, usize, usize)>,
    /// The object again without its body member.
    rest: Vec<u8>,
    /// Per body field: where its last occurrence is among `members` and whether it is a string (a dict keeps
    /// the last), and how many times it occurs.
    last: Vec<Option<(usize, bool)>>,
    times: Vec<u32>,
}

/// The payload's body appended to `body` (left unfinished) and its attributes to `attrs`' current row;
/// `body_fields` are the members that may be the body, first preferred.
pub fn map(plain: &[u8], body_fields: &[Vec<u8>], body: &mut StrCol, attrs: &mut MapCol, fl: &mut Flat,
           s: &mut Scratch) -> R<()> {
    if plain.first() != Some(&b'{') {
        body.data.extend_from_slice(String::from_utf8_lossy(plain).as_bytes());
        return Ok(());
    }
    // First the members' places, and where each body field's last occurrence is (a dict keeps the last).
    let mut p = P { b: plain, i: 1 };
    s.last.clear();
    s.last.resize(body_fields.len(), None);
    s.times.clear();
    s.times.resize(body_fields.len(), 0);
    s.members.clear();
    p.ws();
    if p.peek() == b'}' {
        p.i += 1;
    } else {
        loop {
            let key_at = p.i;
            p.member_key(&mut s.key)?;
            let value_at = p.i;
            let is_str = p.peek() == b'"';
            p.skip(1)?;
            if let Some(k) = body_fields.iter().position(|f| *f == s.key) {
                s.times[k] += 1;
                s.last[k] = Some((s.members.len(), is_str));
            }
            s.members.push((key_at, value_at, p.i));
            if !p.next_or_close(b'}')? {
                break;
            }
        }
    }
    p.ws();
    if p.i != plain.len() {
        return bad("trailing characters", p.i);
    }
    let Some(k) = (0..body_fields.len()).find(|&k| matches!(s.last[k], Some((_, true)))) else {
        return attributes(&mut P { b: plain, i: 0 }, attrs, fl);
    };
    if s.times[k] > 1 {
        return bad("the body's member is repeated", 0);
    }
    let m = s.last[k].unwrap().0;
    P { b: plain, i: s.members[m].1 }.string_into(&mut body.data)?;
    s.rest.clear();
    s.rest.push(b'{');
    for (j, &(key_at, _, end)) in s.members.iter().enumerate() {
        if j != m {
            if s.rest.len() > 1 {
                s.rest.push(b',');
            }
            s.rest.extend_from_slice(&plain[key_at..end]);
        }
    }
    s.rest.push(b'}');
    attributes(&mut P { b: &s.rest, i: 0 }, attrs, fl)
}
