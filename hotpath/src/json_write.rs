//! msgspec's JSON writer for the value tree: ``msgspec.json.encode(value)`` byte for byte (compact, keys in
//! dict order, msgspec's string escaping and float spelling), so an attribute re-encoded here equals the one
//! the reference mapping stores.

use crate::json_value::V;
use crate::num;

/// msgspec's string escaping: `"` and `\`, control characters as \b \t \n \f \r or \u00XX; the rest as is.
pub fn write_str(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            8 => b"\\b",
            9 => b"\\t",
            10 => b"\\n",
            12 => b"\\f",
            13 => b"\\r",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// ``msgspec.json.encode(value)``: compact, keys in dict order.
pub fn encode(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Str(s) => write_str(s, out),
        V::Int(t) => out.extend_from_slice(t),
        V::Float(f) => num::write_f64(*f, out),
        V::Bool(true) => out.extend_from_slice(b"true"),
        V::Bool(false) => out.extend_from_slice(b"false"),
        V::Null => out.extend_from_slice(b"null"),
        V::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode(item, out);
            }
            out.push(b']');
        }
        V::Obj(items) => {
            out.push(b'{');
            for (i, (k, item)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                encode(item, out);
            }
            out.push(b'}');
        }
    }
}
