//! OTLP/JSON's AnyValue as the reference reads it (schemas/dialects/otlp/json_mirror.py decoded by msgspec,
//! then ``schemas.rows.nested.plain``): a scalar written straight as the text ``flatten`` and ``_text`` store
//! for it (bytes as their base64 text, none set as null), an array or key-value list as the value tree (`V`)
//! of its plain Python value, for msgspec's JSON.
//!
//! Contract: only the plainest spelling of each value is read (otlp_scan.rs); a bool as a string,
//! non-canonical base64, an AnyValue with two values set, a key repeated in one key-value list (a dict keeps
//! the last) are `E::Bad`, and an array or list nested past the tables' bounds
//! (schemas/dialects/otlp/bounds.py) `E::Unstorable`: either way the record is declined.

use crate::b64;
use crate::columns::repeats;
use crate::json::{array, bad, object, E, MAX_DEPTH, P, R, V};
use crate::num;
use crate::otlp_scan::{double, int_text, once, skip_unknown, string};

const STRING: u32 = 1;
const BOOL: u32 = 2;
const INT: u32 = 4;
const DOUBLE: u32 = 8;
const ARRAY: u32 = 16;
const KVLIST: u32 = 32;
const BYTES: u32 = 64;

/// What an AnyValue held: a scalar (its kind, 0 for none set; its text written, "null" for none) or a
/// container.
pub(crate) enum Value {
    Scalar(u32),
    Tree(V),
}

/// The AnyValue object at `p`: a scalar's text appended to `text`, or a container's tree. `depth` is the level
/// an array or key-value list here has in ``bounds``' walk (a body's 1, an attribute's 2).
pub(crate) fn any_value(p: &mut P, depth: u32, text: &mut Vec<u8>) -> R<Value> {
    let (mut seen, mut tree, mut kind) = (0u32, None, 0u32);
    object(p, |p, key| {
        let bit = match key {
            b"stringValue" => STRING,
            b"boolValue" => BOOL,
            b"intValue" => INT,
            b"doubleValue" => DOUBLE,
            b"arrayValue" => ARRAY,
            b"kvlistValue" => KVLIST,
            b"bytesValue" => BYTES,
            _ => return skip_unknown(p),
        };
        once(&mut seen, bit, p.i)?;
        if p.peek() == b'n' {
            return p.literal(b"null"); // not set
        }
        if kind != 0 {
            return bad("an AnyValue with more than one value set", p.i);
        }
        kind = bit;
        match bit {
            STRING => string(p, text)?,
            BOOL => match p.peek() {
                b't' => p.literal(b"true").map(|_| text.extend_from_slice(b"true"))?,
                b'f' => p.literal(b"false").map(|_| text.extend_from_slice(b"false"))?,
                _ => return bad("a boolValue that is no JSON boolean", p.i),
            },
            INT => {
                let (negative, digits) = int_text(p)?;
                if negative {
                    text.push(b'-');
                }
                text.extend_from_slice(digits);
            }
            DOUBLE => match double(p)? {
                x if x.is_finite() => num::write_f64(x, text),
                _ => text.extend_from_slice(b"null"), // msgspec's JSON for NaN and the infinities
            },
            BYTES => {
                let start = text.len();
                string(p, text)?;
                // ``plain`` gives bytes as their base64 text: the canonical spelling is the one sent
                if !b64::decode_into(&text[start..], &mut Vec::new()) {
                    return bad("bytesValue that is not canonical base64", p.i);
                }
            }
            _ => tree = Some(container(p, bit, depth)?),
        }
        Ok(())
    })?;
    if kind == 0 {
        text.extend_from_slice(b"null");
    }
    Ok(tree.map_or(Value::Scalar(kind), Value::Tree))
}

/// An ArrayValue or KeyValueList message at `p` (at `depth`) as a tree.
fn container(p: &mut P, bit: u32, depth: u32) -> R<V> {
    if depth > MAX_DEPTH {
        return Err(E::Unstorable(format!("values nest more than {MAX_DEPTH} levels (byte {})", p.i)));
    }
    let mut items = Vec::new();
    let mut pairs = Vec::new();
    let mut seen = 0u32;
    object(p, |p, key| {
        if key != b"values" {
            return skip_unknown(p);
        }
        once(&mut seen, 1, p.i)?;
        array(p, |p| {
            if bit == ARRAY {
                items.push(tree(p, depth + 1)?);
            } else {
                pairs.push(key_value(p, depth + 1)?);
            }
            Ok(())
        })
    })?;
    if bit == ARRAY {
        return Ok(V::Arr(items));
    }
    if repeats(pairs.iter().map(|(k, _)| k.as_slice()), pairs.len()) {
        return bad("a key repeated in a key-value list", p.i);
    }
    Ok(V::Obj(pairs))
}

/// An AnyValue inside a container, as a tree: strings and bytes as strings, the other scalars as their bare
/// JSON text (what msgspec writes for them in a list or dict), none set as null.
fn tree(p: &mut P, depth: u32) -> R<V> {
    let mut text = Vec::new();
    Ok(match any_value(p, depth, &mut text)? {
        Value::Tree(v) => v,
        Value::Scalar(STRING | BYTES) => V::Str(text),
        Value::Scalar(0) => V::Null,
        Value::Scalar(_) => V::Int(text),
    })
}

/// One KeyValue message at `p`: a missing key is "", a missing or null value `V::Null`.
fn key_value(p: &mut P, depth: u32) -> R<(Vec<u8>, V)> {
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
            value = tree(p, depth)?;
            Ok(())
        }
        _ => skip_unknown(p),
    })?;
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::encode;
    use crate::otlp_scan::tests::read;

    /// The value's text as a body or attribute stores it: a scalar's text, a container's JSON.
    fn text(json: &str) -> Option<String> {
        let mut out = Vec::new();
        if let Value::Tree(v) = read(json, |p| any_value(p, 1, &mut out))? {
            encode(&v, &mut out);
        }
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn values_are_written_as_plain_gives_them() {
        for (json, want) in [
            (r#"{"stringValue":"a\"b"}"#, "a\"b"), (r#"{"doubleValue":1,"x":[{}]}"#, "1.0"), (r#"{"bytesValue":"AP8="}"#, "AP8="),
            (r#"{"intValue":"-0"}"#, "0"), (r#"{"doubleValue":"NaN"}"#, "null"), (r#"{"boolValue":false,"intValue":null}"#, "false"), ("{}", "null"),
            (r#"{"kvlistValue":{"values":[{"key":"k"},{"value":{"intValue":"-5"},"key":"n"}]}}"#, r#"{"k":null,"n":-5}"#),
            (r#"{"arrayValue":{"values":[{},{"boolValue":true},{"bytesValue":""},{"doubleValue":-0.0},{"arrayValue":{}}]}}"#,
             r#"[null,true,"",-0.0,[]]"#),
        ] {
            assert_eq!(text(json).as_deref(), Some(want), "{json}");
        }
    }

    #[test]
    fn odd_values_are_declined() {
        for json in [r#"{"stringValue":"a","intValue":1}"#, r#"{"boolValue":"true"}"#, r#"{"boolValue":1}"#,
                     r#"{"doubleValue":"nan"}"#, r#"{"doubleValue":1e999}"#, r#"{"bytesValue":"AAF="}"#,
                     r#"{"stringValue":"a","stringValue":"b"}"#, r#"{"kvlistValue":{"values":[{"key":"k"},{"key":"k"}]}}"#,
                     r#"{"arrayValue":{"values":[null]}}"#, r#"{"intValue":1.0}"#] {
            assert_eq!(text(json), None, "{json}");
        }
    }
}
