//! OTLP/JSON's values as the reference reads them (schemas/dialects/otlp/json_mirror.py decoded by msgspec,
//! then ``workers.otlp.plain``): an AnyValue becomes the value tree (`V`) of its plain Python value (bytes as
//! their base64 text), a KeyValue list a list of (key, value), and both are written as ``flatten`` and
//! ``_body`` write them. Plus the message-level pieces the mapper reads with: objects and arrays walked
//! member by member, integers in the forms OTLP/JSON writes them.
//!
//! Contract: only the plainest spelling of each value is read; anything the mirror's lax decoding might read
//! another way (an integer with an exponent or leading zeros, a double or bool as a string, non-canonical
//! base64, an AnyValue with two values set, a key repeated in one list, a member repeated in one message)
//! is `E::Bad`, and a value nested past the tables' bounds (schemas/dialects/otlp/bounds.py) `E::Unstorable`:
//! either way the record is declined and the reference judges it.

use std::collections::HashSet;

use crate::b64;
use crate::columns::MapCol;
use crate::json::{bad, encode, Num, E, MAX_DEPTH, P, R, V};
use crate::json_scan::MAX_SKIP_DEPTH;
use crate::num;

/// Entries one attribute set may flatten to (schemas/storable.py MAX_ENTRIES).
const MAX_ENTRIES: usize = 1000;
/// Levels an unknown member's value may nest: far below where msgspec's recursion guard (shared with the
/// worker's Python frames) could stop, so what is skipped here msgspec skips too.
const UNKNOWN_DEPTH: u32 = 64;

/// An unknown member's value skipped, its grammar checked (the mirror ignores unknown fields).
pub(crate) fn skip_unknown(p: &mut P) -> R<()> {
    p.skip(MAX_SKIP_DEPTH - UNKNOWN_DEPTH)
}

/// Marks member `bit` of a message seen; a repeated member (msgspec keeps the last) is declined.
#[inline]
pub(crate) fn once(seen: &mut u32, bit: u32, at: usize) -> R<()> {
    if *seen & bit != 0 {
        return bad("a repeated member", at);
    }
    *seen |= bit;
    Ok(())
}

/// The object at `p`, each member's key (unescaped) and the cursor at its value handed to `f`.
pub(crate) fn object<'a>(p: &mut P<'a>, mut f: impl FnMut(&mut P<'a>, &[u8]) -> R<()>) -> R<()> {
    if p.peek() != b'{' {
        return bad("Expected `object`", p.i);
    }
    p.i += 1;
    p.ws();
    if p.peek() == b'}' {
        p.i += 1;
        return Ok(());
    }
    let mut escaped = Vec::new();
    loop {
        if p.peek() != b'"' {
            return bad("expected a key", p.i);
        }
        let b = p.b;
        let start = p.i + 1;
        let mut j = start;
        while j < b.len() && b[j] != b'"' && b[j] != b'\\' && b[j] >= 0x20 {
            j += 1;
        }
        let plain = j < b.len() && b[j] == b'"' && (b[start..j].is_ascii() || std::str::from_utf8(&b[start..j]).is_ok());
        let key: &[u8] = if plain {
            p.i = j + 1;
            &b[start..j]
        } else {
            escaped.clear();
            p.string_into(&mut escaped)?;
            &escaped
        };
        p.ws();
        p.expect(b':')?;
        p.ws();
        f(p, key)?;
        if !p.next_or_close(b'}')? {
            return Ok(());
        }
    }
}

/// The array at `p`, the cursor at each element handed to `f`.
pub(crate) fn array<'a>(p: &mut P<'a>, mut f: impl FnMut(&mut P<'a>) -> R<()>) -> R<()> {
    if p.peek() != b'[' {
        return bad("Expected `array`", p.i);
    }
    p.i += 1;
    p.ws();
    if p.peek() == b']' {
        p.i += 1;
        return Ok(());
    }
    loop {
        f(p)?;
        if !p.next_or_close(b']')? {
            return Ok(());
        }
    }
}

/// A string member, unescaped and appended to `out`.
#[inline]
pub(crate) fn string(p: &mut P, out: &mut Vec<u8>) -> R<()> {
    if p.peek() != b'"' {
        return bad("Expected `str`", p.i);
    }
    p.string_into(out)
}

/// An integer as OTLP/JSON writes it: a JSON integer, or a string of one (proto3's 64-bit integers), of at
/// most 19 digits, no leading zeros, no escapes. msgspec reads more (exponents, fractions ending in zeros):
/// those are declined.
pub(crate) fn int(p: &mut P) -> R<i128> {
    let at = p.i;
    let b = p.b;
    let quoted = b.get(at) == Some(&b'"');
    let mut i = at + quoted as usize;
    let negative = b.get(i) == Some(&b'-');
    i += negative as usize;
    let start = i;
    while matches!(b.get(i), Some(b'0'..=b'9')) {
        i += 1;
    }
    let digits = &b[start..i];
    if digits.is_empty() || digits.len() > 19 || (digits.len() > 1 && digits[0] == b'0') {
        return bad("an integer in a form left to the reference", at);
    }
    if quoted {
        if b.get(i) != Some(&b'"') {
            return bad("an integer string in a form left to the reference", at);
        }
        i += 1;
    } else if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
        return bad("an integer written as a float", at);
    }
    p.i = i;
    let value = digits.iter().fold(0i128, |v, &c| v * 10 + (c - b'0') as i128);
    Ok(if negative { -value } else { value })
}

/// A double as a JSON number (an integer of at most 15 digits is exact as a float); its string forms
/// ("NaN", "1e3") are declined.
fn double(p: &mut P) -> R<f64> {
    let at = p.i;
    match p.number()? {
        Num::Int(a, b) if b - a <= 16 => {
            let text = unsafe { std::str::from_utf8_unchecked(&p.b[a..b]) };
            match text.parse::<i64>() {
                Ok(n) if n.unsigned_abs() < 1_000_000_000_000_000 => Ok(n as f64),
                _ => bad("a double written as a long integer", at),
            }
        }
        Num::Float(a, b) => num::parse_float(&p.b[a..b]).map_or_else(|| bad("Number out of range", at), Ok),
        Num::Int(..) => bad("a double written as a long integer", at),
    }
}

/// An AnyValue object at `p` as ``plain`` gives it: `V::Null` when none of its values is set. `depth` is the
/// level an array or key-value list here has in ``bounds``' walk (a body's 1, an attribute's 2).
pub(crate) fn any_value(p: &mut P, depth: u32) -> R<V> {
    let mut found: Option<V> = None;
    let mut seen = 0u32;
    object(p, |p, key| {
        let bit = match key {
            b"stringValue" => 1,
            b"boolValue" => 2,
            b"intValue" => 4,
            b"doubleValue" => 8,
            b"arrayValue" => 16,
            b"kvlistValue" => 32,
            b"bytesValue" => 64,
            _ => return skip_unknown(p),
        };
        once(&mut seen, bit, p.i)?;
        if p.peek() == b'n' {
            return p.literal(b"null"); // not set
        }
        if found.is_some() {
            return bad("an AnyValue with more than one value set", p.i);
        }
        if bit & (16 | 32) != 0 && depth > MAX_DEPTH {
            return Err(E::Unstorable(format!("values nest more than {MAX_DEPTH} levels (byte {})", p.i)));
        }
        found = Some(match bit {
            1 => {
                let mut s = Vec::new();
                string(p, &mut s)?;
                V::Str(s)
            }
            2 => match p.peek() {
                b't' => p.literal(b"true").map(|_| V::Bool(true))?,
                b'f' => p.literal(b"false").map(|_| V::Bool(false))?,
                _ => return bad("a boolValue that is no JSON boolean", p.i),
            },
            4 => V::Int(int(p)?.to_string().into_bytes()),
            8 => V::Float(double(p)?),
            16 => {
                let mut items = Vec::new();
                values(p, |p| {
                    items.push(any_value(p, depth + 1)?);
                    Ok(())
                })?;
                V::Arr(items)
            }
            32 => {
                let mut items = Vec::new();
                values(p, |p| key_value(p, depth + 1, &mut items))?;
                no_repeats(&items, p.i)?;
                V::Obj(items)
            }
            _ => {
                let mut text = Vec::new();
                string(p, &mut text)?;
                if !b64::decode_into(&text, &mut Vec::new()) {
                    return bad("bytesValue that is not canonical base64", p.i);
                }
                V::Str(text) // ``plain`` gives bytes as their base64 text: the canonical spelling is the one sent
            }
        });
        Ok(())
    })?;
    Ok(found.unwrap_or(V::Null))
}

/// An ArrayValue or KeyValueList message: each element of its ``values`` handed to `f`.
fn values<'a>(p: &mut P<'a>, mut f: impl FnMut(&mut P<'a>) -> R<()>) -> R<()> {
    let mut seen = 0u32;
    object(p, |p, key| {
        if key != b"values" {
            return skip_unknown(p);
        }
        once(&mut seen, 1, p.i)?;
        array(p, &mut f)
    })
}

/// One KeyValue message at `p` appended to `out` (a missing key is "", a missing or null value `V::Null`).
fn key_value(p: &mut P, depth: u32, out: &mut Vec<(Vec<u8>, V)>) -> R<()> {
    let (mut key, mut value, mut seen) = (Vec::new(), V::Null, 0u32);
    object(p, |p, name| match name {
        b"key" => {
            once(&mut seen, 1, p.i)?;
            string(p, &mut key)
        }
        b"value" => {
            once(&mut seen, 2, p.i)?;
            if p.peek() == b'n' {
                return p.literal(b"null");
            }
            value = any_value(p, depth)?;
            Ok(())
        }
        _ => skip_unknown(p),
    })?;
    out.push((key, value));
    Ok(())
}

/// A KeyValue list (an attribute set) at `p` into `out` (cleared first); a key repeated is declined (the
/// reference's dict keeps the last value in the first one's place).
pub(crate) fn key_values(p: &mut P, out: &mut Vec<(Vec<u8>, V)>) -> R<()> {
    out.clear();
    array(p, |p| key_value(p, 2, out))?;
    no_repeats(out, p.i)
}

fn no_repeats(items: &[(Vec<u8>, V)], at: usize) -> R<()> {
    let repeated = if items.len() <= 16 {
        items.iter().enumerate().any(|(i, (k, _))| items[..i].iter().any(|(j, _)| j == k))
    } else {
        let mut keys = HashSet::with_capacity(items.len());
        !items.iter().all(|(k, _)| keys.insert(k.as_slice()))
    };
    if repeated { bad("a key repeated in a key-value list", at) } else { Ok(()) }
}

/// ``workers.normalize.flatten`` of an attribute set into `out`'s current row: nested key-value lists as
/// dotted keys, an empty one as "{}", strings as they are, ints as digits, null as "null", the rest as
/// msgspec's JSON. Flattened keys that collide, or more than MAX_ENTRIES of them, decline.
pub(crate) fn flatten(items: &[(Vec<u8>, V)], out: &mut MapCol, at: usize) -> R<()> {
    let first = out.entries();
    let mut nested = false;
    walk(items, &mut Vec::new(), out, &mut nested)?;
    let n = out.entries() - first;
    if n > MAX_ENTRIES {
        return Err(E::Unstorable(format!("More than {MAX_ENTRIES} attributes in one entry (byte {at})")));
    }
    if nested && collide(out, first) {
        return bad("flattened attribute keys collide", at);
    }
    Ok(())
}

fn walk(items: &[(Vec<u8>, V)], prefix: &mut Vec<u8>, out: &mut MapCol, nested: &mut bool) -> R<()> {
    for (key, v) in items {
        let plen = prefix.len();
        prefix.extend_from_slice(key);
        match v {
            V::Obj(inner) if !inner.is_empty() => {
                *nested = true;
                prefix.push(b'.');
                walk(inner, prefix, out, nested)?;
            }
            _ => {
                out.keys.push(prefix).map_err(E::Bad)?;
                match v {
                    V::Obj(_) => out.values.data.extend_from_slice(b"{}"),
                    V::Str(s) | V::Int(s) => out.values.data.extend_from_slice(s),
                    V::Null => out.values.data.extend_from_slice(b"null"),
                    other => encode(other, &mut out.values.data),
                }
                out.values.finish().map_err(E::Bad)?;
            }
        }
        prefix.truncate(plen);
    }
    Ok(())
}

/// Whether two entries of the row from `first` share a key.
fn collide(out: &MapCol, first: usize) -> bool {
    let k = &out.keys;
    let mut keys = HashSet::with_capacity(out.entries() - first);
    !(first..out.entries()).all(|i| keys.insert(&k.data[k.offsets[i] as usize..k.offsets[i + 1] as usize]))
}

/// ``workers.otlp._body``: nothing for no value, a string as it is, anything else as msgspec's JSON.
pub(crate) fn body_text(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Null => {}
        V::Str(s) => out.extend_from_slice(s),
        other => encode(other, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T>(text: &str, f: impl FnOnce(&mut P) -> R<T>) -> Option<T> {
        let mut p = P { b: text.as_bytes(), i: 0 };
        let v = f(&mut p).ok()?;
        (p.i == text.len()).then_some(v)
    }

    #[test]
    fn integers_in_their_plain_forms_only() {
        for (text, want) in [("0", 0i128), ("-0", 0), ("\"42\"", 42), ("-7", -7), ("\"9223372036854775808\"", 1 << 63)] {
            assert_eq!(read(text, int), Some(want), "{text}");
        }
        for text in ["\"042\"", "01", "1.0", "1e3", "\"1e3\"", "\" 1\"", "\"+1\"", "\"\\u0031\"", "true", "\"\"",
                     "12345678901234567890"] {
            assert_eq!(read(text, int), None, "{text}");
        }
    }

    #[test]
    fn values_read_as_plain_gives_them() {
        let text = |v: &str| {
            read(v, |p| any_value(p, 1)).map(|v| {
                let mut out = Vec::new();
                body_text(&v, &mut out);
                String::from_utf8(out).unwrap()
            })
        };
        assert_eq!(text(r#"{"stringValue":"a\"b"}"#).as_deref(), Some("a\"b"));
        assert_eq!(text(r#"{"doubleValue":1,"x":[{}]}"#).as_deref(), Some("1.0"));
        assert_eq!(text(r#"{"bytesValue":"AP8="}"#).as_deref(), Some("AP8="));
        assert_eq!(text(r#"{"kvlistValue":{"values":[{"key":"k"},{"key":"n","value":{"intValue":"-0"}}]}}"#).as_deref(),
                   Some(r#"{"k":null,"n":0}"#));
        assert_eq!(text(r#"{"arrayValue":{"values":[{},{"boolValue":false}]},"stringValue":null}"#).as_deref(),
                   Some("[null,false]"));
        assert_eq!(text("{}").as_deref(), Some(""));
        for odd in [r#"{"stringValue":"a","intValue":1}"#, r#"{"boolValue":"true"}"#, r#"{"doubleValue":"NaN"}"#,
                    r#"{"bytesValue":"AAF="}"#, r#"{"stringValue":"a","stringValue":"b"}"#,
                    r#"{"kvlistValue":{"values":[{"key":"k"},{"key":"k"}]}}"#] {
            assert_eq!(text(odd), None, "{odd}");
        }
    }

    #[test]
    fn flattened_keys_that_collide_are_declined() {
        let flat = |v: &str| {
            let mut kvs = Vec::new();
            read(v, |p| key_values(p, &mut kvs))?;
            let mut out = MapCol::with_capacity(1, 4, 64);
            flatten(&kvs, &mut out, 0).ok().map(|_| out.entries())
        };
        assert_eq!(flat(r#"[{"key":"a","value":{"kvlistValue":{"values":[{"key":"b"},{"key":"c","value":{"kvlistValue":{}}}]}}}]"#),
                   Some(2));
        assert_eq!(flat(r#"[{"key":"a.b"},{"key":"a","value":{"kvlistValue":{"values":[{"key":"b"}]}}}]"#), None);
    }
}
