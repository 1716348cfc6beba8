//! The pieces OTLP/JSON's messages are read with (nested*.rs), beside json_scan's ``object`` and ``array``: a
//! member seen once, an unknown member skipped, and the scalars in the forms OTLP/JSON writes them.
//!
//! Contract: only the plainest spelling is read; what the mirror's lax msgspec decoding might read another
//! way (an integer with an exponent or leading zeros, a double as a string other than "NaN" and the
//! infinities, a member repeated in one message, where msgspec keeps the last) is `E::Bad`: the record is
//! declined and the reference judges it.

use crate::json::{bad, Num, P, R};
use crate::json_scan::MAX_SKIP_DEPTH;
use crate::num;

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
    let (negative, digits) = int_text(p)?;
    let value = digits.iter().fold(0i128, |v, &c| v * 10 + (c - b'0') as i128);
    Ok(if negative { -value } else { value })
}

/// ``int``'s sign and digits, as read: ``str(int)`` is the sign (unless the digits are "0") and the digits.
pub(crate) fn int_text<'a>(p: &mut P<'a>) -> R<(bool, &'a [u8])> {
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
    Ok((negative && digits != b"0", digits))
}

/// A double as a JSON number (an integer as msgspec converts it, C's int64 to double: Rust's `as`), or as
/// proto3's JSON spells the values JSON has no number for: "NaN", "Infinity", "-Infinity". Its other string
/// forms ("1e3", "nan") and integers past int64 are declined.
pub(crate) fn double(p: &mut P) -> R<f64> {
    let at = p.i;
    if p.peek() == b'"' {
        for (text, value) in [(&b"\"NaN\""[..], f64::NAN), (b"\"Infinity\"", f64::INFINITY), (b"\"-Infinity\"", f64::NEG_INFINITY)] {
            if p.b[at..].starts_with(text) {
                p.i += text.len();
                return Ok(value);
            }
        }
        return bad("a double written as a string", at);
    }
    match p.number()? {
        Num::Int(a, b) => {
            let text = unsafe { std::str::from_utf8_unchecked(&p.b[a..b]) };
            text.parse::<i64>().map_or_else(|_| bad("a double written as an integer past int64", at), |n| Ok(n as f64))
        }
        Num::Float(a, b) => num::parse_float(&p.b[a..b]).map_or_else(|| bad("Number out of range", at), Ok),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn read<T>(text: &str, f: impl FnOnce(&mut P) -> R<T>) -> Option<T> {
        let mut p = P { b: text.as_bytes(), i: 0 };
        let v = f(&mut p).ok()?;
        (p.i == text.len()).then_some(v)
    }

    #[test]
    fn integers_in_their_plain_forms_only() {
        for (text, want) in [("0", 0i128), ("-0", 0), ("\"42\"", 42), ("-7", -7), ("\"9223372036854775808\"", 1 << 63)] {
            assert_eq!(read(text, int), Some(want), "{text}");
        }
        assert_eq!(read("\"-Infinity\"", double), Some(f64::NEG_INFINITY));
        assert_eq!(read("9007199254740993", double), Some(9007199254740992.0));
        assert_eq!(read("-0", double).map(f64::is_sign_negative), Some(false));
        for text in ["\"nan\"", "\"1e3\"", "9223372036854775808", "1e999"] {
            assert_eq!(read(text, double), None, "{text}");
        }
        for text in ["\"042\"", "01", "1.0", "1e3", "\"1e3\"", "\" 1\"", "\"+1\"", "\"\\u0031\"", "true", "\"\"",
                     "12345678901234567890"] {
            assert_eq!(read(text, int), None, "{text}");
        }
    }
}
