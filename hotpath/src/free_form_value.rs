//! A free-form event's values as the reference reads them: the time member by ``datetime.fromisoformat``
//! (``FreeForm.split``), ``host`` and the columns' texts by ``schemas.rows.free_form.free_form_rows``, the
//! severity
//! number from the level's text (schemas/severity.py).
//!
//! Contract: each reader reads exactly the value at `P.i` (`P.i` just past it on `Ok`), checked as msgspec
//! decodes it, or returns why the record is declined: a value the reference would read another way than these
//! readers do is declined, never guessed.

use crate::json::{bad, encode, too_deep_tree, P, R, V};
use crate::time::parse_us;

/// Fraction digits ``datetime.fromisoformat`` keeps: it cuts the rest, where msgspec's parser rounds.
const KEPT_FRACTION: usize = 6;
/// Fraction digits read at all (nanoseconds, as Logstash 8 writes them); more are declined.
const MAX_FRACTION: usize = 9;

/// The time member's microseconds since the epoch (UTC), or None for a value that is no string (the receive
/// time). A string is read when it has the plain RFC 3339 form ``YYYY-MM-DD(T| )HH:MM:SS[.f{1,9}][Z|±HH:MM|±HHMM]``,
/// which ``fromisoformat`` reads as msgspec's parser does (time.rs: naive is UTC) once the fraction is cut to
/// microseconds; any other string is declined, whether fromisoformat reads it (``2026-11-23``, a comma
/// before the fraction) or not (the receive time then).
pub(crate) fn timestamp(p: &mut P, text: &mut Vec<u8>) -> R<Option<i64>> {
    let at = p.i;
    if p.peek() != b'"' {
        p.value(1)?;
        return Ok(None);
    }
    text.clear();
    p.string_into(text)?;
    let t = text.as_slice();
    if t.len() < 19 {
        return unread(at);
    }
    let digits = |a: usize, b: usize| t.get(a..b).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let plain = digits(0, 4) && t[4] == b'-' && digits(5, 7) && t[7] == b'-' && digits(8, 10)
        && matches!(t[10], b'T' | b' ') && digits(11, 13) && t[13] == b':' && digits(14, 16) && t[16] == b':'
        && digits(17, 19);
    if !plain {
        return unread(at);
    }
    let mut end = 19; // of the fraction, cut to microseconds
    let mut zone = 19;
    if t.get(19) == Some(&b'.') {
        let n = t[20..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > MAX_FRACTION {
            return unread(at);
        }
        end = 20 + n.min(KEPT_FRACTION);
        zone = 20 + n;
    }
    let z = &t[zone..];
    let zoned = match z.len() {
        0 => true,
        1 => z[0] == b'Z',
        5 => matches!(z[0], b'+' | b'-') && z[1..].iter().all(u8::is_ascii_digit),
        6 => matches!(z[0], b'+' | b'-') && z[3] == b':' && digits(zone + 1, zone + 3) && digits(zone + 4, zone + 6),
        _ => false,
    };
    if !zoned {
        return unread(at);
    }
    let mut cut = [0u8; 32];
    let n = end + z.len();
    cut[..end].copy_from_slice(&t[..end]);
    cut[end..n].copy_from_slice(z);
    match parse_us(&cut[..n]) {
        Ok(us) => Ok(Some(us)),
        Err(_) => unread(at), // a day or hour out of its range: fromisoformat refuses it too
    }
}

#[cold]
fn unread<T>(at: usize) -> R<T> {
    bad("a time not in the plain RFC 3339 form this path reads", at)
}

/// ``host``'s name as ``free_form_rows`` stores it, appended to `out` (nothing for none): a string as it
/// is, or ECS's object's ``name``, else its ``hostname``; empty and null mean none. Any other value is
/// declined: ``str()`` spells numbers, booleans and lists its own way, and their truth differs.
pub(crate) fn host_name(p: &mut P, out: &mut Vec<u8>) -> R<()> {
    let at = p.i;
    match p.peek() {
        b'"' => p.string_into(out),
        b'{' => {
            let V::Obj(items) = p.value(1)? else { unreachable!() };
            let get = |key: &[u8]| items.iter().find(|(k, _)| k.as_slice() == key).map(|(_, v)| v);
            let found = match name(get(b"name"), at)? {
                Some(s) => Some(s),
                None => name(get(b"hostname"), at)?,
            };
            out.extend_from_slice(found.unwrap_or(b""));
            Ok(())
        }
        b'n' => p.literal(b"null"),
        _ => {
            p.value(1)?;
            bad("a host that is neither a string nor an object", at)
        }
    }
}

/// A host object's name: None when Python finds it false (absent, null, ""); a value that is no string is
/// declined.
fn name(v: Option<&V>, at: usize) -> R<Option<&[u8]>> {
    match v {
        None | Some(V::Null) => Ok(None),
        Some(V::Str(s)) => Ok(if s.is_empty() { None } else { Some(s.as_slice()) }),
        Some(_) => bad("a host name that is no string", at),
    }
}

/// ``schemas.rows.free_form._text`` of the (non-null) value at `p`, appended to `out`: a string as it is, any
/// other value as msgspec's JSON (json_write.rs). Containers nested deeper than attributes may be are
/// declined (msgspec's encoder has its own recursion limit).
pub(crate) fn text(p: &mut P, out: &mut Vec<u8>) -> R<()> {
    if p.peek() == b'"' {
        return p.string_into(out);
    }
    let at = p.i;
    let v = p.value(1)?;
    if too_deep_tree(&v, 1, false) {
        return bad("a column's value nested too deeply", at);
    }
    encode(&v, out);
    Ok(())
}
