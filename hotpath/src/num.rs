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
///
/// The digits come from the ``ryu`` crate, the same algorithm as msgspec's ryu.h: where two shortest spellings
/// are equally near (562949953421312.25), both take the even last digit; core's ``{:e}`` takes the upper one.
pub fn write_f64(x: f64, out: &mut Vec<u8>) {
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    if x < 0.0 {
        out.push(b'-');
    }
    let mut buffer = ryu::Buffer::new();
    let (digits, length, exponent) = shortest(buffer.format_finite(x.abs()).as_bytes());
    let digits = &digits[..length];
    let len = length as i32;
    let kk = exponent + 1; // position of the decimal point after the first digit
    let k = kk - len;
    if 0 <= k && kk <= 16 {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', k as usize));
        out.extend_from_slice(b".0");
    } else if 0 < kk && kk <= 16 {
        out.extend_from_slice(&digits[..kk as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[kk as usize..]);
    } else if -5 < kk && kk <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-kk) as usize));
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

/// The significant digits of ryu's text for a positive finite float (``1.5e-7``, ``123.45``, ``0.001``, ``1e16``)
/// and the decimal exponent of the first one: ``(digits, count, exponent)`` with ``digits[0] != b'0'``.
fn shortest(text: &[u8]) -> ([u8; 24], usize, i32) {
    let (mantissa, explicit) = match text.iter().position(|&c| c == b'e') {
        Some(at) => {
            let exp = unsafe { std::str::from_utf8_unchecked(&text[at + 1..]) };
            (&text[..at], exp.parse::<i32>().unwrap())
        }
        None => (text, 0),
    };
    let point = mantissa.iter().position(|&c| c == b'.').unwrap_or(mantissa.len());
    let mut digits = [0u8; 24];
    let mut length = 0usize;
    let mut first: Option<usize> = None; // index in the mantissa of the first non-zero digit
    for (index, &c) in mantissa.iter().enumerate() {
        if c == b'.' || (first.is_none() && c == b'0') {
            continue;
        }
        first.get_or_insert(index);
        digits[length] = c;
        length += 1;
    }
    while length > 1 && digits[length - 1] == b'0' {
        length -= 1; // "100.0" → 1, e2
    }
    let first = first.unwrap_or(0);
    // the digit at mantissa index i (before the point) stands for 10^(point - 1 - i), after it 10^(point - i)
    let place = if first < point { point as i32 - 1 - first as i32 } else { point as i32 - first as i32 };
    (digits, length, explicit + place)
}

struct Bytes<'a>(&'a mut Vec<u8>);

impl Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::write_f64;

    fn text(x: f64) -> String {
        let mut out = Vec::new();
        write_f64(x, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn layouts_follow_msgspec() {
        for (x, want) in [(1.0, "1.0"), (1e16, "1e16"), (1e15, "1000000000000000.0"), (-0.0, "-0.0"),
                          (5e-324, "5e-324"), (1e-5, "0.00001"), (1.5e-7, "1.5e-7"), (0.1, "0.1"),
                          (123456789.123, "123456789.123"), (1200.0, "1200.0"), (-2.5e-5, "-0.000025")] {
            assert_eq!(text(x), want, "{x:e}");
        }
    }

    #[test]
    fn equally_near_spellings_take_the_even_digit() {
        assert_eq!(text(562949953421312.25), "562949953421312.2");
        assert_eq!(text(-562949953421312.25), "-562949953421312.2");
    }
}
