//! An OTLP/JSON attribute set (a KeyValue list) flattened straight into a map column's current row, as
//! ``schemas.rows.nested.attributes`` does it: ``flatten({kv.key: plain(kv.value)})``. A scalar's text goes
//! to the column as it is read; a key-value list becomes dotted keys, an empty one "{}", an array its JSON.
//!
//! Contract: `attributes` reads the list at `p` and appends its entries, or declines: a key given twice (the
//! reference's dict keeps the last value in the first one's place), flattened keys that collide (``a.b`` and
//! ``a: {b}``), more than MAX_ENTRIES entries or nesting past MAX_DEPTH (schemas/dialects/otlp/bounds.py).
//! On an error the row's entries are left half-written: the caller drops the whole record.

use crate::columns::{repeats, MapCol};
use crate::json::{array, bad, encode, object, E, P, R, V};
use crate::otlp_scan::{once, skip_unknown, string};
use crate::otlp_value::{any_value, Value};

/// Entries one attribute set may flatten to (schemas/storable.py MAX_ENTRIES).
const MAX_ENTRIES: usize = 1000;

/// Scratch reused across attribute sets.
#[derive(Default)]
pub struct Attrs {
    key: Vec<u8>,
    /// The set's keys, one after the other, and where each is.
    keys: Vec<u8>,
    spans: Vec<(usize, usize)>,
    prefix: Vec<u8>,
}

/// The KeyValue list at `p` flattened into `out`'s current row (the row is not finished here).
pub(crate) fn attributes(p: &mut P, out: &mut MapCol, a: &mut Attrs) -> R<()> {
    let at = p.i;
    let first = out.entries();
    let mut nested = false;
    a.keys.clear();
    a.spans.clear();
    array(p, |p| {
        a.key.clear();
        let (mut seen, mut value) = (0u32, None);
        object(p, |p, name| match name {
            b"key" => {
                once(&mut seen, 1, p.i)?;
                string(p, &mut a.key)
            }
            b"value" => {
                once(&mut seen, 2, p.i)?;
                if p.peek() == b'n' {
                    return p.literal(b"null");
                }
                value = Some(any_value(p, 2, &mut out.values.data)?);
                Ok(())
            }
            _ => skip_unknown(p),
        })?;
        let start = a.keys.len();
        a.keys.extend_from_slice(&a.key);
        a.spans.push((start, a.keys.len()));
        match value {
            None => {
                out.values.data.extend_from_slice(b"null"); // no value, or null: ``plain`` gives None
                entry(out, &a.key)
            }
            Some(Value::Scalar(_)) => entry(out, &a.key),
            Some(Value::Tree(V::Obj(items))) if !items.is_empty() => {
                nested = true;
                a.prefix.clear();
                a.prefix.extend_from_slice(&a.key);
                a.prefix.push(b'.');
                walk(&items, &mut a.prefix, out)
            }
            Some(Value::Tree(v)) => {
                match v {
                    V::Obj(_) => out.values.data.extend_from_slice(b"{}"),
                    other => encode(&other, &mut out.values.data),
                }
                entry(out, &a.key)
            }
        }
    })?;
    if repeats(a.spans.iter().map(|&(s, e)| &a.keys[s..e]), a.spans.len()) {
        return bad("a key repeated in an attribute set", at);
    }
    if out.entries() - first > MAX_ENTRIES {
        return Err(E::Unstorable(format!("More than {MAX_ENTRIES} attributes in one entry (byte {at})")));
    }
    if nested && out.shares_key(first) {
        return bad("flattened attribute keys collide", at);
    }
    Ok(())
}

/// The value being written finished, under `key`.
#[inline]
fn entry(out: &mut MapCol, key: &[u8]) -> R<()> {
    out.keys.push(key).map_err(E::Bad)?;
    out.values.finish().map_err(E::Bad)
}

/// A non-empty key-value list's entries under `prefix` (``flatten``'s recursion).
fn walk(items: &[(Vec<u8>, V)], prefix: &mut Vec<u8>, out: &mut MapCol) -> R<()> {
    for (key, v) in items {
        let plen = prefix.len();
        prefix.extend_from_slice(key);
        match v {
            V::Obj(inner) if !inner.is_empty() => {
                prefix.push(b'.');
                walk(inner, prefix, out)?;
            }
            _ => {
                match v {
                    V::Obj(_) => out.values.data.extend_from_slice(b"{}"),
                    V::Str(s) | V::Int(s) => out.values.data.extend_from_slice(s),
                    V::Null => out.values.data.extend_from_slice(b"null"),
                    other => encode(other, &mut out.values.data),
                }
                entry(out, prefix)?;
            }
        }
        prefix.truncate(plen);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp_scan::tests::read;

    fn flat(text: &str) -> Option<Vec<(String, String)>> {
        let mut out = MapCol::with_capacity(1, 4, 64);
        read(text, |p| attributes(p, &mut out, &mut Attrs::default()))?;
        let s = |c: &crate::columns::StrCol, i: usize| String::from_utf8(c.get(i).to_vec()).unwrap();
        Some((0..out.entries()).map(|i| (s(&out.keys, i), s(&out.values, i))).collect())
    }

    #[test]
    fn attributes_flatten_as_the_reference_does() {
        let got = flat(r#"[{"key":"a","value":{"kvlistValue":{"values":[{"key":"b"},{"key":"c","value":{"kvlistValue":{}}},
            {"key":"d","value":{"arrayValue":{"values":[{"doubleValue":1},{"stringValue":"s"},{}]}}}]}}},
            {"value":{"intValue":"-0"},"key":"n"},{"key":"s","value":{"stringValue":"x"}},{"key":"z","value":null}]"#);
        let want = [("a.b", "null"), ("a.c", "{}"), ("a.d", "[1.0,\"s\",null]"), ("n", "0"), ("s", "x"), ("z", "null")];
        assert_eq!(got, Some(want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()));
    }

    #[test]
    fn repeated_and_colliding_keys_are_declined() {
        assert_eq!(flat(r#"[{"key":"a.b"},{"key":"a","value":{"kvlistValue":{"values":[{"key":"b"}]}}}]"#), None);
        assert_eq!(flat(r#"[{"key":"a","value":{"kvlistValue":{"values":[{"key":"x"}]}}},{"key":"a"}]"#), None);
        assert_eq!(flat(r#"[{"key":"k","value":{"kvlistValue":{"values":[{"key":"x"},{"key":"x"}]}}}]"#), None);
        assert_eq!(flat(r#"[{"key":"k","value":{"stringValue":"a","intValue":1}}]"#), None);
    }
}
