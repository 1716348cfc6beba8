//! Numbers as msgspec turns them into text: ints as Python's ``str(int)``, floats as msgspec's JSON encoder writes them.

use std::fmt::Write;

/// Python's int → str digit limit (sys.get_int_max_str_digits()): msgspec rejects longer integer literals.
const MAX_INT_CHARS: usize = 4300;

/// ``str(int(literal))`` for a JSON integer literal (no leading zeros, so only ``-0`` changes); None when msgspec rejects it.
#[inline]
pub fn int_text(literal: &[u8]) -> Option<&[u8]> {
    if literal.len() > MAX_INT_CHARS {
        return None;
    }
    Some(if literal == b"-0" { b"0" } else { literal })
}

/// A JSON float literal as the f64 msgspec decodes (None: out of range, msgspec's "Number out of range").
#[inline]
pub fn parse_float(literal: &[u8]) -> Option<f64> {
    let text = unsafe { std::str::from_utf8_unchecked(literal) };
    let value: f64 = text.parse().ok()?;
    if value.is_finite() { Some(value) } else { None }
}

/// msgspec's ``write_f64`` (ryu.h): shortest round-trip digits, laid out as ``XYZ00.0``, ``XY.Z``,
/// ``0.000XYZ`` (down to 1e-5) or ``X.YZe-7`` / ``Xe16``.
pub fn write_f64(x: f64, out: &mut Vec<u8>) {
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    if x < 0.0 {
        out.push(b'-');
    }
    let mut text = String::with_capacity(32);
    let _ = write!(text, "{:e}", x.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let mut digits = [0u8; 24];
    let mut length = 0usize;
    for c in mantissa.bytes() {
        if c != b'.' {
            digits[length] = c;
            length += 1;
        }
    }
    let digits = &digits[..length];
    let len = length as i32;
    let kk = exponent + 1; // position of the decimal point after the first digit
    let k = kk - len;
    if 0 <= k && kk <= 16 {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat(b'0').take(k as usize));
        out.extend_from_slice(b".0");
    } else if 0 < kk && kk <= 16 {
        out.extend_from_slice(&digits[..kk as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[kk as usize..]);
    } else if -5 < kk && kk <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat(b'0').take((-kk) as usize));
        out.extend_from_slice(digits);
    } else {
        out.push(digits[0]);
        if length > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        let _ = write!(Bytes(out), "{}", kk - 1);
    }
}

struct Bytes<'a>(&'a mut Vec<u8>);

impl Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
